import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Workspaces, Worktree } from './agent.js';
import type { AgentUser } from './agent-user.js';
import { IntegrationError } from './errors.js';
import { assertBranchName } from './github/git-push.js';
import { findProcesses, killMatching, signalGroup } from './process-tree.js';

type LogFn = (fields: Record<string, unknown>, message: string) => void;

// Worktrees over one bare mirror per repo: a re-dispatch fetches only what changed, and every
// issue gets its own checkout. Layout under `root`:
//   mirrors/<owner>/<name>.git   bare, no remote configured: fetched by URL into refs/remotes/origin/*
//   worktrees/<key-lowercased>   the agent's checkout
//   pids/<key-lowercased>.pid    written by the agent runner, read here to kill a live agent
//   trash/                       removed checkouts, renamed here to be deleted outside the mirror's lock
//
// The credential (authEnv) goes only into the environment of the fetch: never into a URL or
// the mirror's config, which the agent can read through its worktree's `.git` file. The agent
// runs as the same user and could write that config or plant hooks, so every git command here
// disables hooks and fsmonitor, the mirror's config is rewritten before each fetch, and the
// commands that touch the worktree run with the same scrubbed environment the agent had.

export interface GitWorkspacesOptions {
  /** e.g. `.data/workspaces`; share it with the agent runner so `remove` finds the pid files. */
  root: string;
  /** pino's logger fits; fields never carry a credential. */
  logger?: { info: LogFn; warn: LogFn };
  /** Limit for one fetch (default 10 min); local git commands get 2 min. */
  fetchTimeoutMs?: number;
  /** Clock for `reuseWithinMs`, in ms (default `performance.now`); tests pass their own. */
  now?: () => number;
  /**
   * The user agents run as (`agents.runAs`). Worktrees are handed over to it, the mirror's data
   * (objects, refs, logs) is shared with its group while its config stays the worker's, and the
   * commands that run inside a worktree run as that user: whatever the agent planted there runs
   * with the agent's rights, never the worker's.
   */
  agentUser?: AgentUser;
  /**
   * Called before a worktree that exists is removed (the repo's before-remove hook). Its failure
   * is logged and the removal goes on: compensation must always complete.
   */
  beforeRemove?: (worktree: { path: string; branch: string; key: string }) => Promise<void>;
}

const AUTHOR = ['-c', 'user.name=Conveyor', '-c', 'user.email=conveyor@users.noreply.local', '-c', 'commit.gpgsign=false'];
/** Config the agent may have planted that would run a program inside our git commands. */
const SAFE = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];
/** Wait for git's own ref locks instead of failing at once (see "Concurrency" below). */
const LOCK_WAIT = ['-c', 'core.filesRefLockTimeout=2000', '-c', 'core.packedRefsTimeout=10000'];
const MIRROR_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n';
/** With an agent user: objects and refs git writes are group-writable, so agent and worker both can add to them. */
const SHARED_MIRROR_CONFIG = `${MIRROR_CONFIG}\tsharedRepository = group\n`;
/** Global and system config are files the agent may reach (the worker's HOME, when it runs as the worker's user). */
const NO_OUTSIDE_CONFIG = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const LOCAL_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR'];
/** What a fetch may need from the host besides the credential: proxies, CAs, ssh. */
const NETWORK_ENV_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO', 'GIT_SSH_COMMAND', 'SSH_AUTH_SOCK'];

type Env = Record<string, string>;

