// The reaper against real processes and real git. Guards the peers' reports of "sessions
// orphaned on restart" and "an issue shown as running with no process behind it": a worker
// killed with SIGKILL mid-agent leaves the agent running unsupervised (it went on to commit
// after its worker was gone); the next reaper on the host kills it, and leaves live agents alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentRunRequest, Workspaces, Worktree } from '../../src/integrations/agent.js';
import { createAgentRunner } from '../../src/integrations/agent-process.js';
import { createGitWorkspaces } from '../../src/integrations/git-workspaces.js';
import { createReaper, startReaper, type ReapReport } from '../../src/integrations/reaper.js';
import { createTestRemote, eventually, git, isAlive, type TestRemote } from '../helpers/git-remote.js';

const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER = fileURLToPath(new URL('../helpers/agent-runner-process.ts', import.meta.url));
const OWNER = { workflowId: 'conveyor-issue-abc', runId: 'run-1', activityId: '7', attempt: 1 };
const BRANCH = 'conveyor/eng-7-abc';

// A busy agent with a child of its own, that never ends by itself.
const BUSY = `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const child = spawn('sleep', ['300'], { stdio: 'ignore' });
writeFileSync(process.env.CHILD_PID_FILE, String(child.pid));
setInterval(() => console.log('working'), 200);
`;

let tmp: string;
let root: string;
let remote: TestRemote;
let workspaces: Workspaces;
let worktree: Worktree;
const children: ChildProcess[] = [];
const pids: number[] = [];

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'conveyor-reaper-')));
  root = join(tmp, 'workspaces');
  remote = createTestRemote(tmp);
  workspaces = createGitWorkspaces({ root });
  worktree = await workspaces.prepare({ repo: 'acme/widgets', cloneUrl: remote.url, authEnv: {}, branch: BRANCH, baseBranch: 'main', key: 'ENG-7' });
  writeFileSync(join(tmp, 'busy.mjs'), BUSY);
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone, as the test expected.
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function busySpec(name: string): AgentRunRequest['spec'] {
  return { command: [process.execPath, join(tmp, 'busy.mjs')], env: { CHILD_PID_FILE: join(tmp, `${name}.pid`) } };
}

