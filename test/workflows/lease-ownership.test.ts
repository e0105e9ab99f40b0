// Leases belong to the run that asked, not to the issue: a run terminated while it held or
// waited for a lease must not leave its slot and name to leak through the issue's next run
// (issue 11, problem 2).
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { pauseFleetSignal } from '../../src/workflows/messages.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { committingAgent, hangingAgent, makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('leases belong to runs', () => {
  it('returns a grant meant for a terminated run when it reaches the issue\'s next run (the old grant landed on the new run and leaked)', async () => {
    // No holder check in this scenario: it would drop the terminated run's waiting request before the stray grant it is about.
    const line = await createLine({ name: 'stray-grant', capacity: { globalSlots: 1, agentNames: ['ada'], holderCheckInterval: '1h' } });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      const fleet = line.client.workflow.getHandle(line.fleetId);
      await fleet.signal(pauseFleetSignal, { paused: true, by: 'test' });
      await line.start(issue);
      await line.until('the first run queued', async () => (await line.fleet()).waiting.length === 1);
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).terminate('simulating a lost run');
      await line.start(issue);
      await line.until('both runs\' requests queued', async () => (await line.fleet()).waiting.length === 2);
      // The terminated run asked first, so its request is granted first, to the issue's workflow id.
      await fleet.signal(pauseFleetSignal, { paused: false, by: 'test' });
      await line.until('the new run\'s agent', () => line.world.agentRuns.length === 1);
      const state = await line.until('the merge gate', async () => {
        const s = await line.state(issue);
        return s.phase === 'merge-gate' && s;
      });
      expect(state.attempts).toBe(1);
      const after = await line.until('every lease back', async () => {
        const f = await line.fleet();
        return f.leases.length === 0 && f.waiting.length === 0 && f;
      });
      expect(after.grantsTotal).toBe(2);
    });
  });

  it('reclaims the lease of a run terminated mid-agent even while the issue\'s next run is open (the holder check saw "RUNNING" and the slot leaked)', async () => {
    const line = await createLine({ name: 'reclaim-by-run', capacity: { globalSlots: 1, agentNames: ['ada'] } });
    line.world.agent = hangingAgent;
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the first agent running', () => line.world.runningAgents === 1);
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).terminate('simulating a lost run');
      line.world.agent = committingAgent;
      // Put back to ready (as the sweep's compensation or a human would) and started again.
      line.world.editIssue(issue.id, { state: { name: 'Todo', type: 'unstarted' } });
      await line.start(issue);
      // One slot only: the new run gets an agent only once the old run's lease is reclaimed.
      await line.until('the new run\'s agent', () => line.world.agentRuns.length === 2, 30_000);
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
      const fleet = await line.fleet();
      expect(fleet.leases).toEqual([]);
      expect(fleet.reclaimedTotal).toBeGreaterThanOrEqual(1);
    });
  });

  it('a fleet lost while agents run is revived by the next run that asks, with the leases the running issue runs hold (the runs never published ConveyorLease, so a revived fleet forgot them)', async () => {
    const line = await createLine({ name: 'revive-real-runs', capacity: { globalSlots: 2, agentNames: ['ada', 'grace'] } });
    line.world.agent = hangingAgent;
    const [first, second, third] = [makeIssue(), makeIssue(), makeIssue()].map((issue) => line.world.addIssue(issue));
    await withLine(line, async () => {
      await line.start(first!);
      await line.start(second!);
      await line.until('two agents running', () => line.world.runningAgents === 2);
      const held = (await line.fleet()).leases.map((l) => [l.requestId, l.agentName]).sort();
      await line.client.workflow.getHandle(line.fleetId).terminate('simulating a lost fleet');

      // The third run cannot signal the fleet: it revives it, and the revived fleet rebuilds its
      // ledger from the running issue runs before granting anything.
      await line.start(third!);
      const revived = await line.until('the revived fleet to know the third run', async () => {
        const fleet = await line.fleet().catch(() => undefined);
        const known = [...(fleet?.waiting ?? []), ...(fleet?.leases ?? [])].some((entry) => entry.holderId === issueWorkflowId(third!.id));
        return fleet && fleet.rebuiltAt !== null && known && fleet;
      }, 30_000);
      // Forgetting them would hand the third run a slot: a third agent beside the two running.
      expect(revived.leases.map((l) => [l.requestId, l.agentName]).sort()).toEqual(held);
      expect(revived.waiting.map((w) => w.holderId)).toEqual([issueWorkflowId(third!.id)]);
      expect(line.world.agentRuns).toHaveLength(2);
      expect((await line.state(third!)).phase).toBe('queued');
    });
  });
});