function pickEnv(keys: string[]): Env {
  const env: Env = { GIT_TERMINAL_PROMPT: '0', ...NO_OUTSIDE_CONFIG };
  for (const key of keys) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

interface GitFailure {
  stderr: string;
  killed: boolean;
  message: string;
}

function git(args: string[], options: { cwd: string; env: Env; timeoutMs: number; user?: AgentUser | undefined }): Promise<string> {
  const user = options.user ? { uid: options.user.uid, gid: options.user.gid } : {};
  return new Promise((resolvePromise, reject) => {
    execFile('git', [...SAFE, ...LOCK_WAIT, ...args], { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 32 * 1024 * 1024, ...user }, (error, stdout, stderr) => {
      if (error) reject({ stderr: String(stderr), killed: error.killed === true, message: error.message } satisfies GitFailure);
      else resolvePromise(String(stdout));
    });
  });
}

function isGitFailure(error: unknown): error is GitFailure {
  return typeof error === 'object' && error !== null && 'stderr' in error && 'killed' in error;
}

/** Every credential-looking piece of authEnv, and userinfo in URLs, replaced before a message leaves. */
function scrubber(authEnv: Env): (text: string) => string {
  const secrets = new Set<string>();
  for (const value of Object.values(authEnv)) {
    if (value.length >= 4) secrets.add(value);
    for (const piece of value.split(/[\s:]+/)) if (piece.length >= 8) secrets.add(piece);
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let result = text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1[REDACTED]@');
    for (const secret of ordered) result = result.split(secret).join('[REDACTED]');
    return result;
  };
}

function lastLines(text: string, count = 6): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

function repoPath(repo: string): { owner: string; name: string } {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(repo);
  if (!match || [match[1], match[2]].some((part) => part === '.' || part === '..')) {
    throw new IntegrationError(`"${repo}" is not a repository name: use owner/name`, 'logic', { service: 'git' });
  }
  return { owner: match[1] as string, name: (match[2] as string).replace(/\.git$/, '') };
}

function keyDir(key: string): string {
  const dir = key.toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]{0,99}$/.test(dir)) {
    throw new IntegrationError(`"${key}" cannot name a worktree: use an issue key such as ENG-12`, 'logic', { service: 'git' });
  }
  return dir;
}

