// Dispatch and await PR: a slot from the fleet, the agent in its worktree, then the factory
// (not the agent) pushes and opens the pull request.
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import { PATCHES } from '../patches.js';
import type { AgentFailureDetails, AgentRunResult } from '../activity-types.js';
import { publishSearchAttributes } from '../search-attributes.js';
import { EMPTY_LEDGER } from '../state.js';
import { countAgentRun, countCost } from './endings.js';
import { agentOutcome, messageOf } from './failures.js';
import { publishLedger } from './settle.js';
import { waitWhileHeld } from './hold.js';
import { acquireLease, claimLease, returnLease } from './lease.js';
import { hostGone } from './activities.js';
import type { GateResult } from './gate.js';
import { boundText, DEFAULT_PAYLOAD_LIMIT } from '../../domain/bounded-text.js';
import type { Ending, Run } from './run.js';

/** A worktree prepared ahead is reused only this soon after: after a long queue wait the remote
 * may have moved, and the agent activity fetches again. */
const REUSE_PREPARED_WITHIN_MS = 60_000;

/** Runs the agent and opens (or updates) the PR. Returns an ending when the line must stop. */
export async function dispatch(run: Run): Promise<Ending | null> {
  const { state, policy, acts } = run;
  const held = await waitWhileHeld(run);
  if (held) return held;
  // The budget is the issue's (its ledger since the last go-ahead), not this run's.
  const spent = run.endingsFinal ? (state.ledger ?? EMPTY_LEDGER).sinceGoAhead.costUsd : state.costUsd;
  if (policy.budgetUsd !== null && spent >= policy.budgetUsd) {
    return { outcome: 'budget-exceeded', reason: `the agent has spent $${spent.toFixed(2)} of the $${policy.budgetUsd.toFixed(2)} budget` };
  }
  const routing = state.routing!;
  // Asked from this workflow task first: with a slot free now, the agent is scheduled by it, with
  // no task in between, and takes the worktree triage's worker began preparing (or prepares it).
  const claimed = run.dispatchInOneTask ? await claimLease(run) : false;
  // Otherwise the git work (fetch, worktree) overlaps the wait for a slot; the agent activity then
  // finds the worktree ready when it runs on the same host soon after, and prepares it itself if not.
  const prepared = !claimed && (run.dispatchInOneTask || patched(PATCHES.prepareWhileQueued))
    ? acts.workspace.prepareWorkspace({ repo: routing.repo, branch: state.branch!, baseBranch: routing.baseBranch, issueKey: state.issue!.key }).then(
        () => true,
        (err: unknown) => {
          if (isCancellation(err)) throw err;
          run.remember('queued', `preparing the worktree ahead failed; the agent activity prepares it: ${messageOf(err)}`);
          return false;
        },
      )
    : Promise.resolve(false);
  const queued = claimed ? null : await acquireLease(run);
  const preparedAhead = await prepared;
  if (queued) return queued;
  state.attempts += 1;
  if (run.endingsFinal) {
    state.ledger = countAgentRun(state.ledger ?? { ...EMPTY_LEDGER });
    publishLedger(state);
  }
  run.note('dispatched', `agent ${state.agentName} on ${routing.repo}, attempt ${state.attempts}`);
  let movedToInProgress: Promise<void> | null = null;
  if (state.attempts === 1) {
    if (run.current || patched(PATCHES.moveWhileAgentStarts)) {
      // Off the dispatch's critical path: the agent starts while the tracker is told. A tracker
      // that cannot be told is noted, not fatal: the agent's work is worth more than the label.
      movedToInProgress = acts.tracker.moveIssue({ issueId: state.issueId, stateName: routing.states.inProgress }).catch((err: unknown) => {
        if (isCancellation(err)) throw err;
        run.remember('dispatched', `could not move the issue to ${routing.states.inProgress}: ${messageOf(err)}`);
      });
    } else {
      await acts.tracker.moveIssue({ issueId: state.issueId, stateName: routing.states.inProgress });
    }
  }

  let result: AgentRunResult;
  try {
    result = await acts.agent.runAgent.executeWithOptions({ summary: `runAgent ${state.agentName} on ${routing.repo} for ${state.issue!.key}, attempt ${state.attempts}` }, [{
      issue: state.issue!,
      routing,
      branch: state.branch!,
      agentName: state.agentName!,
      attempt: state.attempts,
      feedback: state.feedback,
      workflowId: run.workflowId,
      idleTimeout: policy.timeouts.agentIdle,
      heartbeatInterval: policy.timeouts.heartbeat,
      ...(run.leaseQueuedAt !== null ? { queuedAt: run.leaseQueuedAt } : {}),
      // Prepared ahead: by prepareWorkspace while queued, or by triage's worker when claimed at once.
      ...(preparedAhead || claimed ? { reuseWorkspaceWithinMs: REUSE_PREPARED_WITHIN_MS } : {}),
      ...(run.endingsFinal
        ? {
            publishSeparately: true,
            // The issue's budget left, so a streaming agent is stopped when it passes it.
            budgetRemainingUsd: policy.budgetUsd === null ? null : Math.max(0, policy.budgetUsd - (state.ledger ?? EMPTY_LEDGER).sinceGoAhead.costUsd),
            // A re-dispatch with feedback resumes the agent's session where the provider can.
            resumeSessionId: state.feedback ? (state.sessionId ?? null) : null,
          }
        : {}),
    }]);
  } catch (err) {
    if (run.endingsFinal) {
      // A failed attempt's spend is the issue's too, and its session may still be resumed.
      const failed = failureDetails(err);
      state.sessionId = failed.sessionId ?? state.sessionId ?? null;
      state.costUsd += failed.costUsd;
      state.ledger = countCost(state.ledger ?? { ...EMPTY_LEDGER }, failed.costUsd);
      publishLedger(state);
    }
    if (isCancellation(err)) throw err;
    run.recordFailure(err);
    return { outcome: agentOutcome(err, run.endingsFinal), reason: `the agent did not finish: ${messageOf(err)}` };
  } finally {
    // The slot is for a running agent; CI and review can take days without holding one.
    await CancellationScope.nonCancellable(() => returnLease(run));
    await movedToInProgress;
  }
  state.costUsd += result.costUsd;
  // The host that ran the agent holds its worktree: publishing and cleanup go to it.
  if (run.hostAffinity && result.host) state.host = result.host;
  if (run.endingsFinal) {
    state.sessionId = result.sessionId ?? state.sessionId ?? null;
    state.ledger = countCost(state.ledger ?? { ...EMPTY_LEDGER }, result.costUsd);
    publishLedger(state);
  }
  if (result.commits === 0 && !state.pr) return { outcome: 'no-pr', reason: `the agent finished without committing anything: ${result.summary}` };
  if (run.endingsFinal) {
    // The commits are in the worktree; the publish station pushes them, and retries never reset them.
    state.unpublished = { summary: result.summary, ...(run.hostAffinity && result.host ? { host: result.host } : {}) };
    return null;
  }

  run.note('awaiting-pr', 'pushing the branch and opening the pull request');
  try {
    state.pr = await acts.publisher.publishPullRequest({ issue: state.issue!, routing, branch: state.branch!, summary: result.summary });
  } catch (err) {
    if (isCancellation(err)) throw err;
    run.recordFailure(err);
    return { outcome: 'no-pr', reason: `no pull request within ${policy.timeouts.prOpen}: ${messageOf(err)}` };
  }
  publishSearchAttributes(state);
  if (state.attempts === 1) await acts.tracker.moveIssue({ issueId: state.issueId, stateName: routing.states.inReview });
  return null;
}

