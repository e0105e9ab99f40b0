// Holding one issue (issue 14): `/conveyor hold` (or `conveyor hold ISSUE`) stops that issue
// before its next agent start, without touching any other issue or the fleet; `/conveyor release`
// lets it go on. Today a hold is refused ("nothing to hold") and the agent starts anyway.
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { operatorCommandSignal, type OperatorCommandName } from '../../src/workflows/messages.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue, type ScriptedWorld } from '../helpers/scripted-line.js';
import { closeTestConnections, uniqueId } from '../helpers/temporal.js';

afterAll(closeTestConnections);

const command = (line: Line, issueId: string, name: OperatorCommandName) =>
  line.client.workflow.getHandle(issueWorkflowId(issueId)).signal(operatorCommandSignal, { deliveryId: uniqueId('cmd'), command: name, by: 'op@example.com' });

const visible = (world: ScriptedWorld, issueId: string) => world.commentsOn(issueId).map((c) => c.replace(/\n\n<!-- conveyor:[^>]*-->$/, ''));

const agentRunsFor = (world: ScriptedWorld, issueId: string) => world.agentRuns.filter((r) => r.issue.id === issueId).length;

describe('holding one issue', () => {
  it('a held issue starts no agent until released, while another issue goes on to its merge', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'hold-one' });
    const { world } = line;
    const held = world.addIssue(makeIssue({ description: 'tiny' }));
    const other = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(held);
      await line.until('the escalation', async () => (await line.state(held)).phase === 'escalated');
      await command(line, held.id, 'hold');
      await line.until('the hold answered', () => visible(world, held.id).some((c) => c.startsWith('`/conveyor hold` from op@example.com: accepted')));
      // The approval lets triage pass; the hold still stops the agent from starting.
      await command(line, held.id, 'approve');
      const waiting = await line.until('the run held', async () => {
        const state = await line.state(held);
        return state.phase === 'held' && state;
      });
      expect(waiting.hold).toMatchObject({ by: 'op@example.com' });

      await line.start(other);
      await line.until('the other issue dispatched', () => agentRunsFor(world, other.id) === 1);
      expect(agentRunsFor(world, held.id)).toBe(0);
      expect((await line.state(held)).phase).toBe('held');
      // Held before the fleet is asked: the held issue holds no slot.
      expect((await line.fleet()).leases.map((l) => l.holderId)).not.toContain(issueWorkflowId(held.id));

      await command(line, held.id, 'release');
      await line.until('the held issue dispatched', () => agentRunsFor(world, held.id) === 1);
      const state = await line.state(held);
      expect(state.hold ?? null).toBeNull();
      expect(visible(world, held.id).some((c) => c.startsWith('`/conveyor release` from op@example.com: accepted'))).toBe(true);
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
      await line.until('the agent running', () => agentRunsFor(world, issue.id) === 1);
      await command(line, issue.id, 'hold');
      await line.until('the hold answered', () => visible(world, issue.id).some((c) => c.includes('/conveyor hold') && c.includes('accepted')));
      releaseAgent();
      const waiting = await line.until('the re-dispatch held', async () => {
        const state = await line.state(issue);
        return state.phase === 'held' && state;
      });
      expect(waiting.pr).not.toBeNull();
      expect(waiting.feedback).toMatch(/expected 2, got 3/);
      expect(agentRunsFor(world, issue.id)).toBe(1);
      await command(line, issue.id, 'release');
      await line.until('the re-dispatch', () => agentRunsFor(world, issue.id) === 2);
    });
  });

  it('a hold nobody releases ends the run hold-timeout and blocks the issue', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'hold-timeout', policy: { hold: '3s' } });
    const { world } = line;
    const issue = world.addIssue(makeIssue({ description: 'tiny' }));
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the escalation', async () => (await line.state(issue)).phase === 'escalated');
      await command(line, issue.id, 'hold');
      await command(line, issue.id, 'approve');
      const final = await line.result(issue);
      expect(final.outcome).toBe('hold-timeout');
      expect(final.reason).toMatch(/held by op@example.com/);
      expect(agentRunsFor(world, issue.id)).toBe(0);
      expect(world.issues.get(issue.id)!.labels).toContain('conveyor-blocked');
    });
  });
});
