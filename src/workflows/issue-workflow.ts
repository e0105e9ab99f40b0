// One issue, one run: triage → dispatch → await PR → merge gate → close → release.
// Deterministic and free of I/O: every side effect is an activity, every wait has a deadline
// with a named outcome, and the release station runs whatever ends the run.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { durationMs } from '../domain/duration.js';
import type { FailureClass } from '../domain/failure.js';
import { NON_RETRYABLE_CLASSES } from '../domain/failure.js';
import type { PullRequest, PullRequestStatus } from '../domain/issue.js';
import { branchForIssue } from '../domain/naming.js';
import type { AgentRunResult, LineActivities } from './activity-types.js';
import type { IssueRunInput } from './input.js';
import {
  forgeEventSignal,
  issueStateQuery,
  leaseGrantedSignal,
  operatorCommandSignal,
  releaseLeaseSignal,
  requestLeaseSignal,
  trackerEventSignal,
  type LeaseGrant,
  type OperatorCommand,
} from './messages.js';
import { publishSearchAttributes } from './search-attributes.js';
import type { IssueRunState, Outcome, Phase, Routing } from './state.js';

const DELIVERIES_KEPT = 200;
const HISTORY_NOTES_KEPT = 50;

/** Signals the line that the run must continue as new at a safe wait point. */
class ContinueAsNewRequested extends Error {}

type GateResult = { outcome: Outcome; reason: string } | { redispatch: string };

