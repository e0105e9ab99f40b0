// The raw baseline: client.workflow.signalWithStart of a bare workflow (baseline-workflows.ts)
// that takes its signal and ends, on the same dev server and in the same process as the
// factory's worker, with its own bundle, worker and task queue. A start counts once the worker
// has handled its signal (a sink call), as an issue counts once it is escalated.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type InjectedSinks, type NativeConnection } from '@temporalio/worker';
import { QUIET_BUNDLER_LOGGER } from '../../src/workers/workflow-bundle.js';
import { readySignal, type BaselineSinks, type bareSignalWorkflow } from './baseline-workflows.js';
import { pool } from './pool.js';

export interface Baseline {
  /** Signal-with-starts `count` bare runs, `concurrency` calls in flight; resolves when every
   * run has handled its signal, with the first call's and the last handling's times. */
  round(count: number, concurrency: number, timeoutMs: number): Promise<{ firstAt: number; lastAt: number }>;
  stop(): Promise<void>;
}

export async function startBaseline(options: { client: Client; connection: NativeConnection; namespace: string }): Promise<Baseline> {
  const { client } = options;
  const taskQueue = `bench-scale-raw-${randomUUID().slice(0, 8)}`;
  const waiting = new Map<string, () => void>();
  const sinks: InjectedSinks<BaselineSinks> = {
    bench: {
      handled: {
        fn: (_info, deliveryId) => {
          waiting.get(deliveryId)?.();
          waiting.delete(deliveryId);
        },
        callDuringReplay: false,
      },
    },
  };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./baseline-workflows.ts', import.meta.url)), logger: QUIET_BUNDLER_LOGGER });
  const worker = await Worker.create({ connection: options.connection, namespace: options.namespace, taskQueue, workflowBundle, sinks });
  const running = worker.run();

  return {
    async round(count, concurrency, timeoutMs) {
      const handled: Array<Promise<number>> = [];
      const firstAt = Date.now();
      await pool(concurrency, count, async () => {
        const deliveryId = randomUUID();
        handled.push(new Promise<number>((resolve) => waiting.set(deliveryId, () => resolve(Date.now()))));
        await client.workflow.signalWithStart<typeof bareSignalWorkflow, [string]>('bareSignalWorkflow', {
          workflowId: `bench-scale-raw-${deliveryId}`,
          taskQueue,
          args: [],
          signal: readySignal,
          signalArgs: [deliveryId],
        });
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${waiting.size} of ${count} baseline runs had not handled their signal ${timeoutMs / 1000} s after the last start`)), timeoutMs);
      });
      try {
        const times = await Promise.race([Promise.all(handled), timeout]);
        return { firstAt, lastAt: Math.max(...times) };
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    },
  };
}
