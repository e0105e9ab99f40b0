// Recorded histories replayed against the current workflow code: a non-deterministic change
// fails here, in CI, instead of wedging every running issue (and the fleet) in production.
// The corpus is every workflow scenario test's runs (test/histories/scenarios, re-recorded by
// `npm run record-histories`) plus archived sets from before intended changes
// (test/histories/archive/<change>), which stay so the code keeps replaying runs in flight.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { HISTORIES_DIR } from '../helpers/history-corpus.js';

const files = (readdirSync(HISTORIES_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();

function load(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')));
}

function replay(file: string, history = load(file)) {
  // Replay under the recorded workflow id: workflow code derives ids (lease requests) from it.
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes as { workflowId?: string } | undefined;
  const workflowId = started?.workflowId ?? file.replace(/\.json$/, '');
  return Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: relative('.', file) }, history, workflowId);
}

const typeOf = (file: string) => load(file).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;

describe('replay of recorded histories', () => {
  it('has a corpus covering the issue, fleet and sweep workflows and every scenario file', () => {
    const types = new Set(files.map(typeOf));
    expect([...types].sort()).toEqual(['fleetWorkflow', 'issueWorkflow', 'sweepWorkflow']);
    const scenarioFiles = new Set(files.filter((f) => f.startsWith('scenarios')).map((f) => f.split(/[\\/]/)[1]));
    expect([...scenarioFiles].sort()).toEqual(expect.arrayContaining(['compensation', 'continue-as-new', 'fleet', 'idempotency', 'issue-line', 'sweep']));
  });

  it.each(files)('replays %s without non-determinism', async (file) => {
    await expect(replay(file)).resolves.toBeUndefined();
  });

  it('catches a non-deterministic change (an activity scheduled under another name)', async () => {
    const file = files.find((f) => typeOf(f) === 'issueWorkflow' && f.includes('walks-a-well-specified-issue'))!;
    const history = load(file);
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgent')!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'someOtherActivity';
    await expect(replay('altered.json', history)).rejects.toThrow(DeterminismViolationError);
  });
});
