// End to end through the real HTTP server and the real issue workflow on the shared dev
// server, with activities scripted at the activity boundary. Peers' users saw two or three
// agents started for one issue when the tracker redelivered a webhook: here a replayed
// delivery and a burst of 50 concurrent deliveries must end in one run and one dispatch.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { createTemporalSignals } from '../../src/gateway/temporal-signals.js';
import type { TrackerIssue } from '../../src/domain/issue.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';
import { OPERATOR_EMAIL, githubDelivery, githubExample, linearCommentPayload, linearDelivery, linearIssuePayload, post, startTestGateway } from './fixtures.js';

afterAll(closeTestConnections);

async function gatewayFor(line: Line): Promise<StartedGateway> {
  const signals = createTemporalSignals({ client: line.client, taskQueue: line.taskQueue, policy: line.policy });
  return startTestGateway({ signals });
}

async function runsOf(line: Line, issue: TrackerIssue): Promise<string[]> {
  const runs: string[] = [];
  for await (const run of line.client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}'` })) runs.push(run.runId);
  return runs;
}

const readyDelivery = (issue: TrackerIssue, deliveryId: string) => linearDelivery(linearIssuePayload({ id: issue.id, identifier: issue.key }), { deliveryId });

describe('gateway → issue workflow', () => {
  it('a replayed Linear delivery and a replayed GitHub delivery each take effect once', async () => {
    // Long CI and review deadlines: the run waits at the merge gate while the test talks to it.
    const line = await createLine({ name: 'gw-replay', policy: { ci: '5m', review: '5m' } });
    const issue = line.world.addIssue(makeIssue());
    const gateway = await gatewayFor(line);
    const state = () => line.client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery);
    try {
      await withLine(line, async () => {
        const delivery = readyDelivery(issue, 'linear-delivery-replayed');
        expect(await post(`${gateway.url}/webhooks/linear`, delivery)).toMatchObject({ status: 200, body: { result: 'started' } });
        // Linear retries a delivery it thinks failed: same body, same Linear-Delivery id.
        expect(await post(`${gateway.url}/webhooks/linear`, delivery)).toMatchObject({ status: 200 });

        const branch = branchForIssue(issue.key, issue.id);
        const record = await line.until('the PR', () => line.world.prFor(branch));
        await line.until('the merge gate', async () => (await state()).phase === 'merge-gate');
        expect(await runsOf(line, issue)).toHaveLength(1);
        expect(line.world.agentRuns).toHaveLength(1);
        expect((await state()).seenDeliveries.filter((d) => d === 'linear-delivery-replayed')).toHaveLength(1);

        // A real pull_request payload for the factory branch, delivered twice with one id.
        const reads = async () => (await state()).history.filter((h) => h.phase === 'merge-gate').length;
        const before = await reads();
        const payload = githubExample('pull_request', 'synchronize', { branch });
        (payload.pull_request as { number: number }).number = record.pr.number;
        const pushed = await githubDelivery('pull_request', payload, { deliveryId: 'gh-delivery-replayed' });
        expect(await post(`${gateway.url}/webhooks/github`, pushed)).toMatchObject({ status: 200, body: { result: 'signalled' } });
        expect(await post(`${gateway.url}/webhooks/github`, pushed)).toMatchObject({ status: 200 });
        await line.until('one re-read of the PR', async () => (await reads()) === before + 1);
        // A distinct delivery afterwards proves the replay had its chance to (wrongly) count.
        await post(`${gateway.url}/webhooks/github`, await githubDelivery('pull_request', payload, { deliveryId: 'gh-delivery-next' }));
        await line.until('the second distinct event', async () => (await reads()) === before + 2);
        expect(await reads()).toBe(before + 2);

        // An operator ends the run from a Linear comment; the run releases and says so.
        const abort = linearDelivery(linearCommentPayload({ body: '/conveyor abort enough for today', issueId: issue.id, identifier: issue.key, user: { name: 'Ops', email: OPERATOR_EMAIL } }));
        expect(await post(`${gateway.url}/webhooks/linear`, abort)).toMatchObject({ status: 200, body: { result: 'signalled' } });
        const final = await line.result(issue);
        expect(final.outcome).toBe('aborted');
        expect(final.reason).toContain(OPERATOR_EMAIL);
        expect(line.world.agentRuns).toHaveLength(1);

        // A late redelivery after the run closed has no run to signal: no effect, no revival.
        expect(await post(`${gateway.url}/webhooks/github`, pushed)).toMatchObject({ status: 202, body: { result: 'no-run' } });
      });
    } finally {
      await gateway.close();
    }
  });

  it('50 concurrent deliveries for one issue end in one run and one dispatch', async () => {
    const line = await createLine({ name: 'gw-burst', policy: { ci: '5m', review: '5m' } });
    const issue = line.world.addIssue(makeIssue());
    const gateway = await gatewayFor(line);
    try {
      await withLine(line, async () => {
        // Half are one delivery redelivered, half are distinct deliveries (edits, sweeps).
        const deliveries = Array.from({ length: 50 }, (_, i) => readyDelivery(issue, i % 2 === 0 ? 'linear-burst-same' : `linear-burst-${randomUUID()}`));
        const responses = await Promise.all(deliveries.map((d) => post(`${gateway.url}/webhooks/linear`, d)));
        expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
        expect(new Set(responses.map((r) => r.body.workflowId))).toEqual(new Set([issueWorkflowId(issue.id)]));

        await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
        expect(await runsOf(line, issue)).toHaveLength(1);
        expect(line.world.agentRuns).toHaveLength(1);
        expect((await line.fleet()).grantsTotal).toBe(1);
        const seen = (await line.state(issue)).seenDeliveries;
        expect(seen.filter((d) => d === 'linear-burst-same')).toHaveLength(1);
        expect(seen.filter((d) => d.startsWith('linear-burst-'))).toHaveLength(26);
      });
    } finally {
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).terminate('test finished').catch(() => undefined);
      await gateway.close();
    }
  });
});
