// Scenarios of one issue walking the line, against the real dev server with scripted activities.
import { afterAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { forgeEventSignal, operatorCommandSignal, trackerEventSignal } from '../../src/workflows/messages.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue, ScriptedWorld, testFactoryConfig } from '../helpers/scripted-line.js';
import { closeTestConnections } from '../helpers/temporal.js';
import type { TrackerIssue } from '../../src/domain/issue.js';

afterAll(closeTestConnections);

let deliveries = 0;
function forgeEvent(line: Line, issue: TrackerIssue, kind: 'pull-request' | 'checks' | 'review' = 'review') {
  deliveries += 1;
  return line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(forgeEventSignal, { deliveryId: `gh-${deliveries}`, kind });
}

/** A reviewer approves the PR's head as it is now, and GitHub says so. */
async function approve(line: Line, issue: TrackerIssue) {
  const record = await line.until('an open PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
  await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
  line.world.review(record.pr.number, { state: 'APPROVED' });
  await forgeEvent(line, issue, 'review');
  return record;
}

interface GateRead {
  sha: string;
  checks: string;
  decision: string;
}

/** Every read of the PR by the merge gate, as it saw it (onRead runs in the tick of the read). */
function gateReads(line: Line): GateRead[] {
  const reads: GateRead[] = [];
  line.world.onRead = (record, world) => {
    reads.push({ sha: record.pr.headSha, checks: record.checks.state, decision: world.reviewSummary(record).decision });
  };
  return reads;
}

describe('the issue line', () => {
  it('walks a well-specified issue from triage to a merge, then releases everything', async () => {
    const line = await createLine({ name: 'happy' });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the merge gate waiting for review', async () => (await line.state(issue)).phase === 'merge-gate');
      // Green CI alone is not enough under on-green-with-review: it waits for an approval.
      expect(line.world.merges).toHaveLength(0);
      const pr = await approve(line, issue);
      const final = await line.result(issue);

      expect(final.outcome).toBe('merged');
      expect(line.world.merges.map((m) => [m.number, m.result.merged])).toEqual([[pr.pr.number, true]]);
      expect(line.world.movesOf(issue.id)).toEqual(['In Progress', 'In Review', 'Done']);
      expect(line.world.commentsOn(issue.id).at(-1)).toContain('Merged in');
      expect(line.world.deletedBranches).toEqual([branchForIssue(issue.key, issue.id)]);
      expect(line.world.cleanups).toEqual([issueWorkflowId(issue.id)]);
      const fleet = await line.fleet();
      expect(fleet.leases).toEqual([]);
      expect(fleet.grantsTotal).toBe(1);
    });
  });

  it('escalates a thin issue, waits for an edit, then dispatches it', async () => {
    const line = await createLine({ name: 'thin' });
    const issue = line.world.addIssue(makeIssue({ description: 'make it faster' }));
    await withLine(line, async () => {
      await line.start(issue);
      // The phase is recorded before the escalation comment lands: wait for the comment itself.
      await line.until('the escalation comment', () => line.world.commentsOn(issue.id).length > 0);
      expect((await line.state(issue)).phase).toBe('escalated');
      expect(line.world.commentsOn(issue.id)[0]).toMatch(/too thin/);
      expect(line.world.agentRuns).toHaveLength(0);

      // An edit that is still thin re-triages without commenting the same reason twice.
      line.world.editIssue(issue.id, { description: 'make it faster please' });
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(trackerEventSignal, { deliveryId: 'edit-1', kind: 'issue-updated' });
      await line.until('re-triage', async () => (await line.state(issue)).history.filter((h) => h.phase === 'triage').length >= 2);
      expect(line.world.agentRuns).toHaveLength(0);

      line.world.editIssue(issue.id, { description: makeIssue().description });
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(trackerEventSignal, { deliveryId: 'edit-2', kind: 'issue-updated' });
      await approve(line, issue);
      expect((await line.result(issue)).outcome).toBe('merged');
      expect(line.world.agentRuns).toHaveLength(1);
    });
  });

  it('lets an operator approve a thin issue as it is', async () => {
    const line = await createLine({ name: 'approve' });
    const issue = line.world.addIssue(makeIssue({ description: 'tiny' }));
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the escalation', async () => (await line.state(issue)).phase === 'escalated');
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'op-1', command: 'approve', by: 'op@example.com' });
      await line.until('a dispatch', () => line.world.agentRuns.length === 1);
    });
  });

  it('ignores an issue that is no longer ready when its run starts', async () => {
    const line = await createLine({ name: 'ignored' });
    const issue = line.world.addIssue(makeIssue({ state: { name: 'Done', type: 'completed' } }));
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('ignored');
      expect(final.reason).toMatch(/not a ready state/);
      expect(line.world.agentRuns).toHaveLength(0);
      expect(line.world.moves).toHaveLength(0);
    });
  });

  it('re-dispatches with the CI failure as feedback, then merges once green', async () => {
    const line = await createLine({ name: 'ci-red' });
    // The first attempt's head fails CI; the second attempt's head passes.
    line.world.ciFor = (sha, attempt) =>
      attempt <= 1 ? { sha, state: 'failure', failures: [{ name: 'unit', summary: 'expected 200, got 404' }] } : { sha, state: 'success', failures: [] };
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the second attempt', () => line.world.agentRuns.length === 2);
      expect(line.world.agentRuns[0]!.feedback).toBeNull();
      expect(line.world.agentRuns[1]!.feedback).toContain('expected 200, got 404');
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate' && (await line.state(issue)).attempts === 2);
      await approve(line, issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('merged');
      expect(final.redispatches).toBe(1);
      // One PR for both attempts: the second attempt pushed onto the same branch.
      expect(line.world.prs.size).toBe(1);
    });
  });

  it('escalates after the re-dispatch limit and resumes on an operator retry', async () => {
    const line = await createLine({ name: 'ci-limit', policy: { maxRedispatch: 1 } });
    line.world.ciFor = (sha, attempt) => (attempt <= 3 ? { sha, state: 'failure', failures: [{ name: 'lint', summary: 'style' }] } : { sha, state: 'success', failures: [] });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      await line.until('the escalation comment', () => line.world.commentsOn(issue.id).some((c) => /stopped re-dispatching after 1/.test(c)));
      expect((await line.state(issue)).phase).toBe('escalated');
      expect(line.world.agentRuns).toHaveLength(2);
      await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'op-retry', command: 'retry', by: 'op@example.com' });
      await line.until('a third attempt', () => line.world.agentRuns.length === 3);
    });
  });

  it('re-dispatches once for changes requested on A, then waits at B for a fresh review and merges B once approved', async () => {
    // Guards the stale change request: once the agent has pushed B, the request made on A must
    // neither send it back again (up to the re-dispatch limit) nor let B merge unreviewed.
    const line = await createLine({ name: 'changes' });
    const issue = line.world.addIssue(makeIssue());
    const reads = gateReads(line);
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('an open PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
      const a = record.pr.headSha;
      line.world.review(record.pr.number, { state: 'CHANGES_REQUESTED', body: 'rename the handler' });
      await forgeEvent(line, issue, 'review');
      await line.until('the re-dispatch', () => line.world.agentRuns.length === 2);
      expect(line.world.agentRuns[1]!.feedback).toContain('rename the handler');
      const b = await line.until('the new head', () => (record.pr.headSha !== a ? record.pr.headSha : undefined));

      // Two reads of B, green, with only the stale request of A: the gate waits both times.
      await line.until('a read of B', () => reads.some((r) => r.sha === b && r.checks === 'success'));
      await forgeEvent(line, issue, 'checks');
      await line.until('a second read of B', () => reads.filter((r) => r.sha === b).length >= 2);
      expect(reads.filter((r) => r.sha === b).map((r) => r.decision)).toEqual(['REVIEW_REQUIRED', 'REVIEW_REQUIRED']);
      expect(line.world.reviewSummary(record).staleChangeRequests).toEqual([{ reviewer: 'reviewer', sha: a }]);
      expect(line.world.agentRuns).toHaveLength(2);
      expect(line.world.merges).toHaveLength(0);
      expect((await line.state(issue)).phase).toBe('merge-gate');

      await approve(line, issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('merged');
      expect(final.redispatches).toBe(1);
      expect(line.world.merges.map((m) => [m.sha, m.result.merged])).toEqual([[b, true]]);
    });
  });

  it('gives each new head its own review window: a re-dispatch late in A\'s window does not time B out', async () => {
    // The review clock started on A used to run on across the re-dispatch, so B, pushed late in
    // it, got what was left of A's window: a human reviewing B in time saw the run end review-timeout.
    const line = await createLine({ name: 'review-window', policy: { review: '10s' } });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('an open PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
      const a = record.pr.headSha;
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      line.world.review(record.pr.number, { state: 'CHANGES_REQUESTED', body: 'rename the handler' });
      await forgeEvent(line, issue, 'review');
      await line.until('the new head', () => (record.pr.headSha !== a ? record.pr.headSha : undefined));
      await line.until('the merge gate on B', async () => {
        const state = await line.state(issue);
        return state.phase === 'merge-gate' && state.pr?.headSha !== a;
      });
      // Past A's window (10 s from A's first green read), well inside B's.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect((await line.state(issue)).outcome).toBeNull();
      await approve(line, issue);
      expect((await line.result(issue)).outcome).toBe('merged');
    });
  });

  it('never merges a head nobody approved: approve A, CI red on A, the re-dispatch pushes B, green, waits for B\'s approval, merges B', async () => {
    // Guards the stale approval: the approval of A must not carry the agent's B into main.
    const line = await createLine({ name: 'stale-approval' });
    // CI on A is held back until the test has approved A; B (the second attempt) is green.
    line.world.ciFor = (sha, attempt) => (attempt <= 1 ? { sha, state: 'pending', failures: [] } : { sha, state: 'success', failures: [] });
    const issue = line.world.addIssue(makeIssue());
    const reads = gateReads(line);
    await withLine(line, async () => {
      await line.start(issue);
      const record = await approve(line, issue);
      const a = record.pr.headSha;
      record.checks = { sha: a, state: 'failure', failures: [{ name: 'unit', summary: 'expected 200, got 404' }] };
      await forgeEvent(line, issue, 'checks');
      await line.until('the re-dispatch', () => line.world.agentRuns.length === 2);
      expect(line.world.agentRuns[1]!.feedback).toContain('expected 200, got 404');
      const b = await line.until('the new head', () => (record.pr.headSha !== a ? record.pr.headSha : undefined));

      await line.until('a green read of B', () => reads.some((r) => r.sha === b && r.checks === 'success'));
      expect(reads.filter((r) => r.sha === b && r.decision !== 'REVIEW_REQUIRED')).toEqual([]);
      expect(line.world.merges).toHaveLength(0);
      expect((await line.state(issue)).phase).toBe('merge-gate');

      await approve(line, issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('merged');
      expect(line.world.merges.map((m) => [m.sha, m.result.merged])).toEqual([[b, true]]);
      expect(line.world.agentRuns).toHaveLength(2);
    });
  });

  it('never merges a stale SHA when the head moves between green and merge, nor the new head before it is approved', async () => {
    const line = await createLine({ name: 'stale-sha' });
    const issue = line.world.addIssue(makeIssue());
    const reads = gateReads(line);
    let pushedDuringMerge: string | null = null;
    line.world.beforeMerge = (record, world) => {
      if (pushedDuringMerge) return;
      // Someone pushes after the gate read green + approved, before the merge call lands.
      pushedDuringMerge = world.pushHead(record.pr.headRef);
      record.checks = { sha: pushedDuringMerge, state: 'pending', failures: [] };
    };
    await withLine(line, async () => {
      await line.start(issue);
      const record = await approve(line, issue);
      await line.until('the refused merge', () => line.world.merges.length === 1);
      expect(line.world.merges[0]!.result).toMatchObject({ merged: false, reason: 'head-moved' });
      expect(record.pr.merged).toBe(false);

      // CI finishes green on the new head, which nobody approved: the gate waits.
      record.checks = { sha: pushedDuringMerge!, state: 'success', failures: [] };
      await forgeEvent(line, issue, 'checks');
      await line.until('a green read of the new head', () => reads.some((r) => r.sha === pushedDuringMerge && r.checks === 'success'));
      expect(reads.filter((r) => r.sha === pushedDuringMerge && r.checks === 'success' && r.decision !== 'REVIEW_REQUIRED')).toEqual([]);
      expect(line.world.merges.filter((m) => m.result.merged)).toHaveLength(0);

      // Approved on the new head: the gate merges that SHA, and only that one.
      await approve(line, issue);
      expect((await line.result(issue)).outcome).toBe('merged');
      expect(line.world.merges.filter((m) => m.result.merged).map((m) => m.sha)).toEqual([pushedDuringMerge]);
    });
  });

  it('ends as pr-closed when the PR is closed without merge: issue blocked in ready, branch kept', async () => {
    const line = await createLine({ name: 'pr-closed' });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await line.until('an open PR', () => line.world.prFor(branchForIssue(issue.key, issue.id)));
      await line.until('the merge gate', async () => (await line.state(issue)).phase === 'merge-gate');
      record.pr = { ...record.pr, state: 'closed' };
      await forgeEvent(line, issue, 'pull-request');
      const final = await line.result(issue);
      expect(final.outcome).toBe('pr-closed');
      expect(line.world.movesOf(issue.id).at(-1)).toBe('Todo');
      expect(line.world.commentsOn(issue.id).at(-1)).toMatch(/blocked this issue \(pr-closed\).*kept for a human/s);
      expect(line.world.deletedBranches).toEqual([]);
    });
  });

  it('closes a synthetic end-to-end issue without merging, even when approved', async () => {
    const line = await createLine({ name: 'synthetic' });
    const issue = line.world.addIssue(makeIssue({ labels: ['conveyor', 'conveyor-e2e'] }));
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('closed-synthetic');
      expect(line.world.merges).toHaveLength(0);
      expect(line.world.prFor(branchForIssue(issue.key, issue.id))!.pr).toMatchObject({ state: 'closed', merged: false });
      expect(line.world.movesOf(issue.id).at(-1)).toBe('Done');
    });
  });

  it('waits for a human merge under the default policy "never"', async () => {
    const line = await createLine({ name: 'never', world: new ScriptedWorld(testFactoryConfig({ mergePolicy: 'never' })) });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const record = await approve(line, issue);
      await line.until('the gate to read the approval', async () => (await line.state(issue)).history.filter((h) => h.phase === 'merge-gate').length >= 2);
      expect(line.world.merges).toHaveLength(0);
      record.pr = { ...record.pr, state: 'closed', merged: true };
      await forgeEvent(line, issue, 'pull-request');
      expect((await line.result(issue)).outcome).toBe('merged');
      expect(line.world.merges).toHaveLength(0);
    });
  });

  it('ends with ci-timeout when checks never finish, keeping the PR', async () => {
    const line = await createLine({ name: 'ci-timeout', policy: { ci: '1500ms' } });
    line.world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const issue = line.world.addIssue(makeIssue());
    await withLine(line, async () => {
      await line.start(issue);
      const final = await line.result(issue);
      expect(final.outcome).toBe('ci-timeout');
      expect(line.world.commentsOn(issue.id).at(-1)).toMatch(/blocked this issue \(ci-timeout\).*stays open for a human/s);
    });
  });
});
