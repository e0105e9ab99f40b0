// Every ending is final and honest (issue 12): a run that cannot finish its issue either tries
// again later on its own (infrastructure, bounded) or blocks the issue, with the ready label
// swapped for the blocked one and one comment, and nothing but a human starts it again. Peers'
// users report the opposite: an issue recycled every sweep, an error retried for 13 hours.
import { ApplicationFailure } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { signalWithStartIssue } from '../../src/temporal/issue-runs.js';
import { forgeEventSignal } from '../../src/workflows/messages.js';
import type { IssueRunState } from '../../src/workflows/state.js';
import { createLine, operatorSays, withLine, type Line } from '../helpers/line-harness.js';
import { hangingAgent, makeIssue, TEST_REVIEWER } from '../helpers/scripted-line.js';
import { runsOf, sweep, sweptLine } from '../helpers/swept-line.js';
import { closeTestConnections, uniqueId } from '../helpers/temporal.js';

afterAll(closeTestConnections);

const BLOCKED = 'conveyor-blocked';
const READY = 'conveyor';

const crashingAgent = async (): Promise<never> => {
  throw ApplicationFailure.create({ type: 'agent-failed', nonRetryable: true, message: 'the agent exited with code 1', details: [{ costUsd: 0.25 }] });
};

const nudge = (line: Line, issueId: string) => line.client.workflow.getHandle(issueWorkflowId(issueId)).signal(forgeEventSignal, { deliveryId: uniqueId('gh'), kind: 'checks' });

/** A reviewer approves each new head the gate reads, and GitHub says so. */
function approveEachHead(line: Line, issueId: string): void {
  line.world.onRead = (record, world) => {
    if (record.reviews.some((r) => r.commit_id === record.pr.headSha && r.state === 'APPROVED')) return;
    world.review(record.pr.number, { state: 'APPROVED', user: TEST_REVIEWER });
    void nudge(line, issueId);
  };
}

