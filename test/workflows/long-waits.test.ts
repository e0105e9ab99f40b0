// Waits that outlive a run: every wait continues as new when history grows (redeliveries,
// nudges), and the continued run keeps the wait's absolute deadline and posts nothing twice.
// Each scenario names the failure it guards (issue 11, problems 4 and 5).
import type { Client } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { forgeEventSignal, pauseFleetSignal, trackerEventSignal } from '../../src/workflows/messages.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';
import type { TrackerIssue } from '../../src/domain/issue.js';

afterAll(closeTestConnections);

async function runIds(client: Client, issue: TrackerIssue): Promise<string[]> {
  const ids: Array<{ runId: string; start: number }> = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}'` })) ids.push({ runId: run.runId, start: run.startTime.getTime() });
  return ids.sort((a, b) => a.start - b.start).map((r) => r.runId);
}

/** When each timer a run started would fire, in wall-clock ms, read from its history. */
async function timerDeadlines(client: Client, issue: TrackerIssue, runId: string): Promise<number[]> {
  const history = await client.workflow.getHandle(issueWorkflowId(issue.id), runId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const timer = event.timerStartedEventAttributes;
    if (!timer || !event.eventTime) return [];
    const startedAt = Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6);
    const timeout = timer.startToFireTimeout!;
    return [startedAt + Number(timeout.seconds ?? 0) * 1000 + Math.floor((timeout.nanos ?? 0) / 1e6)];
  });
}

/** Let the first wait run a while, so a restarted clock would be seconds off, then grow history until the run continues. */
async function continueDuringWait(line: Line, issue: TrackerIssue, nudge: (i: number) => Promise<void>): Promise<[string, string]> {
  const before = await runIds(line.client, issue);
  const first = before.at(-1);
  await new Promise((r) => setTimeout(r, 2_500));
  for (let i = 0; (await runIds(line.client, issue)).length === before.length; i++) {
    if (i > 200) throw new Error('the run never continued as new');
    await nudge(i);
  }
  const second = (await runIds(line.client, issue))[before.length];
  await line.until('the continued run to wait again', async () => (await timerDeadlines(line.client, issue, second!)).length > 0);
  return [first!, second!];
}

/** The continued run's deadline timer fires when the first run's would have (not a fresh full wait). */
async function expectSameDeadline(line: Line, issue: TrackerIssue, [first, second]: [string, string]) {
  const before = (await timerDeadlines(line.client, issue, first)).at(-1)!;
  const after = (await timerDeadlines(line.client, issue, second))[0]!;
  expect(Math.abs(after - before)).toBeLessThan(1_000);
}

