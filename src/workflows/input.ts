import type { DurationString } from '../domain/duration.js';
import type { IssueRunState } from './state.js';

/** Everything a run needs that is not in the tracker: deadlines and limits, from config. */
export interface LinePolicy {
  timeouts: {
    agentIdle: DurationString;
    agentTotal: DurationString;
    prOpen: DurationString;
    ci: DurationString;
    review: DurationString;
    escalation: DurationString;
    /** How long the publish step waits for the host holding the agent's worktree to take it before
     * re-dispatching elsewhere; absent in runs started before host affinity. */
    hostGone?: DurationString;
    /** How long a held issue waits for `/conveyor release`; absent in runs started before holds. */
    hold?: DurationString;
    queue: DurationString;
    heartbeat: DurationString;
  };
  maxRedispatch: number;
  budgetUsd: number | null;
  fleetWorkflowId: string;
  /** Continue-as-new once history passes this many events (or when Temporal suggests it). */
  continueAsNewAfterEvents: number;
  /** Activity retry tuning; tests shrink it. */
  retry: { initialInterval: DurationString; maximumAttempts: number };
  /**
   * `policies.payloadLimit` in bytes: the bound for text the run builds from several texts
   * (feedback from CI failures or review comments) with `boundText` from domain/bounded-text.
   * Absent in runs started before it existed: use DEFAULT_PAYLOAD_LIMIT.
   */
  payloadLimit?: number;
  /** `temporal.worker.localActivities`: false keeps triage and the lease claim in ordinary
   * activity tasks (workflow workers without activities). Absent: true. */
  localActivities?: boolean;
  /** How endings settle (issue-level limits, blocking); absent in runs started before it existed. */
  endings?: EndingsPolicy;
}

export interface EndingsPolicy {
  /** Retry-later endings (infrastructure) get this many more runs, each after `retryBackoff`, then block. */
  retryLaterRuns: number;
  retryBackoff: DurationString;
  /** The label that marks an issue ready for the factory, and the one that replaces it when blocked. */
  readyLabel: string;
  blockedLabel: string;
  /** A stalled agent is tried again once; the second stall since the last go-ahead blocks. */
  maxStalls: number;
  /** A merge refused as not yet mergeable is tried again on the same head this many times. */
  mergeRetries: number;
  mergeRetryBackoff: DurationString;
}

export interface IssueRunInput {
  issueId: string;
  /** Shown in the Web UI before triage has read the issue; never trusted. */
  issueKey?: string;
  policy: LinePolicy;
  /** Carried across continue-as-new. */
  resume?: IssueRunState;
}

export interface FleetInput {
  capacity: import('./messages.js').FleetCapacity;
  /** The fingerprint of `capacity` (see FleetConfiguration). */
  fingerprint: string;
  /** Carried across continue-as-new. Absent (a fresh or revived fleet): the ledger is rebuilt
   * from the dispatched runs before anything is granted. */
  state?: import('./state.js').FleetState;
}
