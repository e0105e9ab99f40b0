// What an agent can see of the factory from inside its process. Guards the peers' report of
// "tokens readable by the agent": an agent that reads every /proc/<pid>/environ on the host must
// find no factory credential, and its HOME is its own for the run.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentExit, Worktree } from '../../src/integrations/agent.js';
import { resolveAgentUser, workerIsRoot, type AgentUser } from '../../src/integrations/agent-user.js';
import { createAgentRunner } from '../../src/integrations/agent-process.js';
import { createGitWorkspaces } from '../../src/integrations/git-workspaces.js';
import { pushHead } from '../../src/integrations/github/git-push.js';
import { createTestRemote, git, type TestRemote } from '../helpers/git-remote.js';

const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_AGENT = fileURLToPath(new URL('../../scripts/demo-agent.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('../helpers/agent-runner-process.ts', import.meta.url));
const FACTORY_SECRETS = { LINEAR_API_KEY: 'lin_api_isolationSecret4242', GITHUB_TOKEN: 'ghp_isolationSecret4242', TEMPORAL_API_KEY: 'tmprl_isolationSecret4242' };

// Reads every /proc/<pid>/environ it can, writes what it read to a dump file, and reports who
// it is, its HOME, and whether its supervising worker's environment was readable.
const PROBE = `
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
let readable = 0, denied = 0, dump = '';
for (const entry of readdirSync('/proc')) {
  if (!/^\\d+$/.test(entry)) continue;
  try { dump += readFileSync('/proc/' + entry + '/environ', 'latin1').split('\\0').join('\\n') + '\\n'; readable += 1; } catch { denied += 1; }
}
let parentReadable = true;
try { readFileSync('/proc/' + process.ppid + '/environ'); } catch { parentReadable = false; }
writeFileSync(process.env.PROBE_DUMP, dump);
writeFileSync(process.env.CONVEYOR_RESULT_FILE, JSON.stringify({ summary: JSON.stringify({ uid: process.getuid(), home: process.env.HOME, readable, denied, parentReadable }) }));
`;

let tmp: string;
let root: string;
let worktree: Worktree;
let remote: TestRemote;

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'conveyor-agent-iso-')));
  // Another user must reach the probe, the worktree and the dump folder.
  chmodSync(tmp, 0o755);
  root = join(tmp, 'workspaces');
  remote = createTestRemote(tmp);
  worktree = await createGitWorkspaces({ root }).prepare({ repo: 'acme/widgets', cloneUrl: remote.url, authEnv: {}, branch: 'conveyor/eng-7-id', baseBranch: 'main', key: 'ENG-7' });
  writeFileSync(join(tmp, 'probe.mjs'), PROBE, { mode: 0o644 });
  mkdirSync(join(tmp, 'dump'), { mode: 0o777 });
  chmodSync(join(tmp, 'dump'), 0o777);
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs the probe through the runner inside a child "worker" whose real environment holds the factory's credentials. */
function runInWorker(runAs?: AgentUser): Promise<{ exit: AgentExit; dump: string }> {
  const dumpFile = join(tmp, 'dump', 'environ.txt');
  const job = { root, worktree, prompt: 'probe', spec: { command: [process.execPath, join(tmp, 'probe.mjs')], env: { PROBE_DUMP: dumpFile } }, ...(runAs ? { runAs } : {}) };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], { cwd: PROJECT, env: { PATH: process.env.PATH ?? '', HOME: tmp, ...FACTORY_SECRETS }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve({ exit: JSON.parse(last) as AgentExit, dump: existsSync(dumpFile) ? readFileSync(dumpFile, 'latin1') : '' });
      } catch {
        reject(new Error(`the worker printed no exit: ${out}`));
      }
    });
  });
}

