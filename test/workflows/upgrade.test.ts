// Upgrades with runs in flight: each intended change ships behind patched(), so runs recorded on
// the code before it replay unchanged and new runs take the new path. The archived histories
// of test/histories/archive/<patch> were recorded before that change landed.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { PATCHES } from '../../src/workflows/patches.js';
import { HISTORIES_DIR } from '../helpers/history-corpus.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The patch markers the run recorded, by id (what `patched(id)` writes the first time it is true). */
const patchMarkers = (events: HistoryEvent[]) =>
  events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data).toString()) as { id?: string }).id ?? ''] : [];
  });

/** Whether the run recorded the patch's marker. */
const hasPatchMarker = (events: HistoryEvent[], patchId: string) => patchMarkers(events).includes(patchId);

/** The workflow task that scheduled each activity type, by its WorkflowTaskCompleted event id. */
const scheduledIn = (events: HistoryEvent[], activity: string) =>
  events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity)?.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId?.toString();

/** The local activities the run ran (each a marker in its history), by type, with their results. */
const localActivities = (events: HistoryEvent[]) =>
  events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
    if (!data) return [];
    const result = marker?.details?.result?.payloads?.[0]?.data;
    return [{ type: (JSON.parse(Buffer.from(data).toString()) as { activity_type?: string }).activity_type ?? '', result: result?.length ? (JSON.parse(Buffer.from(result).toString()) as unknown) : null }];
  });

/** The run's lease claim was granted in its workflow task (no grant signal, no prepare while queued). */
const claimedAtOnce = (events: HistoryEvent[]) =>
  localActivities(events).some((a) => a.type === 'claimLease' && typeof a.result === 'object' && a.result !== null && 'granted' in a.result);

/** Each patch: how a run on the old code looks, and how a new run must look. */
const CHANGES: Array<{
  patch: string;
  archive?: string;
  /** A later patch whose path new runs take instead, without asking for this one (its marker is theirs). */
  supersededBy?: string;
  before: (events: HistoryEvent[]) => boolean;
  after: (events: HistoryEvent[]) => boolean;
  says: string;
}> = [
  {
    patch: PATCHES.moveWhileAgentStarts,
    supersededBy: PATCHES.escalateInOneTask,
    says: 'the move to In Progress and the agent are scheduled in the same workflow task',
    before: (events) => scheduledIn(events, 'moveIssue') !== scheduledIn(events, 'runAgent'),
    after: (events) => scheduledIn(events, 'moveIssue') === scheduledIn(events, 'runAgent'),
  },
  {
    patch: PATCHES.prepareWhileQueued,
    supersededBy: PATCHES.escalateInOneTask,
    says: 'the worktree is prepared while the run waits for its lease, before the agent',
    before: (events) => scheduledIn(events, 'prepareWorkspace') === undefined,
    // A run whose lease is claimed at once (dispatch-in-one-workflow-task) has no wait to overlap:
    // its worktree is prepared ahead by triage's worker instead.
    after: (events) =>
      scheduledIn(events, 'prepareWorkspace') !== undefined ? Number(scheduledIn(events, 'prepareWorkspace')) < Number(scheduledIn(events, 'runAgent')) : claimedAtOnce(events),
  },
  {
    patch: PATCHES.endingsFinal,
    supersededBy: PATCHES.escalateInOneTask,
    says: "the run reads the issue's ledger beside its first triage read, and the agent's commits are published by their own activity after it",
    before: (events) => scheduledIn(events, 'readIssueLedger') === undefined,
    after: (events) =>
      scheduledIn(events, 'readIssueLedger') === scheduledIn(events, 'triageIssue') &&
      events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishPullRequest'),
  },
  {
    patch: PATCHES.reviewWindowPerHead,
    supersededBy: PATCHES.escalateInOneTask,
    // The new path shows only in a timer's length, after a re-dispatch late in a window (the
    // issue-line scenario "gives each new head its own review window"); here, that the run took it.
    says: 'the run decides at its start to give each new head a whole review window',
    before: (events) => !hasPatchMarker(events, PATCHES.reviewWindowPerHead),
    // (A new run's one marker stands for it: escalate-in-one-workflow-task.)
    after: (events) => hasPatchMarker(events, PATCHES.escalateInOneTask) && !hasPatchMarker(events, PATCHES.reviewWindowPerHead),
  },
  {
    patch: PATCHES.hostAffinity,
    // Shipped with the review window: the same histories were recorded before both.
    archive: PATCHES.reviewWindowPerHead,
    supersededBy: PATCHES.escalateInOneTask,
    // The new path needs a worker that names its host (host-affinity.test.ts runs two); here,
    // that old runs published from the shared queue and a new run took the patch.
    says: 'the run decides at its start to send the worktree steps to the host that ran the agent',
    before: (events) => !events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishPullRequest' && (e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '').includes('@')),
    after: (events) => hasPatchMarker(events, PATCHES.escalateInOneTask) && !hasPatchMarker(events, PATCHES.hostAffinity),
  },
  {
    patch: PATCHES.dispatchInOneTask,
    supersededBy: PATCHES.escalateInOneTask,
    says: "triage's reads and the lease claim run as local activities in the run's workflow task; the fleet answers the claim by update",
    before: (events) => scheduledIn(events, 'triageIssue') !== undefined && localActivities(events).length === 0,
    after: (events) => {
      const local = localActivities(events).map((a) => a.type);
      return scheduledIn(events, 'triageIssue') === undefined && local.includes('triageIssue') && local.includes('readIssueLedger') && local.includes('claimLease');
    },
  },
  {
    patch: PATCHES.escalateInOneTask,
    // The escalation's own path is shown by "a thin issue escalates in the workflow task that
    // started its run" below; a dispatched run shows the one marker.
    says: 'one patch marker stands for every earlier change (and a thin issue escalates in one workflow task)',
    before: (events) => patchMarkers(events).length > 1,
    after: (events) => patchMarkers(events).join() === PATCHES.escalateInOneTask,
  },
];

