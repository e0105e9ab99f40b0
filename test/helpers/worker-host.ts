// A worker host as an operator runs one: the real `conveyor worker` command in its own process,
// with its own config files, workspace folder and metrics port, its JSON log in a file. The
// cluster tests start two of them on one task queue, as two hosts would.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CONVEYOR_BIN = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerHost {
  name: string;
  pid: number;
  logFile: string;
  /** The last lines of its log, for a failure message. */
  tail(lines?: number): string;
  /** SIGTERM (the worker drains), then SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWorkerHost(options: {
  name: string;
  env: Record<string, string>;
  logFile: string;
  readyTimeoutMs?: number;
}): Promise<WorkerHost> {
  const out = openSync(options.logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [CONVEYOR_BIN, 'worker'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolveExit(exitInfo);
    }),
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const tail = (lines = 20) => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no output)';
    }
  };
  const stop = async (graceMs = 45_000) => {
    if (!exitInfo) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
    return exitInfo!;
  };

  // `conveyor worker` logs "worker running" once it polls (after the fleet check and the bundle).
  const deadline = Date.now() + (options.readyTimeoutMs ?? 180_000);
  for (;;) {
    if (exitInfo) throw new Error(`Worker host ${options.name} exited (${JSON.stringify(exitInfo)}) before it was ready. Its log (${options.logFile}):\n${tail()}`);
    if (tail(1_000).includes('"msg":"worker running"')) break;
    if (Date.now() > deadline) {
      await stop(5_000);
      throw new Error(`Worker host ${options.name} was not running within ${(options.readyTimeoutMs ?? 180_000) / 1000} s. Its log (${options.logFile}):\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { name: options.name, pid: child.pid!, logFile: options.logFile, tail, stop };
}
