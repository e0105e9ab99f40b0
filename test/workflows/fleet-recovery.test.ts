// The fleet must never wedge or forget (issue 11): a failing holder check, a terminated fleet and
// a terminated holder whose issue runs again each once stopped dispatch or leaked a slot and a
// name for good. The holders here are real issue runs on a task queue no worker polls.
import { afterAll, describe, expect, it } from 'vitest';
import { createFleetActivities } from '../../src/activities/fleet-activities.js';
import { releaseLeaseSignal } from '../../src/workflows/messages.js';
import type { FleetState } from '../../src/workflows/state.js';
import { askForLease, grantsTo, startHolderRun, terminateHolders, type HolderRun } from '../helpers/holder-runs.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { closeTestConnections, uniqueTaskQueue } from '../helpers/temporal.js';

afterAll(closeTestConnections);

/** A line whose lease holders live on their own task queue, with no worker on it. */
async function lineWithHolders(name: string, globalSlots: number) {
  const line = await createLine({ name, capacity: { globalSlots } });
  const holdersQueue = uniqueTaskQueue(`${name}-holders`);
  const started: HolderRun[] = [];
  const holder = async (options: { workflowId?: string; lease?: { requestId: string; agentName: string } } = {}) => {
    const run = await startHolderRun(line.client, { taskQueue: holdersQueue, fleetId: line.fleetId, ...options });
    started.push(run);
    return run;
  };
  const run = (scenario: () => Promise<void>) => withLine(line, scenario).finally(() => terminateHolders(line.client, started));
  return { line, holdersQueue, holder, run };
}

/** Waits until the fleet has finished `count` more holder checks (successful or not). */
async function afterChecks(line: Line, count: number): Promise<FleetState> {
  const seen = new Set<number>();
  return line.until(`${count} more holder checks`, async () => {
    const fleet = await line.fleet();
    const at = Math.max(fleet.lastHolderCheckAt ?? 0, fleet.lastHolderCheckErrorAt ?? 0);
    if (at > 0) seen.add(at);
    return seen.size > count && fleet;
  }, 60_000);
}