describe.each(CHANGES)('patch "$patch"', ({ patch, archive: archivedAs, supersededBy, says, before, after }) => {
  const archive = join(HISTORIES_DIR, 'archive', archivedAs ?? patch);
  const archived = existsSync(archive) ? (readdirSync(archive, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')) : [];

  // Every archived history replays in replay.test.ts; here a sample of the dispatched ones shows
  // each took the old path (no marker) and still replays on the current code.
  it('replays issue runs recorded before the change, which took the old path', { timeout: 300_000 }, async () => {
    const dispatched = archived
      .map((file) => ({ file, history: historyFromJSON(JSON.parse(readFileSync(join(archive, file), 'utf8'))) }))
      .filter(({ history }) => scheduledIn(history.events ?? [], 'runAgent') !== undefined)
      .slice(0, 12);
    expect(dispatched.length).toBeGreaterThan(0);
    for (const { file, history } of dispatched) {
      const events = history.events ?? [];
      expect(hasPatchMarker(events, patch), file).toBe(false);
      expect(before(events), file).toBe(true);
      const workflowId = events[0]!.workflowExecutionStartedEventAttributes!.workflowId ?? file;
      await expect(Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: file }, history, workflowId)).resolves.toBeUndefined();
    }
  });

  it(`takes the new path in a new run: ${says}`, async () => {
    const line = await createLine({ name: 'patched' });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the PR', async () => (await line.state(issue)).phase === 'merge-gate');
      const events = (await line.client.workflow.getHandle(issueWorkflowId(issue.id)).fetchHistory()).events ?? [];
      expect(hasPatchMarker(events, supersededBy ?? patch)).toBe(true);
      expect(after(events)).toBe(true);
      expect(line.world.movesOf(issue.id)).toEqual(['In Progress', 'In Review']);
    });
  });
});

describe('escalating in one workflow task', () => {
  // Before: the escalation comment was an activity task, so a thin issue's run took two workflow
  // tasks and an activity task to reach its wait (and a bench of 10,000 thin issues paid it 10,000
  // times); and each of the run's five patches added a marker and a TemporalChangeVersion upsert.
  it('a thin issue escalates in the workflow task that started its run, with one patch marker', async () => {
    const line = await createLine({ name: 'escalate-one-task' });
    const issue = line.world.addIssue(makeIssue({ description: 'make it faster' }));
    await withLine(line, async () => {
      await line.start(issue);
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      const history = async () => (await handle.fetchHistory()).events ?? [];
      // The escalation's deadline timer is the last command of the task that posted the comment.
      await line.until('the escalation timer', async () => (await history()).some((e) => e.timerStartedEventAttributes));
      const events = await history();
      const upToTimer = events.slice(0, events.findIndex((e) => e.timerStartedEventAttributes));
      expect(upToTimer.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
      expect(upToTimer.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
      expect(localActivities(upToTimer).map((a) => a.type)).toEqual(['triageIssue', 'readIssueLedger', 'commentOnIssue']);
      expect(patchMarkers(events)).toEqual([PATCHES.escalateInOneTask]);
      expect(line.world.commentsOn(issue.id)).toHaveLength(1);
      expect((await line.state(issue)).phase).toBe('escalated');
    });
  });
});
