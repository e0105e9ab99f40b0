// The state of the two workflows as plain data: it travels through queries and
// continue-as-new, where a Map or a Date would not survive (payloads are JSON).
import type { FailureClass } from '../domain/failure.js';
import type { PullRequest, TrackerIssue } from '../domain/issue.js';
import type { FleetCapacity, LeaseRequest } from './messages.js';

export type Phase =
  | 'triage'
  | 'escalated'
  | 'queued'
  | 'dispatched'
  | 'awaiting-pr'
  | 'merge-gate'
  | 'closing'
  | 'releasing'
  | 'done';

/** How a run ended. Each deadline and branch of the line has its own named outcome. */
export type Outcome =
  | 'merged'
  | 'closed-synthetic'
  | 'ignored'
  | 'agent-failed'
  | 'agent-stalled'
  | 'agent-timeout'
  | 'no-pr'
  | 'pr-closed'
  | 'ci-timeout'
  | 'review-timeout'
  | 'escalation-timeout'
  | 'redispatch-limit'
  | 'budget-exceeded'
  | 'aborted'
  | 'failed';

export type MergePolicy = 'never' | 'on-green-with-review';

/** Where triage sent an issue, and why. */
export interface Routing {
  repo: string;
  baseBranch: string;
  mergePolicy: MergePolicy;
  agent: string;
  synthetic: boolean;
  states: { ready: string; inProgress: string; inReview: string; done: string };
}

export interface IssueRunState {
  issueId: string;
  issueKey: string | null;
  phase: Phase;
  outcome: Outcome | null;
  /** Why the run is where it is: the triage reason, the escalation, the last failure. */
  reason: string | null;
  failureClass: FailureClass | null;
  issue: TrackerIssue | null;
  routing: Routing | null;
  branch: string | null;
  pr: PullRequest | null;
  /** Agent runs so far (first dispatch included). */
  attempts: number;
  redispatches: number;
  costUsd: number;
  agentName: string | null;
  /** The lease request this run holds or waits for, so release can return it. */
  leaseRequestId: string | null;
  leaseHeld: boolean;
  feedback: string | null;
  /** The last delivery ids seen, newest last; a redelivered id is dropped. Bounded. */
  seenDeliveries: string[];
  history: Array<{ at: string; phase: Phase; note: string }>;
}

export interface Lease {
  requestId: string;
  holderId: string;
  repo: string;
  agentName: string;
  grantedAt: number;
}

export interface FleetState {
  capacity: FleetCapacity;
  paused: boolean;
  leases: Lease[];
  /** Waiting requests, kept sorted: priority 1..4 first, 0 last, then by queue time. */
  waiting: LeaseRequest[];
  /** Request ids already granted or released, so a replayed signal has no effect. Bounded. */
  doneRequestIds: string[];
  /** Highest number of leases ever held at once: the proof that caps held. */
  maxConcurrentLeases: number;
  grantsTotal: number;
  reclaimedTotal: number;
}