describe('agent isolation from the worker', () => {
  it.skipIf(!workerIsRoot())('an agent run as another user finds no factory secret in any /proc/*/environ, and has its own HOME', async () => {
    const nobody = resolveAgentUser('nobody');

    const { exit, dump } = await runInWorker(nobody);

    if (exit.status !== 'finished') throw new Error(`agent ${exit.status}: ${JSON.stringify(exit)}`);
    const seen = JSON.parse(exit.summary) as { uid: number; home: string; readable: number; denied: number; parentReadable: boolean };
    expect(seen.uid).toBe(nobody.uid);
    expect(seen.parentReadable).toBe(false);
    expect(seen.denied).toBeGreaterThan(0);
    // It did read environments (its own at least), so the probe could have found a secret.
    expect(seen.readable).toBeGreaterThan(0);
    expect(dump).toContain('CONVEYOR_RESULT_FILE=');
    for (const secret of Object.values(FACTORY_SECRETS)) expect(dump).not.toContain(secret);
    expect(seen.home.startsWith(join(root, 'homes'))).toBe(true);
    expect(existsSync(seen.home)).toBe(false); // gone with the run
  });

  it('the same probe run as the worker user reads them (what agents.runAs prevents), with its own HOME all the same', async () => {
    const { exit, dump } = await runInWorker();

    if (exit.status !== 'finished') throw new Error(`agent ${exit.status}`);
    const seen = JSON.parse(exit.summary) as { home: string; parentReadable: boolean };
    expect(seen.parentReadable).toBe(true);
    expect(dump).toContain(FACTORY_SECRETS.GITHUB_TOKEN);
    expect(seen.home).not.toBe(tmp);
    expect(seen.home.startsWith(join(root, 'homes'))).toBe(true);
  });

  it.skipIf(!workerIsRoot())('an agent run as another user commits in the worktree handed to it; the factory finalizes as that user and pushes from a clean repository', async () => {
    const nobody = resolveAgentUser('nobody');
    const own = join(tmp, 'shared-workspaces');
    const workspaces = createGitWorkspaces({ root: own, agentUser: nobody });
    const target = { repo: 'acme/widgets', cloneUrl: remote.url, authEnv: {}, branch: 'conveyor/eng-8-id', baseBranch: 'main', key: 'ENG-8' };
    const prepared = await workspaces.prepare(target);
    const prompt = '# Add a widget guide\n\nExplain how widgets are assembled.\n';
    const run = () => createAgentRunner({ root: own, runAs: nobody }).run({ spec: { command: [process.execPath, DEMO_AGENT, '{promptFile}', '{resultFile}'], env: {} }, worktree: prepared, prompt, idleTimeoutMs: 30_000, totalTimeoutMs: 60_000, heartbeatMs: 1_000, onHeartbeat: () => {}, signal: new AbortController().signal });

    await expect(run()).resolves.toMatchObject({ status: 'finished', costUsd: 0.01 });
    expect(git(prepared.path, '-c', 'safe.directory=*', 'log', '-1', '--format=%an')).toBe('demo-agent');
    writeFileSync(join(prepared.path, 'left-over.txt'), 'not committed by the agent\n');
    const done = await workspaces.finalize(prepared, 'ENG-8: leftovers');
    expect(done.commitsAhead).toBe(2);
    // The publish step, in its own activity, finds the worktree the agent's user owns (git run as
    // root there refuses it as of "dubious ownership", and the publish failed "not on this host").
    expect(await workspaces.find({ repo: target.repo, branch: target.branch, key: target.key })).toMatchObject({ path: prepared.path, branch: target.branch });
    const pushed = await pushHead({ worktree: prepared.path, remoteUrl: remote.url, branch: target.branch, authEnv: {}, secrets: [], timeoutMs: 60_000 });
    expect(pushed.headSha).toBe(done.headSha);
    expect(remote.head(target.branch)).toBe(done.headSha);

    // A re-dispatch prepares the same worktree again (reset as the agent's user) and the agent goes on.
    const again = await workspaces.prepare(target);
    expect(git(again.path, '-c', 'safe.directory=*', 'rev-parse', 'HEAD')).toBe(done.headSha);
    await expect(run()).resolves.toMatchObject({ status: 'finished' });
    await workspaces.remove({ repo: target.repo, branch: target.branch, key: target.key });
    expect(existsSync(prepared.path)).toBe(false);
  });
});
