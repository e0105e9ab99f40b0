// An agent slot and name from the fleet, asked for by signal and granted by a reply signal
// (the mutex sample's shape). The request belongs to this run; the wait has a deadline and
// continues as new when history grows; a fleet that is gone is revived by the asker.
import { getExternalWorkflowHandle, isCancellation, workflowInfo } from '@temporalio/workflow';
import { messageOf } from './failures.js';
import { durationMs } from '../../domain/duration.js';
import { releaseLeaseSignal, requestLeaseSignal, type LeaseRequest } from '../messages.js';
import { publishSearchAttributes } from '../search-attributes.js';
import type { Ending, Run } from './run.js';

/** Asking again survives a fleet that lost the request (revived, or not yet started). */
const ASK_AGAIN_EVERY_HEARTBEATS = 10;

/** This attempt's request: made once per attempt, and carried with its times across continue-as-new. */
function leaseRequest(run: Run): { request: LeaseRequest; queuedAt: number; deadlineAt: number } {
  const { state, policy } = run;
  const now = Date.now();
  if (!state.leaseRequestId) {
    // Unique per run chain and attempt, and the same on replay (a run id is not: replayers make one up).
    state.leaseRequestId = `${run.workflowId}/${workflowInfo().startTime.getTime()}/${state.attempts}`;
    state.waits.queuedAt = now;
    state.waits.queueDeadlineAt = now + durationMs(policy.timeouts.queue);
  }
  // Set with the request id, and carried with it across continue-as-new.
  const queuedAt = state.waits.queuedAt ?? now;
  const deadlineAt = state.waits.queueDeadlineAt ?? now + durationMs(policy.timeouts.queue);
  const request: LeaseRequest = {
    requestId: state.leaseRequestId,
    holderId: run.workflowId,
    // Sent, never compared in here, so replay (which makes run ids up) is unaffected.
    holderRunId: workflowInfo().runId,
    repo: state.routing!.repo,
    priority: state.issue!.priority,
    queuedAt,
  };
  return { request, queuedAt, deadlineAt };
}

/** The lease is the run's: its name and slot recorded, the queue's times cleared. */
function holdLease(run: Run, agentName: string, queuedAt: number): void {
  const { state } = run;
  state.leaseGranted = true;
  state.agentName = agentName;
  run.leaseQueuedAt = queuedAt;
  state.waits.queuedAt = null;
  state.waits.queueDeadlineAt = null;
  publishSearchAttributes(state);
}

/**
 * Asks the fleet by update from this workflow task (a local activity): true when it granted a
 * slot at once. False when the request waits in the fleet (its grant comes by signal, which
 * `acquireLease` waits for) or the fleet could not be asked this way (`acquireLease` asks by signal).
 */
export async function claimLease(run: Run): Promise<boolean> {
  const { state } = run;
  const { request, queuedAt } = leaseRequest(run);
  run.grant = null;
  run.note('queued', `asking the fleet for an agent slot on ${state.routing!.repo}`);
  let claim: Awaited<ReturnType<Run['acts']['local']['claimLease']>>;
  try {
    claim = await run.acts.local.claimLease({ fleetWorkflowId: run.policy.fleetWorkflowId, request });
  } catch (err) {
    if (isCancellation(err)) throw err;
    run.remember('queued', `could not ask the fleet by update; asking by signal: ${messageOf(err)}`);
    return false;
  }
  if ('unreachable' in claim) {
    run.remember('queued', `could not ask the fleet by update; asking by signal: ${claim.unreachable}`);
    return false;
  }
  if (!('granted' in claim) || claim.granted.requestId !== request.requestId) return false;
  holdLease(run, claim.granted.agentName, queuedAt);
  return true;
}

export async function acquireLease(run: Run): Promise<Ending | null> {
  const { state, policy } = run;
  const { request, queuedAt, deadlineAt } = leaseRequest(run);
  run.grant = null;
  run.note('queued', `waiting for an agent slot on ${state.routing!.repo}`);
  const askEvery = Math.max(durationMs(policy.timeouts.heartbeat) * ASK_AGAIN_EVERY_HEARTBEATS, 1_000);
  for (;;) {
    await askFleet(run, request);
    if (await run.waitUntil(() => run.grant !== null, Math.min(Date.now() + askEvery, deadlineAt))) break;
    if (Date.now() >= deadlineAt) return { outcome: 'queue-timeout', reason: `no agent slot on ${state.routing!.repo} within ${policy.timeouts.queue}` };
  }
  holdLease(run, run.grant!.agentName, queuedAt);
  return null;
}

async function askFleet(run: Run, request: LeaseRequest): Promise<void> {
  const fleet = getExternalWorkflowHandle(run.policy.fleetWorkflowId);
  try {
    await fleet.signal(requestLeaseSignal, request);
    return;
  } catch {
    // The fleet is gone (terminated, failed, never started on this queue): revive it. A revived
    // fleet rebuilds its ledger from the dispatched runs before it grants anything.
  }
  try {
    await run.acts.fleet.reviveFleet();
    await fleet.signal(requestLeaseSignal, request);
  } catch {
    // Still not there: the next ask tries again.
  }
}

/** Give the lease (or the pending request) back. Safe to call twice. */
export async function returnLease(run: Run): Promise<void> {
  const { state } = run;
  if (!state.leaseRequestId) return;
  const requestId = state.leaseRequestId;
  try {
    await getExternalWorkflowHandle(run.policy.fleetWorkflowId).signal(releaseLeaseSignal, { requestId, holderId: run.workflowId });
  } catch {
    // The fleet's holder check reclaims it once this run has closed.
  }
  state.leaseRequestId = null;
  state.leaseGranted = false;
  publishSearchAttributes(state);
}
