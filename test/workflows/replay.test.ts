// Recorded histories replayed against the current workflow code: a non-deterministic change
// fails here, in CI, instead of wedging every running issue (and the fleet) in production.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

function load(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
}

function replay(file: string, history = load(file)) {
  // Replay under the recorded workflow id: workflow code derives ids (lease requests) from it.
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes as { workflowId?: string } | undefined;
  const workflowId = started?.workflowId ?? file.replace(/\.json$/, '');
  return Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: workflowId }, history, workflowId);
}

describe('replay of recorded histories', () => {
  it('has histories of the issue and fleet workflows to replay', () => {
    expect(files).toEqual(expect.arrayContaining(['fleet.json', 'issue-merged-after-redispatch.json', 'issue-thin-approved-then-aborted.json']));
  });

  it.each(files)('replays %s without non-determinism', async (file) => {
    await expect(replay(file)).resolves.toBeUndefined();
  });

  it('catches a non-deterministic change (an activity scheduled under another name)', async () => {
    const history = load('issue-merged-after-redispatch.json');
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'triageIssue')!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'someOtherActivity';
    await expect(replay('altered.json', history)).rejects.toThrow(DeterminismViolationError);
  });
});