function classifyFetch(repo: string, output: string, killed: boolean): IntegrationError {
  const details = { service: 'git' as const };
  if (killed) return new IntegrationError(`Fetching ${repo} timed out; will retry.`, 'transient', details);
  if (/Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|HTTP 40[13]|Permission denied \(publickey/i.test(output)) {
    return new IntegrationError(`The git host refused the credentials for ${repo}: check that the forge token may read this repository.\n${lastLines(output)}`, 'auth', details);
  }
  if (/Repository not found|does not appear to be a git repository|returned error: 404|HTTP 404/i.test(output)) {
    return new IntegrationError(`The git host has no repository ${repo}: check the repo name in instance/factory.yaml and the forge's git URL.\n${lastLines(output)}`, 'logic', details);
  }
  return new IntegrationError(`Fetching ${repo} failed; will retry.\n${lastLines(output)}`, 'transient', details);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** What the shared fetch of a mirror is keyed on besides the mirror: only callers with the same URL and credential share one. */
function fetchFingerprint(cloneUrl: string, authEnv: Env): string {
  const entries = Object.entries(authEnv).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify([cloneUrl, entries])).digest('hex');
}

/** One operation at a time per key, in call order. */
function withLock<T>(locks: Map<string, Promise<void>>, key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const settled = run.then(
    () => {},
    () => {},
  );
  locks.set(key, settled);
  void settled.then(() => {
    if (locks.get(key) === settled) locks.delete(key);
  });
  return run;
}

interface FetchQueue {
  /** Settles when the last fetch queued on the mirror has ended. */
  tail: Promise<void>;
  /** The queued fetch that has not started yet, which a newcomer with the same fingerprint joins. */
  waiting?: { fingerprint: string; done: Promise<void> };
}

/** A worktree this process prepared in full, kept for `reuseWithinMs`. */
interface Prepared {
  repo: string;
  branch: string;
  baseBranch: string;
  head: string;
  at: number;
  worktree: Worktree;
  /** Made by prepareAhead: never handed out yet. */
  ahead: boolean;
}

// Concurrency. Within one process (one worker owns a root), per mirror:
// - Fetches run one at a time, and are shared. A prepare waits for the next fetch to *start*
//   after it arrived: the one already in flight may have read the remote's refs before a push
//   this prepare must see. Every prepare arriving before that fetch starts shares it, so N
//   concurrent prepares cost at most two fetches. Two fetches into one mirror at once would
//   contend for the same remote-tracking ref locks, and one would fail.
// - Worktree metadata (worktree add/remove/prune, branch -D) is serialised by the mirror's
//   lock, which a fetch does not take. That is safe because a fetch and these commands write
//   disjoint things. The fetch writes objects (packs and loose objects are written to a
//   temporary file and renamed into place, so a reader sees an object whole or not at all, and
//   git rescans the pack directory when an object is missing), refs/remotes/origin/* and the
//   mirror's FETCH_HEAD. The worktree commands write refs/heads/<the branch>, one
//   worktree's HEAD and index, and $GIT_DIR/worktrees/<id>. Every ref is changed under its own
//   <ref>.lock and replaced by a rename, so a reader sees its old or its new value. The one file
//   both sides may rewrite is packed-refs (deleting a ref that a gc packed: a fetch --prune, a
//   branch -D); git waits for its lock (LOCK_WAIT) instead of failing, and the same covers the
//   `gc --auto` a fetch may leave running detached, which it did before this lock was narrowed.
// - The start commit is resolved after the fetch and handed to git as a SHA, so a later fetch
//   moving origin/* during a `worktree add` cannot change what is checked out, and the commit's
//   objects stay (git prunes only unreachable objects, and only after two weeks).
// - The mirror's config is rewritten before each fetch by a rename, so a git command reading it
//   meanwhile reads the old file or the new one, never a truncated one.
// - Commands inside one existing worktree (checkout, reset, clean) change only that worktree
//   and its own branch ref: they take that worktree's lock, not the mirror's. prepare and
//   remove take the worktree's lock first and the mirror's inside it, never the other way.

export function createGitWorkspaces(options: GitWorkspacesOptions): Workspaces {
  const logger = options.logger;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 10 * 60_000;
  const localTimeoutMs = 2 * 60_000;
  const now = options.now ?? (() => performance.now());
  const localEnv = pickEnv(LOCAL_ENV_KEYS);
  const agentUser = options.agentUser;
  /** Commands inside a worktree: as the agent's user when there is one (its files, its rights), with a HOME that holds nothing. */
  const inWorktreeOf = (cwd: string): { cwd: string; env: Env; timeoutMs: number; user?: AgentUser } =>
    agentUser ? { cwd, env: { ...pickEnv(['PATH', 'LANG', 'LC_ALL']), HOME: '/nonexistent' }, timeoutMs: localTimeoutMs, user: agentUser } : { cwd, env: localEnv, timeoutMs: localTimeoutMs };

  /** Hands a prepared worktree to the agent's user: the checkout and its admin folder are its; the mirror's data is shared with its group. */
  async function handOver(mirror: string, worktree: string): Promise<void> {
    if (!agentUser) return;
    const owner = `${agentUser.uid}:${agentUser.gid}`;
    // coreutils walk with -P (never through a symlink) and change links themselves (-h).
    const run = (program: string, args: string[]): Promise<void> =>
      new Promise((resolvePromise, reject) => execFile(program, args, { timeout: localTimeoutMs }, (error, _out, stderr) => (error ? reject(new IntegrationError(`Handing ${worktree} to the agent user ${agentUser.name} failed: ${String(stderr).trim() || error.message}`, 'unknown', { service: 'git' })) : resolvePromise())));
    const admins = await readdir(join(mirror, 'worktrees')).catch(() => [] as string[]);
    const mine: string[] = [];
    for (const name of admins) {
      const gitdir = (await readFile(join(mirror, 'worktrees', name, 'gitdir'), 'utf8').catch(() => '')).trim();
      if (gitdir === join(worktree, '.git')) mine.push(join(mirror, 'worktrees', name));
    }
    await run('chown', ['-R', '-P', '-h', owner, '--', worktree, ...mine]);
    const shared = ['objects', 'refs', 'logs'].map((dir) => join(mirror, dir));
    await Promise.all(shared.map((dir) => mkdir(dir, { recursive: true })));
    await run('chgrp', ['-R', '-P', '-h', String(agentUser.gid), '--', ...shared]);
    await run('find', [...shared, '-type', 'd', '-exec', 'chmod', 'g+rwxs', '{}', '+']);
  }
  const mirrorLocks = new Map<string, Promise<void>>();
  const worktreeLocks = new Map<string, Promise<void>>();
  const fetchQueues = new Map<string, FetchQueue>();
  /** By worktree path; an entry is taken (deleted) by the next prepare or remove of that worktree. */
  const recent = new Map<string, Prepared>();
  let rootReady: Promise<string> | undefined;

  /** The root as git records it (symlinks resolved), so worktree paths compare equal. */
  function root(): Promise<string> {
    rootReady ??= (async () => {
      const absolute = resolve(options.root);
      await mkdir(absolute, { recursive: true });
      return realpath(absolute);
    })();
    return rootReady;
  }

  async function mirrorOf(repo: string): Promise<string> {
    const { owner, name } = repoPath(repo);
    return join(await root(), 'mirrors', owner, `${name}.git`);
  }

  async function paths(repo: string, key: string): Promise<{ mirror: string; worktree: string; pidFile: string; trash: string }> {
    const dir = keyDir(key);
    const base = await root();
    return { mirror: await mirrorOf(repo), worktree: join(base, 'worktrees', dir), pidFile: join(base, 'pids', `${dir}.pid`), trash: join(base, 'trash') };
  }

  async function ensureMirror(mirror: string): Promise<void> {
    if (await exists(join(mirror, 'HEAD'))) return;
    await mkdir(dirname(mirror), { recursive: true });
    // Built aside and renamed, so a crash never leaves a half-made mirror at the real path.
    const scratch = `${mirror}.tmp-${randomBytes(4).toString('hex')}`;
    await git(['init', '--bare', '--quiet', scratch], { cwd: dirname(mirror), env: localEnv, timeoutMs: localTimeoutMs });
    await rename(scratch, mirror).catch(async (error: unknown) => {
      await rm(scratch, { recursive: true, force: true });
      if (!(await exists(join(mirror, 'HEAD')))) throw error;
    });
  }

  /** Runs `fetch` once per waiting group: the next fetch of the mirror to start after this call (see "Concurrency"). */
  function sharedFetch(mirror: string, fingerprint: string, fetch: () => Promise<void>): Promise<void> {
    let queue = fetchQueues.get(mirror);
    if (queue?.waiting?.fingerprint === fingerprint) return queue.waiting.done;
    if (!queue) {
      queue = { tail: Promise.resolve() };
      fetchQueues.set(mirror, queue);
    }
    const q = queue;
    const waiting: { fingerprint: string; done: Promise<void> } = { fingerprint, done: Promise.resolve() };
    waiting.done = q.tail.then(() => {
      // Started: whoever comes from now on may be after a push this fetch will not see.
      if (q.waiting === waiting) q.waiting = undefined;
      return fetch();
    });
    q.waiting = waiting;
    const settled = waiting.done.then(
      () => {},
      () => {},
    );
    q.tail = settled;
    void settled.then(() => {
      if (q.tail === settled && fetchQueues.get(mirror) === q) fetchQueues.delete(mirror);
    });
    return waiting.done;
  }

  function fetchInto(mirror: string, repo: string, cloneUrl: string, authEnv: Env): Promise<void> {
    const scrub = scrubber(authEnv);
    return sharedFetch(mirror, fetchFingerprint(cloneUrl, authEnv), async () => {
      await ensureMirror(mirror);
      const config = `${mirror}/config.tmp-${randomBytes(4).toString('hex')}`;
      await writeFile(config, agentUser ? SHARED_MIRROR_CONFIG : MIRROR_CONFIG);
      await rename(config, join(mirror, 'config'));
      try {
        const fetchEnv = { ...pickEnv([...LOCAL_ENV_KEYS, ...NETWORK_ENV_KEYS]), ...authEnv };
        await git(['fetch', '--prune', '--no-tags', '--quiet', '--', cloneUrl, '+refs/heads/*:refs/remotes/origin/*'], { cwd: mirror, env: fetchEnv, timeoutMs: fetchTimeoutMs });
      } catch (error) {
        if (!isGitFailure(error)) throw error;
        throw classifyFetch(repo, scrub(error.stderr || error.message), error.killed);
      }
    });
  }

  /** The commit each of `refs` names, in one command; a ref that does not exist (or names no commit) is absent. */
  async function resolveCommits(mirror: string, refs: string[]): Promise<Map<string, string>> {
    const format = '%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)';
    const listing = await git(['for-each-ref', `--format=${format}`, ...refs], { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs });
    const commits = new Map<string, string>();
    for (const line of listing.split('\n')) {
      const [name = '', type, sha = '', peeledType, peeled = ''] = line.split('\0');
      // A pattern also matches refs below it (origin/main/x): keep exact names only.
      if (!refs.includes(name)) continue;
      if (type === 'commit') commits.set(name, sha);
      else if (type === 'tag' && peeledType === 'commit') commits.set(name, peeled);
    }
    return commits;
  }

  async function registeredWorktrees(mirror: string): Promise<string[]> {
    const listing = await git(['worktree', 'list', '--porcelain'], { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs });
    return listing
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));
  }

  /** Kills an agent left running in the worktree, if one can be: none can when neither the checkout nor a pid file is there. */
  async function killAgentIn(worktree: string, pidFile: string, hasWorktree: boolean): Promise<void> {
    if (!hasWorktree && !(await exists(pidFile))) return;
    const recorded = Number.parseInt((await readFile(pidFile, 'utf8').catch(() => '')).trim(), 10);
    const marker = `CONVEYOR_WORKTREE=${worktree}`;
    if (Number.isInteger(recorded) && recorded > 1) {
      // A pid file can outlive its process and the pid be reused: on Linux, kill the group only
      // when its leader is still our agent. Without /proc, trust the file.
      const verifiable = existsSync('/proc/self');
      if (!verifiable || (await findProcesses({ envMarkers: [marker], cwdInside: worktree })).includes(recorded)) {
        signalGroup(recorded, 'SIGKILL');
      }
    }
    const killed = await killMatching({ envMarkers: [marker], cwdInside: worktree });
    if (killed.length > 0) logger?.warn({ worktree, pids: killed }, 'killed processes still running in a worktree being removed');
    await rm(pidFile, { force: true });
  }

  /**
   * Before a fetch has finished: stops what runs in the worktree, and tells whether the checkout
   * can be reset in place. A directory git does not know (a crash mid-remove) is deleted, since
   * it would make `worktree add` refuse.
   */
  async function clearForPrepare(mirror: string, worktree: string, pidFile: string): Promise<boolean> {
    const hasWorktree = await exists(worktree);
    // An agent orphaned by a worker crash (agents lead their own process group, so they
    // outlive the worker) must not keep editing the checkout the next attempt gets.
    await killAgentIn(worktree, pidFile, hasWorktree);
    if (!hasWorktree) return false;
    const registered = (await exists(join(worktree, '.git'))) && (await exists(join(mirror, 'HEAD'))) && (await registeredWorktrees(mirror)).includes(worktree);
    if (!registered) await rm(worktree, { recursive: true, force: true });
    return registered;
  }

  /** Under the mirror's lock. */
  async function addWorktree(mirror: string, worktree: string, branch: string, start: string): Promise<void> {
    const inMirror = { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs };
    // --force: a stale worktree elsewhere may still hold the branch; the factory owns them all.
    const add = (): Promise<string> => git(['worktree', 'add', '--quiet', '--force', '--no-track', '-B', branch, worktree, start], inMirror);
    await mkdir(dirname(worktree), { recursive: true });
    try {
      await add();
    } catch (error) {
      if (!isGitFailure(error)) throw error;
      // Most often the directory was deleted by hand and git still has it registered, holding
      // the branch: `add --force -B` then refuses ("cannot force update the branch ... checked
      // out at"), and a locked registration survives `prune`. Drop it and try once more.
      await git(['worktree', 'remove', '--force', '--force', worktree], inMirror).catch(() => '');
      await git(['worktree', 'prune'], inMirror);
      await rm(worktree, { recursive: true, force: true });
      await add().catch((again: unknown) => {
        if (!isGitFailure(again)) throw again;
        throw new IntegrationError(`Creating the worktree ${worktree} for ${branch} failed: ${lastLines(again.stderr || again.message)}`, 'unknown', { service: 'git' });
      });
    }
  }

  /**
   * Whether a worktree prepared moments ago can be handed out as it is: the same request, within
   * the window, no agent running in it (the runner keeps a pid file while its agent lives), and
   * nothing changed since: HEAD on the branch at the prepared commit, and `status` listing
   * nothing, ignored files included (a full prepare leaves none).
   */
  async function stillAsPrepared(last: Prepared, request: { repo: string; branch: string; baseBranch: string }, withinMs: number, pidFile: string): Promise<boolean> {
    if (last.repo !== request.repo || last.branch !== request.branch || last.baseBranch !== request.baseBranch) return false;
    if (!(now() - last.at < withinMs)) return false;
    if (!(await exists(join(last.worktree.path, '.git'))) || (await exists(pidFile))) return false;
    const status = await git(['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--untracked-files=normal', '--ignored=traditional'], inWorktreeOf(last.worktree.path)).catch(() => null);
    if (status === null) return false;
    const lines = status.split('\n').filter((line) => line !== '');
    return lines.includes(`# branch.oid ${last.head}`) && lines.includes(`# branch.head ${request.branch}`) && lines.every((line) => line.startsWith('# '));
  }

  /** `ahead`: started by prepareAhead, for the dispatch's own prepare to take (see Workspaces). */
  async function prepareWorktree({ repo, cloneUrl, authEnv, branch, baseBranch, key, reuseWithinMs }: Parameters<Workspaces['prepare']>[0], ahead: boolean): Promise<Worktree> {
    assertBranchName(branch);
    assertBranchName(baseBranch);
    const { mirror, worktree, pidFile } = await paths(repo, key);
    return withLock(worktreeLocks, worktree, async () => {
      // Taken either way: a worktree is handed out as-is at most once after a full prepare.
      const last = recent.get(worktree);
      recent.delete(worktree);
      if (last && reuseWithinMs !== undefined && (await stillAsPrepared(last, { repo, branch, baseBranch }, reuseWithinMs, pidFile))) {
        logger?.info({ repo, branch, key, head: last.head }, 'reused a worktree prepared moments ago');
        // Prepared ahead, it was never handed out: its after-create hook has yet to run.
        return { ...last.worktree, reused: !last.ahead };
      }

      // The fetch is asked for first (it must start after this call), the worktree cleared
      // meanwhile; both settle before the worktree's lock is let go, even when one fails.
      const [fetched, cleared] = await Promise.allSettled([fetchInto(mirror, repo, cloneUrl, authEnv), clearForPrepare(mirror, worktree, pidFile)]);
      if (fetched.status === 'rejected') throw fetched.reason;
      if (cleared.status === 'rejected') throw cleared.reason;
      const reusable = cleared.value;

      const baseRef = `refs/remotes/origin/${baseBranch}`;
      const branchRef = `refs/remotes/origin/${branch}`;
      const commits = await resolveCommits(mirror, [baseRef, branchRef]);
      const base = commits.get(baseRef);
      if (base === undefined) {
        throw new IntegrationError(`${repo} has no branch "${baseBranch}" to start ${branch} from: check baseBranch for ${repo} in instance/factory.yaml.`, 'logic', { service: 'git' });
      }
      const continued = commits.get(branchRef) ?? null;
      const start = continued ?? base;

      if (reusable) {
        const inWorktree = inWorktreeOf(worktree);
        await git(['checkout', '--quiet', '--force', '--no-track', '-B', branch, start], inWorktree);
        await git(['reset', '--quiet', '--hard', start], inWorktree);
        await git(['clean', '--quiet', '-ffdx'], inWorktree);
      } else {
        await withLock(mirrorLocks, mirror, () => addWorktree(mirror, worktree, branch, start));
      }
      await handOver(mirror, worktree);
      const prepared: Worktree = { path: worktree, branch, baseRef };
      recent.set(worktree, { repo, branch, baseBranch, head: start, at: now(), worktree: prepared, ahead });
      logger?.info({ repo, branch, key, head: start, continued: continued !== null, reused: reusable }, 'prepared worktree');
      return { ...prepared };
    });
  }

  return {
    prepare(input): Promise<Worktree> {
      return prepareWorktree(input, false);
    },


    prepareAhead(input) {
      prepareWorktree(input, true).catch((error: unknown) =>
        logger?.info({ repo: input.repo, branch: input.branch, error: error instanceof Error ? error.message : String(error) }, 'preparing the worktree ahead of the dispatch failed; the agent activity prepares it'),
      );
    },

    async finalize(worktree, message) {
      if (!(await exists(join(worktree.path, '.git')))) {
        throw new IntegrationError(`The worktree ${worktree.path} for ${worktree.branch} is gone: prepare it again before finalizing.`, 'logic', { service: 'git' });
      }
      const inWorktree = inWorktreeOf(worktree.path);
      try {
        const status = await git(['status', '--porcelain', '--untracked-files=all'], inWorktree);
        if (status.trim() !== '') {
          await git(['add', '--all'], inWorktree);
          const subject = message.trim() || 'Changes left uncommitted by the agent';
          await git([...AUTHOR, 'commit', '--quiet', '--no-verify', '--message', subject], inWorktree);
          logger?.info({ branch: worktree.branch }, 'committed changes the agent left uncommitted');
        }
        const headSha = (await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], inWorktree).catch(() => '')).trim() || null;
        if (headSha === null) return { commitsAhead: 0, headSha: null, subjects: [] };
        const range = `${worktree.baseRef}..${headSha}`;
        const commitsAhead = Number.parseInt((await git(['rev-list', '--count', range], inWorktree)).trim(), 10);
        const subjects = (await git(['log', '--reverse', '--format=%s', range], inWorktree)).split('\n').filter((line) => line !== '');
        return { commitsAhead, headSha, subjects };
      } catch (error) {
        if (!isGitFailure(error)) throw error;
        throw new IntegrationError(`Finalizing ${worktree.branch} in ${worktree.path} failed: ${lastLines(error.stderr || error.message)}`, 'unknown', { service: 'git' });
      }
    },

    async find({ repo, branch, key }) {
      assertBranchName(branch);
      const { worktree } = await paths(repo, key);
      if (!(await exists(join(worktree, '.git')))) return null;
      // Only the branch it was made for: a worktree left by another branch of the same key is not this work.
      // As the worktree's owner (the agent's user, when there is one): git refuses a repository
      // another user owns ("dubious ownership"), and the work would look absent.
      const head = await git(['rev-parse', '--abbrev-ref', 'HEAD'], inWorktreeOf(worktree)).catch(() => '');
      if (head.trim() !== branch) return null;
      const baseRef = recent.get(worktree)?.worktree.baseRef ?? '';
      return { path: worktree, branch, baseRef };
    },

    async remove({ repo, branch, key }) {
      assertBranchName(branch);
      const { mirror, worktree, pidFile, trash } = await paths(repo, key);
      await withLock(worktreeLocks, worktree, async () => {
        recent.delete(worktree);
        const hasWorktree = await exists(worktree);
        await killAgentIn(worktree, pidFile, hasWorktree);
        if (hasWorktree && options.beforeRemove) {
          await options.beforeRemove({ path: worktree, branch, key }).catch((error: unknown) => logger?.warn({ worktree, branch, error: error instanceof Error ? error.message : String(error) }, 'the before-remove hook failed; removing the worktree all the same'));
        }
        // Moved aside by one rename, so deleting the files holds no lock: git then finds the
        // worktree missing, and removes only its registration.
        let moved: string | null = null;
        if (hasWorktree) {
          const aside = join(trash, `${basename(worktree)}-${randomBytes(4).toString('hex')}`);
          await mkdir(trash, { recursive: true });
          moved = await rename(worktree, aside).then(
            () => aside,
            () => null,
          );
        }
        const hasMirror = await exists(join(mirror, 'HEAD'));
        if (hasMirror) {
          const inMirror = { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs };
          await withLock(mirrorLocks, mirror, async () => {
            const removed = await git(['worktree', 'remove', '--force', '--force', worktree], inMirror).then(
              () => true,
              () => false,
            );
            await rm(worktree, { recursive: true, force: true });
            // Not registered, or the rename failed and git could not delete it: whatever is left.
            if (!removed) await git(['worktree', 'prune'], inMirror);
            // The local branch only mirrors what was pushed; the remote keeps the work for a human.
            await git(['branch', '--quiet', '-D', branch], inMirror).catch(() => '');
          });
        } else {
          await rm(worktree, { recursive: true, force: true });
        }
        if (moved !== null) await rm(moved, { recursive: true, force: true });
        if (hasMirror) logger?.info({ repo, branch, key }, 'removed worktree');
      });
    },
  };
}
