// Blocked by (issue 14): an issue with an unfinished blocking issue waits in a phase of its own,
// visible in status and the Web UI (ConveyorPhase), and starts when its last blocker is done: the
// blocker's webhook tells the run (the gateway's part, tested in gateway-blockers), and the sweep
// catches a lost one. Today such an issue shows as "escalated", like a thin one, and only the
// webhook can wake it.
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { PhaseKey } from '../../src/workflows/search-attributes.js';
import { trackerEventSignal } from '../../src/workflows/messages.js';
import { withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { sweep, sweptLine } from '../helpers/swept-line.js';
import { closeTestConnections, uniqueId } from '../helpers/temporal.js';

afterAll(closeTestConnections);

async function phaseAttribute(line: Line, issueId: string): Promise<string | undefined> {
  const description = await line.client.workflow.getHandle(issueWorkflowId(issueId)).describe();
  return description.typedSearchAttributes.get(PhaseKey);
}

describe('blocked by another issue', () => {
  it('waits in its own phase, says so once, and starts when the blocker\'s webhook says it is done', { timeout: 120_000 }, async () => {
    const line = await sweptLine('blockers-webhook');
    const { world } = line;
    const blocked = world.addIssue(makeIssue());
    world.blockers.set(blocked.id, [{ id: 'blocker-1', key: 'ENG-900', state: 'In Progress' }]);
    await withLine(line, async () => {
      await line.start(blocked);
      await line.until('the run waiting on its blocker', async () => (await line.state(blocked)).phase === 'waiting-on-blockers');
      expect(await phaseAttribute(line, blocked.id)).toBe('waiting-on-blockers');
      expect(world.commentsOn(blocked.id)).toHaveLength(1);
      expect(world.commentsOn(blocked.id)[0]).toContain('blocked by ENG-900 (In Progress)');

      // The blocker moves on but is not done: the run re-reads, still waits, says nothing new.
      world.blockers.set(blocked.id, [{ id: 'blocker-1', key: 'ENG-900', state: 'In Review' }]);
      await line.client.workflow.getHandle(issueWorkflowId(blocked.id)).signal(trackerEventSignal, { kind: 'issue-updated', deliveryId: uniqueId('unblocked-by') });
      // Read again (a second triage note), and back in the wait.
      await line.until('the re-read', async () => {
        const state = await line.state(blocked);
        return state.history.filter((h) => h.phase === 'triage').length >= 2 && state.phase === 'waiting-on-blockers';
      });
      expect(line.world.agentRunsFor(blocked.id)).toBe(0);
      expect(world.commentsOn(blocked.id)).toHaveLength(1);

      world.blockers.set(blocked.id, []);
      await line.client.workflow.getHandle(issueWorkflowId(blocked.id)).signal(trackerEventSignal, { kind: 'issue-updated', deliveryId: uniqueId('unblocked-by') });
      await line.until('the agent started', () => line.world.agentRunsFor(blocked.id) === 1);
    });
  });

  it('a lost "blocker done" webhook: the sweep tells the waiting run, once', { timeout: 120_000 }, async () => {
    const line = await sweptLine('blockers-sweep');
    const { world } = line;
    world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const blocked = world.addIssue(makeIssue());
    world.blockers.set(blocked.id, [{ id: 'blocker-2', key: 'ENG-901', state: 'Todo' }]);
    await withLine(line, async () => {
      await line.start(blocked);
      await line.until('the run waiting on its blocker', async () => (await line.state(blocked)).phase === 'waiting-on-blockers');
      // Still blocked: the sweep leaves the run alone.
      expect((await sweep(line)).unblocked).toBe(0);

      // The blocker is done, and its webhook never arrives.
      world.blockers.set(blocked.id, []);
      expect((await sweep(line)).unblocked).toBe(1);
      await line.until('the agent started', () => line.world.agentRunsFor(blocked.id) === 1);
      // The run is past its wait: the next sweep tells it nothing.
      expect((await sweep(line)).unblocked).toBe(0);
    });
  });
});
