import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Workspaces, Worktree } from './agent.js';
import { IntegrationError } from './errors.js';
import { assertBranchName } from './github/git-push.js';
import { findProcesses, killMatching, signalGroup } from './process-tree.js';

type LogFn = (fields: Record<string, unknown>, message: string) => void;

// Worktrees over one bare mirror per repo: a re-dispatch fetches only what changed, and every
// issue gets its own checkout. Layout under `root`:
//   mirrors/<owner>/<name>.git   bare, no remote configured: fetched by URL into refs/remotes/origin/*
//   worktrees/<key-lowercased>   the agent's checkout
//   pids/<key-lowercased>.pid    written by the agent runner, read here to kill a live agent
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
}

const AUTHOR = ['-c', 'user.name=Conveyor', '-c', 'user.email=conveyor@users.noreply.local', '-c', 'commit.gpgsign=false'];
/** Config the agent may have planted that would run a program inside our git commands. */
const SAFE = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];
const MIRROR_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n';
const LOCAL_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR'];
/** What a fetch may need from the host besides the credential: proxies, CAs, ssh. */
const NETWORK_ENV_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO', 'GIT_SSH_COMMAND', 'SSH_AUTH_SOCK'];

type Env = Record<string, string>;

function pickEnv(keys: string[]): Env {
  const env: Env = { GIT_TERMINAL_PROMPT: '0' };
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

function git(args: string[], options: { cwd: string; env: Env; timeoutMs: number }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('git', [...SAFE, ...args], { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
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

export function createGitWorkspaces(options: GitWorkspacesOptions): Workspaces {
  const logger = options.logger;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 10 * 60_000;
  const localTimeoutMs = 2 * 60_000;
  const localEnv = pickEnv(LOCAL_ENV_KEYS);
  const locks = new Map<string, Promise<void>>();
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

  /** One operation at a time per mirror: concurrent fetches and worktree edits race on its locks. */
  function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
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

  async function paths(repo: string, key: string): Promise<{ mirror: string; worktree: string; pidFile: string }> {
    const { owner, name } = repoPath(repo);
    const dir = keyDir(key);
    const base = await root();
    return { mirror: join(base, 'mirrors', owner, `${name}.git`), worktree: join(base, 'worktrees', dir), pidFile: join(base, 'pids', `${dir}.pid`) };
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

  async function revParse(cwd: string, ref: string): Promise<string | null> {
    try {
      return (await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd, env: localEnv, timeoutMs: localTimeoutMs })).trim() || null;
    } catch {
      return null;
    }
  }

  async function registeredWorktrees(mirror: string): Promise<string[]> {
    const listing = await git(['worktree', 'list', '--porcelain'], { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs });
    return listing
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));
  }

  async function killAgentIn(worktree: string, pidFile: string): Promise<void> {
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

  return {
    async prepare({ repo, cloneUrl, authEnv, branch, baseBranch, key }): Promise<Worktree> {
      assertBranchName(branch);
      assertBranchName(baseBranch);
      const { mirror, worktree, pidFile } = await paths(repo, key);
      const scrub = scrubber(authEnv);
      return withLock(mirror, async () => {
        await ensureMirror(mirror);
        await writeFile(join(mirror, 'config'), MIRROR_CONFIG);
        try {
          const fetchEnv = { ...pickEnv([...LOCAL_ENV_KEYS, ...NETWORK_ENV_KEYS]), ...authEnv };
          await git(['fetch', '--prune', '--no-tags', '--quiet', '--', cloneUrl, '+refs/heads/*:refs/remotes/origin/*'], { cwd: mirror, env: fetchEnv, timeoutMs: fetchTimeoutMs });
        } catch (error) {
          if (!isGitFailure(error)) throw error;
          throw classifyFetch(repo, scrub(error.stderr || error.message), error.killed);
        }

        const baseRef = `refs/remotes/origin/${baseBranch}`;
        if ((await revParse(mirror, baseRef)) === null) {
          throw new IntegrationError(`${repo} has no branch "${baseBranch}" to start ${branch} from: check baseBranch for ${repo} in instance/factory.yaml.`, 'logic', { service: 'git' });
        }
        const continued = await revParse(mirror, `refs/remotes/origin/${branch}`);
        const start = continued ?? ((await revParse(mirror, baseRef)) as string);

        // An agent orphaned by a worker crash (agents lead their own process group, so they
        // outlive the worker) must not keep editing the checkout the next attempt gets.
        await killAgentIn(worktree, pidFile);
        await git(['worktree', 'prune'], { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs });
        const reusable = (await registeredWorktrees(mirror)).includes(worktree) && (await exists(join(worktree, '.git')));
        if (reusable) {
          const inWorktree = { cwd: worktree, env: localEnv, timeoutMs: localTimeoutMs };
          await git(['checkout', '--quiet', '--force', '--no-track', '-B', branch, start], inWorktree);
          await git(['reset', '--quiet', '--hard', start], inWorktree);
          await git(['clean', '--quiet', '-ffdx'], inWorktree);
        } else {
          // A directory git no longer knows (a crash mid-remove) would make `worktree add` refuse.
          await rm(worktree, { recursive: true, force: true });
          await mkdir(dirname(worktree), { recursive: true });
          // --force: a stale worktree elsewhere may still hold the branch; the factory owns them all.
          await git(['worktree', 'add', '--quiet', '--force', '--no-track', '-B', branch, worktree, start], { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs });
        }
        logger?.info({ repo, branch, key, head: start, continued: continued !== null, reused: reusable }, 'prepared worktree');
        return { path: worktree, branch, baseRef };
      });
    },

    async finalize(worktree, message) {
      if (!(await exists(join(worktree.path, '.git')))) {
        throw new IntegrationError(`The worktree ${worktree.path} for ${worktree.branch} is gone: prepare it again before finalizing.`, 'logic', { service: 'git' });
      }
      const inWorktree = { cwd: worktree.path, env: localEnv, timeoutMs: localTimeoutMs };
      try {
        const status = await git(['status', '--porcelain', '--untracked-files=all'], inWorktree);
        if (status.trim() !== '') {
          await git(['add', '--all'], inWorktree);
          const subject = message.trim() || 'Changes left uncommitted by the agent';
          await git([...AUTHOR, 'commit', '--quiet', '--no-verify', '--message', subject], inWorktree);
          logger?.info({ branch: worktree.branch }, 'committed changes the agent left uncommitted');
        }
        const headSha = await revParse(worktree.path, 'HEAD');
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

    async remove({ repo, branch, key }) {
      assertBranchName(branch);
      const { mirror, worktree, pidFile } = await paths(repo, key);
      await withLock(mirror, async () => {
        await killAgentIn(worktree, pidFile);
        const hasMirror = await exists(join(mirror, 'HEAD'));
        const inMirror = { cwd: mirror, env: localEnv, timeoutMs: localTimeoutMs };
        if (hasMirror) await git(['worktree', 'remove', '--force', '--force', worktree], inMirror).catch(() => {});
        await rm(worktree, { recursive: true, force: true });
        if (!hasMirror) return;
        await git(['worktree', 'prune'], inMirror);
        // The local branch only mirrors what was pushed; the remote keeps the work for a human.
        if ((await revParse(mirror, `refs/heads/${branch}`)) !== null) await git(['branch', '--quiet', '-D', branch], inMirror).catch(() => {});
        logger?.info({ repo, branch, key }, 'removed worktree');
      });
    },
  };
}
