// The activities as the workflows see them: types only, so no I/O code enters the bundle.
import type { MergeResult, PullRequest, PullRequestStatus, TrackerIssue } from '../domain/issue.js';
import type { IssueLedger, Lease, Routing } from './state.js';

export interface TriageResult {
  decision: 'dispatch' | 'escalate' | 'ignore';
  reason: string;
  issue: TrackerIssue | null;
  routing: Routing | null;
  /** Escalations an operator may approve past (thin); unroutable or reserved issues may not. */
  overridable: boolean;
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
  /** The run publishes (pushes) in its own activity: the agent activity ends with the commits in
   * the worktree. Absent in runs started before the split: the agent activity pushes too. */
  publishSeparately?: boolean;
}

export interface AgentRunResult {
  /** Commits on the branch ahead of the base after the agent finished (and the factory pushed). */
  commits: number;
  /** The agent's finished summary (already redacted), never its streamed output. */
  summary: string;
  costUsd: number;
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
}