describe('the fleet that cannot wedge or forget', () => {
  it('keeps running and loses no lease while its holder check fails, and shows the failure until it recovers', async () => {
    // Guards: one failed findClosedWorkflows failed the fleet for good; every later lease was lost.
    const { line, holder, run } = await lineWithHolders('check-fails', 2);
    await run(async () => {
      const fleetRun = (await line.client.workflow.getHandle(line.fleetId).describe()).runId;
      const first = await holder();
      await askForLease(line.client, line.fleetId, first, 'first');
      await line.until('the first grant', async () => (await grantsTo(line.client, first)).length === 1);

      line.world.fleetActivities.findClosedHolders = async () => {
        throw new Error('visibility is unavailable');
      };
      await line.until('the failure recorded', async () => (await line.fleet()).lastHolderCheckError?.includes('visibility is unavailable'));
      // While the check fails, leases are still granted and returned.
      const second = await holder();
      await askForLease(line.client, line.fleetId, second, 'second');
      await line.until('the second grant', async () => (await grantsTo(line.client, second)).length === 1);
      await line.client.workflow.getHandle(line.fleetId).signal(releaseLeaseSignal, { requestId: 'first', holderId: first.workflowId });
      const failing = await afterChecks(line, 3);
      expect(failing.lastHolderCheckError).toContain('visibility is unavailable');

      line.world.fleetActivities = {};
      const recovered = await line.until('the check recovered', async () => {
        const fleet = await line.fleet();
        return fleet.lastHolderCheckError === null && (fleet.lastHolderCheckAt ?? 0) > (failing.lastHolderCheckErrorAt ?? 0) && fleet;
      });
      expect(recovered.leases.map((l) => l.requestId)).toEqual(['second']);
      expect(recovered.reclaimedTotal).toBe(0);
      const fleet = await line.client.workflow.getHandle(line.fleetId).describe();
      expect(fleet.status.name).toBe('RUNNING');
      expect(fleet.runId).toBe(fleetRun);
    });
  });

  it('is revived with the 3 leases its runs hold after being terminated, and grants no fourth while they are held', async () => {
    // Guards: a lost fleet came back with an empty ledger while agents still ran, and handed their names out again.
    const { line, holdersQueue, holder, run } = await lineWithHolders('revive', 3);
    // The rebuild looks where these holders live (a worker's own task queue in production).
    line.world.fleetActivities.listLeaseHolders = createFleetActivities({ client: line.client, taskQueue: holdersQueue, capacity: line.world.fleet!.capacity }).listLeaseHolders;
    await run(async () => {
      await line.until('the first fleet rebuilt (from no holders)', async () => (await line.fleet()).rebuiltAt !== null);
      const holders: HolderRun[] = [];
      for (const [i, agentName] of ['ada', 'grace', 'linus'].entries()) {
        const h = await holder({ lease: { requestId: `lease-${i}`, agentName } });
        await askForLease(line.client, line.fleetId, h, `lease-${i}`);
        const [grant] = await line.until(`grant ${i}`, async () => {
          const grants = await grantsTo(line.client, h);
          return grants.length > 0 && grants;
        });
        expect(grant).toEqual({ requestId: `lease-${i}`, agentName });
        holders.push(h);
      }

      await line.client.workflow.getHandle(line.fleetId).terminate('simulating a lost fleet');
      // What an issue run does when it cannot signal the fleet.
      await line.world.activities(line.client).reviveFleet();
      const rebuilt = await line.until('the ledger rebuilt', async () => {
        const fleet = await line.fleet();
        return fleet.rebuiltAt !== null && fleet;
      });
      expect(rebuilt.leases.map((l) => [l.requestId, l.agentName, l.holderRunId]).sort()).toEqual(holders.map((h, i) => [`lease-${i}`, ['ada', 'grace', 'linus'][i], h.runId]));

      const fourth = await holder();
      await askForLease(line.client, line.fleetId, fourth, 'lease-3');
      const held = await afterChecks(line, 2);
      expect(held.leases).toHaveLength(3);
      expect(held.waiting.map((w) => w.requestId)).toEqual(['lease-3']);
      expect(await grantsTo(line.client, fourth)).toEqual([]);

      await line.client.workflow.getHandle(line.fleetId).signal(releaseLeaseSignal, { requestId: 'lease-1', holderId: holders[1]!.workflowId });
      const [grant] = await line.until('the fourth grant', async () => {
        const grants = await grantsTo(line.client, fourth);
        return grants.length > 0 && grants;
      });
      expect(grant).toEqual({ requestId: 'lease-3', agentName: 'grace' });
    });
  });

  it('reclaims the lease of a terminated run although its workflow id runs again, and grants the new run', async () => {
    // Guards: leases belonged to workflow ids, so a terminated holder followed by a new run of the
    // same issue looked open and leaked its slot and name for the new run's whole life.
    const { line, holder, run } = await lineWithHolders('rerun', 1);
    await run(async () => {
      const first = await holder();
      await askForLease(line.client, line.fleetId, first, 'first-run');
      await line.until('the first run granted', async () => (await grantsTo(line.client, first)).length === 1);
      await line.client.workflow.getHandle(first.workflowId, first.runId).terminate('simulating a lost run');
      const second = await holder({ workflowId: first.workflowId });
      await askForLease(line.client, line.fleetId, second, 'second-run');

      const [grant] = await line.until('the second run granted', async () => {
        const grants = await grantsTo(line.client, second);
        return grants.length > 0 && grants;
      });
      expect(grant).toEqual({ requestId: 'second-run', agentName: 'ada' });
      const fleet = await line.fleet();
      expect(fleet.leases).toMatchObject([{ requestId: 'second-run', holderRunId: second.runId }]);
      expect(fleet.reclaimedTotal).toBe(1);
    });
  });
});