export async function issueWorkflow(input: IssueRunInput): Promise<IssueRunState> {
  const { policy } = input;
  const workflowId = workflowInfo().workflowId;
  const state: IssueRunState = input.resume ?? {
    issueId: input.issueId,
    issueKey: input.issueKey ?? null,
    phase: 'triage',
    outcome: null,
    reason: null,
    failureClass: null,
    issue: null,
    routing: null,
    branch: null,
    pr: null,
    attempts: 0,
    redispatches: 0,
    costUsd: 0,
    agentName: null,
    leaseRequestId: null,
    leaseHeld: false,
    feedback: null,
    seenDeliveries: [],
    history: [],
  };
  // Counters of events since the run (or this continuation) began; waits compare against them.
  let trackerEvents = 0;
  let forgeEvents = 0;
  const operatorQueue: OperatorCommand[] = [];
  let abortBy: string | null = null;
  let grant: LeaseGrant | null = null;
  // Made before the handlers, so an abort that arrives with the start signal cancels it too.
  const lineScope = new CancellationScope();

  /** A delivery id seen before is dropped: both services redeliver. */
  const firstTime = (deliveryId: string): boolean => {
    if (state.seenDeliveries.includes(deliveryId)) return false;
    state.seenDeliveries.push(deliveryId);
    if (state.seenDeliveries.length > DELIVERIES_KEPT) state.seenDeliveries.splice(0, state.seenDeliveries.length - DELIVERIES_KEPT);
    return true;
  };

  // Handlers first, before any await, so the signal that started the run is never missed.
  setHandler(trackerEventSignal, (event) => {
    if (firstTime(event.deliveryId)) trackerEvents += 1;
  });
  setHandler(forgeEventSignal, (event) => {
    if (firstTime(event.deliveryId)) forgeEvents += 1;
  });
  setHandler(operatorCommandSignal, (command) => {
    if (!firstTime(command.deliveryId)) return;
    if (command.command === 'abort') {
      abortBy = command.by;
      lineScope.cancel();
    } else {
      operatorQueue.push(command);
    }
  });
  setHandler(leaseGrantedSignal, (g) => {
    if (g.requestId === state.leaseRequestId) grant = g;
  });
  setHandler(issueStateQuery, () => state);

  const retry: ActivityOptions['retry'] = {
    initialInterval: policy.retry.initialInterval,
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: policy.retry.maximumAttempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE_CLASSES],
  };
  const tracker = proxyActivities<LineActivities>({ startToCloseTimeout: '1m', retry });
  const forge = proxyActivities<LineActivities>({ startToCloseTimeout: '2m', retry });
  const heartbeatMs = durationMs(policy.timeouts.heartbeat);
  const agent = proxyActivities<LineActivities>({
    startToCloseTimeout: policy.timeouts.agentTotal,
    // The activity heartbeats while its worker and agent live; three missed beats mean the
    // worker is gone and the attempt is retried (by policy) elsewhere.
    heartbeatTimeout: heartbeatMs * 3,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED' as ActivityOptions['cancellationType'],
    retry: { ...retry, maximumAttempts: Math.min(policy.retry.maximumAttempts, 2), nonRetryableErrorTypes: [...NON_RETRYABLE_CLASSES, 'agent-stalled', 'agent-failed'] },
  });
  const publisher = proxyActivities<LineActivities>({ scheduleToCloseTimeout: policy.timeouts.prOpen, startToCloseTimeout: '2m', retry });

  /** Keeps the last notes for the state query; the full story is the run's history. */
  const remember = (phase: Phase, text: string) => {
    state.history.push({ at: new Date(Date.now()).toISOString(), phase, note: text });
    if (state.history.length > HISTORY_NOTES_KEPT) state.history.splice(0, state.history.length - HISTORY_NOTES_KEPT);
  };
  const note = (phase: Phase, text: string) => {
    state.phase = phase;
    remember(phase, text);
    publishSearchAttributes(state);
  };

  const recordFailure = (err: unknown): FailureClass => {
    const failureClass = failureClassOf(err);
    state.failureClass = failureClass;
    state.reason = messageOf(err);
    publishSearchAttributes(state);
    return failureClass;
  };

  const routing = (): Routing => state.routing!;

  /** Continue as new at a wait point once history grows; state (and deadlines) travel along. */
  const maybeContinueAsNew = () => {
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > policy.continueAsNewAfterEvents) throw new ContinueAsNewRequested();
  };

  // ── triage ───────────────────────────────────────────────────────────────
  /** Reads the issue fresh; escalates and waits for an edit or an operator when it is thin. */
  async function triage(): Promise<{ outcome: Outcome; reason: string } | null> {
    // A continued run was already escalated for this reason: do not comment it twice.
    let lastEscalation: string | null = input.resume?.phase === 'escalated' ? input.resume.reason : null;
    let approved = false;
    for (;;) {
      note('triage', 'reading the issue');
      // Counted before the read: an edit that lands while triage runs must trigger another read.
      const seen = trackerEvents;
      const result = await tracker.triageIssue({ issueId: state.issueId, workflowId });
      state.issue = result.issue;
      state.issueKey = result.issue?.key ?? state.issueKey;
      state.routing = result.routing;
      state.reason = result.reason;
      if (result.issue && !state.branch) state.branch = branchForIssue(result.issue.key, result.issue.id);
      if (result.decision === 'dispatch' || (result.decision === 'escalate' && approved && result.overridable)) return null;
      if (result.decision === 'ignore') return { outcome: 'ignored', reason: result.reason };

      note('escalated', result.reason);
      if (result.reason !== lastEscalation) {
        await tracker.commentOnIssue({ issueId: state.issueId, body: `Conveyor needs a human before an agent can start: ${result.reason}\n\nEdit the issue and it is triaged again${result.overridable ? ', or comment `/conveyor approve` to dispatch it as it is' : ''}.` });
        lastEscalation = result.reason;
      }
      const deadline = Date.now() + durationMs(policy.timeouts.escalation);
      for (;;) {
        maybeContinueAsNew();
        const edited = await condition(() => trackerEvents > seen || operatorQueue.length > 0, Math.max(0, deadline - Date.now()));
        if (!edited) return { outcome: 'escalation-timeout', reason: `nobody answered the escalation within ${policy.timeouts.escalation}: ${result.reason}` };
        const command = operatorQueue.shift();
        if (!command) break;
        if (command.command === 'approve' || command.command === 'retry') {
          approved = true;
          break;
        }
      }
    }
  }

  // ── dispatch and await PR ───────────────────────────────────────────────
  async function acquireLease(): Promise<void> {
    const issue = state.issue!;
    // Unique per run and attempt, and the same on replay (the run id is not: replayers make one up).
    state.leaseRequestId = `${workflowId}/${workflowInfo().startTime.getTime()}/${state.attempts}`;
    grant = null;
    note('queued', `waiting for an agent slot on ${routing().repo}`);
    const fleet = getExternalWorkflowHandle(policy.fleetWorkflowId);
    const request = { requestId: state.leaseRequestId, holderId: workflowId, holderRunId: workflowInfo().runId, repo: routing().repo, priority: issue.priority, queuedAt: Date.now() };
    // The request is idempotent, so asking again is safe: it survives a fleet that was restarted.
    for (;;) {
      try {
        await fleet.signal(requestLeaseSignal, request);
      } catch {
        // The fleet is not running yet (a worker starts it at start-up): ask again shortly.
      }
      if (await condition(() => grant !== null, Math.max(heartbeatMs * 10, 1_000))) break;
    }
    state.leaseHeld = true;
    state.agentName = grant!.agentName;
  }

  async function returnLease(): Promise<void> {
    if (!state.leaseRequestId) return;
    const requestId = state.leaseRequestId;
    try {
      await getExternalWorkflowHandle(policy.fleetWorkflowId).signal(releaseLeaseSignal, { requestId, holderId: workflowId });
    } catch {
      // The fleet's periodic holder check reclaims it once this run has closed.
    }
    state.leaseHeld = false;
    state.leaseRequestId = null;
  }

  /** Runs the agent and opens (or updates) the PR. Returns an outcome when the line must stop. */
  async function dispatch(): Promise<{ outcome: Outcome; reason: string } | null> {
    if (policy.budgetUsd !== null && state.costUsd >= policy.budgetUsd) {
      return { outcome: 'budget-exceeded', reason: `the agent has spent $${state.costUsd.toFixed(2)} of the $${policy.budgetUsd.toFixed(2)} budget` };
    }
    await acquireLease();
    state.attempts += 1;
    note('dispatched', `agent ${state.agentName} on ${routing().repo}, attempt ${state.attempts}`);
    if (state.attempts === 1) await tracker.moveIssue({ issueId: state.issueId, stateName: routing().states.inProgress });

    let result: AgentRunResult;
    try {
      result = await agent.runAgent({
        issue: state.issue!,
        routing: routing(),
        branch: state.branch!,
        agentName: state.agentName!,
        attempt: state.attempts,
        feedback: state.feedback,
        workflowId,
        idleTimeout: policy.timeouts.agentIdle,
        heartbeatInterval: policy.timeouts.heartbeat,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      recordFailure(err);
      return { outcome: agentOutcome(err), reason: `the agent did not finish: ${messageOf(err)}` };
    } finally {
      // The slot is for a running agent; CI and review can take days without holding one.
      await CancellationScope.nonCancellable(returnLease);
    }
    state.costUsd += result.costUsd;
    if (result.commits === 0 && !state.pr) return { outcome: 'no-pr', reason: `the agent finished without committing anything: ${result.summary}` };

    note('awaiting-pr', 'pushing the branch and opening the pull request');
    try {
      state.pr = await publisher.publishPullRequest({ issue: state.issue!, routing: routing(), branch: state.branch!, summary: result.summary });
    } catch (err) {
      if (isCancellation(err)) throw err;
      recordFailure(err);
      return { outcome: 'no-pr', reason: `no pull request within ${policy.timeouts.prOpen}: ${messageOf(err)}` };
    }
    publishSearchAttributes(state);
    if (state.attempts === 1) await tracker.moveIssue({ issueId: state.issueId, stateName: routing().states.inReview });
    return null;
  }

  // ── merge gate ───────────────────────────────────────────────────────────
  async function mergeGate(): Promise<GateResult> {
    let ciDeadlineAt: number | null = null;
    let ciSha: string | null = null;
    let reviewDeadlineAt: number | null = null;
    let refusedSha: string | null = null;
    for (;;) {
      note('merge-gate', `reading PR #${state.pr!.number}`);
      const seen = forgeEvents;
      const status: PullRequestStatus = await forge.readPullRequest({ repo: routing().repo, number: state.pr!.number, baseRef: routing().baseBranch });
      state.pr = status.pr;
      const { pr, checks, review } = status;
      if (pr.merged) return { outcome: 'merged', reason: `PR #${pr.number} was merged` };
      if (pr.state === 'closed') return { outcome: 'pr-closed', reason: `PR #${pr.number} was closed without merge` };

      let waitUntil: number;
      let timeoutOutcome: Outcome;
      if (checks.state === 'failure') {
        return { redispatch: `CI failed on ${checks.sha.slice(0, 7)}:\n${checks.failures.map((f) => `- ${f.name}: ${f.summary}`).join('\n')}` };
      } else if (checks.state === 'pending') {
        if (ciSha !== checks.sha) {
          ciSha = checks.sha;
          ciDeadlineAt = Date.now() + durationMs(policy.timeouts.ci);
        }
        waitUntil = ciDeadlineAt!;
        timeoutOutcome = 'ci-timeout';
      } else {
        if (routing().synthetic) {
          await forge.closePullRequest({ repo: routing().repo, number: pr.number, comment: 'Synthetic end-to-end check passed; closed by Conveyor, never merged.' });
          return { outcome: 'closed-synthetic', reason: `checks green on ${checks.sha.slice(0, 7)}; synthetic issue closed without merge` };
        }
        if (review.decision === 'CHANGES_REQUESTED') {
          return { redispatch: `Changes requested in review:\n${review.requestedChanges.map((c) => `- ${c}`).join('\n')}` };
        }
        reviewDeadlineAt ??= Date.now() + durationMs(policy.timeouts.review);
        if (routing().mergePolicy === 'on-green-with-review' && review.decision === 'APPROVED' && refusedSha !== pr.headSha) {
          // Pinned to the SHA the checks and the review were read for: a push in between makes the forge refuse.
          const merge = await forge.mergePullRequest({ repo: routing().repo, number: pr.number, sha: pr.headSha });
          if (merge.merged) return { outcome: 'merged', reason: `merged PR #${pr.number} at ${pr.headSha.slice(0, 7)}` };
          refusedSha = pr.headSha;
          note('merge-gate', `merge refused (${merge.reason}): ${merge.message}`);
          continue;
        }
        waitUntil = reviewDeadlineAt;
        timeoutOutcome = 'review-timeout';
      }
      maybeContinueAsNew();
      const woke = await condition(() => forgeEvents > seen, Math.max(0, waitUntil - Date.now()));
      if (!woke) {
        return {
          outcome: timeoutOutcome,
          reason: timeoutOutcome === 'ci-timeout' ? `CI did not finish on ${ciSha?.slice(0, 7)} within ${policy.timeouts.ci}` : `no approved review within ${policy.timeouts.review}; the PR is kept for a human`,
        };
      }
    }
  }

  /** After the limit of re-dispatches, escalate and wait for an operator's retry. */
  async function escalateRedispatchLimit(feedback: string): Promise<boolean> {
    note('escalated', `re-dispatched ${state.redispatches} times; still failing`);
    await tracker.commentOnIssue({ issueId: state.issueId, body: `Conveyor stopped re-dispatching after ${state.redispatches} attempts. Last feedback:\n\n${feedback}\n\nComment \`/conveyor retry\` to try again.` });
    const deadline = Date.now() + durationMs(policy.timeouts.escalation);
    for (;;) {
      maybeContinueAsNew();
      if (!(await condition(() => operatorQueue.length > 0, Math.max(0, deadline - Date.now())))) return false;
      if (operatorQueue.shift()!.command === 'retry') {
        state.redispatches = 0;
        return true;
      }
    }
  }

  // ── the line ─────────────────────────────────────────────────────────────
  async function line(): Promise<{ outcome: Outcome; reason: string }> {
    let resumeAt: Phase | null = input.resume ? input.resume.phase : null;
    if (resumeAt !== 'merge-gate' && resumeAt !== 'escalated') resumeAt = null;
    if (resumeAt === 'escalated' && state.pr) resumeAt = 'merge-gate';
    if (resumeAt !== 'merge-gate') {
      const stop = await triage();
      if (stop) return stop;
    }
    for (;;) {
      if (resumeAt !== 'merge-gate') {
        const stop = await dispatch();
        if (stop) return stop;
      }
      resumeAt = null;
      const gate = await mergeGate();
      if ('outcome' in gate) return gate;
      state.feedback = gate.redispatch;
      if (state.redispatches >= policy.maxRedispatch) {
        if (!(await escalateRedispatchLimit(gate.redispatch))) {
          return { outcome: 'redispatch-limit', reason: `still failing after ${policy.maxRedispatch} re-dispatches and nobody asked for a retry` };
        }
      }
      state.redispatches += 1;
      note('dispatched', `re-dispatching with feedback (${state.redispatches}/${policy.maxRedispatch})`);
    }
  }

  // ── close ────────────────────────────────────────────────────────────────
  async function close(outcome: Outcome, reason: string): Promise<void> {
    if (outcome !== 'merged' && outcome !== 'closed-synthetic') return;
    note('closing', reason);
    await tracker.moveIssue({ issueId: state.issueId, stateName: routing().states.done });
    const pr = state.pr as PullRequest;
    await tracker.commentOnIssue({ issueId: state.issueId, body: outcome === 'merged' ? `Merged in ${pr.url} (${pr.headSha.slice(0, 7)}).` : `Synthetic check passed: ${pr.url} was closed without merge, as synthetic checks always are.` });
    await forge.deleteBranch({ repo: routing().repo, branch: state.branch! });
  }

  // ── release: always runs ─────────────────────────────────────────────────
  async function release(outcome: Outcome): Promise<void> {
    note('releasing', `releasing after ${outcome}`);
    const failures: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${messageOf(err)}`);
      }
    };
    await attempt('return the lease', returnLease);
    if (state.branch && state.routing) {
      await attempt('remove the worktree', () => tracker.cleanupWorkspace({ workflowId, branch: state.branch!, repo: routing().repo }));
    }
    // A dispatch abandoned before a PR existed (or whose PR was closed) puts the issue back to
    // ready, so no issue shows "in progress" with no live agent.
    const dispatched = state.attempts > 0;
    const abandoned = dispatched && (!state.pr || outcome === 'pr-closed') && outcome !== 'merged' && outcome !== 'closed-synthetic';
    if (abandoned && state.routing) {
      await attempt('move the issue back to ready', () => tracker.moveIssue({ issueId: state.issueId, stateName: routing().states.ready }));
      const why = outcome === 'aborted' ? `aborted by ${abortBy ?? 'an operator'}` : `${outcome}: ${state.reason ?? 'no reason recorded'}`;
      const branchNote = state.pr ? ` The branch \`${state.branch}\` is kept for a human.` : '';
      await attempt('comment on the issue', () => tracker.commentOnIssue({ issueId: state.issueId, body: `Conveyor put this issue back to ready (${why}).${branchNote}` }));
    } else if (state.pr && (outcome === 'review-timeout' || outcome === 'ci-timeout' || outcome === 'redispatch-limit' || outcome === 'budget-exceeded')) {
      await attempt('comment on the issue', () => tracker.commentOnIssue({ issueId: state.issueId, body: `Conveyor stopped (${outcome}): ${state.reason}. ${state.pr!.url} is kept for a human.` }));
    }
    if (failures.length > 0) remember('releasing', `release steps failed: ${failures.join('; ')}`);
  }

  // ── run ──────────────────────────────────────────────────────────────────
  let result: { outcome: Outcome; reason: string };
  let cancelledByTemporal: unknown = null;
  try {
    result = await lineScope.run(async () => {
      const ended = await line();
      await close(ended.outcome, ended.reason);
      return ended;
    });
  } catch (err) {
    if (err instanceof ContinueAsNewRequested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof issueWorkflow>({ ...input, resume: state });
    }
    if (isCancellation(err)) {
      if (abortBy === null) cancelledByTemporal = err;
      result = { outcome: 'aborted', reason: abortBy ? `aborted by ${abortBy}` : 'the run was cancelled' };
    } else {
      const failureClass = recordFailure(err);
      result = { outcome: 'failed', reason: `${failureClass} failure: ${messageOf(err)}` };
    }
  }
  state.outcome = result.outcome;
  state.reason = result.reason;
  await CancellationScope.nonCancellable(() => release(result.outcome));
  note('done', `${result.outcome}: ${result.reason}`);
  await condition(allHandlersFinished);
  if (cancelledByTemporal) throw cancelledByTemporal;
  return state;
}

function agentOutcome(err: unknown): Outcome {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof TimeoutFailure) return cause.timeoutType === TimeoutType.HEARTBEAT ? 'agent-stalled' : 'agent-timeout';
  if (cause instanceof ApplicationFailure && (cause.type === 'agent-stalled' || cause.type === 'agent-timeout')) return cause.type;
  return 'agent-failed';
}

function failureClassOf(err: unknown): FailureClass {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof TimeoutFailure) return 'timeout';
  if (cause instanceof ApplicationFailure) {
    const known = ['transient', 'auth', 'logic', 'resource', 'timeout'] as const;
    const type = cause.type ?? '';
    if ((known as readonly string[]).includes(type)) return type as FailureClass;
    if (type === 'agent-stalled' || type === 'agent-timeout') return 'timeout';
  }
  return 'unknown';
}

function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
