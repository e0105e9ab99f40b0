import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentRunRequest, Worktree } from '../../src/integrations/agent.js';
import { createAgentRunner } from '../../src/integrations/agent-process.js';
import { IntegrationError } from '../../src/integrations/errors.js';
import { createGitWorkspaces } from '../../src/integrations/git-workspaces.js';
import { createTestRemote, eventually, git, isAlive } from '../helpers/git-remote.js';

// Agents as real child processes: the scripted demo agent and small inline scripts. Guards the
// peers' reports of "runs that hang until an outer timeout", "tokens readable by the agent",
// orphaned processes after an abort, and a flooding agent taking the host's memory.

const DEMO_AGENT = fileURLToPath(new URL('../../scripts/demo-agent.mjs', import.meta.url));
const PROMPT = '# Add a widget guide\n\nExplain how widgets are assembled.\n\nAcceptance: a guide exists.\n';
const FACTORY_SECRETS = { LINEAR_API_KEY: 'lin_api_test_value', GITHUB_TOKEN: 'ghp_test_value', TEMPORAL_API_KEY: 'tmprl_test_value' };

let tmp: string;
let root: string;
let worktree: Worktree;
const leftovers: number[] = [];

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'conveyor-agent-')));
  root = join(tmp, 'workspaces');
  const remote = createTestRemote(tmp);
  worktree = await createGitWorkspaces({ root }).prepare({ repo: 'acme/widgets', cloneUrl: remote.url, authEnv: {}, branch: 'conveyor/eng-7-id', baseBranch: 'main', key: 'ENG-7' });
});

afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function demo(): AgentRunRequest['spec'] {
  return { command: [process.execPath, DEMO_AGENT, '{promptFile}', '{resultFile}'], env: {} };
}

/** An inline agent: a Node ESM script written to the temp dir (outside the worktree). */
function script(name: string, code: string): AgentRunRequest['spec'] {
  const file = join(tmp, `${name}.mjs`);
  writeFileSync(file, code);
  return { command: [process.execPath, file], env: {} };
}

function request(overrides: Partial<AgentRunRequest>): AgentRunRequest {
  return { spec: demo(), worktree, prompt: PROMPT, idleTimeoutMs: 15_000, totalTimeoutMs: 25_000, heartbeatMs: 100, onHeartbeat: () => {}, signal: new AbortController().signal, ...overrides };
}

/** The agent's pid, read from the pid file the runner writes while it runs. */
async function agentPid(): Promise<number> {
  const pidFile = join(root, 'pids', 'eng-7.pid');
  expect(await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '')).toBe(true);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  leftovers.push(pid);
  return pid;
}

async function pidFrom(file: string): Promise<number> {
  expect(await eventually(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '')).toBe(true);
  const pid = Number(readFileSync(file, 'utf8').trim());
  leftovers.push(pid);
  return pid;
}

