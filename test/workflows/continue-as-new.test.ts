// Long waits must not grow history without bound: a merge gate flooded with events continues
// as new and carries its state (PR, attempts, seen deliveries) across.
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { forgeEventSignal } from '../../src/workflows/messages.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('continue-as-new', () => {
  it('continues a long merge-gate wait as new and still merges, once', async () => {
    const line = await createLine({ name: 'can', policy: { continueAsNewAfterEvents: 60 } });
    line.world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      for (let i = 0; i < 30; i++) await handle.signal(forgeEventSignal, { deliveryId: `ci-progress-${i}`, kind: 'checks' });
      const runs = async () => {
        const ids: string[] = [];
        for await (const run of line.client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}'` })) ids.push(run.runId);
        return ids;
      };
      await line.until('a continued run', async () => (await runs()).length > 1);
      // A delivery seen before the continuation is still recognised after it.
      const carried = await line.state(issue);
      expect(carried.seenDeliveries).toContain('ci-progress-29');
      expect(carried.pr?.number).toBe(record.pr.number);

      record.checks = { sha: record.pr.headSha, state: 'success', failures: [] };
      line.world.review(record.pr.number, { state: 'APPROVED' });
      await handle.signal(forgeEventSignal, { deliveryId: 'green', kind: 'checks' });
      const final = await line.until('the merge', async () => {
        const s = await line.state(issue);
        return s.outcome === 'merged' && s;
      });
      expect(final.attempts).toBe(1);
      expect(line.world.agentRuns).toHaveLength(1);
      expect(line.world.merges.filter((m) => m.result.merged)).toHaveLength(1);
    });
  });
});
