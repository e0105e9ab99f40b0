// The last station of every run (non-cancellable): return the lease and the worktree, count the
// ending in the issue's ledger, and leave the issue in a state the factory will not undo by
// itself: blocked (ready label swapped for the blocked one, one comment), or, for an
// infrastructure ending, waiting out a backoff inside this run and then trying again as a new run.
import { condition, upsertMemo } from '@temporalio/workflow';
import { durationMs } from '../../domain/duration.js';
import type { EndingsPolicy } from '../input.js';
import { LEDGER_MEMO_KEY } from '../messages.js';
import { EMPTY_LEDGER, type IssueLedger, type IssueRunState } from '../state.js';
import { blockedComment, endingKind, recordEnding, retryComment, wasClaimed } from './endings.js';
import { returnLease } from './lease.js';
import { releaseSteps, removeWorktree } from './release.js';
import type { Ending, Run } from './run.js';

/** Used by runs whose input predates `policy.endings` (continued across the upgrade). */
export const DEFAULT_ENDINGS: EndingsPolicy = {
  retryLaterRuns: 2,
  retryBackoff: '30m',
  readyLabel: 'conveyor',
  blockedLabel: 'conveyor-blocked',
  maxStalls: 2,
  mergeRetries: 5,
  mergeRetryBackoff: '30s',
};

export function endingsPolicy(run: Run): EndingsPolicy {
  return run.policy.endings ?? DEFAULT_ENDINGS;
}

/** Publish the ledger where the issue's next run finds it (this run's memo, read after it closes). */
export function publishLedger(state: IssueRunState): void {
  if (state.ledger) upsertMemo({ [LEDGER_MEMO_KEY]: state.ledger });
}

/** What the run does after settling: nothing more, or continue as new to try again. */
export type Settled = { next: 'end' } | { next: 'retry'; resume: IssueRunState };

export async function settle(run: Run, ending: Ending): Promise<Settled> {
  const { state } = run;
  const policy = endingsPolicy(run);
  let ledger: IssueLedger = state.ledger ?? { ...EMPTY_LEDGER };
  const decided = endingKind(ending.outcome, state.failureClass, ledger, policy);
  ledger = recordEnding(ledger, { outcome: ending.outcome, kind: decided.kind, reason: ending.reason, at: Date.now() });
  state.ledger = ledger;
  publishLedger(state);
  run.note('releasing', `${decided.kind} after ${ending.outcome}`);

  const { step, report } = releaseSteps(run);
  await step('return the lease', () => returnLease(run));
  // Unpushed commits stay for the retry, which publishes them from this worktree.
  const keepWorktree = decided.kind === 'retry-later' && state.station === 'publish';
  if (state.branch && state.routing && !keepWorktree) {
    await step('remove the worktree', () => removeWorktree(run));
  }

  let settled: Settled = { next: 'end' };
  if (decided.kind === 'blocked') {
    await block(run, ending, decided.why, step);
  } else if (decided.kind === 'retry-later') {
    settled = await retryLater(run, ending, step);
  }
  report();
  return settled;
}

type Step = ReturnType<typeof releaseSteps>['step'];

/** Blocked: back to ready (if the factory had taken it), ready label swapped, one comment. */
async function block(run: Run, ending: Ending, why: string | null, step: Step): Promise<void> {
  const { state, acts } = run;
  const policy = endingsPolicy(run);
  const ledger = state.ledger!;
  if (state.routing && wasClaimed(state, ledger) && !(state.pr && state.pr.state === 'open')) {
    await step('move the issue back', () => acts.tracker.moveIssue({ issueId: state.issueId, stateName: state.routing!.states.ready }));
  }
  // The blocked label first: an issue must never be left with neither (a human could not tell).
  await step('label the issue blocked', () => acts.tracker.relabelIssue({ issueId: state.issueId, add: [policy.blockedLabel], remove: [policy.readyLabel] }));
  const body = blockedComment({
    outcome: ending.outcome,
    reason: ending.reason,
    why,
    ledger,
    prUrl: state.pr?.url ?? null,
    prOpen: state.pr?.state === 'open' && !state.pr.merged,
    branch: state.branch,
    policy,
  });
  await step('comment on the issue', () => run.commentOnce(`blocked:${ledger.runs}`, body));
  run.note('done', `blocked: ${ending.outcome}`);
}

/**
 * Retry later: the issue goes back to ready (unless its PR is open), one comment says when, and
 * this run waits out the backoff (an operator may say `/conveyor retry` to go now, or abort),
 * then continues as a new run from the station it can resume at.
 */
async function retryLater(run: Run, ending: Ending, step: Step): Promise<Settled> {
  const { state, acts } = run;
  const policy = endingsPolicy(run);
  const retry = state.ledger!.sinceGoAhead.retries + 1;
  const at = Date.now() + durationMs(policy.retryBackoff);
  if (state.routing && state.attempts > 0 && !state.pr && state.station !== 'publish') {
    await step('move the issue back', () => acts.tracker.moveIssue({ issueId: state.issueId, stateName: state.routing!.states.ready }));
  }
  await step('comment on the issue', () =>
    run.commentOnce(`retry-later:${state.ledger!.runs}`, retryComment({ outcome: ending.outcome, reason: ending.reason, at, retry, of: policy.retryLaterRuns })),
  );
  run.note('waiting-to-retry', `retry ${retry} of ${policy.retryLaterRuns} at ${new Date(at).toISOString()}`);
  run.accept({ retry: 'trying again now' });
  await condition(() => run.abortBy !== null || state.operatorQueue.length > 0, Math.max(0, at - Date.now()));
  run.accept(null);
  if (run.abortBy !== null) {
    state.outcome = 'aborted';
    state.reason = `aborted by ${run.abortBy} while waiting to retry`;
    await block(run, { outcome: 'aborted', reason: state.reason }, null, step);
    return { next: 'end' };
  }
  const ledger = { ...state.ledger!, sinceGoAhead: { ...state.ledger!.sinceGoAhead, retries: retry } };
  const station = state.station === 'publish' ? 'publish' : state.pr && state.pr.state === 'open' ? 'gate' : 'triage';
  const resume: IssueRunState = {
    ...state,
    phase: station === 'triage' ? 'triage' : station === 'publish' ? 'awaiting-pr' : 'merge-gate',
    station,
    outcome: null,
    reason: null,
    failureClass: null,
    attempts: station === 'triage' ? 0 : state.attempts,
    agentName: null,
    leaseRequestId: null,
    leaseGranted: false,
    waits: { ...state.waits, ciDeadlineAt: null, ciSha: null, queuedAt: null, queueDeadlineAt: null, escalationDeadlineAt: null, mergeRetrySha: null, mergeRetries: 0, refusedSha: null },
    operatorQueue: [],
    ledger,
  };
  return { next: 'retry', resume };
}
