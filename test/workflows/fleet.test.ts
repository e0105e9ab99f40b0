// Caps before work: peers' users saw dozens of sessions at once until the host ran out of
// memory. A burst of issues queues behind the fleet's slots instead of spawning.
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { forgeEventSignal, pauseFleetSignal } from '../../src/workflows/messages.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('the fleet', () => {
  it('runs 20 issues through 3 slots: never more than 3 leases, all finish, none left', async () => {
    const line = await createLine({ name: 'burst', capacity: { globalSlots: 3 } });
    line.world.agent = async (input, world) => {
      await new Promise((r) => setTimeout(r, 150));
      world.pushHead(input.branch);
      // Approve at once so each run merges without a human.
      return { commits: 1, headSha: null, summary: 'ok', costUsd: 0 };
    };
    line.world.onRead = (record, world) => {
      world.review(record.pr.number, { state: 'APPROVED' });
    };
    const issues = Array.from({ length: 20 }, () => line.world.addIssue(makeIssue()));
    await withLine(line, async () => {
      await Promise.all(issues.map((issue) => line.start(issue)));
      // The first read sees REVIEW_REQUIRED (onRead approves after it); nudge each gate once.
      const nudged = new Set<string>();
      await line.until(
        'all 20 runs merged',
        async () => {
          for (const issue of issues) {
            if (nudged.has(issue.id) || !line.world.prFor(branchForIssue(issue.key, issue.id))) continue;
            const state = await line.state(issue);
            if (state.phase === 'merge-gate') {
              nudged.add(issue.id);
              await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(forgeEventSignal, { deliveryId: `approve-${issue.id}`, kind: 'review' });
            }
          }
          const outcomes = await Promise.all(issues.map((i) => line.state(i).then((s) => s.outcome)));
          return outcomes.every((o) => o === 'merged');
        },
        90_000,
      );
      const fleet = await line.fleet();
      expect(fleet.maxConcurrentLeases).toBe(3);
      expect(line.world.maxRunningAgents).toBeLessThanOrEqual(3);
      expect(fleet.grantsTotal).toBe(20);
      expect(fleet.leases).toEqual([]);
      expect(fleet.waiting).toEqual([]);
    });
  }, 120_000);

  it('holds new dispatches while paused and grants by priority when resumed', async () => {
    const line = await createLine({ name: 'pause', capacity: { globalSlots: 1 } });
    const low = line.world.addIssue(makeIssue({ priority: 4 }));
    const none = line.world.addIssue(makeIssue({ priority: 0 }));
    const urgent = line.world.addIssue(makeIssue({ priority: 1 }));
    await withLine(line, async () => {
      await line.client.workflow.getHandle(line.fleetId).signal(pauseFleetSignal, { paused: true, by: 'test' });
      for (const issue of [none, low, urgent]) {
        await line.start(issue);
      }
      await line.until('three queued requests', async () => (await line.fleet()).waiting.length === 3);
      expect(line.world.agentRuns).toHaveLength(0);
      expect((await line.fleet()).waiting.map((w) => w.priority)).toEqual([1, 4, 0]);
      await line.client.workflow.getHandle(line.fleetId).signal(pauseFleetSignal, { paused: false, by: 'test' });
      await line.until('all three dispatched', () => line.world.agentRuns.length === 3);
      expect(line.world.agentRuns.map((r) => r.issue.priority)).toEqual([1, 4, 0]);
    });
  });
});