describe('waits across continue-as-new', () => {
  it('keeps the CI deadline when a run continues during the CI wait (the 60-minute clock restarted at every continuation)', async () => {
    const line = await createLine({ name: 'can-ci', policy: { continueAsNewAfterEvents: 100, ci: '40s' } });
    line.world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the CI wait', async () => (await line.state(issue)).phase === 'merge-gate');
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      const runs = await continueDuringWait(line, issue, (i) => handle.signal(forgeEventSignal, { deliveryId: `ci-progress-${i}`, kind: 'checks' }));
      await expectSameDeadline(line, issue, runs);
    });
  });

  it('keeps the review deadline when a run continues during the review wait (the 7-day clock restarted)', async () => {
    const line = await createLine({ name: 'can-review', policy: { continueAsNewAfterEvents: 100, review: '40s' } });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the review wait', async () => (await line.state(issue)).phase === 'merge-gate');
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      const runs = await continueDuringWait(line, issue, (i) => handle.signal(forgeEventSignal, { deliveryId: `comment-${i}`, kind: 'review' }));
      await expectSameDeadline(line, issue, runs);
    });
  });

  it('continues a triage escalation flooded with redeliveries, with one comment and the same deadline (history grew and the run never continued)', async () => {
    const line = await createLine({ name: 'can-escalation', policy: { continueAsNewAfterEvents: 100, escalation: '40s' } });
    const issue = line.world.addIssue(makeIssue({ description: 'make it faster' }));
    await withLine(line, async () => {
      const deliveryId = 'linear-redelivered';
      await line.start(issue, deliveryId);
      await line.until('the escalation comment', () => line.world.commentsOn(issue.id).length > 0);
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      // The same delivery again and again: dropped each time, yet each one grows the history.
      const runs = await continueDuringWait(line, issue, () => handle.signal(trackerEventSignal, { deliveryId, kind: 'issue-updated' }));
      await expectSameDeadline(line, issue, runs);
      expect(line.world.commentsOn(issue.id)).toHaveLength(1);
      expect((await line.state(issue)).phase).toBe('escalated');
    });
  });

  it('continues the re-dispatch-limit escalation without posting it again (escalateRedispatchLimit commented at every continuation)', async () => {
    const line = await createLine({ name: 'can-limit', policy: { maxRedispatch: 0, continueAsNewAfterEvents: 120, escalation: '40s' } });
    line.world.ciFor = (sha) => ({ sha, state: 'failure', failures: [{ name: 'unit', summary: 'red' }] });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the escalation comment', () => line.world.commentsOn(issue.id).some((c) => /stopped re-dispatching/.test(c)));
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      // Edits to the issue mean nothing to this wait (only `retry` does), but each grows history.
      const runs = await continueDuringWait(line, issue, (i) => handle.signal(trackerEventSignal, { deliveryId: `edit-${i}`, kind: 'issue-updated' }));
      await expectSameDeadline(line, issue, runs);
      expect(line.world.commentsOn(issue.id).filter((c) => /stopped re-dispatching/.test(c))).toHaveLength(1);
      expect(line.world.agentRuns).toHaveLength(1);
    });
  });

  it('continues a long queue wait as new, keeps its deadline, and still gets its lease (the queue wait walked toward the history limit)', async () => {
    const line = await createLine({ name: 'can-queue', policy: { continueAsNewAfterEvents: 100, queue: '60s' } });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      const fleet = line.client.workflow.getHandle(line.fleetId);
      await fleet.signal(pauseFleetSignal, { paused: true, by: 'test' });
      await line.start(issue, 'queued-delivery');
      const queued = await line.until('the queue wait', async () => {
        const s = await line.state(issue);
        return s.phase === 'queued' && s;
      });
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      await continueDuringWait(line, issue, () => handle.signal(trackerEventSignal, { deliveryId: 'queued-delivery', kind: 'issue-ready' }));
      const continued = await line.state(issue);
      expect(continued.phase).toBe('queued');
      // Within a second, not to the millisecond: the deadline is set in the workflow task that
      // claims the lease (a local activity), and a query may read it before that task is final;
      // a replay of the task can stamp it up to the local activities' duration earlier. A clock
      // restarted by the continuation would be at least 2.5 s later (continueDuringWait waits that long).
      expect(Math.abs(continued.waits.queueDeadlineAt! - queued.waits.queueDeadlineAt!)).toBeLessThan(1_000);
      expect(continued.leaseRequestId).toBe(queued.leaseRequestId);

      await fleet.signal(pauseFleetSignal, { paused: false, by: 'test' });
      await line.until('the agent to run', () => line.world.agentRuns.length === 1);
      await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      expect((await line.fleet()).grantsTotal).toBe(1);
    });
  });

  it('ends a queue wait at its deadline as queue-timeout and withdraws the request (the wait had no deadline)', async () => {
    const line = await createLine({ name: 'queue-timeout', policy: { queue: '3s' } });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.client.workflow.getHandle(line.fleetId).signal(pauseFleetSignal, { paused: true, by: 'test' });
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('queue-timeout');
      expect(line.world.agentRuns).toHaveLength(0);
      const fleet = await line.fleet();
      expect(fleet.waiting).toEqual([]);
      expect(fleet.leases).toEqual([]);
    });
  });
});
