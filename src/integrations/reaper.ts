import { execFile } from 'node:child_process';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Workspaces } from './agent.js';
import { isSameProcess, readRecords, thisHost, type AgentOwner, type AgentRecord } from './agent-records.js';
import { cleanGitEnv } from './github/git-push.js';
import { issueIdFromBranch } from '../domain/naming.js';
import { findProcesses, killMatching } from './process-tree.js';
import { readProcStat } from './proc-stat.js';

type LogFn = (fields: Record<string, unknown>, message: string) => void;

// The reaper: what a worker that died without cleaning up (SIGKILL, OOM, a lost host) leaves
// on its host, found and removed by the next worker there. Agents lead their own process
// group, so they outlive the worker that started them; left alone they finish and commit with
// nobody watching. It runs in every worker process, at start and on an interval, because
// agent processes and worktrees are local to the host: a Temporal Schedule would run it on
// whichever worker polled first, never on every host.
//
// An agent is killed when no one supervises it any more: the worker process that started it is
// gone (its pid no longer names the same process), or the activity that owns it is no longer
// running (its run closed, or the activity is no longer pending, or a later attempt took over).
// A worktree is removed, with its local branch, when its issue's run is closed and no agent
// runs in it. When Temporal cannot be asked, nothing is removed on that ground: a reaper that
// guesses would kill live work.

export type OwnerStatus = 'running' | 'gone' | 'unknown';
export type RunStatus = 'open' | 'closed' | 'unknown';

export interface ReaperOptions {
  /** The workspace root the worker's runner and worktrees use (`workspaceDir`). */
  root: string;
  workspaces: Workspaces;
  /** Whether the activity that owns an agent still runs (Temporal, see temporal/agent-owners.ts). */
  ownerStatus?: (owner: AgentOwner) => Promise<OwnerStatus>;
  /** Whether the issue run with this stable issue id is open. */
  runStatus?: (issueId: string) => Promise<RunStatus>;
  /** Between SIGTERM and SIGKILL (default 3 s). */
  killGraceMs?: number;
  logger?: { info: LogFn; warn: LogFn };
}

export interface ReapReport {
  /** Agents killed: their worktree key and why. */
  killed: { key: string; pgid: number; reason: string; owner?: AgentOwner }[];
  /** Agents left running: supervised and owned by a running activity. */
  kept: string[];
  /** Worktrees removed (with their local branch). */
  removedWorktrees: string[];
  /** Local factory branches deleted that no worktree had checked out. */
  deletedBranches: string[];
}

/** A HOME younger than this may be an agent's that is starting and has no record yet. */
const HOME_GRACE_MS = 60_000;
const GIT_FLAGS = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];

function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', [...GIT_FLAGS, ...args], { cwd, env: cleanGitEnv(cwd), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => (error ? reject(error) : resolvePromise(String(stdout))));
  });
}

