// The replay corpus: with CONVEYOR_RECORD_HISTORIES=1 (what `npm run record-histories` sets),
// every scenario run through `withLine` writes the histories of all the runs on its task queue
// into test/histories/scenarios/<test file>/<test name>/. The replay test replays every file
// there (and under test/histories/archive/), so an unguarded change to any path fails CI.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { expect } from 'vitest';

export const HISTORIES_DIR = join(import.meta.dirname, '..', 'histories');
export const SCENARIOS_DIR = join(HISTORIES_DIR, 'scenarios');

const RUNS_KEPT_PER_TYPE = 6;

export const recording = (): boolean => process.env.CONVEYOR_RECORD_HISTORIES === '1';

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 90);

/** Write every run's history on `taskQueue` for the test that is running now. */
export async function recordScenarioHistories(client: Client, taskQueue: string): Promise<number> {
  const { currentTestName, testPath } = expect.getState();
  const dir = join(SCENARIOS_DIR, slug(basename(testPath ?? 'unknown').replace(/\.test\.ts$/, '')), slug(currentTestName ?? 'unnamed'));
  const runs: Array<{ workflowId: string; runId: string; type: string; startTime: Date }> = [];
  for await (const run of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    runs.push({ workflowId: run.workflowId, runId: run.runId, type: run.type, startTime: run.startTime });
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime() || (a.runId < b.runId ? -1 : 1));
  mkdirSync(dir, { recursive: true });
  const perType = new Map<string, number>();
  for (const run of runs) {
    const n = (perType.get(run.type) ?? 0) + 1;
    perType.set(run.type, n);
    // A scenario of many like runs (20 issues through 3 slots) is covered by its first few.
    if (n > RUNS_KEPT_PER_TYPE) continue;
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    // Compact: the corpus is read by machines, and runs to hundreds of files.
    writeFileSync(join(dir, `${run.type}-${n}.json`), `${JSON.stringify(JSON.parse(historyToJSON(history)))}\n`);
  }
  return runs.length;
}
