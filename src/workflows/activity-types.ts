// The activities as the workflows see them: types only, so no I/O code enters the bundle.
import type { MergeResult, PullRequest, PullRequestStatus, TrackerIssue } from '../domain/issue.js';
import type { BlockingIssue, Graduation, RouteTrace, TriageCategory } from '../domain/routing.js';
import type { IssueLedger, Lease, Routing } from './state.js';
import type { LeaseClaim, LeaseRequest } from './messages.js';

export interface TriageResult {
  decision: 'dispatch' | 'escalate' | 'ignore';
  reason: string;
  issue: TrackerIssue | null;
  routing: Routing | null;
  /** Escalations an operator may approve past (thin); unroutable or reserved issues may not. */
  overridable: boolean;
  // Optional, so results recorded before they existed still read. Absent on old runs.
  /** Which kind of decision this is (the escalation's kind, or why it was ignored). */
  category?: TriageCategory;
  /** How routing decided: the rules that fired, whether the team's defaultRepo was used, the
   * candidates when it could not decide. */
  route?: RouteTrace;
  /** Unfinished issues blocking this one (Linear "blocks" relations). When non-empty the
   * decision is `escalate` with `overridable: false` and category `blocked`: the issue must
   * wait, not be approved past. The run re-triages when the tracker signals it (the gateway
   * sends `trackerEvent` to each blocked run when a blocker changes state). */
  blockedBy?: BlockingIssue[];
  /** When the unfinished blockers lead back to this issue: the keys around the cycle, this
   * issue first and last. Waiting cannot end it; escalate (the reason says which relation). */
  blockerCycle?: string[];
  /** Set while the routed repo's `on-green-with-review` waits for graduation: routing's
   * mergePolicy is then `never`. */
  graduating?: Graduation;
  /** A model's suggestion for a thin issue (drafted acceptance criteria) or an unroutable one
   * (one of the candidate repos), when the triage advisor is configured. Advice only: the
   * escalation comment shows it, and nothing dispatches on it (a human edit or `/conveyor
   * approve` does). Absent when the advisor is off, failed or answered nonsense. */
  advice?: TriageAdvice;
}

/** What the triage advisor suggested, and what asking cost. */
export interface TriageAdvice {
  /** What it suggests, as it appears in the escalation comment (already checked: criteria are
   * non-empty, a repo is one of the candidates). */
  text: string;
  /** `criteria` for a thin issue, `repo` for an unroutable one. */
  kind: 'criteria' | 'repo';
  /** The suggested repo (kind `repo`): always one of the route's candidates. */
  repo?: string;
  provider: 'anthropic' | 'openai';
  model: string;
  /** US dollars: the response's own figure when it gives one, else tokens × the configured price;
   * absent when neither is known. */
  costUsd?: number;
  tokens: { input: number; output: number };
}

export interface AgentRunInput {
  issue: TrackerIssue;
  routing: Routing;
  branch: string;
  agentName: string;
  attempt: number;
  feedback: string | null;
  workflowId: string;
  idleTimeout: string;
  heartbeatInterval: string;
  /** Reuse a worktree this host prepared this recently instead of fetching again. */
  reuseWorkspaceWithinMs?: number;
  /** US dollars the issue may still spend (policy.budgetUsd minus the cost of its earlier
   * attempts); past it, as the agent's stream reports it, the agent is stopped and the activity
   * fails with type `budget-exceeded`. Absent or null: no budget. */
  budgetRemainingUsd?: number | null;
  /** The previous attempt's session (AgentRunResult.sessionId), resumed on a re-dispatch with
   * feedback where the provider can (claude, codex on the same host); else a new session. */
  resumeSessionId?: string | null;
  /** The run publishes (pushes) in its own activity: the agent activity ends with the commits in
   * the worktree. Absent in runs started before the split: the agent activity pushes too. */
  publishSeparately?: boolean;
  /** When this attempt asked the fleet for its lease (ms since epoch): the worker's lease-wait histogram. */
  queuedAt?: number;
}