describe('every ending is final', () => {
  it('a crashing agent: one run, blocked with one comment and the label swapped; three sweeps start nothing', { timeout: 120_000 }, async () => {
    const line = await sweptLine('endings-crash');
    const { world } = line;
    world.agent = crashingAgent;
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('agent-failed');
      expect(final.ledger).toMatchObject({ runs: 1, agentRuns: 1, costUsd: 0.25 });
      expect(final.ledger!.endings.map((e) => e.kind)).toEqual(['blocked']);
      const labels = world.issues.get(issue.id)!.labels;
      expect(labels).toContain(BLOCKED);
      expect(labels).not.toContain(READY);
      expect(world.issues.get(issue.id)!.state.name).toBe('Todo');
      const comments = world.visibleCommentsOn(issue.id);
      expect(comments).toHaveLength(1);
      expect(comments[0]).toContain('blocked this issue (agent-failed)');
      expect(comments[0]).toContain('runs 1, agent runs 1, cost $0.25');
      expect(comments[0]).toContain('`/conveyor retry`');

      for (let i = 0; i < 3; i += 1) expect((await sweep(line)).started).toBe(0);
      expect(await runsOf(line, issue)).toHaveLength(1);
      expect(world.agentRuns).toHaveLength(1);
      expect(world.commentsOn(issue.id)).toHaveLength(1);
    });
  });

  it('/conveyor retry on the blocked issue starts a run that unblocks it; the ledger carries the earlier run', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-retry-blocked' });
    const { world } = line;
    world.agent = crashingAgent;
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      expect((await line.result(issue)).outcome).toBe('agent-failed');
      expect(world.issues.get(issue.id)!.labels).toContain(BLOCKED);

      // The operator's word, as the gateway delivers it to an issue with no open run.
      world.agent = async (input, w) => {
        w.pushHead(input.branch);
        return { commits: 1, summary: 'fixed', costUsd: 1 };
      };
      world.ciFor = (sha) => ({ sha, state: 'success', failures: [] });
      approveEachHead(line, issue.id);
      await signalWithStartIssue({ client: line.client, taskQueue: line.taskQueue, policy: line.policy }, { id: issue.id }, { deliveryId: uniqueId('retry'), command: 'retry', by: 'op@example.com' });
      const second = await line.until('the second run merged', async () => {
        const state = await line.state(issue).catch(() => null);
        return state?.outcome === 'merged' && state;
      }, 60_000);
      expect(second.ledger).toMatchObject({ runs: 2, agentRuns: 2, costUsd: 1.25 });
      expect(second.ledger!.endings.map((e) => e.outcome)).toEqual(['agent-failed', 'merged']);
      const labels = world.issues.get(issue.id)!.labels;
      expect(labels).toContain(READY);
      expect(labels).not.toContain(BLOCKED);
      expect(world.visibleCommentsOn(issue.id).some((c) => c.startsWith('`/conveyor retry` from op@example.com: accepted'))).toBe(true);
    });
  });

  it('an abort blocks the issue: the sweep that follows starts nothing', { timeout: 120_000 }, async () => {
    const line = await sweptLine('endings-abort');
    const { world } = line;
    world.agent = hangingAgent;
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the agent running', () => world.runningAgents === 1);
      await operatorSays(line, issue.id, 'abort');
      const final = await line.result(issue);
      expect(final.outcome).toBe('aborted');
      expect(world.issues.get(issue.id)!.labels).toEqual(expect.arrayContaining([BLOCKED]));
      expect(world.issues.get(issue.id)!.labels).not.toContain(READY);
      expect(world.issues.get(issue.id)!.state.name).toBe('Todo');
      expect((await sweep(line)).started).toBe(0);
      expect(await runsOf(line, issue)).toHaveLength(1);
    });
  });

  it('a PR a human closed blocks the issue and keeps the branch; the sweep starts nothing', { timeout: 120_000 }, async () => {
    const line = await sweptLine('endings-pr-closed');
    const { world } = line;
    world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('the PR open', () => world.prs.get(1));
      record.pr = { ...record.pr, state: 'closed' };
      await nudge(line, issue.id);
      const final = await line.result(issue);
      expect(final.outcome).toBe('pr-closed');
      expect(world.deletedBranches).toEqual([]);
      const [comment, ...more] = world.visibleCommentsOn(issue.id);
      expect(more).toEqual([]);
      expect(comment).toContain(`The branch \`${final.branch}\``);
      expect(world.issues.get(issue.id)!.labels).toContain(BLOCKED);
      expect((await sweep(line)).started).toBe(0);
      expect(await runsOf(line, issue)).toHaveLength(1);
    });
  });
});

describe('retry later', () => {
  it('the tracker down in the merge gate: the run fails, waits out its backoff, resumes the gate as a new run and merges', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-outage' });
    const { world } = line;
    const issue = world.addIssue(makeIssue());
    // Down for exactly the attempts of one tracker activity (the test's retry policy allows 3).
    let outage = 0;
    world.trackerDown = () => outage-- > 0;
    approveEachHead(line, issue.id);
    // The outage starts as the merge lands: closing the issue cannot reach the tracker.
    world.beforeMerge = () => {
      outage = 3;
    };
    await withLine(line, async () => {
      await line.start(issue);
      const waiting = await line.until('waiting to retry', async () => {
        const state = await line.state(issue);
        return state.phase === 'waiting-to-retry' && state;
      }, 60_000);
      expect(waiting.outcome).toBe('failed');
      expect(waiting.failureClass).toBe('transient');
      const final = await line.until('merged by the resumed run', async () => {
        const state = await line.state(issue).catch(() => null);
        return state?.outcome === 'merged' && state;
      }, 60_000);
      expect(world.merges.filter((m) => m.result.merged)).toHaveLength(1);
      expect(world.agentRuns).toHaveLength(1);
      expect(final.ledger!.endings.map((e) => `${e.outcome}:${e.kind}`)).toEqual(['failed:retry-later', 'merged:success']);
      expect(world.issues.get(issue.id)!.state.name).toBe('Done');
      expect(world.visibleCommentsOn(issue.id).filter((c) => c.startsWith('Conveyor will try this issue again'))).toHaveLength(1);
      expect(await runsOf(line, issue)).toHaveLength(2);
    });
  });

  it('the publish step: a push that fails twice then works; the agent ran once and its cost was counted once', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-push' });
    const { world } = line;
    const issue = world.addIssue(makeIssue());
    world.failPushes = 2;
    approveEachHead(line, issue.id);
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('merged');
      expect(world.agentRuns).toHaveLength(1);
      expect(world.pushes).toHaveLength(1);
      expect(world.failPushes).toBe(0);
      expect(final.ledger).toMatchObject({ agentRuns: 1, costUsd: 0.5 });
    });
  });
});

