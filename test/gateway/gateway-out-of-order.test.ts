// Events arrive in whatever order the services send them. A review before the checks, and a
// push after the approval, must still end in one run, one dispatch, and a merge only of a SHA
// whose checks were read green and that was approved itself.
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { createTemporalSignals } from '../../src/gateway/temporal-signals.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';
import { githubDelivery, githubExample, linearDelivery, linearIssuePayload, post, startTestGateway } from './fixtures.js';

afterAll(closeTestConnections);

describe('out-of-order deliveries', () => {
  it('a review before the checks, then a push after the approval: one run, one dispatch, no stale merge, no merge of an unapproved head', async () => {
    const line = await createLine({ name: 'gw-order', policy: { ci: '5m', review: '5m' } });
    // CI stays pending until the test says otherwise.
    line.world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = line.world.addIssue(makeIssue());
    const gateway = await startTestGateway({ signals: createTemporalSignals({ client: line.client, taskQueue: line.taskQueue, policy: line.policy }) });
    const branch = branchForIssue(issue.key, issue.id);
    const state = () => line.client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery);
    const reads = async () => (await state()).history.filter((h) => h.phase === 'merge-gate').length;
    let deliveries = 0;
    const send = async (event: string, action: string, patch: (payload: Record<string, unknown>) => void) => {
      const payload = githubExample(event, action, { branch }) as Record<string, unknown>;
      patch(payload);
      deliveries += 1;
      return post(`${gateway.url}/webhooks/github`, await githubDelivery(event, payload, { deliveryId: `order-${deliveries}` }));
    };
    try {
      await withLine(line, async () => {
        await post(`${gateway.url}/webhooks/linear`, linearDelivery(linearIssuePayload({ id: issue.id, identifier: issue.key })));
        const record = await line.until('the PR', () => line.world.prFor(branch));
        await line.until('the merge gate', async () => (await state()).phase === 'merge-gate');
        const firstHead = record.pr.headSha;

        // 1. The approval arrives while CI is still running: no merge on unknown checks.
        line.world.review(record.pr.number, { state: 'APPROVED' });
        let before = await reads();
        expect(await send('pull_request_review', 'submitted', (p) => ((p.pull_request as { number: number }).number = record.pr.number))).toMatchObject({ status: 200 });
        await line.until('the gate to read the approval', async () => (await reads()) > before);
        expect(line.world.merges).toHaveLength(0);

        // 2. Someone pushes after the approval, then the old head's checks report green late.
        const newHead = line.world.pushHead(branch);
        record.checks = { sha: newHead, state: 'pending', failures: [] };
        before = await reads();
        expect(await send('check_suite', 'completed', (p) => ((p.check_suite as { head_branch: string; head_sha: string }).head_sha = firstHead))).toMatchObject({ status: 200 });
        expect(await send('pull_request', 'synchronize', (p) => ((p.pull_request as { number: number }).number = record.pr.number))).toMatchObject({ status: 200 });
        await line.until('the gate to read the new head', async () => (await reads()) >= before + 1);
        expect(line.world.merges).toHaveLength(0);

        // 3. The new head's checks go green, but the approval was of the old head: no merge of a
        // SHA nobody approved.
        const greenReads: string[] = [];
        line.world.onRead = (read, world) => {
          // Called in the same tick as the read's snapshot: what this read saw.
          if (read.checks.state === 'success') greenReads.push(world.reviewSummary(read).decision);
        };
        record.checks = { sha: newHead, state: 'success', failures: [] };
        expect(await send('check_suite', 'completed', () => undefined)).toMatchObject({ status: 200 });
        await line.until('the gate to read green checks on the new head', () => greenReads.length > 0);
        // Step 2's second delivery may be read after the checks went green too: every green read,
        // however many, must have seen the old head's approval as no approval of this one.
        expect(greenReads.filter((decision) => decision !== 'REVIEW_REQUIRED')).toEqual([]);
        expect(line.world.merges).toHaveLength(0);

        // 4. The reviewer approves the new head: the merge is pinned to it, once.
        line.world.review(record.pr.number, { state: 'APPROVED' });
        expect(await send('pull_request_review', 'submitted', (p) => ((p.pull_request as { number: number }).number = record.pr.number))).toMatchObject({ status: 200 });
        const final = await line.result(issue);
        expect(final.outcome).toBe('merged');
        expect(line.world.merges.map((m) => m.sha)).toEqual([newHead]);
        expect(line.world.agentRuns).toHaveLength(1);
        const runs: string[] = [];
        for await (const run of line.client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}'` })) runs.push(run.runId);
        expect(runs).toHaveLength(1);
      });
    } finally {
      await gateway.close();
    }
  });
});
