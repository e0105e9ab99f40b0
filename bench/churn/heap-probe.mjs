// Loaded into the churn bench's worker process (`node --import .../heap-probe.mjs`) when the bench
// runs with --heap-snapshot. Node runs `--import` modules in every thread, and the Temporal SDK
// runs all workflows (the fleet's ledger, the issue runs' state) in a worker thread: a V8 isolate
// of its own, which a main-thread snapshot does not see. So in each thread this appends
// process.memoryUsage() to memory.jsonl every CONVEYOR_HEAP_PROBE_EVERY_MS (`thread` 0 is the
// main thread; rss is the process's, the heap figures the thread's own), and in the main thread,
// on SIGUSR2, writes main-<n>.heapsnapshot and a line saying so. The bench sends it once, after
// the last cycle: mid-run snapshots wedged or killed the worker (see run.ts). The workflow thread
// is never snapshotted: tried once mid-run, the worker exited seconds later. Bench-only: nothing
// in src/ loads it.
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setInterval } from 'node:timers';
import v8 from 'node:v8';
import { isMainThread, threadId } from 'node:worker_threads';

const dir = process.env.CONVEYOR_HEAP_PROBE_DIR;
if (dir) {
  const record = (fields) => appendFileSync(join(dir, 'memory.jsonl'), `${JSON.stringify({ at: Date.now(), thread: threadId, ...fields })}\n`);
  const every = Number(process.env.CONVEYOR_HEAP_PROBE_EVERY_MS ?? 20_000);
  setInterval(() => record({ memory: process.memoryUsage() }), every).unref();
  if (isMainThread) {
    let seq = 0;
    process.on('SIGUSR2', () => {
      const n = ++seq;
      const startedAt = Date.now();
      const memoryBefore = process.memoryUsage();
      const file = v8.writeHeapSnapshot(join(dir, `main-${n}.heapsnapshot`));
      record({ snapshot: n, memoryBefore, ms: Date.now() - startedAt, file, bytes: statSync(file).size });
    });
  }
  record({ probe: 'started', pid: process.pid });
}
