// The reconcile sweep against the real dev server: a line with scripted activities, and the
// sweep's real activities on the same worker over Tracker and Forge doubles of the line's world.
// Peers poll instead of trusting webhooks, or trust webhooks and lose work when one is dropped;
// here a dropped webhook costs at most one sweep interval, and a sweep never starts twice. Peers
// also show issues "running" with no process behind them: a run terminated before its release
// station is compensated by the next sweep, once.
import { ScheduleOverlapPolicy, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepIssueDeliveryId } from '../../src/activities/sweep-activities.js';
import type { TrackerIssue } from '../../src/domain/issue.js';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { ensureSweepSchedule, sweepScheduleId, triggerSweep } from '../../src/temporal/sweep-schedule.js';
import { withLine, type Line } from '../helpers/line-harness.js';
import { TEST_REPO, TEST_REVIEWER, hangingAgent, makeIssue, type PrRecord } from '../helpers/scripted-line.js';
import { SweptWorld, runsOf, sweep, sweptLine } from '../helpers/swept-line.js';
import type { SweepSummary } from '../../src/workflows/sweep-workflow.js';
import { closeTestConnections } from '../helpers/temporal.js';

afterAll(closeTestConnections);

async function hasWorkflow(line: Line, issue: Pick<TrackerIssue, 'id'>): Promise<boolean> {
  try {
    await line.client.workflow.getHandle(issueWorkflowId(issue.id)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

async function endRuns(line: Line, issues: TrackerIssue[]): Promise<void> {
  await Promise.all(issues.map((i) => line.client.workflow.getHandle(issueWorkflowId(i.id)).terminate('test finished').catch(() => undefined)));
}

/** An open PR, green and approved on its head. */
function openPr(number: number, headRef: string): PrRecord {
  const headSha = `${number.toString(16).padStart(8, 'f')}${'e'.repeat(32)}`;
  return {
    pr: { number, url: `https://github.example/${TEST_REPO}/pull/${number}`, repo: TEST_REPO, headRef, headSha, baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true },
    checks: { sha: headSha, state: 'success', failures: [] },
    reviews: [{ id: number, user: { login: TEST_REVIEWER }, state: 'APPROVED', body: '', commit_id: headSha }],
  };
}

describe('the reconcile sweep', () => {
  it('starts a ready issue whose webhook was dropped, exactly once across two sweeps', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-ready');
    const issue = line.world.addIssue(makeIssue());
    try {
      await withLine(line, async () => {
        // No webhook: nothing knows about the issue but the tracker.
        expect(await hasWorkflow(line, issue)).toBe(false);

        expect(await sweep(line)).toEqual({ started: 1, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        await line.until('the PR of the swept issue', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
        expect((await line.state(issue)).seenDeliveries).toContain(sweepIssueDeliveryId(issue));
        // The Web UI says which issue the swept run is and where the sweep routed it.
        const description = await line.client.workflow.getHandle(issueWorkflowId(issue.id)).describe();
        expect(await description.staticSummary()).toBe(`${issue.key} · ${issue.title}`);
        expect(await description.staticDetails()).toContain(`](${issue.url})`);
        expect(await description.staticDetails()).toContain(`**Repo:** [${TEST_REPO}](https://github.com/${TEST_REPO})`);

        // The run moved the issue on, so it is no longer ready; its open PR gets a nudge instead.
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 1, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        expect(await runsOf(line, issue)).toHaveLength(1);
        expect(line.world.agentRuns).toHaveLength(1);
        expect((await line.fleet()).grantsTotal).toBe(1);
      });
    } finally {
      await endRuns(line, [issue]);
    }
  });

  it('does not start or signal an issue whose run is already open', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-open');
    // Thin: the run escalates and waits, and the issue stays ready in the tracker meanwhile.
    const issue = line.world.addIssue(makeIssue({ description: 'Make it faster.' }));
    try {
      await withLine(line, async () => {
        await line.start(issue, 'linear-webhook-1');
        await line.until('the escalation', async () => (await line.state(issue)).phase === 'escalated');

        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 1, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 1, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });

        expect(await runsOf(line, issue)).toHaveLength(1);
        const state = await line.state(issue);
        expect(state.phase).toBe('escalated');
        // Not even a signal: a sweep event would have woken the escalation into a second triage.
        expect(state.seenDeliveries).toEqual(['linear-webhook-1']);
        expect(line.world.commentsOn(issue.id)).toHaveLength(1);
      });
    } finally {
      await endRuns(line, [issue]);
    }
  });

  it('picks up a dropped PR event (checks went green, review approved, no signal) and the run merges', { timeout: 120_000 }, async () => {
    const world = new SweptWorld();
    world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const line = await sweptLine('sweep-pr', world);
    const issue = line.world.addIssue(makeIssue());
    // Counted when a read has returned, not when the run notes it is about to read: the world
    // must not change under a read still in flight.
    let reads = 0;
    world.onRead = () => {
      reads += 1;
    };
    try {
      await withLine(line, async () => {
        await line.start(issue);
        const record = await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
        await line.until('the merge gate waiting for CI', async () => (await line.state(issue)).phase === 'merge-gate');

        // A sweep while CI is pending nudges the run once; it re-reads and keeps waiting.
        await line.until('the first read', () => reads === 1);
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 1, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        await line.until('the re-read after the nudge', () => reads === 2);

        // Nothing changed since: the next sweep sends nothing, so a PR waiting for days gains no
        // history from sweeps (the run would drop the redelivery, but the signal and its workflow
        // task would be in its history every sweep interval).
        const signals = async () => ((await line.client.workflow.getHandle(issueWorkflowId(issue.id)).fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
        const signalsBefore = await signals();
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 1, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        expect(await signals()).toBe(signalsBefore);
        expect(reads).toBe(2);

        // CI goes green and a reviewer approves on the same head SHA; both webhooks are lost.
        record.checks = { sha: record.pr.headSha, state: 'success', failures: [] };
        line.world.review(record.pr.number, { state: 'APPROVED' });
        expect(line.world.merges).toHaveLength(0);
        expect((await line.state(issue)).phase).toBe('merge-gate');
        expect(reads).toBe(2);

        // Same SHA as the first nudge: only the changed verdicts make this a new delivery.
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 1, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        await line.until('the merge after the second nudge', () => line.world.merges.length > 0, 30_000);
        const final = await line.result(issue);
        expect(final.outcome).toBe('merged');
        expect(line.world.merges.map((m) => [m.number, m.sha, m.result.merged])).toEqual([[record.pr.number, record.pr.headSha, true]]);
        expect(final.seenDeliveries.filter((d) => d.startsWith('sweep:pr:'))).toHaveLength(2);
      });
    } finally {
      await endRuns(line, [issue]);
    }
  });

  it('tells a run waiting in the merge gate that its PR was merged by a human when that webhook was lost', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-gone');
    const issue = line.world.addIssue(makeIssue());
    // The phase is published before the gate's read: count reads that have returned, so the
    // PR is merged only after the run has seen it open and settled down to wait.
    let reads = 0;
    line.world.onRead = () => {
      reads += 1;
    };
    try {
      await withLine(line, async () => {
        await line.start(issue);
        const record = await line.until('the PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
        await line.until('the first read of the PR', () => reads === 1);
        await line.until('the merge gate, visible to search', async () => {
          for await (const run of line.client.workflow.list({ query: `WorkflowId = '${issueWorkflowId(issue.id)}' AND ConveyorPhase = 'merge-gate'` })) return run.workflowId;
          return undefined;
        });
        // A human merges; the pull_request.closed webhook never arrives.
        record.pr = { ...record.pr, state: 'closed', merged: true };
        expect((await sweep(line)).gatesOnClosedPrs).toBe(1);
        const final = await line.result(issue);
        expect(final.outcome).toBe('merged');
        expect(line.world.merges).toHaveLength(0);
      });
    } finally {
      await endRuns(line, [issue]);
    }
  });

  it('leaves non-ready issues and non-factory PRs alone, and starts nothing for a factory PR with no run', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-alone');
    const { world } = line;
    // Each carries the ready label, so the tracker's query returns it; the factory's rule must not.
    const backlog = world.addIssue(makeIssue({ state: { name: 'Backlog', type: 'backlog' } }));
    const started = world.addIssue(makeIssue({ state: { name: 'In Progress', type: 'started' } }));
    const unlabelled = world.addIssue(makeIssue({ labels: ['bug'] }));
    const orphanIssueId = '00000000-0000-4000-8000-0000000000aa';
    world.prs.set(901, openPr(901, 'feature/faster-widgets'));
    world.prs.set(902, openPr(902, 'conveyor/readme-typo'));
    world.prs.set(903, openPr(903, branchForIssue('ENG-903', orphanIssueId)));
    await withLine(line, async () => {
      expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 1, gatesOnClosedPrs: 0, compensated: 0 });
      for (const issue of [backlog, started, unlabelled, { id: orphanIssueId }]) expect(await hasWorkflow(line, issue)).toBe(false);
      expect(world.agentRuns).toHaveLength(0);
      expect(world.merges).toHaveLength(0);
    });
  });

  it('keeps a schedule per task queue, and triggering it runs a sweep', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-schedule');
    const issue = line.world.addIssue(makeIssue());
    const scheduleId = sweepScheduleId(line.taskQueue);
    const schedule = line.client.schedule.getHandle(scheduleId);
    const completedSweeps = async () => {
      const runs: Array<{ workflowId: string; runId: string }> = [];
      const query = `WorkflowType = 'sweepWorkflow' AND TaskQueue = '${line.taskQueue}' AND ExecutionStatus = 'Completed'`;
      for await (const run of line.client.workflow.list({ query })) runs.push({ workflowId: run.workflowId, runId: run.runId });
      return runs;
    };
    try {
      await withLine(line, async () => {
        // Long intervals: only the trigger below may start a sweep during the test.
        expect(await ensureSweepSchedule(line.client, { taskQueue: line.taskQueue, policy: line.policy, every: '24h' })).toEqual({ scheduleId, created: true });
        // Every worker start-up calls it again: the schedule is updated in place, not duplicated.
        expect(await ensureSweepSchedule(line.client, { taskQueue: line.taskQueue, policy: line.policy, every: '12h' })).toEqual({ scheduleId, created: false });

        const description = await schedule.describe();
        expect(description.spec.intervals?.map((i) => i.every)).toEqual([12 * 3_600_000]);
        expect(description.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
        expect(description.action).toMatchObject({ workflowType: 'sweepWorkflow', taskQueue: line.taskQueue });
        expect(description.action.args).toEqual([{ taskQueue: line.taskQueue, policy: line.policy }]);
        expect(await completedSweeps()).toEqual([]);
        expect(await hasWorkflow(line, issue)).toBe(false);

        await triggerSweep(line.client, line.taskQueue);
        const [run] = await line.until('a completed sweep on this task queue', async () => {
          const runs = await completedSweeps();
          return runs.length > 0 && runs;
        }, 60_000);
        // Started by the schedule (its id carries the schedule's), not by runSweepNow.
        expect(run!.workflowId.startsWith(`${scheduleId}-`)).toBe(true);
        expect(run!.workflowId.endsWith('-now')).toBe(false);
        const summary = (await line.client.workflow.getHandle(run!.workflowId, run!.runId).result()) as SweepSummary;
        expect(summary).toEqual({ started: 1, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        expect(await runsOf(line, issue)).toHaveLength(1);
      });
    } finally {
      await schedule.delete().catch(() => undefined);
      await endRuns(line, [issue]);
    }
  });
});

describe('the sweep compensates runs that closed without their release station', () => {
  const runIdOf = async (line: Line, issue: TrackerIssue) => (await line.client.workflow.getHandle(issueWorkflowId(issue.id)).describe()).runId;

  it('AR-82: terminated run left its issue In Progress: one sweep returns its lease and worktree, blocks it in ready with one comment, and starts nothing; the next sweep adds nothing', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-terminated');
    const { world } = line;
    world.agent = hangingAgent;
    const issue = world.addIssue(makeIssue());
    const branch = branchForIssue(issue.key, issue.id);
    try {
      await withLine(line, async () => {
        await line.start(issue);
        await line.until('the agent running with the issue In Progress', async () => {
          const state = await line.state(issue);
          return world.agentRuns.length === 1 && world.movesOf(issue.id).includes('In Progress') && state.leaseGranted && state;
        });
        const terminatedRunId = await runIdOf(line, issue);
        // The operator's hammer: no release station, no cleanup, the issue stays In Progress.
        await line.client.workflow.getHandle(issueWorkflowId(issue.id)).terminate('agent wedged, stopping it by hand');
        expect(world.issues.get(issue.id)!.state.name).toBe('In Progress');
        expect(world.commentsOn(issue.id)).toEqual([]);

        // A terminated run is a human act: the issue is blocked, not recycled.
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 1 });
        const [comment, ...more] = world.commentsOn(issue.id);
        expect(more).toEqual([]);
        expect(comment).toContain("Conveyor's run for this issue was terminated (agent wedged, stopping it by hand) before it could clean up; the issue is back to ready.");
        expect(comment).toContain('The issue is blocked (label `conveyor-blocked`)');
        expect(comment).toContain(terminatedRunId);
        expect(world.removedWorktrees).toEqual([{ repo: TEST_REPO, branch, key: issue.key.toLowerCase() }]);
        expect(world.movesOf(issue.id)).toEqual(['In Progress', 'Todo']);
        expect(world.issues.get(issue.id)!.labels).toEqual(['conveyor-blocked']);
        // The fleet's holder check takes the terminated run's lease back.
        await line.until('no lease left', async () => (await line.fleet()).leases.length === 0);

        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 0, gatesOnClosedPrs: 0, compensated: 0 });
        expect(world.commentsOn(issue.id)).toHaveLength(1);
        expect(world.removedWorktrees).toHaveLength(1);
        expect(await runsOf(line, issue)).toHaveLength(1);
        expect(world.agentRuns).toHaveLength(1);
      });
    } finally {
      await endRuns(line, [issue]);
    }
  });

  it('a run terminated in the merge gate keeps its open PR for a human: the issue stays In Review with one comment, however many sweeps follow', { timeout: 120_000 }, async () => {
    const line = await sweptLine('sweep-terminated-gate');
    const { world } = line;
    const issue = world.addIssue(makeIssue());
    const branch = branchForIssue(issue.key, issue.id);
    try {
      await withLine(line, async () => {
        await line.start(issue);
        const record = await line.until('the PR', () => world.prFor(branch));
        // CI is green and no review yet: the run waits for a reviewer with the issue In Review.
        await line.until('the merge gate, In Review', async () => (await line.state(issue)).phase === 'merge-gate' && world.movesOf(issue.id).includes('In Review'));
        const terminatedRunId = await runIdOf(line, issue);
        await line.client.workflow.getHandle(issueWorkflowId(issue.id)).terminate('handing this one to a human');

        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 1, gatesOnClosedPrs: 0, compensated: 1 });
        expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 1, gatesOnClosedPrs: 0, compensated: 0 });

        const comments = world.commentsOn(issue.id);
        expect(comments).toHaveLength(1);
        expect(comments[0]).toContain('was terminated (handing this one to a human) before it could clean up.');
        expect(comments[0]).toContain(`${record.pr.url} and the branch \`${branch}\` are kept for a human; the issue is left in review.`);
        expect(comments[0]).toContain(terminatedRunId);
        expect(world.issues.get(issue.id)!.state.name).toBe('In Review');
        expect(world.movesOf(issue.id)).toEqual(['In Progress', 'In Review']);
        expect(record.pr.state).toBe('open');
        expect(world.removedWorktrees).toEqual([{ repo: TEST_REPO, branch, key: issue.key.toLowerCase() }]);
        expect(await runsOf(line, issue)).toHaveLength(1);
      });
    } finally {
      await endRuns(line, [issue]);
    }
  });

  it('leaves alone an issue whose run completed, even one it left In Review (its release station ran)', { timeout: 120_000 }, async () => {
    // A short review deadline: the run ends review-timeout, keeps the PR, and its release comments.
    const line = await sweptLine('sweep-completed', new SweptWorld(), { review: '2s' });
    const { world } = line;
    const issue = world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('review-timeout');
      expect((await line.client.workflow.getHandle(issueWorkflowId(issue.id)).describe()).status.name).toBe('COMPLETED');
      const commentsBefore = world.commentsOn(issue.id);
      expect(commentsBefore).toHaveLength(1);
      expect(world.issues.get(issue.id)!.state.name).toBe('In Review');

      expect(await sweep(line)).toEqual({ started: 0, alreadyRunning: 0, unblocked: 0, prsSignalled: 0, prsUnchanged: 0, prsWithoutRun: 1, gatesOnClosedPrs: 0, compensated: 0 });
      expect(world.commentsOn(issue.id)).toEqual(commentsBefore);
      expect(world.movesOf(issue.id)).toEqual(['In Progress', 'In Review']);
      expect(world.removedWorktrees).toEqual([]);
    });
  });
});
