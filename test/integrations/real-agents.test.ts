import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/factory-schema.js';
import { agentSchema } from '../../src/config/factory-schema.js';
import type { AgentExit, Worktree } from '../../src/integrations/agent.js';
import { createAgentRunner } from '../../src/integrations/agent-process.js';
import { agentLaunch } from '../../src/integrations/agents/launch.js';
import { createGitWorkspaces } from '../../src/integrations/git-workspaces.js';
import { startModelEmulator, type ModelEmulator } from '../../src/sandbox/models/index.js';
import { createTestRemote, git } from '../helpers/git-remote.js';

// The real Claude Code and Codex CLIs (installed from npm as dev dependencies) run by the agent
// runner in a real git worktree, against the model emulator: the tool calls it scripts are
// executed by the CLIs themselves. Guards the peers' reports of runs that hang until an outer
// timeout, errors that can never succeed retried for hours, and a result lost after a resume.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEYS = { anthropic: 'sk-ant-emulated', openai: 'sk-openai-emulated' };

let emulator: ModelEmulator;
let tmp: string;
let root: string;
let worktree: Worktree;
const workspaces = () => createGitWorkspaces({ root });

beforeAll(async () => {
  emulator = await startModelEmulator({ anthropicKeys: [KEYS.anthropic], openaiKeys: [KEYS.openai] });
});
afterAll(async () => {
  await emulator?.close();
});

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'conveyor-real-agent-')));
  root = join(tmp, 'workspaces');
  const remote = createTestRemote(tmp);
  worktree = await workspaces().prepare({ repo: 'acme/widgets', cloneUrl: remote.url, authEnv: {}, branch: 'conveyor/eng-9-id', baseBranch: 'main', key: 'ENG-9' });
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function provider(kind: 'claude' | 'codex', extra: Record<string, unknown> = {}): AgentConfig {
  // One retry inside the CLI keeps the failure cases to seconds.
  return agentSchema.parse({ provider: kind, baseUrl: kind === 'claude' ? emulator.url : emulator.openaiBaseUrl, maxRetries: 1, ...extra });
}

const prompt = (title: string, extra = '') => `# ENG-9: ${title}\n\nExplain how widgets are assembled.\n\nAcceptance: a guide exists.\n${extra}`;

async function run(kind: 'claude' | 'codex', text: string, options: { idleTimeoutMs?: number; budgetUsd?: number | null; resumeSessionId?: string | null } = {}) {
  const launch = await agentLaunch(provider(kind), {
    root: ROOT,
    stateDir: join(root, 'agent-state', 'eng-9'),
    secrets: { ANTHROPIC_API_KEY: KEYS.anthropic, OPENAI_API_KEY: KEYS.openai, GITHUB_TOKEN: 'ghp_never_passed' },
    resumeSessionId: options.resumeSessionId ?? null,
  });
  const beats: Array<{ events?: number; toolCalls?: number }> = [];
  const requestsBefore = emulator.requests.length;
  const exit: AgentExit = await createAgentRunner({ root }).run({
    spec: launch.spec,
    worktree,
    prompt: text,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    totalTimeoutMs: 120_000,
    heartbeatMs: 200,
    budgetUsd: options.budgetUsd ?? null,
    onHeartbeat: (progress) => beats.push(progress),
    signal: new AbortController().signal,
  });
  await launch.afterRun?.(exit);
  return { exit, launch, beats, requests: emulator.requests.slice(requestsBefore) };
}

const log = () => git(worktree.path, 'log', '--format=%s', `${worktree.baseRef}..HEAD`);

