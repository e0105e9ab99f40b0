import type { PullHistoryEntry } from '../domain/graduation.js';
import type { ChecksSummary, MergeResult, PullRequest, ReviewSummary } from '../domain/issue.js';

/**
 * The forge as Conveyor uses it. Implemented over `@octokit/rest` (`github-forge.ts`).
 * `repo` is always `owner/name`.
 */
export interface Forge {
  /** Clone URL for the repo; never carries credentials (auth goes through `gitAuthEnv`). */
  cloneUrl(repo: string): string;
  /** Environment for git subprocesses run by the factory (not the agent): auth via header. */
  gitAuthEnv(): Promise<Record<string, string>>;
  /** Push `branch` from a local worktree; returns the pushed head SHA. Never forces: a
   * non-fast-forward push is a `logic` error (someone else pushed to the factory's branch). */
  pushBranch(input: { repo: string; worktree: string; branch: string }): Promise<{ headSha: string }>;
  /** Opens a PR, or returns the open one for the same head branch (idempotent). */
  openPullRequest(input: { repo: string; head: string; base: string; title: string; body: string }): Promise<PullRequest>;
  /** The open PR for the head branch, else the newest closed or merged one, else null. */
  findPullRequest(repo: string, headBranch: string): Promise<PullRequest | null>;
  /** Open PRs whose head branch starts with `headPrefix` (the sweep lists factory PRs). All pages. */
  listOpenPullRequests(repo: string, headPrefix: string): Promise<PullRequest[]>;
  getPullRequest(repo: string, number: number): Promise<PullRequest>;
  /** The repo's most recent pull requests (any state, any branch), newest first, at most
   * `limit`; `mergedBy` is read for the merged ones whose head starts with `mergedByFor`. */
  pullHistory(repo: string, options: { limit: number; mergedByFor: string }): Promise<PullHistoryEntry[]>;
  /** The login the factory acts as on the forge (its own merges and reviews are not a human's). */
  factoryLogin(): Promise<string>;
  /** Required checks for `sha` folded into one verdict. No check reported yet is `pending`, never green. */
  getChecks(repo: string, sha: string, baseRef: string): Promise<ChecksSummary>;
  /**
   * The review decision for `headSha`, the PR's current head (read it with the PR): only an
   * approval made on that SHA by a reviewer with write access counts (unless the repo sets
   * `approvalSurvivesPush`), the factory's own reviews never do, and a change request on an
   * older head no longer reads as CHANGES_REQUESTED (see `foldReviews`).
   */
  getReviews(repo: string, number: number, headSha: string): Promise<ReviewSummary>;
  /** Merge pinned to `sha`: a moved head is a named outcome, not an exception. */
  merge(repo: string, number: number, sha: string): Promise<MergeResult>;
  closePullRequest(repo: string, number: number): Promise<void>;
  deleteBranch(repo: string, branch: string): Promise<void>;
  comment(repo: string, number: number, body: string): Promise<void>;
  /** Whether a comment on the PR contains `text` (a hidden marker): a retried write checks first. */
  hasComment(repo: string, number: number, text: string): Promise<boolean>;
}
