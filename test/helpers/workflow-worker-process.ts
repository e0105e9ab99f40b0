// A workflow-only worker in its own process, so a test can kill it with SIGKILL and start
// another: what survives is what Temporal kept, not what the process remembered.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

const [address, namespace, taskQueue, bundlePath] = process.argv.slice(2);
Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address: address! });
const worker = await Worker.create({ connection, namespace: namespace!, taskQueue: taskQueue!, workflowBundle: { codePath: bundlePath! },
  // A killed worker's sticky queue is abandoned after this, so the next worker takes over sooner.
  stickyQueueScheduleToStartTimeout: '1s',
});
process.stdout.write('ready\n');
await worker.run();
