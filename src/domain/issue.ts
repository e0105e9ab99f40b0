// Plain data shared by workflows, activities, the gateway and the sandbox. No I/O here:
// workflow code imports this module, so it must stay deterministic and free of Node built-ins.

/** Linear's workflow state types. */
export type StateType = 'triage' | 'backlog' | 'unstarted' | 'started' | 'completed' | 'canceled';

/** Done or cancelled: an issue in such a state blocks nothing. */
export function isFinishedState(type: StateType): boolean {
  return type === 'completed' || type === 'canceled';
}

/** An issue as the tracker reports it, read fresh each time it matters. */
export interface TrackerIssue {
  /** The tracker's stable id (a UUID in Linear); never changes when the issue moves team. */
  id: string;
  /** The human key, e.g. `ENG-12`; changes when the issue moves team. */
  key: string;
  title: string;
  description: string;
  url: string;
  team: { id: string; key: string };
  project: string | null;
  labels: string[];
  /** Linear priority: 0 none, 1 urgent … 4 low. */
  priority: number;
  state: { name: string; type: StateType };
  assignee: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A pull request as the forge reports it. */
export interface PullRequest {
  number: number;
  url: string;
  repo: string;
  headRef: string;
  headSha: string;
  baseRef: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  /** null while GitHub is still computing it. */
  mergeable: boolean | null;
}

export type ChecksState = 'pending' | 'success' | 'failure';
export type ReviewDecision = 'APPROVED' | 'CHANGES_REQUESTED' | 'REVIEW_REQUIRED';

/** The required checks of one commit, folded into one verdict. */
export interface ChecksSummary {
  sha: string;
  state: ChecksState;
  /** Failed checks with their finished summaries, used as feedback for the next attempt. */
  failures: Array<{ name: string; summary: string }>;
}

/** A change request made on an older head than the PR's current one. */
export interface StaleChangeRequest {
  reviewer: string;
  /** The commit the change request was made on (null when GitHub no longer knows it). */
  sha: string | null;
}

/**
 * The reviews of one PR folded for its current head: only reviewers with write access count,
 * the factory's own account never does, and an approval counts only on the head it was made
 * on (unless the repo sets `approvalSurvivesPush`).
 */
export interface ReviewSummary {
  decision: ReviewDecision;
  /** Bodies of the change requests standing on the current head, newest last. */
  requestedChanges: string[];
  /** The head SHA the decision was made for. Absent in runs recorded before it existed. */
  sha?: string;
  /**
   * Change requests made on an older head and not yet answered by a review of the current one:
   * they no longer re-dispatch (the agent has pushed since), but they keep the decision at
   * REVIEW_REQUIRED until their reviewer reviews again or the review is dismissed.
   */
  staleChangeRequests?: StaleChangeRequest[];
}

/** Everything the merge gate needs, read from the forge in one go. */
export interface PullRequestStatus {
  pr: PullRequest;
  checks: ChecksSummary;
  review: ReviewSummary;
}

export type MergeResult =
  | { merged: true; sha: string }
  | {
      merged: false;
      /**
       * `not-ready`: GitHub has not computed mergeability yet, or the base just moved (try the same
       * head again shortly); `conflict`: the head conflicts with the base (`conflicts` names the
       * files when known); `head-moved`: a push landed since the gate read; `not-mergeable`:
       * anything else GitHub refuses (branch protection); `closed`.
       */
      reason: 'head-moved' | 'not-ready' | 'conflict' | 'not-mergeable' | 'closed';
      message: string;
      conflicts?: string[];
    };
