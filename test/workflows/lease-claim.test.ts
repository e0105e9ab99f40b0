// A lease claimed by update (issue 11, dispatch latency): a ready run asks the fleet from its own
// workflow task and, with a slot free, is answered with the grant in the same round trip instead
// of a signal back and another task. The claim is the same request as the signal's: asking both
// ways is one request, a full fleet queues it and grants it later by signal, a malformed claim
// is refused before it reaches the fleet's history, and a fleet that is gone is revived.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { createFleetActivities } from '../../src/activities/fleet-activities.js';
import { claimLeaseUpdate, releaseLeaseSignal, type LeaseRequest } from '../../src/workflows/messages.js';
import { askForLease, grantsTo, startHolderRun, terminateHolders, type HolderRun } from '../helpers/holder-runs.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { TEST_REPO } from '../helpers/scripted-line.js';
import { closeTestConnections, uniqueTaskQueue } from '../helpers/temporal.js';

afterAll(closeTestConnections);

const request = (holder: HolderRun, requestId: string): LeaseRequest => ({ requestId, holderId: holder.workflowId, holderRunId: holder.runId, repo: TEST_REPO, priority: 2, queuedAt: Date.now() });

describe('a lease claimed by update', () => {
  it('is granted in the answer when a slot is free, queued when the fleet is full, and then granted by signal', async () => {
    const line = await createLine({ name: 'claim', capacity: { globalSlots: 1, agentNames: ['ada', 'grace'] } });
    const holders: HolderRun[] = [];
    const holder = async () => {
      const run = await startHolderRun(line.client, { taskQueue: uniqueTaskQueue('claim-holders'), fleetId: line.fleetId });
      holders.push(run);
      return run;
    };
    const claims = createFleetActivities({ client: line.client, ...line.world.fleet! });
    await withLine(line, async () => {
      const first = await holder();
      // The fleet is rebuilt (its first holder check) before it grants anything.
      await line.until('the fleet rebuilt', async () => (await line.fleet()).rebuiltAt !== null);

      const granted = await claims.claimLease({ fleetWorkflowId: line.fleetId, request: request(first, 'first') });
      expect(granted).toEqual({ granted: { requestId: 'first', agentName: 'ada' } });
      // In the answer only: no grant signal, and asking again (by update or by signal) is the same lease.
      expect(await grantsTo(line.client, first)).toEqual([]);
      expect(await claims.claimLease({ fleetWorkflowId: line.fleetId, request: request(first, 'first') })).toEqual(granted);
      await askForLease(line.client, line.fleetId, first, 'first');
      await line.until('the repeated ask answered', async () => (await grantsTo(line.client, first)).length === 1);
      expect((await line.fleet()).leases.map((l) => l.requestId)).toEqual(['first']);

      const second = await holder();
      expect(await claims.claimLease({ fleetWorkflowId: line.fleetId, request: request(second, 'second') })).toEqual({ queued: true });
      expect((await line.fleet()).waiting.map((w) => w.requestId)).toEqual(['second']);
      await line.client.workflow.getHandle(line.fleetId).signal(releaseLeaseSignal, { requestId: 'first', holderId: first.workflowId });
      await line.until('the queued claim granted by signal', async () => (await grantsTo(line.client, second)).length === 1);
      expect((await grantsTo(line.client, second))[0]).toMatchObject({ requestId: 'second' });
    }).finally(() => terminateHolders(line.client, holders));
  });

  it('refuses a malformed claim without a trace in the fleet, and revives a fleet that is gone', async () => {
    const line = await createLine({ name: 'claim-revive', capacity: { globalSlots: 2 } });
    const claims = createFleetActivities({ client: line.client, ...line.world.fleet! });
    const holders: HolderRun[] = [];
    await withLine(line, async () => {
      await line.until('the fleet rebuilt', async () => (await line.fleet()).rebuiltAt !== null);
      const fleet = line.client.workflow.getHandle(line.fleetId);
      const malformed = { requestId: 'x', holderId: 'nobody' } as unknown as LeaseRequest;
      await expect(fleet.executeUpdate(claimLeaseUpdate, { args: [malformed] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      const history = await fleet.fetchHistory();
      expect((history.events ?? []).some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
      expect((await line.fleet()).notes.map((n) => n.note).join('\n')).not.toContain('nobody');

      await fleet.terminate('the fleet is lost');
      const holder = await startHolderRun(line.client, { taskQueue: uniqueTaskQueue('claim-revive-holders'), fleetId: line.fleetId });
      holders.push(holder);
      // Revived and asked once more: a fresh fleet grants only after its rebuild, so queued, then signalled.
      const answer = await claims.claimLease({ fleetWorkflowId: line.fleetId, request: request(holder, 'after-revival') });
      expect(answer).toEqual({ queued: true });
      expect((await fleet.describe()).status.name).toBe('RUNNING');
      await line.until('the grant after the rebuild', async () => (await grantsTo(line.client, holder)).length === 1);
    }).finally(() => terminateHolders(line.client, holders));
  });
});