async function pidIn(file: string): Promise<number> {
  expect(await eventually(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', 20_000)).toBe(true);
  const pid = Number(readFileSync(file, 'utf8').trim());
  pids.push(pid);
  return pid;
}

/** A worker process running the busy agent; resolves with the agent's pid once it runs. */
async function workerWithAgent(): Promise<{ worker: ChildProcess; agent: number; grandchild: number }> {
  const job = { root, worktree, prompt: 'work', spec: busySpec('grandchild'), owner: OWNER };
  const worker = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], { cwd: PROJECT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(worker);
  const agent = await new Promise<number>((resolve, reject) => {
    let out = '';
    worker.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /running (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    worker.once('exit', () => reject(new Error(`the worker exited before its agent ran: ${out}`)));
  });
  pids.push(agent);
  return { worker, agent, grandchild: await pidIn(join(tmp, 'grandchild.pid')) };
}

describe('reaper', () => {
  it('kills the tree of an agent whose worker was killed with SIGKILL', async () => {
    const { worker, agent, grandchild } = await workerWithAgent();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
    // What happens today: the agent goes on, unsupervised.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isAlive(agent)).toBe(true);
    expect(isAlive(grandchild)).toBe(true);

    const report = await createReaper({ root, workspaces, killGraceMs: 500 }).reapOnce();

    expect(report.killed).toEqual([{ key: 'eng-7', pgid: agent, reason: expect.stringContaining('worker process') as string, owner: OWNER }]);
    expect(await eventually(() => !isAlive(agent) && !isAlive(grandchild), 10_000)).toBe(true);
    expect(existsSync(join(root, 'pids', 'eng-7.json'))).toBe(false);
    expect(existsSync(join(root, 'pids', 'eng-7.pid'))).toBe(false);
    // The worktree stays: whether its run is over is Temporal's to say, and it was not asked.
    expect(existsSync(worktree.path)).toBe(true);
  });

  it('leaves a live agent alone, and kills it once its activity is no longer running', async () => {
    const controller = new AbortController();
    const running = createAgentRunner({ root }).run({ spec: busySpec('live'), worktree, prompt: 'work', idleTimeoutMs: 60_000, totalTimeoutMs: 60_000, heartbeatMs: 1_000, onHeartbeat: () => {}, signal: controller.signal, owner: OWNER });
    const grandchild = await pidIn(join(tmp, 'live.pid'));
    try {
      const kept = await createReaper({ root, workspaces, ownerStatus: async () => 'running', runStatus: async () => 'open' }).reapOnce();
      expect(kept).toMatchObject({ killed: [], kept: ['eng-7'], removedWorktrees: [] });
      // Temporal cannot be asked: nothing is killed on a guess.
      const unknown = await createReaper({ root, workspaces, ownerStatus: async () => 'unknown', runStatus: async () => 'unknown' }).reapOnce();
      expect(unknown.killed).toEqual([]);
      expect(isAlive(grandchild)).toBe(true);

      const seen: unknown[] = [];
      const gone = await createReaper({ root, workspaces, killGraceMs: 500, ownerStatus: async (owner) => (seen.push(owner), 'gone') }).reapOnce();

      expect(seen).toEqual([OWNER]);
      expect(gone.killed).toEqual([expect.objectContaining({ key: 'eng-7', reason: expect.stringContaining('no longer running') as string })]);
      expect(await running).toMatchObject({ status: 'failed' });
      expect(await eventually(() => !isAlive(grandchild), 10_000)).toBe(true);
    } finally {
      controller.abort();
    }
  });

  it("removes the worktree and local branch of a closed run, keeps an open run's, and deletes loose branches of closed runs", async () => {
    const open = await workspaces.prepare({ repo: 'acme/widgets', cloneUrl: remote.url, authEnv: {}, branch: 'conveyor/eng-8-def', baseBranch: 'main', key: 'ENG-8' });
    const mirror = join(root, 'mirrors', 'acme', 'widgets.git');
    git(mirror, 'branch', 'conveyor/eng-9-ghi', 'refs/remotes/origin/main');
    const asked: string[] = [];

    const report = await createReaper({ root, workspaces, runStatus: async (issueId) => (asked.push(issueId), issueId === 'def' ? 'open' : 'closed') }).reapOnce();

    expect([...new Set(asked)].sort()).toEqual(['abc', 'def', 'ghi']);
    expect(report.removedWorktrees).toEqual([worktree.path]);
    expect(existsSync(worktree.path)).toBe(false);
    expect(existsSync(open.path)).toBe(true);
    expect(report.deletedBranches).toEqual(['acme/widgets:conveyor/eng-9-ghi']);
    expect(git(mirror, 'branch', '--list', 'conveyor/*').split('\n').map((b) => b.replace(/^[*+ ]+/, '')).sort()).toEqual(['conveyor/eng-8-def']);
  });
});

describe('the reaper on a schedule', () => {
  it('stops starting passes at stop(), and a stopping worker waits for a pass in flight only as long as it says', async () => {
    let passes = 0;
    let finish!: () => void;
    const inFlight = new Promise<void>((resolve) => (finish = resolve));
    const empty: ReapReport = { killed: [], kept: [], removedWorktrees: [], deletedBranches: [] };
    // The first pass ends at once; the second hangs, as a pass stuck on a slow git or Temporal call would.
    const schedule = startReaper({ reapOnce: async () => (++passes === 1 ? empty : inFlight.then(() => empty)) }, 10, () => {});
    await schedule.first;
    await eventually(() => passes === 2, 5_000);

    let stopped = false;
    const stopping = schedule.stop(50).then(() => (stopped = true));
    expect(await eventually(() => stopped, 5_000)).toBe(true);
    finish();
    await stopping;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(passes).toBe(2);
  });
});