describe('real Claude Code against the model emulator', () => {
  it('writes a file and commits it; the stream gives the summary, cost, tokens and session', async () => {
    const { exit, beats, launch } = await run('claude', prompt('Add a widget guide'));
    expect(exit).toMatchObject({ status: 'finished', summary: 'Wrote docs/eng-9-add-a-widget-guide.md and committed it.', turns: 3, toolCalls: 2 });
    if (exit.status !== 'finished') return;
    expect(exit.costUsd).toBeGreaterThan(0);
    expect(exit.tokens).toEqual({ input: 3600, output: 450 });
    expect(exit.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(log()).toBe('ENG-9: Add a widget guide');
    expect(git(worktree.path, 'status', '--porcelain')).toBe('');
    expect(Math.max(...beats.map((b) => b.events ?? 0))).toBeGreaterThan(0);
    // The agent got its model key and nothing of the worker's.
    expect(launch.spec.env).toMatchObject({ ANTHROPIC_API_KEY: KEYS.anthropic, ANTHROPIC_BASE_URL: emulator.url });
    expect(JSON.stringify(launch.spec.env)).not.toContain('ghp_never_passed');
    expect(emulator.invalidRequests).toEqual([]);
  }, 90_000);

  it('a refused key (401) ends as an auth failure of the model', async () => {
    const { exit } = await run('claude', prompt('Add a guide [model:auth-fail]'));
    expect(exit).toMatchObject({ status: 'failed', modelError: { failureClass: 'auth' } });
    expect(log()).toBe('');
  }, 90_000);

  it('a 429 is retried by the CLI and the run succeeds', async () => {
    const { exit, requests } = await run('claude', prompt('Add a limits guide [model:rate-limit-once]'));
    expect(requests.map((r) => r.answer)[0]).toBe('429');
    expect(exit.status).toBe('finished');
    expect(log()).toBe('ENG-9: Add a limits guide');
  }, 90_000);

  it('a stream cut mid-way (every time) fails as transient', async () => {
    const { exit, requests } = await run('claude', prompt('Add a cut guide [model:cut]'));
    expect(requests.some((r) => r.answer === 'cut')).toBe(true);
    expect(exit).toMatchObject({ status: 'failed', modelError: { failureClass: 'transient' } });
  }, 90_000);

  it('a model that holds the stream open without events is stopped by the idle timer', async () => {
    const { exit, requests } = await run('claude', prompt('Add a quiet guide [model:silent]'), { idleTimeoutMs: 8_000 });
    expect(exit.status).toBe('stalled');
    expect(requests[0]?.answer).toBe('silent');
    if (exit.status === 'stalled') expect(exit.message).toMatch(/reported no event for 8 s/);
  }, 90_000);

  it('spend past the budget stops the agent', async () => {
    const { exit } = await run('claude', prompt('Add a costly guide [model:expensive]'), { budgetUsd: 1 });
    expect(exit.status).toBe('budget-exceeded');
    if (exit.status === 'budget-exceeded') expect(exit.costUsd).toBeGreaterThan(1);
  }, 90_000);

  it('a re-dispatch with feedback resumes the same session', async () => {
    const first = await run('claude', prompt('Add a widget guide'));
    expect(first.exit.status).toBe('finished');
    const sessionId = first.exit.status === 'finished' ? first.exit.sessionId : null;
    const second = await run('claude', prompt('Add a widget guide', '\n## Feedback (attempt 2)\n\nThe CI failed: add a revision.\n'), { resumeSessionId: sessionId });
    expect(second.launch.resumed).toBe(sessionId);
    expect(second.launch.spec.command).toEqual(expect.arrayContaining(['--resume', sessionId]));
    expect(second.exit).toMatchObject({ status: 'finished', sessionId });
    // The model saw the first run's conversation before the new prompt.
    expect(second.requests[0]!.messages).toBeGreaterThan(first.requests.at(-1)!.messages);
    expect(log().split('\n')).toEqual(['ENG-9: Add a widget guide (revision)', 'ENG-9: Add a widget guide']);
  }, 120_000);
});

describe('real Codex against the model emulator', () => {
  it('edits in its sandbox and runs a command; Conveyor commits what it left', async () => {
    const { exit, launch } = await run('codex', prompt('Add a widget guide'));
    expect(exit).toMatchObject({ status: 'finished', summary: 'Wrote docs/eng-9-add-a-widget-guide.md.', toolCalls: 2, tokens: { input: 3600, output: 450 } });
    expect(exit.status === 'finished' && exit.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(launch.spec.command).toEqual(expect.arrayContaining(['--sandbox', 'workspace-write']));
    const done = await workspaces().finalize(worktree, 'ENG-9: Add a widget guide');
    expect(done.commitsAhead).toBe(1);
    expect(git(worktree.path, 'show', '--name-only', '--format=', 'HEAD')).toBe('docs/eng-9-add-a-widget-guide.md');
    expect(emulator.invalidRequests).toEqual([]);
  }, 90_000);

  it('a refused key (401) ends as an auth failure; a cut stream as transient', async () => {
    expect((await run('codex', prompt('Add a guide [model:auth-fail]'))).exit).toMatchObject({ status: 'failed', modelError: { failureClass: 'auth' } });
    expect((await run('codex', prompt('Add a cut guide [model:cut]'))).exit).toMatchObject({ status: 'failed', modelError: { failureClass: 'transient' } });
  }, 120_000);

  it('a 429 is retried by the CLI and the run succeeds', async () => {
    const { exit, requests } = await run('codex', prompt('Add a limits guide [model:rate-limit-once]'));
    expect(requests[0]?.answer).toBe('429');
    expect(exit.status).toBe('finished');
  }, 90_000);

  it('silence is stopped by the idle timer; reported spend past the budget ends budget-exceeded', async () => {
    expect((await run('codex', prompt('Add a quiet guide [model:silent]'), { idleTimeoutMs: 8_000 })).exit.status).toBe('stalled');
    const costly = await run('codex', prompt('Add a costly guide [model:expensive]'), { budgetUsd: 1 });
    expect(costly.exit.status).toBe('budget-exceeded');
  }, 120_000);

  it('a re-dispatch with feedback resumes the same thread (codex exec resume), counting only its own tokens', async () => {
    const first = await run('codex', prompt('Add a widget guide'));
    const threadId = first.exit.status === 'finished' ? first.exit.sessionId : null;
    expect(threadId).toBeTruthy();
    const second = await run('codex', prompt('Add a widget guide', '\n## Feedback (attempt 2)\n\nAdd a revision.\n'), { resumeSessionId: threadId });
    expect(second.launch.resumed).toBe(threadId);
    expect(second.launch.spec.command).toEqual(expect.arrayContaining(['resume', threadId]));
    expect(second.exit).toMatchObject({ status: 'finished', sessionId: threadId, tokens: { input: 3600, output: 450 } });
    expect(second.requests[0]!.messages).toBeGreaterThan(first.requests.at(-1)!.messages);
  }, 120_000);
});
