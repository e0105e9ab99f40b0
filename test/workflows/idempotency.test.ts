// Peers' users saw two or three agents started for one issue when the tracker redelivered a
// webhook. Duplicate starts and duplicate signals must end in one run and one dispatch.
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { forgeEventSignal } from '../../src/workflows/messages.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('idempotency', () => {
  it('turns duplicate starts into one run and one dispatch', async () => {
    const line = await createLine({ name: 'dup-start' });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      // The same delivery redelivered, plus distinct deliveries (a sweep, an operator start).
      const starts = await Promise.all([
        ...Array.from({ length: 10 }, () => line.start(issue, 'linear-delivery-1')),
        ...Array.from({ length: 10 }, (_, i) => line.start(issue, `sweep-${i}`)),
      ]);
      expect(new Set(starts)).toEqual(new Set([issueWorkflowId(issue.id)]));
      await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      const runs = [];
      for await (const run of line.client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}'` })) runs.push(run.runId);
      expect(runs).toHaveLength(1);
      expect(line.world.agentRuns).toHaveLength(1);
      expect((await line.fleet()).grantsTotal).toBe(1);
    });
  });

  it('drops a redelivered forge event by its delivery id', async () => {
    const line = await createLine({ name: 'dup-signal' });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      const reads = () => line.state(issue).then((s) => s.history.filter((h) => h.phase === 'merge-gate').length);
      const before = await reads();
      for (let i = 0; i < 5; i++) await handle.signal(forgeEventSignal, { deliveryId: 'gh-same', kind: 'checks' });
      await line.until('one re-read', async () => (await reads()) === before + 1);
      // Give any (wrongly) undeduplicated events time to cause more reads, then count again.
      await handle.signal(forgeEventSignal, { deliveryId: 'gh-other', kind: 'checks' });
      await line.until('the second distinct event', async () => (await reads()) === before + 2);
      expect(await reads()).toBe(before + 2);
      expect((await line.state(issue)).seenDeliveries.filter((d) => d === 'gh-same')).toHaveLength(1);
      record.pr = { ...record.pr, state: 'closed' };
    });
  });
});