/** What a failed agent attempt reported in its failure details: its spend (else 0) and its session. */
function failureDetails(err: unknown): { costUsd: number; sessionId: string | null } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as (Partial<AgentFailureDetails> & { sessionId?: unknown }) | undefined) : undefined;
  return {
    costUsd: typeof details?.costUsd === 'number' && details.costUsd > 0 ? details.costUsd : 0,
    sessionId: typeof details?.sessionId === 'string' ? details.sessionId : null,
  };
}

/**
 * The publish station: push the agent's commits from the worktree that holds them and open (or
 * update) the PR. Its activity retries a failed push with the same commits; when it runs out of
 * time the run ends `failed` here, and a retry-later run resumes at this station with the
 * worktree kept. It runs on the host that ran the agent (host-affinity runs): a host that does not
 * take it within policies.timeouts.hostGone is gone with the unpushed commits, and the agent runs
 * again on any host from the branch as it was pushed.
 */
export async function publish(run: Run): Promise<GateResult | null> {
  const { state, policy, acts } = run;
  const routing = state.routing!;
  const host = run.hostAffinity ? state.unpublished?.host : undefined;
  run.note('awaiting-pr', `pushing the branch and opening the pull request${host ? ` on ${host.id}` : ''}`);
  try {
    const publisher = host ? acts.onHost(host) : acts.publisher;
    state.pr = await publisher.publishPullRequest.executeWithOptions({ summary: `publish ${state.branch} to ${routing.repo}${host ? ` from ${host.id}` : ''}` }, [
      { issue: state.issue!, routing, branch: state.branch!, summary: state.unpublished?.summary ?? '', push: true },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (host && hostGone(err)) {
      const wait = policy.timeouts.hostGone ?? '5m';
      run.remember('awaiting-pr', `host ${host.id} did not take the publish step within ${wait}: it is gone, with the agent's unpushed commits`);
      state.unpublished = null;
      state.host = null;
      // The agent's session lived on that host too.
      state.sessionId = null;
      const lost = `The previous attempt's work was lost with its host (${host.id}) before it was pushed: do the task again, starting from the branch as it is on the remote.`;
      return { redispatch: boundText(state.feedback ? `${lost}\n\n${state.feedback}` : lost, policy.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT) };
    }
    const failureClass = run.recordFailure(err);
    const outcome = failureClass === 'auth' || failureClass === 'logic' ? 'no-pr' : 'failed';
    return { outcome, reason: `the agent's commits could not be published within ${policy.timeouts.prOpen}: ${messageOf(err)}` };
  }
  state.unpublished = null;
  publishSearchAttributes(state);
  if (state.attempts === 1) await acts.tracker.moveIssue({ issueId: state.issueId, stateName: routing.states.inReview });
  return null;
}