export interface AgentRunResult {
  /** Commits on the branch ahead of the base after the agent finished (and the factory pushed). */
  commits: number;
  /** The agent's finished summary (already redacted), never its streamed output. */
  summary: string;
  costUsd: number;
  /** The agent CLI's session (claude's session id, codex's thread id); null for plain commands. */
  sessionId?: string | null;
  tokens?: { input: number; output: number } | null;
  /** The host that ran the agent, and so holds its worktree and unpushed commits. */
  host?: AgentHost;
}

/** A worker host, and the task queue only it polls (`hostTaskQueue`). */
export interface AgentHost {
  id: string;
  taskQueue: string;
}

/** What a failed agent activity carries in its ApplicationFailure details: spend is counted even
 * when the attempt failed. */
export interface AgentFailureDetails {
  costUsd: number;
}

export interface PublishInput {
  issue: TrackerIssue;
  routing: Routing;
  branch: string;
  summary: string;
  /** Push the worktree's commits first (the run split publishing from the agent). Never resets
   * the worktree: a failed push is retried with the same commits. */
  push?: boolean;
}

// One interface per part of the outside world, so a station's proxy can only call its own
// part's activities (`tracker.cleanupWorkspace` does not type-check).
export interface TrackerActivities {
  triageIssue(input: { issueId: string; workflowId: string }): Promise<TriageResult>;
  moveIssue(input: { issueId: string; stateName: string }): Promise<void>;
  /** Posts `body`; with a `marker`, the comment carries it hidden and a retried post that finds
   * it already there posts nothing (idempotent across attempt timeouts). */
  commentOnIssue(input: { issueId: string; body: string; marker?: string }): Promise<void>;
  /** Adds and removes labels (blocking swaps the ready label for the blocked one). Idempotent. */
  relabelIssue(input: { issueId: string; add: string[]; remove: string[] }): Promise<void>;
}

export interface ForgeActivities {
  publishPullRequest(input: PublishInput): Promise<PullRequest>;
  readPullRequest(input: { repo: string; number: number; baseRef: string }): Promise<PullRequestStatus>;
  mergePullRequest(input: { repo: string; number: number; sha: string }): Promise<MergeResult>;
  closePullRequest(input: { repo: string; number: number; comment: string }): Promise<void>;
  deleteBranch(input: { repo: string; branch: string }): Promise<void>;
}

export interface WorkspaceActivities {
  /** Fetch and check out the issue's worktree ahead of the agent, while the run waits for a
   * slot; the agent activity reuses it when it runs on the same host soon after. */
  prepareWorkspace(input: { repo: string; branch: string; baseBranch: string; issueKey: string }): Promise<void>;
  cleanupWorkspace(input: { workflowId: string; branch: string; repo: string }): Promise<void>;
}

export interface AgentActivities {
  runAgent(input: AgentRunInput): Promise<AgentRunResult>;
}

/** The issue's ledger across runs, read from Temporal (the memo of its latest closed run). */
export interface LedgerActivities {
  readIssueLedger(input: { workflowId: string }): Promise<IssueLedger | null>;
}

/** Everything the issue line's worker provides. */
export type LineActivities = TrackerActivities & ForgeActivities & WorkspaceActivities & AgentActivities;

export interface FleetActivities {
  /** Of these holder runs, the run ids that are not open: one visibility query (chunked). */
  findClosedHolders(input: { holders: Array<{ workflowId: string; runId: string }> }): Promise<string[]>;
  /** The leases the open issue runs of this task queue hold (their ConveyorLease search
   * attribute): what a fresh or revived fleet rebuilds its ledger from. */
  listLeaseHolders(): Promise<Lease[]>;
  /** Start the fleet with this worker's configuration if it is not running; never reconfigures
   * a running one. Called by an issue run that could not signal the fleet. */
  reviveFleet(): Promise<void>;
  /**
   * Ask the fleet for a lease by update, from the asking run's workflow task (a local activity):
   * the grant if a slot is free now, else `queued` (the request waits in the fleet, and its grant
   * comes as a signal). A fleet that is gone is revived first. `unreachable` when it cannot be
   * asked this way (the run asks by signal, which needs no answer).
   */
  claimLease(input: { fleetWorkflowId: string; request: LeaseRequest }): Promise<LeaseClaim | { unreachable: string }>;
}
