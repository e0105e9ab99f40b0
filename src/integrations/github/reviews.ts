import type { ReviewSummary } from '../../domain/issue.js';

/** A review as GitHub's "list reviews for a pull request" returns it (the fields read here). */
export interface ReviewInput {
  id: number;
  user: { login: string } | null;
  state: string;
  body: string | null;
  /** The PR head when the review was submitted; null once GitHub no longer has the commit. */
  commit_id: string | null;
  submitted_at?: string | null;
}

export interface FoldReviewsOptions {
  /** The login the factory acts as: its own reviews never count, whatever they say. */
  factoryLogin: string | null;
  /** Whether a reviewer may approve: admin, maintain or write on the repo. Others never count. */
  hasWriteAccess: (login: string) => boolean;
  /** Per repo (`repos[].approvalSurvivesPush`): an approval on an older head still counts. */
  approvalSurvivesPush?: boolean;
}

/**
 * The review decision for the PR's current head, `headSha`.
 *
 * As on GitHub, each counted reviewer's latest approving, change-requesting or dismissed review
 * stands (comments do not override it). Unlike GitHub's own `reviewDecision` without branch
 * protection, the head matters:
 * - an approval counts only if it was made on `headSha` (unless `approvalSurvivesPush`): what
 *   was approved is what gets merged;
 * - a change request on `headSha` is CHANGES_REQUESTED (the agent is sent back);
 * - a change request on an older head is stale: the agent has pushed since, so it must not send
 *   the agent back again, yet nobody has looked at the new head either. It keeps the decision at
 *   REVIEW_REQUIRED, whatever others approved, until its reviewer reviews the new head or the
 *   review is dismissed, and is listed in `staleChangeRequests`.
 * Reviews by the factory's own account and by reviewers without write access are ignored.
 */
export function foldReviews(reviews: ReviewInput[], headSha: string, options: FoldReviewsOptions): ReviewSummary {
  const self = options.factoryLogin?.toLowerCase() ?? null;
  const standing = new Map<string, ReviewInput & { user: { login: string } }>();
  for (const review of [...reviews].sort((a, b) => a.id - b.id)) {
    const login = review.user?.login;
    if (!login || login.toLowerCase() === self || !options.hasWriteAccess(login)) continue;
    const key = login.toLowerCase();
    if (review.state === 'APPROVED' || review.state === 'CHANGES_REQUESTED') standing.set(key, { ...review, user: { login } });
    else if (review.state === 'DISMISSED') standing.delete(key);
  }
  const current = [...standing.values()].sort((a, b) => a.id - b.id);
  const onHead = (review: ReviewInput) => review.commit_id === headSha;
  const changes = current.filter((r) => r.state === 'CHANGES_REQUESTED' && onHead(r));
  const stale = current.filter((r) => r.state === 'CHANGES_REQUESTED' && !onHead(r));
  const approved = current.some((r) => r.state === 'APPROVED' && (onHead(r) || options.approvalSurvivesPush === true));
  const decision = changes.length > 0 ? 'CHANGES_REQUESTED' : stale.length > 0 ? 'REVIEW_REQUIRED' : approved ? 'APPROVED' : 'REVIEW_REQUIRED';
  return {
    decision,
    requestedChanges: changes.map((r) => r.body ?? '').filter((body) => body.length > 0),
    sha: headSha,
    staleChangeRequests: stale.map((r) => ({ reviewer: r.user.login, sha: r.commit_id })),
  };
}

/** GitHub's legacy base roles that may approve: `maintain` is reported as `write`, `triage` as `read`. */
export function permissionCanApprove(permission: string | null | undefined): boolean {
  return permission === 'admin' || permission === 'maintain' || permission === 'write';
}
