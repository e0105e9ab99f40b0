// The state of the two workflows as plain data: it travels through queries and
// continue-as-new, where a Map or a Date would not survive (payloads are JSON).
import type { FailureClass } from '../domain/failure.js';
import type { PullRequest, TrackerIssue } from '../domain/issue.js';
import type { AgentHost } from './activity-types.js';
import type { FleetCapacity, LeaseRequest, OperatorCommand } from './messages.js';

export type Phase =
  | 'triage'
  | 'escalated'
  /** Waiting for the issues that block it (Linear relations) to finish; woken by their webhooks or the sweep. */
  | 'waiting-on-blockers'
  /** An operator held the issue (`/conveyor hold`): no agent starts until `/conveyor release`. */
  | 'held'
  | 'queued'
  | 'dispatched'
  | 'awaiting-pr'
  | 'merge-gate'
  | 'closing'
  | 'releasing'
  /** A retry-later ending: the run waits out its backoff, then tries again as a new run. */
  | 'waiting-to-retry'
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
  /** Held by an operator and never released within `policies.timeouts.hold`. */
  | 'hold-timeout'
  | 'queue-timeout'
  | 'redispatch-limit'
  | 'budget-exceeded'
  | 'aborted'
  /** The agent activity's worker stopped heartbeating (host lost, killed) past its retries. */
  | 'worker-lost'
  | 'failed';

/** Every outcome, once (a Record, so a new outcome does not compile until it is listed): metrics and `conveyor routes` enumerate them. */
const EVERY_OUTCOME: Record<Outcome, true> = {
  merged: true,
  'closed-synthetic': true,
  ignored: true,
  'agent-failed': true,
  'agent-stalled': true,
  'agent-timeout': true,
  'no-pr': true,
  'pr-closed': true,
  'ci-timeout': true,
  'review-timeout': true,
  'escalation-timeout': true,
  'hold-timeout': true,
  'queue-timeout': true,
  'redispatch-limit': true,
  'budget-exceeded': true,
  aborted: true,
  'worker-lost': true,
  failed: true,
};
export const OUTCOMES = Object.keys(EVERY_OUTCOME) as readonly Outcome[];

/**
 * What an ending means for the issue (DESIGN "An ending is final"): done, nothing to do, try
 * again later on its own (infrastructure), or blocked until a human acts.
 */
export type EndingKind = 'success' | 'ignored' | 'retry-later' | 'blocked';

export interface LedgerEnding {
  outcome: Outcome;
  kind: EndingKind;
  at: number;
  reason: string;
}

/**
 * What an issue has cost across all its runs, carried from run to run (the memo of each run,
 * read by the next) so limits hold for the issue, not the run. `sinceGoAhead` counts since the
 * last human act that started the issue again (label re-added, `/conveyor retry`): the limits
 * apply to it, so a human who says "go again" gets a fresh budget, and nothing else does.
 */
export interface IssueLedger {
  /** Runs that ended (retry-later continuations included). */
  runs: number;
  agentRuns: number;
  costUsd: number;
  sinceGoAhead: { agentRuns: number; costUsd: number; retries: number; stalls: number };
  /** The last endings, newest last; bounded. */
  endings: LedgerEnding[];
}

export const EMPTY_LEDGER: IssueLedger = { runs: 0, agentRuns: 0, costUsd: 0, sinceGoAhead: { agentRuns: 0, costUsd: 0, retries: 0, stalls: 0 }, endings: [] };

/** Where on the line a run is; a continued run resumes at this station. */
export type Station = 'triage' | 'dispatch' | 'publish' | 'gate' | 'redispatch-escalation';

/**
 * Everything a wait needs, as absolute times and markers, so a run continued as new in the
 * middle of a wait keeps its deadline and posts nothing twice.
 */
