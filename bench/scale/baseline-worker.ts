// The raw baseline's worker, a child process of the bench as the factory's `conveyor worker` is,
// so both sides of the ratio are a worker in a process of its own (its CPU read from /proc),
// driven by calls from the bench's process. It runs baseline-workflows.ts on its own task queue
// and prints one line per run that has handled its signal: `handled <deliveryId> <epoch ms>`.
//
//   node --import tsx bench/scale/baseline-worker.ts <address> <namespace> <taskQueue>
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type InjectedSinks } from '@temporalio/worker';
import { QUIET_BUNDLER_LOGGER } from '../../src/workers/workflow-bundle.js';
import type { BaselineSinks } from './baseline-workflows.js';

const [address, namespace, taskQueue] = process.argv.slice(2);
if (!address || !namespace || !taskQueue) {
  process.stderr.write('usage: baseline-worker.ts <address> <namespace> <taskQueue>\n');
  process.exit(2);
}

// The SDK's own log goes to stderr: stdout carries only the lines the bench reads.
Runtime.install({ logger: new DefaultLogger('WARN', (entry) => process.stderr.write(`${entry.level} ${entry.message}\n`)) });

const sinks: InjectedSinks<BaselineSinks> = {
  bench: {
    handled: {
      fn: (_info, deliveryId) => {
        process.stdout.write(`handled ${deliveryId} ${Date.now()}\n`);
      },
      callDuringReplay: false,
    },
  },
};

const workflowBundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./baseline-workflows.ts', import.meta.url)), logger: QUIET_BUNDLER_LOGGER });
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({ connection, namespace, taskQueue, workflowBundle, sinks });
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
process.stdout.write('ready\n');
await running;
await connection.close();