describe('merge refusals, classified', () => {
  it('405 while GitHub computes mergeability, then success: merged at the same SHA', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-405' });
    const { world } = line;
    const issue = world.addIssue(makeIssue());
    world.mergeRefusals.push({ merged: false, reason: 'not-ready', message: 'Base branch was modified. Review and try the merge again.' });
    approveEachHead(line, issue.id);
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('merged');
      expect(world.merges.map((m) => m.result.merged)).toEqual([false, true]);
      expect(new Set(world.merges.map((m) => m.sha)).size).toBe(1);
      expect(world.agentRuns).toHaveLength(1);
    });
  });

  it('a conflict goes back to the agent with the conflicting files as feedback, then merges the new head', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-conflict' });
    const { world } = line;
    const issue = world.addIssue(makeIssue());
    world.mergeRefusals.push({ merged: false, reason: 'conflict', message: 'Pull Request is not mergeable', conflicts: ['src/app.ts'] });
    approveEachHead(line, issue.id);
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('merged');
      expect(world.agentRuns).toHaveLength(2);
      expect(world.agentRuns[1]!.feedback).toContain('conflicts with main');
      expect(world.agentRuns[1]!.feedback).toContain('- src/app.ts');
      expect(final.redispatches).toBe(1);
      const [refused, merged] = world.merges;
      expect(refused!.sha).not.toBe(merged!.sha);
    });
  });
});

describe('operator commands in every phase', () => {
  it('/conveyor retry in the merge gate gets a refusal and does not answer the later re-dispatch escalation', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-commands', policy: { maxRedispatch: 0 } });
    const { world } = line;
    world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('the PR open, CI pending', async () => (await line.state(issue)).phase === 'merge-gate' && world.prs.get(1));
      await operatorSays(line, issue.id, 'retry');
      await line.until('the refusal', () => world.visibleCommentsOn(issue.id).find((c) => c.includes('`/conveyor retry` from op@example.com: refused')));
      record.checks = { sha: record.pr.headSha, state: 'failure', failures: [{ name: 'test', summary: '1 failing' }] };
      await nudge(line, issue.id);
      const escalated = await line.until('the re-dispatch escalation', async () => {
        const state = await line.state(issue);
        return state.phase === 'escalated' && state;
      });
      // Had the gate's command been kept, the escalation would have been answered at once.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const still: IssueRunState = await line.state(issue);
      expect(still.phase).toBe('escalated');
      expect(still.operatorQueue).toEqual([]);
      expect(world.agentRuns).toHaveLength(1);
      expect(escalated.redispatches).toBe(0);
      await operatorSays(line, issue.id, 'abort');
      expect((await line.result(issue)).outcome).toBe('aborted');
    });
  });
});

describe('idempotent writes', () => {
  it('a comment whose attempt times out after the tracker took it is posted once', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'endings-comment-once' });
    const { world } = line;
    let failed = false;
    world.afterComment = () => {
      if (failed) return;
      failed = true;
      throw ApplicationFailure.create({ type: 'timeout', message: 'the tracker took the comment but the answer never came (scripted)' });
    };
    const issue = world.addIssue(makeIssue({ description: 'too thin' }));
    await withLine(line, async () => {
      await line.start(issue);
      // Posted (the run recorded it) only once the retried attempt came back.
      await line.until('the escalation comment recorded', async () => (await line.state(issue)).posted.length === 1);
      expect(failed).toBe(true);
      expect(world.commentsOn(issue.id)).toHaveLength(1);
      await operatorSays(line, issue.id, 'abort');
      await line.result(issue);
    });
  });
});
