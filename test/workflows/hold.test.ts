// Holding one issue (issue 14): `/conveyor hold` (or `conveyor hold ISSUE`) stops that issue
// before its next agent start, without touching any other issue or the fleet; `/conveyor release`
// lets it go on. Today a hold is refused ("nothing to hold") and the agent starts anyway.
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { createLine, operatorSays, withLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('holding one issue', () => {
  it('a held issue starts no agent until released, while another issue goes on to its merge', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'hold-one' });
    const { world } = line;
    const held = world.addIssue(makeIssue({ description: 'tiny' }));
    const other = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(held);
      await line.until('the escalation', async () => (await line.state(held)).phase === 'escalated');
      await operatorSays(line, held.id, 'hold');
      await line.until('the hold answered', () => world.visibleCommentsOn(held.id).some((c) => c.startsWith('`/conveyor hold` from op@example.com: accepted')));
      // The approval lets triage pass; the hold still stops the agent from starting.
      await operatorSays(line, held.id, 'approve');
      const waiting = await line.until('the run held', async () => {
        const state = await line.state(held);
        return state.phase === 'held' && state;
      });
      expect(waiting.hold).toMatchObject({ by: 'op@example.com' });

      await line.start(other);
      await line.until('the other issue dispatched', () => world.agentRunsFor(other.id) === 1);
      expect(world.agentRunsFor(held.id)).toBe(0);
      expect((await line.state(held)).phase).toBe('held');
      // Held before the fleet is asked: the held issue holds no slot.
      expect((await line.fleet()).leases.map((l) => l.holderId)).not.toContain(issueWorkflowId(held.id));

      await operatorSays(line, held.id, 'release');
      await line.until('the held issue dispatched', () => world.agentRunsFor(held.id) === 1);
      const state = await line.state(held);
      expect(state.hold ?? null).toBeNull();
      expect(world.visibleCommentsOn(held.id).some((c) => c.startsWith('`/conveyor release` from op@example.com: accepted'))).toBe(true);
    });
  });

  it('a hold while the agent runs lets that agent finish and stops the re-dispatch after it', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'hold-redispatch' });
    const { world } = line;
    // CI is red on the first head, so the gate sends the agent back: the next start is held.
    world.ciFor = (sha, attempt) => ({ sha, state: attempt <= 1 ? 'failure' : 'success', failures: attempt <= 1 ? [{ name: 'test', summary: 'expected 2, got 3' }] : [] });
    let releaseAgent: () => void = () => undefined;
    const agentMayFinish = new Promise<void>((resolve) => {
      releaseAgent = resolve;
    });
    const scripted = world.agent;
    world.agent = async (input, w) => {
      if (input.attempt === 1) await agentMayFinish;
      return scripted(input, w);
    };
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the agent running', () => world.agentRunsFor(issue.id) === 1);
      await operatorSays(line, issue.id, 'hold');
      await line.until('the hold answered', () => world.visibleCommentsOn(issue.id).some((c) => c.includes('/conveyor hold') && c.includes('accepted')));
      releaseAgent();
      const waiting = await line.until('the re-dispatch held', async () => {
        const state = await line.state(issue);
        return state.phase === 'held' && state;
      });
      expect(waiting.pr).not.toBeNull();
      expect(waiting.feedback).toMatch(/expected 2, got 3/);
      expect(world.agentRunsFor(issue.id)).toBe(1);
      await operatorSays(line, issue.id, 'release');
      await line.until('the re-dispatch', () => world.agentRunsFor(issue.id) === 2);
    });
  });

  it('a hold nobody releases ends the run hold-timeout and blocks the issue', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'hold-timeout', policy: { hold: '3s' } });
    const { world } = line;
    const issue = world.addIssue(makeIssue({ description: 'tiny' }));
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the escalation', async () => (await line.state(issue)).phase === 'escalated');
      await operatorSays(line, issue.id, 'hold');
      await operatorSays(line, issue.id, 'approve');
      const final = await line.result(issue);
      expect(final.outcome).toBe('hold-timeout');
      expect(final.reason).toMatch(/held by op@example.com/);
      expect(world.agentRunsFor(issue.id)).toBe(0);
      expect(world.issues.get(issue.id)!.labels).toContain('conveyor-blocked');
    });
  });
});
