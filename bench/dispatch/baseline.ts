// The one-hop baseline: a signal that starts a bare activity (signal → workflow task → activity
// task), on the same dev server and in the same process as the factory's worker, with its own
// workflow bundle (baseline-workflows.ts), worker and task queue.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type NativeConnection } from '@temporalio/worker';
import { QUIET_BUNDLER_LOGGER } from '../../src/workers/workflow-bundle.js';
import { goSignal, type OneHopActivities, type oneHopWorkflow } from './baseline-workflows.js';

export interface Baseline {
  taskQueue: string;
  /** Starts `count` runs that wait for their signal, and waits until each has run its first task. */
  prepare(count: number): Promise<string[]>;
  /** Signals the run and resolves with the wall-clock time its activity started. */
  hop(workflowId: string, timeoutMs: number): Promise<number>;
  /** Resolves when the run has finished. */
  finished(workflowId: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBaseline(options: { client: Client; connection: NativeConnection; namespace: string }): Promise<Baseline> {
  const { client } = options;
  const taskQueue = `bench-one-hop-${randomUUID().slice(0, 8)}`;
  const started = new Map<string, (at: number) => void>();
  const activities: OneHopActivities = {
    async hop() {
      const at = Date.now();
      started.get(Context.current().info.workflowExecution?.workflowId ?? '')?.(at);
    },
  };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./baseline-workflows.ts', import.meta.url)), logger: QUIET_BUNDLER_LOGGER });
  const worker = await Worker.create({ connection: options.connection, namespace: options.namespace, taskQueue, workflowBundle, activities });
  const running = worker.run();

  return {
    taskQueue,
    async prepare(count) {
      const ids = Array.from({ length: count }, () => `bench-one-hop-${randomUUID()}`);
      // A few at a time: the server's store, not the client, is the limit (TOOLCHAIN.md).
      for (let i = 0; i < ids.length; i += 16) {
        await Promise.all(ids.slice(i, i + 16).map((workflowId) => client.workflow.start<typeof oneHopWorkflow>('oneHopWorkflow', { workflowId, taskQueue, args: [] })));
      }
      // Each waits on its signal only after its first workflow task: a hop must not include it.
      const deadline = Date.now() + 60_000;
      for (const workflowId of ids) {
        for (;;) {
          const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
          if ((events ?? []).some((e) => e.workflowTaskCompletedEventAttributes)) break;
          if (Date.now() > deadline) throw new Error(`the baseline run ${workflowId} did not run its first workflow task within 60 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      return ids;
    },
    hop(workflowId, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          started.delete(workflowId);
          reject(new Error(`the baseline activity of ${workflowId} did not start within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        started.set(workflowId, (at) => {
          clearTimeout(timer);
          started.delete(workflowId);
          resolve(at);
        });
        client.workflow.getHandle(workflowId).signal(goSignal).catch((err: unknown) => {
          clearTimeout(timer);
          started.delete(workflowId);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
      });
    },
    finished: (workflowId) => client.workflow.getHandle(workflowId).result(),
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    },
  };
}
