import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BareRepo } from './git.js';

// Simulated CI: the repository carries its own check script, the way a real repo carries a
// workflow file. The script runs in a throwaway checkout of exactly the SHA under test, with a
// scrubbed environment, so a result always belongs to that SHA and nothing else.

export const CI_CHECK_NAME = 'conveyor/ci';
export const CHECK_SCRIPT = '.conveyor/check.sh';
const SUMMARY_LINES = 20;

export interface CiResult {
  conclusion: 'success' | 'failure' | 'timed_out' | 'cancelled';
  title: string;
  summary: string;
}

export async function runCheckScript(repo: BareRepo, sha: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<CiResult> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-sandbox-ci-'));
  try {
    await repo.checkout(sha, dir);
    if (!existsSync(join(dir, CHECK_SCRIPT))) {
      return { conclusion: 'success', title: 'No checks configured', summary: `${CHECK_SCRIPT} is absent; nothing to run.` };
    }
    const { code, output, timedOut, cancelled } = await runScript(dir, options);
    const tail = output.trimEnd().split('\n').slice(-SUMMARY_LINES).join('\n');
    if (cancelled) return { conclusion: 'cancelled', title: 'CI cancelled', summary: tail || 'The sandbox stopped before the check finished.' };
    if (timedOut) return { conclusion: 'timed_out', title: `CI timed out after ${options.timeoutMs} ms`, summary: tail };
    return code === 0
      ? { conclusion: 'success', title: 'CI passed', summary: tail || `${CHECK_SCRIPT} exited 0` }
      : { conclusion: 'failure', title: `CI failed: ${CHECK_SCRIPT} exited ${code}`, summary: tail || `${CHECK_SCRIPT} exited ${code} without output` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runScript(cwd: string, options: { timeoutMs: number; signal: AbortSignal }): Promise<{ code: number; output: string; timedOut: boolean; cancelled: boolean }> {
  return new Promise((resolve) => {
    // No tokens, no host secrets: only what a shell needs to run.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, CI: 'true', LANG: 'C.UTF-8' };
    const child = spawn('bash', [CHECK_SCRIPT], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    let cancelled = false;
    const append = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Keep memory bounded for a chatty script; only the tail is reported.
      if (output.length > 64_000) output = output.slice(-32_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const killTree = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, options.timeoutMs);
    const onAbort = (): void => {
      cancelled = true;
      killTree();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      output += `\n${error.message}`;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      resolve({ code: code ?? 1, output, timedOut, cancelled });
    });
  });
}