/** Pids whose process group is `pgid` (field 5 of /proc/<pid>/stat). */
async function groupMembers(pgid: number): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const members: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      const stat = await readProcStat(Number(entry));
      if (stat !== null && stat.pgid === pgid && stat.state !== 'Z') members.push(Number(entry));
    }),
  );
  return members;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function createReaper(options: ReaperOptions): { reapOnce(): Promise<ReapReport> } {
  const root = resolve(options.root);
  const killGraceMs = options.killGraceMs ?? 3_000;
  const logger = options.logger;
  const host = thisHost();

  /** Why the agent of `record` is unsupervised, or null when someone still owns it. */
  async function orphaned(record: AgentRecord): Promise<string | null> {
    if (!(await isSameProcess(record.supervisor))) return `its worker process (pid ${record.supervisor.pid}) is gone`;
    if (record.owner && options.ownerStatus) {
      const status = await options.ownerStatus(record.owner).catch((): OwnerStatus => 'unknown');
      if (status === 'gone') return `its activity (${record.owner.workflowId} run ${record.owner.runId}, activity ${record.owner.activityId} attempt ${record.owner.attempt}) is no longer running`;
    }
    return null;
  }

  /** Kills what is left of an agent: its group (only while it is still the agent's), then strays carrying its marker. */
  async function kill(record: AgentRecord): Promise<void> {
    const marker = `CONVEYOR_RESULT_FILE=${record.resultFile}`;
    // A group id can be reused once the group is empty: signal it only while a member is the
    // recorded leader or carries this run's environment.
    const members = await groupMembers(record.pgid);
    const ours = new Set(await findProcesses({ envMarkers: [marker] }));
    const stillOurs = (await isSameProcess(record.leader)) || members.some((pid) => ours.has(pid));
    if (stillOurs && members.length > 0) {
      try {
        process.kill(-record.pgid, 'SIGTERM');
      } catch {
        // Gone meanwhile.
      }
      const deadline = Date.now() + killGraceMs;
      while (Date.now() < deadline && (await groupMembers(record.pgid)).length > 0) await sleep(50);
      try {
        process.kill(-record.pgid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await killMatching({ envMarkers: [marker] });
    await Promise.all([
      rm(join(root, 'pids', `${record.key}.json`), { force: true }),
      rm(join(root, 'pids', `${record.key}.pid`), { force: true }),
      rm(record.home, { recursive: true, force: true }),
    ]);
  }

  /** Worktrees registered in each mirror: path → { repo, branch }. */
  async function registered(): Promise<Map<string, { repo: string; branch: string | null }>> {
    const found = new Map<string, { repo: string; branch: string | null }>();
    const mirrors = join(root, 'mirrors');
    for (const owner of await readdir(mirrors).catch(() => [] as string[])) {
      for (const name of await readdir(join(mirrors, owner)).catch(() => [] as string[])) {
        if (!name.endsWith('.git')) continue;
        const mirror = join(mirrors, owner, name);
        const listing = await git(['worktree', 'list', '--porcelain'], mirror).catch(() => '');
        let path: string | null = null;
        for (const line of listing.split('\n')) {
          if (line.startsWith('worktree ')) path = line.slice('worktree '.length);
          else if (line.startsWith('branch ') && path !== null) found.set(path, { repo: `${owner}/${name.slice(0, -'.git'.length)}`, branch: line.slice('branch refs/heads/'.length) });
          else if (line === 'detached' && path !== null) found.set(path, { repo: `${owner}/${name.slice(0, -'.git'.length)}`, branch: null });
        }
      }
    }
    return found;
  }

  /**
   * Local `conveyor/*` branches no worktree has checked out, of runs that are closed: they only
   * mirrored a push. An open run's branch is left: its prepare may be creating it right now.
   */
  async function deleteLooseBranches(report: ReapReport, runStatus: (issueId: string) => Promise<RunStatus>): Promise<void> {
    const mirrors = join(root, 'mirrors');
    for (const owner of await readdir(mirrors).catch(() => [] as string[])) {
      for (const name of await readdir(join(mirrors, owner)).catch(() => [] as string[])) {
        if (!name.endsWith('.git')) continue;
        const mirror = join(mirrors, owner, name);
        const branches = (await git(['for-each-ref', '--format=%(refname:short)%00%(worktreepath)', 'refs/heads/conveyor/'], mirror).catch(() => ''))
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => line.split('\0'));
        for (const [branch = '', worktreePath = ''] of branches) {
          if (worktreePath !== '' || branch === '') continue;
          const issueId = issueIdFromBranch(branch);
          if (issueId === null || (await runStatus(issueId).catch((): RunStatus => 'unknown')) !== 'closed') continue;
          // git refuses to delete a branch a worktree has checked out, so a prepare racing us is safe.
          const deleted = await git(['branch', '--quiet', '-D', branch], mirror).then(
            () => true,
            () => false,
          );
          if (deleted) report.deletedBranches.push(`${owner}/${name.slice(0, -'.git'.length)}:${branch}`);
        }
      }
    }
  }

  return {
    async reapOnce(): Promise<ReapReport> {
      const report: ReapReport = { killed: [], kept: [], removedWorktrees: [], deletedBranches: [] };
      const { records, malformed } = await readRecords(root);
      for (const file of malformed) logger?.warn({ file }, 'agent record unreadable; left for an operator');
      const live = new Set<string>();
      for (const record of records) {
        if (record.host !== host) continue; // another host's agent, on a shared disk
        const reason = await orphaned(record);
        if (reason === null) {
          report.kept.push(record.key);
          live.add(record.worktree);
          continue;
        }
        await kill(record);
        report.killed.push({ key: record.key, pgid: record.pgid, reason, ...(record.owner ? { owner: record.owner } : {}) });
        logger?.warn({ key: record.key, pgid: record.pgid, reason, owner: record.owner }, 'reaped an unsupervised agent');
      }

      // Homes of runs that no longer have a record (a worker killed between run and cleanup).
      // One made in the last minute may belong to an agent starting now, before its record.
      const recorded = new Set(records.map((r) => r.home));
      for (const home of await readdir(join(root, 'homes')).catch(() => [] as string[])) {
        const path = join(root, 'homes', home);
        const info = await stat(path).catch(() => null);
        if (info === null || recorded.has(path) || Date.now() - info.mtimeMs < HOME_GRACE_MS) continue;
        await rm(path, { recursive: true, force: true });
      }

      if (options.runStatus) {
        const worktrees = await registered();
        for (const [path, { repo, branch }] of worktrees) {
          if (live.has(path) || branch === null) continue;
          const issueId = issueIdFromBranch(branch);
          if (issueId === null) continue;
          const status = await options.runStatus(issueId).catch((): RunStatus => 'unknown');
          if (status !== 'closed') continue;
          // remove() also kills whatever still runs in it.
          const key = path.split('/').pop() ?? '';
          await options.workspaces.remove({ repo, branch, key });
          report.removedWorktrees.push(path);
          logger?.info({ repo, branch, path }, "removed the worktree of a closed run");
        }
        await deleteLooseBranches(report, options.runStatus);
      }
      await rm(join(root, 'trash'), { recursive: true, force: true });
      return report;
    },
  };
}

/** Runs `reapOnce` now and every `intervalMs`, one pass at a time; `stop` waits for a pass in flight. */
export function startReaper(reaper: { reapOnce(): Promise<ReapReport> }, intervalMs: number, onError: (error: unknown) => void): { first: Promise<void>; stop(maxWaitMs?: number): Promise<void> } {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const pass = (): Promise<void> => {
    current = reaper.reapOnce().then(
      () => {},
      (error: unknown) => onError(error),
    );
    void current.then(() => {
      if (!stopped) timer = setTimeout(pass, intervalMs).unref();
    });
    return current;
  };
  const first = pass();
  return {
    first,
    /**
     * No pass starts after this. A pass in flight is awaited for at most `maxWaitMs` (default: to
     * its end): a stopping worker should not wait seconds for git and Temporal calls whose work
     * the next start's first pass does anyway.
     */
    async stop(maxWaitMs = Number.POSITIVE_INFINITY) {
      stopped = true;
      clearTimeout(timer);
      if (!Number.isFinite(maxWaitMs)) return current;
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([current, new Promise<void>((resolve) => (bound = setTimeout(resolve, maxWaitMs)))]);
      clearTimeout(bound);
    },
  };
}
