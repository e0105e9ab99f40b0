// The raw baseline: client.workflow.signalWithStart, from the bench's process, of a bare workflow
// (baseline-workflows.ts) that takes its signal and ends, run by a worker in a child process of
// its own (baseline-worker.ts) on the same dev server, as the factory's worker is a `conveyor
// worker` child. A start counts once that worker has handled its signal (the child prints it), as
// an issue counts once it is escalated.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { REPO_ROOT } from '../worker-process.js';
import { readySignal, type bareSignalWorkflow } from './baseline-workflows.js';
import { pool } from './pool.js';

export interface Baseline {
  /** The baseline worker's pid: its CPU is read from /proc. */
  pid: number;
  /** Signal-with-starts `count` bare runs, `concurrency` calls in flight; resolves when every
   * run has handled its signal, with the first call's and the last handling's times. */
  round(count: number, concurrency: number, timeoutMs: number): Promise<{ firstAt: number; lastAt: number }>;
  stop(): Promise<void>;
}

export async function startBaseline(options: { client: Client; address: string; namespace: string; readyTimeoutMs?: number }): Promise<Baseline> {
  const { client } = options;
  const taskQueue = `bench-scale-raw-${randomUUID().slice(0, 8)}`;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./baseline-worker.ts', import.meta.url)), options.address, options.namespace, taskQueue], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const waiting = new Map<string, (at: number) => void>();
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((ok) => (ready = ok));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') return ready();
    const [word, deliveryId, at] = line.split(' ');
    if (word !== 'handled' || !deliveryId) return;
    waiting.get(deliveryId)?.(Number(at));
    waiting.delete(deliveryId);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      isReady,
      exited.then((code) => Promise.reject(new Error(`the baseline worker exited (${code}) during start-up: ${stderr.trim()}`))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the baseline worker was not ready within ${(options.readyTimeoutMs ?? 120_000) / 1000} s: ${stderr.trim()}`)), options.readyTimeoutMs ?? 120_000))),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }

  return {
    pid: child.pid!,
    async round(count, concurrency, timeoutMs) {
      const handled: Array<Promise<number>> = [];
      const firstAt = Date.now();
      await pool(concurrency, count, async () => {
        const deliveryId = randomUUID();
        handled.push(new Promise<number>((resolve) => waiting.set(deliveryId, resolve)));
        await client.workflow.signalWithStart<typeof bareSignalWorkflow, [string]>('bareSignalWorkflow', {
          workflowId: `bench-scale-raw-${deliveryId}`,
          taskQueue,
          args: [],
          signal: readySignal,
          signalArgs: [deliveryId],
        });
      });
      let roundTimer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        roundTimer = setTimeout(() => reject(new Error(`${waiting.size} of ${count} baseline runs had not handled their signal ${timeoutMs / 1000} s after the last start${child.exitCode !== null ? ` (the baseline worker exited ${child.exitCode}: ${stderr.trim()})` : ''}`)), timeoutMs);
      });
      try {
        const times = await Promise.race([Promise.all(handled), timeout]);
        return { firstAt, lastAt: Math.max(...times) };
      } finally {
        clearTimeout(roundTimer);
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