describe('agent runner', () => {
  it('runs the demo agent to a commit and reads its summary from the result file', async () => {
    const runner = createAgentRunner({ root });
    const beats: number[] = [];

    const exit = await runner.run(request({ onHeartbeat: (progress) => beats.push(progress.outputBytes) }));

    expect(exit).toEqual({ status: 'finished', summary: 'Added docs/add-a-widget-guide.md describing "Add a widget guide".', costUsd: 0.01, logFile: join(root, 'logs', 'eng-7-1.log') });
    expect(git(worktree.path, 'log', '-1', '--format=%an|%s')).toBe('demo-agent|Add docs/add-a-widget-guide.md');
    expect(readFileSync(join(worktree.path, 'docs', 'add-a-widget-guide.md'), 'utf8')).toContain('Explain how widgets are assembled.');
    expect(readFileSync(exit.logFile, 'utf8')).toContain('demo-agent: done');
    expect(readFileSync(join(root, 'prompts', 'eng-7-1.md'), 'utf8')).toBe(PROMPT);
    expect(existsSync(join(root, 'pids', 'eng-7.pid'))).toBe(false);
    expect(beats.length).toBeGreaterThanOrEqual(1);

    // A second attempt keeps the first attempt's log and revises the same file.
    const second = await runner.run(request({ prompt: `${PROMPT}\n## Feedback\n\nMention the screws.\n` }));
    expect(second).toMatchObject({ status: 'finished', logFile: join(root, 'logs', 'eng-7-2.log') });
    expect(existsSync(exit.logFile)).toBe(true);
    expect(readFileSync(join(worktree.path, 'docs', 'add-a-widget-guide.md'), 'utf8')).toContain('Mention the screws.');
  });

  it('scripts a CI failure once: the marker is committed first and removed on a re-dispatch with feedback', async () => {
    const runner = createAgentRunner({ root });
    const marker = join(worktree.path, '.conveyor', 'ci-should-fail');
    const prompt = `${PROMPT}[demo:fail-ci-once]\n`;

    await expect(runner.run(request({ prompt }))).resolves.toMatchObject({ status: 'finished' });
    expect(git(worktree.path, 'ls-files', '.conveyor')).toBe('.conveyor/ci-should-fail');
    expect(readFileSync(marker, 'utf8')).toContain('fail-ci-once');

    await expect(runner.run(request({ prompt: `${prompt}\n## Feedback\n\nCI failed: ci-should-fail.\n` }))).resolves.toMatchObject({ status: 'finished', summary: 'Fixed the failing CI check.' });
    expect(existsSync(marker)).toBe(false);
    expect(git(worktree.path, 'ls-files', '.conveyor')).toBe('');
    expect(git(worktree.path, 'status', '--porcelain')).toBe('');
  });

  it('finishes with an empty summary and no cost when the agent writes no result file', async () => {
    const exit = await createAgentRunner({ root }).run(request({ prompt: `${PROMPT}[demo:no-commit]\n` }));
    expect(exit).toMatchObject({ status: 'finished', summary: '', costUsd: 0 });
    expect(git(worktree.path, 'rev-list', '--count', `${worktree.baseRef}..HEAD`)).toBe('0');
  });

  it('ignores a result file that is not the expected JSON', async () => {
    const spec = script('bad-result', `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.CONVEYOR_RESULT_FILE, 'I did great things');\n`);
    await expect(createAgentRunner({ root }).run(request({ spec }))).resolves.toMatchObject({ status: 'finished', summary: '', costUsd: 0 });
  });

  it('reports a crash as failed with the exit code and the log file', async () => {
    const exit = await createAgentRunner({ root }).run(request({ prompt: `${PROMPT}[demo:crash]\n` }));
    expect(exit).toMatchObject({ status: 'failed', exitCode: 3, signal: null });
    if (exit.status !== 'failed') throw new Error('unreachable');
    expect(exit.message).toContain('code 3');
    expect(exit.message).toContain(exit.logFile);
    expect(readFileSync(exit.logFile, 'utf8')).toContain('crashing as scripted');
  });

  it('stops a silent agent after the idle timeout, heartbeating meanwhile, and leaves no process', async () => {
    const beats: number[] = [];
    const running = createAgentRunner({ root }).run(request({ prompt: `${PROMPT}[demo:hang]\n`, idleTimeoutMs: 1_000, onHeartbeat: (progress) => beats.push(progress.lastOutputAt) }));
    const pid = await agentPid();

    const exit = await running;

    expect(exit.status).toBe('stalled');
    expect(exit).toMatchObject({ message: expect.stringContaining('no output for 1 s') });
    expect(isAlive(pid)).toBe(false);
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(root, 'pids', 'eng-7.pid'))).toBe(false);
  });

  it('stops a chatty agent that ignores SIGTERM at the total timeout', async () => {
    const spec = script('chatty', `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));\nsetInterval(() => console.log('still working'), 100);\n`);
    const running = createAgentRunner({ root, killGraceMs: 300 }).run(request({ spec, idleTimeoutMs: 1_000, totalTimeoutMs: 2_000 }));
    const pid = await agentPid();

    const exit = await running;

    expect(exit).toMatchObject({ status: 'timeout', message: expect.stringContaining('2 s limit') });
    expect(isAlive(pid)).toBe(false);
    expect(readFileSync(exit.logFile, 'utf8')).toContain('ignoring SIGTERM');
  });

  it('kills the whole tree, grandchildren included, when the run is aborted', async () => {
    const grandchildPidFile = join(tmp, 'grandchild.pid');
    const spec = script(
      'parent',
      `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\nconst child = spawn('sleep', ['60'], { stdio: 'ignore' });\nwriteFileSync(process.env.GRANDCHILD_PID_FILE, String(child.pid));\nsetInterval(() => console.log('working'), 200);\n`,
    );
    spec.env = { GRANDCHILD_PID_FILE: grandchildPidFile };
    const controller = new AbortController();
    const running = createAgentRunner({ root }).run(request({ spec, signal: controller.signal }));
    const pid = await agentPid();
    const grandchild = await pidFrom(grandchildPidFile);
    expect(isAlive(grandchild)).toBe(true);

    controller.abort();
    const exit = await running;

    expect(exit.status).toBe('cancelled');
    expect(isAlive(pid)).toBe(false);
    expect(await eventually(() => !isAlive(grandchild), 5_000)).toBe(true);
  });

  it('kills a grandchild that left the process group when the agent exits', async () => {
    const grandchildPidFile = join(tmp, 'escaped.pid');
    const spec = script(
      'escaper',
      `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\nconst child = spawn('sleep', ['60'], { stdio: 'ignore', detached: true });\nchild.unref();\nwriteFileSync(process.env.GRANDCHILD_PID_FILE, String(child.pid));\n`,
    );
    spec.env = { GRANDCHILD_PID_FILE: grandchildPidFile };

    const exit = await createAgentRunner({ root }).run(request({ spec }));
    const grandchild = await pidFrom(grandchildPidFile);

    expect(exit.status).toBe('finished');
    expect(await eventually(() => !isAlive(grandchild), 5_000)).toBe(true);
  });

  it('does not run an agent whose run was aborted before it started', async () => {
    const marker = join(tmp, 'started');
    const spec = script('never', `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'started');\n`);
    const controller = new AbortController();
    controller.abort();
    await expect(createAgentRunner({ root }).run(request({ spec, signal: controller.signal }))).resolves.toMatchObject({ status: 'cancelled' });
    expect(existsSync(marker)).toBe(false);
  });

  it('bounds the log of a flooding agent and keeps its output out of memory', async () => {
    const maxLogBytes = 10 * 1024 * 1024;
    const before = process.memoryUsage().rss;

    const exit = await createAgentRunner({ root }).run(request({ prompt: `${PROMPT}[demo:flood]\n` }));

    const growth = process.memoryUsage().rss - before;
    expect(exit.status).toBe('finished');
    const size = statSync(exit.logFile).size;
    expect(size).toBeGreaterThanOrEqual(maxLogBytes);
    expect(size).toBeLessThan(maxLogBytes + 4096);
    const log = readFileSync(exit.logFile, 'utf8');
    expect(log).toContain('log truncated');
    const total = Number(/(\d+) bytes of output/.exec(log)?.[1]);
    expect(total).toBeGreaterThan(50 * 1024 * 1024);
    expect(growth).toBeLessThan(200 * 1024 * 1024);
  });

  it("keeps the factory's credentials out of the agent's environment", async () => {
    const saved = Object.fromEntries(Object.keys(FACTORY_SECRETS).map((name) => [name, process.env[name]]));
    Object.assign(process.env, FACTORY_SECRETS);
    try {
      const prompt = `${PROMPT}[demo:steal-secrets]\n`;
      const exit = await createAgentRunner({ root }).run(request({ prompt }));
      expect(exit.status).toBe('finished');
      if (exit.status !== 'finished') throw new Error('unreachable');
      expect(exit.summary).toContain('LINEAR_API_KEY absent, GITHUB_TOKEN absent, TEMPORAL_API_KEY absent');

      // The same agent does see a variable the operator chose to pass: the probe can tell.
      const leaky = await createAgentRunner({ root, passEnv: ['PATH', 'GITHUB_TOKEN'] }).run(request({ prompt }));
      expect(leaky).toMatchObject({ status: 'finished', summary: expect.stringContaining('GITHUB_TOKEN present') });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('gives the agent only the allowlist, its own env and the Conveyor paths, in its worktree', async () => {
    process.env.CONVEYOR_TEST_PARENT_ONLY = 'parent';
    try {
      const spec = script(
        'inspect',
        `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.CONVEYOR_RESULT_FILE, JSON.stringify({ summary: JSON.stringify({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() }) }));\n`,
      );
      spec.command.push('--prompt={promptFile}', '{worktree}', '{resultFile}');
      spec.env = { AGENT_MODEL_KEY: 'model-key' };

      const exit = await createAgentRunner({ root }).run(request({ spec }));

      if (exit.status !== 'finished') throw new Error(`agent ${exit.status}`);
      const seen = JSON.parse(exit.summary) as { argv: string[]; env: Record<string, string>; cwd: string };
      const promptFile = join(root, 'prompts', 'eng-7-1.md');
      const resultFile = join(root, 'results', 'eng-7-1.json');
      expect(seen.argv).toEqual([`--prompt=${promptFile}`, worktree.path, resultFile]);
      expect(seen.cwd).toBe(worktree.path);
      expect(seen.env).toMatchObject({ AGENT_MODEL_KEY: 'model-key', CONVEYOR_PROMPT_FILE: promptFile, CONVEYOR_RESULT_FILE: resultFile, CONVEYOR_WORKTREE: worktree.path, PATH: process.env.PATH });
      const allowed = new Set(['PATH', 'HOME', 'LANG', 'TERM', 'TMPDIR', 'AGENT_MODEL_KEY', 'CONVEYOR_PROMPT_FILE', 'CONVEYOR_RESULT_FILE', 'CONVEYOR_WORKTREE']);
      expect(Object.keys(seen.env).filter((name) => !allowed.has(name))).toEqual([]);
      expect(promptFile.startsWith(worktree.path)).toBe(false);
    } finally {
      delete process.env.CONVEYOR_TEST_PARENT_ONLY;
    }
  });

  it('refuses a command that cannot start, as a logic error', async () => {
    const spec = { command: ['/nonexistent/agent-cli', '{promptFile}'], env: {} };
    const failure = await createAgentRunner({ root })
      .run(request({ spec }))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IntegrationError);
    expect((failure as IntegrationError).failureClass).toBe('logic');
    expect((failure as IntegrationError).message).toContain('/nonexistent/agent-cli');
  });
});

