import { execFile } from 'node:child_process';
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
    execFile('git', args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
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

export async function pushHead(input: {
  worktree: string;
  remoteUrl: string;
  branch: string;
  authEnv: Record<string, string>;
  secrets: string[];
  timeoutMs: number;
}): Promise<{ headSha: string }> {
  assertBranchName(input.branch);
  const env: NodeJS.ProcessEnv = { ...process.env, ...input.authEnv };
  let headSha: string;
  try {
    headSha = (await git(['rev-parse', '--verify', 'HEAD^{commit}'], input.worktree, env, input.timeoutMs)).stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new IntegrationError(`Cannot push ${input.branch}: ${input.worktree} is not a git worktree with a commit (${scrub(stderr.trim(), input.secrets)})`, 'logic', { service: 'git' });
  }
  try {
    await git(['push', '--porcelain', input.remoteUrl, `HEAD:refs/heads/${input.branch}`], input.worktree, env, input.timeoutMs);
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; killed?: boolean; message?: string };
    const output = scrub(`${failure.stderr ?? ''}\n${failure.stdout ?? ''}`.trim() || (failure.message ?? ''), input.secrets);
    throw classifyPushFailure(input.branch, output, failure.killed === true);
  }
  return { headSha };
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
