import { spawn } from 'node:child_process';
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { AgentUser } from './agent-user.js';
import { signalGroup } from './process-tree.js';

type LogFn = (fields: Record<string, unknown>, message: string) => void;

// The repo's own workspace hooks, `.conveyor/hooks/<name>` in the worktree:
//   after-create   the worktree was created (or reset) for a run: install dependencies, …
//   before-run     just before the agent starts
//   after-run      the agent finished, before the factory commits what it left and pushes
//   before-remove  the worktree is about to be removed
// A hook is repo content, as trusted as the agent: it runs as the agent's user, in the
// worktree, in its own process group, with the agent's kind of environment (no credential of
// the factory), for at most its time limit from `hooks.<name>` in factory.yaml. A hook that
// exits non-zero fails the step as `hook-failed`, one past its limit is killed with its whole
// group and fails it as `hook-timeout`; both are non-retryable (the same commit fails the same
// way) and carry the end of the hook's output, which is also kept whole in a log file.

export type HookName = 'after-create' | 'before-run' | 'after-run' | 'before-remove';
export const HOOK_NAMES: HookName[] = ['after-create', 'before-run', 'after-run', 'before-remove'];

export interface RepoHooksOptions {
  /** Limit per hook, in ms. */
  timeoutsMs: Record<HookName, number>;
  /** Where hook logs go (`<workspace root>/logs`). */
  logDir: string;
  runAs?: AgentUser;
  /** Variables copied from the worker's environment (default PATH, LANG). */
  passEnv?: string[];
  /** Between SIGTERM and SIGKILL when a hook runs past its limit (default 3 s). */
  killGraceMs?: number;
  /** Applied to output before it leaves in a failure message. */
  redact?: (text: string) => string;
  logger?: { info: LogFn; warn: LogFn };
}

export interface HookContext {
  worktree: string;
  branch: string;
  issueKey: string;
  /** Aborting kills the hook's process group; the run then fails as cancelled. */
  signal?: AbortSignal;
  /** Called every second while the hook runs (the activity's heartbeat). */
  onHeartbeat?: () => void;
}

export interface RepoHooks {
  /** Runs the hook if the repo has it; resolves `{ ran: false }` when it does not. Throws a classed ApplicationFailure when it fails. */
  run(name: HookName, context: HookContext): Promise<{ ran: boolean; logFile?: string }>;
}

/** The end of a hook's output that travels in a failure message; the whole is in the log file. */
const TAIL_BYTES = 4 * 1024;
const MAX_LOG_BYTES = 4 * 1024 * 1024;

function describeMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

export function createRepoHooks(options: RepoHooksOptions): RepoHooks {
  const killGraceMs = options.killGraceMs ?? 3_000;
  const redact = options.redact ?? ((text: string) => text);
  const passEnv = options.passEnv ?? ['PATH', 'LANG'];

  return {
    async run(name, context) {
      const relative = `.conveyor/hooks/${name}`;
      const path = join(context.worktree, relative);
      const info = await lstat(path).catch(() => null);
      if (info === null) return { ran: false };
      const limit = options.timeoutsMs[name];
      await mkdir(options.logDir, { recursive: true, mode: 0o700 });
      const logFile = join(options.logDir, `${basename(context.worktree)}-hook-${name}-${Date.now()}.log`);
      const env: Record<string, string> = {};
      for (const key of passEnv) {
        const value = process.env[key];
        if (value !== undefined) env[key] = value;
      }
      Object.assign(env, { HOME: '/nonexistent', CONVEYOR_HOOK: name, CONVEYOR_WORKTREE: context.worktree, CONVEYOR_BRANCH: context.branch, CONVEYOR_ISSUE_KEY: context.issueKey });

      const started = Date.now();
      const output: Buffer[] = [];
      let kept = 0;
      let cancelled = false;
      const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean; error?: string }>((resolvePromise) => {
        // Run as a file, so a hook without the executable bit or with a bad interpreter fails
        // with a message instead of running something else.
        const child = spawn(path, [], { cwd: context.worktree, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}) });
        let timedOut = false;
        let grace: NodeJS.Timeout | undefined;
        const timer = setTimeout(() => {
          timedOut = true;
          if (child.pid !== undefined) signalGroup(child.pid, 'SIGTERM');
          grace = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), killGraceMs);
        }, limit);
        const collect = (chunk: Buffer): void => {
          if (kept >= MAX_LOG_BYTES) return;
          output.push(chunk);
          kept += chunk.length;
        };
        const beat = setInterval(() => context.onHeartbeat?.(), 1_000);
        const onAbort = (): void => {
          cancelled = true;
          if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        };
        context.signal?.addEventListener('abort', onAbort, { once: true });
        if (context.signal?.aborted) onAbort();
        child.once('close', () => {
          clearInterval(beat);
          context.signal?.removeEventListener('abort', onAbort);
        });
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.once('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          clearInterval(beat);
          resolvePromise({ code: null, signal: null, timedOut: false, error: error.code ?? error.message });
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          clearTimeout(grace);
          // Nothing of the hook outlives it: a background process it left in its group goes too.
          if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
          child.stdout.destroy();
          child.stderr.destroy();
          resolvePromise({ code, signal, timedOut });
        });
      });
      const elapsed = Date.now() - started;
      const text = Buffer.concat(output).toString('utf8');
      await writeFile(logFile, `[conveyor] ${relative} in ${context.worktree}\n${text}\n[conveyor] ended after ${describeMs(elapsed)}: ${outcome.timedOut ? `killed at its ${describeMs(limit)} limit` : outcome.error ? `could not start (${outcome.error})` : outcome.code !== null ? `code ${outcome.code}` : `signal ${outcome.signal ?? 'unknown'}`}\n`, { mode: 0o600 });
      const tail = redact(Buffer.from(text).subarray(-TAIL_BYTES).toString('utf8').trim());
      const fields = { hook: name, worktree: context.worktree, issue: context.issueKey, elapsedMs: elapsed, logFile };
      if (cancelled) throw new CancelledFailure(`the run was cancelled while ${relative} ran; its process group was killed`);
      if (!outcome.timedOut && outcome.error === undefined && outcome.code === 0) {
        options.logger?.info(fields, `${relative} passed`);
        return { ran: true, logFile };
      }
      const shown = tail ? `\nLast output:\n${tail}` : ' It printed nothing.';
      let message: string;
      let type: string;
      if (outcome.timedOut) {
        type = 'hook-timeout';
        message = `The repo's ${relative} ran past its ${describeMs(limit)} limit (hooks.${camel(name)} in factory.yaml) and was killed; full output in ${logFile}.${shown}`;
      } else if (outcome.error !== undefined) {
        type = 'hook-failed';
        message = `The repo's ${relative} could not be started (${outcome.error}): make it an executable file with a #! line (git update-index --chmod=+x ${relative}); see ${logFile}.`;
      } else {
        type = 'hook-failed';
        message = `The repo's ${relative} failed with ${outcome.code !== null ? `exit code ${outcome.code}` : `signal ${outcome.signal ?? 'unknown'}`} after ${describeMs(elapsed)}: fix the hook or what it checks; full output in ${logFile}.${shown}`;
      }
      options.logger?.warn({ ...fields, failureClass: type, output: tail }, `${relative} failed`);
      throw ApplicationFailure.create({ type, message, nonRetryable: true });
    },
  };
}

function camel(name: HookName): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
