// Whatever ends a run, the release station runs: lease back, worktree gone, and an abandoned
// dispatch put back to ready with a comment. Peers' users reported issues shown "in progress"
// with no process behind them; these scenarios guard against it.
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { operatorCommandSignal } from '../../src/workflows/messages.js';
import { createLine, withLine } from '../helpers/line-harness.js';
import { hangingAgent, makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('compensation', () => {
  it('blocks the issue (back to ready, label swapped) and returns the lease when the agent dies before a PR', async () => {
    const line = await createLine({ name: 'agent-dies' });
    line.world.agent = async () => {
      throw ApplicationFailure.create({ type: 'agent-failed', message: 'agent exited with code 137', nonRetryable: true });
    };
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('agent-failed');
      expect(final.reason).toContain('exited with code 137');
      expect(line.world.movesOf(issue.id)).toEqual(['In Progress', 'Todo']);
      expect(line.world.commentsOn(issue.id).at(-1)).toMatch(/blocked this issue \(agent-failed\)/);
      expect(line.world.issues.get(issue.id)!.labels).toEqual(['conveyor-blocked']);
      expect(line.world.cleanups).toEqual([issueWorkflowId(issue.id)]);
      expect(line.world.prs.size).toBe(0);
      const fleet = await line.fleet();
      expect(fleet.leases).toEqual([]);
      expect(fleet.waiting).toEqual([]);
    });
  });

  it('retries an agent whose worker stops heartbeating, tries again later as a new run, then blocks the issue', async () => {
    const line = await createLine({ name: 'stalled', policy: { heartbeat: '200ms', endings: { retryLaterRuns: 1, retryBackoff: '1s' } } });
    let attempts = 0;
    line.world.agent = async () => {
      attempts += 1;
      // Alive but silent: no heartbeat, so Temporal times the attempt out after 3 beats, as when its worker is gone.
      await new Promise((r) => setTimeout(r, 3_000));
      return { commits: 1, summary: 'too late', costUsd: 0 };
    };
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('worker-lost');
      expect(final.failureClass).toBe('timeout');
      // Two attempts per run (the activity's retry), two runs (the first one retry-later).
      expect(attempts).toBe(4);
      expect(final.ledger!.endings.map((e) => e.kind)).toEqual(['retry-later', 'blocked']);
      expect(line.world.movesOf(issue.id)).toEqual(['In Progress', 'Todo', 'In Progress', 'Todo']);
      expect(line.world.issues.get(issue.id)!.labels).toEqual(['conveyor-blocked']);
      expect((await line.fleet()).leases).toEqual([]);
    });
  });

  it('runs compensation when an operator aborts mid-dispatch', async () => {
    const line = await createLine({ name: 'abort' });
    line.world.agent = hangingAgent;
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the agent running', () => line.world.runningAgents === 1);
      expect((await line.fleet()).leases).toHaveLength(1);
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'abort-1', command: 'abort', by: 'op@example.com' });
      const final = await line.result(issue);
      expect(final.outcome).toBe('aborted');
      // The agent activity was cancelled (its process would be killed), not left running.
      expect(line.world.runningAgents).toBe(0);
      expect(line.world.movesOf(issue.id)).toEqual(['In Progress', 'Todo']);
      expect(line.world.commentsOn(issue.id).at(-1)).toMatch(/aborted by op@example.com/);
      expect(line.world.cleanups).toEqual([issueWorkflowId(issue.id)]);
      expect((await line.fleet()).leases).toEqual([]);
    });
  });

  it('honours an abort that is already waiting when the run first executes: no dispatch at all', async () => {
    const line = await createLine({ name: 'abort-early' });
    const issue = line.world.addIssue(makeIssue());
    // Start and abort before any worker runs, so both signals reach the run's first activation.
    await line.start(issue);
    await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'abort-early', command: 'abort', by: 'op@example.com' });
    await withLine(line, async () => {
      const final = await line.result(issue);
      expect(final.outcome).toBe('aborted');
      expect(line.world.agentRuns).toHaveLength(0);
      expect(line.world.moves).toHaveLength(0);
    });
  });

  it('runs compensation when the run is cancelled from Temporal, and reports it cancelled', async () => {
    const line = await createLine({ name: 'cancel' });
    line.world.agent = hangingAgent;
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the agent running', () => line.world.runningAgents === 1);
      const handle = line.client.workflow.getHandle(issueWorkflowId(issue.id));
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(line.world.movesOf(issue.id)).toEqual(['In Progress', 'Todo']);
      expect((await line.fleet()).leases).toEqual([]);
    });
  });

  it('reclaims the lease of a holder that was terminated and never reached its release station', async () => {
    const line = await createLine({ name: 'reclaim' });
    line.world.agent = hangingAgent;
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the agent running', () => line.world.runningAgents === 1);
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).terminate('simulating a lost run');
      const fleet = await line.until('the lease reclaimed', async () => {
        const f = await line.fleet();
        return f.leases.length === 0 && f;
      });
      expect(fleet.reclaimedTotal).toBe(1);
    });
  });
});
