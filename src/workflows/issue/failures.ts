// How an activity failure reads on the run: its class (search attribute, retries) and the
// outcome an agent failure maps to. Pure functions over the SDK's failure types.
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { FailureClass } from '../../domain/failure.js';
import type { Outcome } from '../state.js';

function causeOf(err: unknown): unknown {
  return err instanceof ActivityFailure && err.cause ? err.cause : err;
}

/**
 * The outcome of a failed agent activity. A missed heartbeat means the worker (not the agent)
 * went away: the agent's own silence is caught by its idle timer inside the activity. Runs on
 * the endings-final path say so (`worker-lost`, retried later); older runs called it a stall.
 */
export function agentOutcome(err: unknown, workerLostIsItsOwn = false): Outcome {
  const cause = causeOf(err);
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === TimeoutType.HEARTBEAT) return workerLostIsItsOwn ? 'worker-lost' : 'agent-stalled';
    return 'agent-timeout';
  }
  if (cause instanceof ApplicationFailure && (cause.type === 'agent-stalled' || cause.type === 'agent-timeout')) return cause.type;
  // The agent's stream reported spend past the budget and it was stopped.
  if (workerLostIsItsOwn && cause instanceof ApplicationFailure && cause.type === 'budget-exceeded') return 'budget-exceeded';
  return 'agent-failed';
}

const KNOWN: readonly string[] = ['transient', 'auth', 'logic', 'resource', 'timeout'] satisfies FailureClass[];

export function failureClassOf(err: unknown): FailureClass {
  const cause = causeOf(err);
  if (cause instanceof TimeoutFailure) return 'timeout';
  if (cause instanceof ApplicationFailure) {
    const type = cause.type ?? '';
    if (KNOWN.includes(type)) return type as FailureClass;
    if (type === 'agent-stalled' || type === 'agent-timeout') return 'timeout';
  }
  return 'unknown';
}

export function messageOf(err: unknown): string {
  const cause = causeOf(err);
  return cause instanceof Error ? cause.message : String(cause);
}
