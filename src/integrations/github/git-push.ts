import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IntegrationError } from '../errors.js';
import { scrub } from './errors.js';

// Git over HTTPS with the credential in a header that git reads from its environment: never in
// the remote URL (which lands in .git/config and error messages), never in argv (visible in
// `ps`). The header is scoped to the forge's git host, so a submodule or redirect elsewhere
// never receives it.

export function gitAuthHeaderEnv(gitBaseUrl: string, token: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${gitBaseUrl.replace(/\/+$/, '')}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

/** Secrets derived from a token that could surface in git's output. */
export function tokenForms(token: string): string[] {
  return [token, Buffer.from(`x-access-token:${token}`).toString('base64')];
}

interface ExecResult {
  stdout: string;
  stderr: string;
}

function git(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile('git', [...CLEAN_GIT, ...args], { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/** A branch name git accepts and that cannot be read as an option or a second refspec. */
export function assertBranchName(branch: string): void {
  if (!branch || branch.startsWith('-') || branch.startsWith('/') || /[\s:~^?*[\\]|\.\.|@\{|\/\/|\.lock$|\/$/.test(branch)) {
    throw new IntegrationError(`"${branch}" is not a valid branch name: use names like conveyor/eng-12-<id>`, 'logic', { service: 'git' });
  }
}

// The push never runs git inside the agent's repository. Everything there is the agent's to
// write: hooks, `.git/config` (or the shared mirror's), `.gitattributes`. A `pre-push` hook, a
// `core.sshCommand`, a `credential.helper`, an `http.proxy` or a `url.*.insteadOf` planted there
// would receive the credential, or the request carrying it. Overriding each such key with `-c`
// is a list that can never be complete (include.path, includeIf, filter drivers, new keys in
// the next git), so the push is done from a repository the factory makes for it:
//   1. a fresh bare repository in a private temp dir, with no hooks and a config we write;
//   2. `git fetch <worktree> HEAD` into it: the agent's repository is only read through
//      upload-pack, the side of git that is meant to face untrusted repositories (git(1),
//      SECURITY: "clone it with --no-local to obtain a clean copy"; hooks and most config are not
//      run there), and with an environment that carries no credential;
//   3. `git push` from the fresh repository, the credential in a one-shot header variable,
//      the environment built from nothing (never `process.env`), global and system config off.
// The fresh repository borrows the worktree's object store as an alternate, so nothing is
// copied: objects are content-addressed data, and the forge verifies every object it receives.

/** Config from files the factory does not own is never read; hooks never run. */
const CLEAN_GIT = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'protocol.ext.allow=never'];
/** What a push may need from the host besides the credential: proxies, CAs, ssh. Operator-set, never agent-set. */
const NETWORK_ENV_KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO', 'GIT_SSH_COMMAND', 'SSH_AUTH_SOCK'];

/** An environment for git built from nothing: a private HOME, no global or system config. */
export function cleanGitEnv(home: string, extra: Record<string, string> = {}, passNetwork = false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: '', SSH_ASKPASS: '' };
  if (passNetwork) {
    for (const key of NETWORK_ENV_KEYS) {
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/** The object store a worktree (or a plain clone) uses, from its `.git` file or folder; null when not found. */
async function objectStoreOf(worktree: string): Promise<string | null> {
  const dotGit = join(worktree, '.git');
  const info = await stat(dotGit).catch(() => null);
  if (info === null) return null;
  let gitDir = dotGit;
  if (info.isFile()) {
    const pointer = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1]?.trim();
    if (!pointer) return null;
    gitDir = resolve(worktree, pointer);
  }
  const common = (await readFile(join(gitDir, 'commondir'), 'utf8').catch(() => '')).trim();
  const objects = join(common ? resolve(gitDir, common) : gitDir, 'objects');
  return (await stat(objects).catch(() => null))?.isDirectory() ? objects : null;
}

export async function pushHead(input: {
  worktree: string;
  remoteUrl: string;
  branch: string;
  authEnv: Record<string, string>;
  secrets: string[];
  timeoutMs: number;
}): Promise<{ headSha: string }> {
  assertBranchName(input.branch);
  const scratch = await mkdtemp(join(tmpdir(), 'conveyor-push-'));
  try {
    const repo = join(scratch, 'repo.git');
    const home = join(scratch, 'home');
    await mkdir(home, { mode: 0o700 });
    // Our own "global" config, the only one read besides the fresh repository's. safe.directory:
    // the worktree may belong to the agent's user, and upload-pack is the part of git that may
    // read a repository it does not trust. (A `-c` would not reach it: git clears
    // GIT_CONFIG_PARAMETERS for the upload-pack of a local fetch.)
    const globalConfig = join(scratch, 'gitconfig');
    await writeFile(globalConfig, '[safe]\n\tdirectory = *\n');
    const quiet = cleanGitEnv(home, { GIT_CONFIG_GLOBAL: globalConfig });
    await git(['init', '--quiet', '--bare', '--template=', repo], scratch, quiet, input.timeoutMs);
    const objects = await objectStoreOf(input.worktree);
    if (objects !== null) await writeFile(join(repo, 'objects', 'info', 'alternates'), `${objects}\n`);
    const ref = `refs/heads/${input.branch}`;
    let headSha: string;
    try {
      await git(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', input.worktree, `+HEAD:${ref}`], repo, quiet, input.timeoutMs);
      headSha = (await git(['rev-parse', '--verify', `${ref}^{commit}`], repo, quiet, input.timeoutMs)).stdout.trim();
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new IntegrationError(`Cannot push ${input.branch}: ${input.worktree} is not a git worktree with a commit (${scrub(stderr.trim(), input.secrets)})`, 'logic', { service: 'git' });
    }
    try {
      const env = cleanGitEnv(home, { GIT_CONFIG_GLOBAL: globalConfig, ...input.authEnv }, true);
      await git(['push', '--porcelain', '--', input.remoteUrl, `${headSha}:${ref}`], repo, env, input.timeoutMs);
    } catch (error) {
      const failure = error as { stderr?: string; stdout?: string; killed?: boolean; message?: string };
      const output = scrub(`${failure.stderr ?? ''}\n${failure.stdout ?? ''}`.trim() || (failure.message ?? ''), input.secrets);
      throw classifyPushFailure(input.branch, output, failure.killed === true);
    }
    return { headSha };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function classifyPushFailure(branch: string, output: string, killed: boolean): IntegrationError {
  const details = { service: 'git' as const };
  const lastLines = output.split('\n').slice(-6).join('\n');
  if (killed) return new IntegrationError(`git push of ${branch} timed out; will retry.\n${lastLines}`, 'transient', details);
  if (/Authentication failed|could not read Username|401|403|Invalid username or (token|password)|Permission to .* denied/i.test(output)) {
    return new IntegrationError(`The git host rejected the push credential for ${branch}: check that the token may push to this repository.\n${lastLines}`, 'auth', details);
  }
  if (/\[rejected\]|non-fast-forward|fetch first|stale info|protected branch/i.test(output)) {
    return new IntegrationError(`The git host refused to update ${branch} (not a fast-forward or protected): fetch the branch and rebase the work onto it.\n${lastLines}`, 'logic', details);
  }
  if (/Repository not found|not found|does not appear to be a git repository/i.test(output)) {
    return new IntegrationError(`The git host has no such repository for ${branch}: check the repo name and the git base URL.\n${lastLines}`, 'logic', details);
  }
  if (/Could not resolve host|Connection refused|Connection reset|timed out|Failed to connect|HTTP 5\d\d|\b5\d\d\b|early EOF|RPC failed/i.test(output)) {
    return new IntegrationError(`git push of ${branch} could not reach the git host; will retry.\n${lastLines}`, 'transient', details);
  }
  return new IntegrationError(`git push of ${branch} failed.\n${lastLines}`, 'unknown', details);
}
