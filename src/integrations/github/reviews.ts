import type { ReviewSummary } from '../../domain/issue.js';

export interface ReviewInput {
  id: number;
  user: { login: string } | null;
  state: string;
  body: string | null;
  submitted_at?: string | null;
}

/**
 * GitHub's review decision: each reviewer's latest approving, change-requesting or dismissed
 * review stands (comments do not override it); any outstanding change request wins, then any
 * approval, else a review is still required.
 */
export function foldReviews(reviews: ReviewInput[]): ReviewSummary {
  const standing = new Map<string, ReviewInput>();
  for (const review of [...reviews].sort((a, b) => a.id - b.id)) {
    const login = review.user?.login;
    if (!login) continue;
    if (review.state === 'APPROVED' || review.state === 'CHANGES_REQUESTED') standing.set(login, review);
    else if (review.state === 'DISMISSED') standing.delete(login);
  }
  const current = [...standing.values()].sort((a, b) => a.id - b.id);
  const changes = current.filter((r) => r.state === 'CHANGES_REQUESTED');
  const decision = changes.length > 0 ? 'CHANGES_REQUESTED' : current.some((r) => r.state === 'APPROVED') ? 'APPROVED' : 'REVIEW_REQUIRED';
  return { decision, requestedChanges: changes.map((r) => r.body ?? '').filter((body) => body.length > 0) };
}