export interface Waits {
  /** When the current escalation (triage or re-dispatch limit) times out; null when none. */
  escalationDeadlineAt: number | null;
  /** An operator approved dispatching a thin issue as it is. */
  approved: boolean;
  /** When the run first asked for an agent slot for the current attempt, and its deadline. */
  queuedAt: number | null;
  queueDeadlineAt: number | null;
  /** The head SHA CI is being waited for, and when that wait ends. */
  ciSha: string | null;
  ciDeadlineAt: number | null;
  reviewDeadlineAt: number | null;
  /** The head SHA the review window was opened for; absent in older runs (one window per run). */
  reviewSha?: string | null;
  /** A head SHA the forge refused to merge: not tried again until the head moves. */
  refusedSha: string | null;
  /** Merge attempts refused as not yet mergeable (mergeability being computed, base moved) on
   * `mergeRetrySha`; retried with backoff up to policies.mergeRetries. Absent in older runs. */
  mergeRetrySha?: string | null;
  mergeRetries?: number;
  /** When the current hold ends the run as `hold-timeout`; absent in older runs. */
  holdDeadlineAt?: number | null;
}

export const NO_WAITS: Waits = {
  escalationDeadlineAt: null,
  approved: false,
  queuedAt: null,
  queueDeadlineAt: null,
  ciSha: null,
  ciDeadlineAt: null,
  reviewDeadlineAt: null,
  refusedSha: null,
};

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
  station: Station;
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
  /** Whether that request was granted: published as the ConveyorLease search attribute, from
   * which a revived fleet rebuilds its ledger. */
  leaseGranted: boolean;
  /** What the next agent run is asked to address (CI failures, requested changes); bounded. */
  feedback: string | null;
  waits: Waits;
  /** Markers of comments already posted by this run chain: a continuation never posts twice. */
  posted: string[];
  /** Operator commands not yet acted on, kept across continue-as-new. */
  operatorQueue: OperatorCommand[];
  /** The last delivery ids seen, newest last; a redelivered id is dropped. Bounded. */
  seenDeliveries: string[];
  history: Array<{ at: string; phase: Phase; note: string }>;
  /** The issue's ledger across runs; absent in runs started before it existed. */
  ledger?: IssueLedger;
  /** The agent's commits are in the worktree but not yet pushed (the publish station). */
  unpublished?: { summary: string; host?: AgentHost } | null;
  /** The host that ran the last agent attempt and holds its worktree (host-affinity runs). */
  host?: AgentHost | null;
  /** The agent session a re-dispatch resumes (providers that support it). */
  sessionId?: string | null;
  /** Set by `/conveyor hold`, cleared by `/conveyor release`: no agent starts while it is set. */
  hold?: { by: string; at: string } | null;
}

export interface Lease {
  requestId: string;
  holderId: string;
  /** The run that holds it: a closed run's lease is reclaimed even when its workflow id runs again. */
  holderRunId: string;
  repo: string;
  agentName: string;
  /** When the fleet granted it, moved it to a continued run, or rebuilt it from visibility. */
  grantedAt: number;
}

export interface FleetState {
  capacity: FleetCapacity;
  /** The fingerprint of `capacity`, as its configurer computed it. */
  fingerprint: string;
  /** Who set the current configuration (null: as the fleet was started), and when. */
  configuredBy: string | null;
  configuredAt: number | null;
  paused: boolean;
  leases: Lease[];
  /** Waiting requests, kept sorted: priority 1..4 first, 0 last, then by queue time. */
  waiting: LeaseRequest[];
  /** Request ids already granted or released, so a replayed signal has no effect. Bounded. */
  doneRequestIds: string[];
  /** When the ledger was rebuilt from the dispatched runs; null: not yet, so nothing is granted. */
  rebuiltAt: number | null;
  /** The last holder check (or rebuild) that succeeded. */
  lastHolderCheckAt: number | null;
  /** Why the last holder check (or rebuild) failed, until one succeeds; the fleet retries each interval. */
  lastHolderCheckError: string | null;
  lastHolderCheckErrorAt: number | null;
  /** Input the fleet ignored (malformed signals) and leases it reclaimed by age. Newest last, bounded. */
  notes: Array<{ at: number; note: string }>;
  /** Highest number of leases ever held at once: the proof that caps held. */
  maxConcurrentLeases: number;
  grantsTotal: number;
  /** Leases taken back from holders that never returned them (closed runs, too old). */
  reclaimedTotal: number;
}
