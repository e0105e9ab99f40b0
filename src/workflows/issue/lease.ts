// An agent slot and name from the fleet, asked for by signal and granted by a reply signal
// (the mutex sample's shape). The request belongs to this run; the wait has a deadline and
// continues as new when history grows; a fleet that is gone is revived by the asker.
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { durationMs } from '../../domain/duration.js';
import { releaseLeaseSignal, requestLeaseSignal, type LeaseRequest } from '../messages.js';
import { publishSearchAttributes } from '../search-attributes.js';
import type { Ending, Run } from './run.js';

/** Asking again survives a fleet that lost the request (revived, or not yet started). */
const ASK_AGAIN_EVERY_HEARTBEATS = 10;

export async function acquireLease(run: Run): Promise<Ending | null> {
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
  run.grant = null;
  run.note('queued', `waiting for an agent slot on ${state.routing!.repo}`);
  const request: LeaseRequest = {
    requestId: state.leaseRequestId,
    holderId: run.workflowId,
    // Sent, never compared in here, so replay (which makes run ids up) is unaffected.
    holderRunId: workflowInfo().runId,
    repo: state.routing!.repo,
    priority: state.issue!.priority,
    queuedAt,
  };
  const askEvery = Math.max(durationMs(policy.timeouts.heartbeat) * ASK_AGAIN_EVERY_HEARTBEATS, 1_000);
  for (;;) {
    await askFleet(run, request);
    if (await run.waitUntil(() => run.grant !== null, Math.min(Date.now() + askEvery, deadlineAt))) break;
    if (Date.now() >= deadlineAt) return { outcome: 'queue-timeout', reason: `no agent slot on ${state.routing!.repo} within ${policy.timeouts.queue}` };
  }
  state.leaseGranted = true;
  state.agentName = run.grant!.agentName;
  run.leaseQueuedAt = queuedAt;
  state.waits.queuedAt = null;
  state.waits.queueDeadlineAt = null;
  publishSearchAttributes(state);
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