describe('agent runner: keeping run files (agents.runFiles)', () => {
  const DAY = 24 * 3_600_000;
  /** Ends at once with exit 0: a run that leaves its prompt, log and result file. */
  const quick = () => script('quick', "import { writeFileSync } from 'node:fs';\nconsole.log('done');\nwriteFileSync(process.env.CONVEYOR_RESULT_FILE, JSON.stringify({ summary: 'Done.' }));\n");

  /** The prompt, log and result of run `n` of `key`, as an earlier worker left them `ageMs` ago. */
  function earlierRun(key: string, n: number, ageMs: number): void {
    const at = new Date(Date.now() - ageMs);
    for (const [folder, ext] of [['prompts', 'md'], ['logs', 'log'], ['results', 'json']] as const) {
      mkdirSync(join(root, folder), { recursive: true });
      const path = join(root, folder, `${key}-${n}.${ext}`);
      writeFileSync(path, `${folder} of ${key} run ${n}\n`);
      utimesSync(path, at, at);
    }
  }

  const runsOf = (folder: string, key: string) => readdirSync(join(root, folder)).filter((name) => name.startsWith(`${key}-`)).sort();

  it('prunes after a run: an issue keeps its newest runs, an old run of another issue goes, and the next attempt is numbered after the last', async () => {
    const infos: { fields: Record<string, unknown>; message: string }[] = [];
    const logger = { info: (fields: Record<string, unknown>, message: string) => infos.push({ fields, message }), warn: () => {} };
    const runner = createAgentRunner({ root, logger, runFiles: { maxAgeMs: 14 * DAY, maxPerIssue: 2 }, pruneIntervalMs: 0 });
    earlierRun('ops-3', 1, 30 * DAY);

    await expect(runner.run(request({ spec: quick() }))).resolves.toMatchObject({ status: 'finished', logFile: join(root, 'logs', 'eng-7-1.log') });
    expect(runsOf('logs', 'ops-3')).toEqual([]);
    await runner.run(request({ spec: quick() }));
    await runner.run(request({ spec: quick() }));

    expect(runsOf('logs', 'eng-7')).toEqual(['eng-7-2.log', 'eng-7-3.log']);
    expect(runsOf('prompts', 'eng-7')).toEqual(['eng-7-2.md', 'eng-7-3.md']);
    // Not attempt 1 again: a run's history may still name eng-7-1.log, and the cap keeps the highest numbers.
    await expect(runner.run(request({ spec: quick() }))).resolves.toMatchObject({ logFile: join(root, 'logs', 'eng-7-4.log') });
    expect(runsOf('logs', 'eng-7')).toEqual(['eng-7-3.log', 'eng-7-4.log']);

    // Said at info, as counts and bytes: nothing of the files themselves.
    const pruned = infos.filter((entry) => entry.message.includes('agents.runFiles'));
    expect(pruned.map((entry) => entry.fields)).toEqual([
      { expiredRuns: 1, overCapRuns: 0, files: 3, bytes: expect.any(Number) },
      { expiredRuns: 0, overCapRuns: 1, files: 3, bytes: expect.any(Number) },
      { expiredRuns: 0, overCapRuns: 1, files: 3, bytes: expect.any(Number) },
    ]);
    expect(pruned[0]!.fields.bytes).toBe(['prompts', 'logs', 'results'].reduce((sum, folder) => sum + `${folder} of ops-3 run 1\n`.length, 0));
  });

  it('prunes at most once per interval: once when asked at worker start, then not again after a run within the interval', async () => {
    const runner = createAgentRunner({ root, runFiles: { maxAgeMs: 14 * DAY, maxPerIssue: 20 } });
    earlierRun('ops-3', 1, 30 * DAY);

    // What the worker does at start, before it takes work.
    await expect(runner.pruneRunFiles?.()).resolves.toMatchObject({ expiredRuns: 1, files: 3 });
    expect(runsOf('logs', 'ops-3')).toEqual([]);

    // Ten minutes have not passed: the run ends without listing the folders again.
    earlierRun('ops-3', 2, 30 * DAY);
    await runner.run(request({ spec: quick() }));
    expect(runsOf('logs', 'ops-3')).toEqual(['ops-3-2.log']);
    await expect(runner.pruneRunFiles?.()).resolves.toBeNull();
  });

  it('keeps every run file when no retention is configured', async () => {
    const runner = createAgentRunner({ root, pruneIntervalMs: 0 });
    earlierRun('ops-3', 1, 400 * DAY);
    await runner.run(request({ spec: quick() }));
    await expect(runner.pruneRunFiles?.()).resolves.toBeNull();
    expect(runsOf('logs', 'ops-3')).toEqual(['ops-3-1.log']);
  });
});
