// The finer points of the review decision on the head: whose review is whose, what a change
// request hands the agent, and in which order. Real reviews come from GitHub's list-reviews
// endpoint, where a deleted account is `user: null` and a review body may be null or empty.
import { describe, expect, it } from 'vitest';
import { foldReviews, type FoldReviewsOptions, type ReviewInput } from '../../src/integrations/github/reviews.js';

const HEAD = 'c'.repeat(40);
const OLD = 'd'.repeat(40);
const everyoneWrites: FoldReviewsOptions = { factoryLogin: 'conveyor-bot', hasWriteAccess: () => true };

function review(id: number, login: string | null, state: string, commit: string | null = HEAD, body: string | null = ''): ReviewInput {
  return { id, user: login === null ? null : { login }, state, body, commit_id: commit };
}

describe('whose review counts', () => {
  it('skips a review whose author account is gone', () => {
    expect(foldReviews([review(1, null, 'APPROVED')], HEAD, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
    expect(foldReviews([review(1, null, 'CHANGES_REQUESTED', HEAD, 'x')], HEAD, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
  });

  it('treats two spellings of one login as one reviewer: the later review replaces the earlier', () => {
    const reviews = [review(1, 'Alice', 'CHANGES_REQUESTED', HEAD, 'fix it'), review(2, 'alice', 'APPROVED')];
    expect(foldReviews(reviews, HEAD, everyoneWrites)).toEqual({ decision: 'APPROVED', requestedChanges: [], sha: HEAD, staleChangeRequests: [] });
    expect(foldReviews([review(1, 'alice', 'APPROVED'), review(2, 'ALICE', 'DISMISSED')], HEAD, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
  });

  it('asks about write access with the login as GitHub spells it', () => {
    const asked: string[] = [];
    foldReviews([review(1, 'MixedCase', 'APPROVED')], HEAD, { factoryLogin: null, hasWriteAccess: (login) => (asked.push(login), true) });
    expect(asked).toEqual(['MixedCase']);
  });

  it('counts every reviewer when the factory has no login of its own', () => {
    expect(foldReviews([review(1, 'conveyor-bot', 'APPROVED')], HEAD, { factoryLogin: null, hasWriteAccess: () => true }).decision).toBe('APPROVED');
  });

  it('keeps approvals on an older head out unless the repo lets them survive a push (false is not "survives")', () => {
    expect(foldReviews([review(1, 'alice', 'APPROVED', OLD)], HEAD, { ...everyoneWrites, approvalSurvivesPush: false }).decision).toBe('REVIEW_REQUIRED');
  });
});

describe('what a change request hands back', () => {
  it("gives every standing request's body on the head, oldest first, and leaves out empty ones", () => {
    const reviews = [review(5, 'carol', 'CHANGES_REQUESTED', HEAD, 'add a test'), review(3, 'bob', 'CHANGES_REQUESTED', HEAD, null), review(2, 'alice', 'CHANGES_REQUESTED', HEAD, 'rename it'), review(4, 'dave', 'CHANGES_REQUESTED', HEAD, '')];
    expect(foldReviews(reviews, HEAD, everyoneWrites)).toEqual({ decision: 'CHANGES_REQUESTED', requestedChanges: ['rename it', 'add a test'], sha: HEAD, staleChangeRequests: [] });
  });

  it('decides CHANGES_REQUESTED on a request without a body too', () => {
    expect(foldReviews([review(1, 'alice', 'CHANGES_REQUESTED', HEAD, null)], HEAD, everyoneWrites)).toEqual({ decision: 'CHANGES_REQUESTED', requestedChanges: [], sha: HEAD, staleChangeRequests: [] });
  });

  it('puts a request on the head before one on an older head: the agent is sent back, and the stale one is listed', () => {
    const reviews = [review(1, 'alice', 'CHANGES_REQUESTED', OLD, 'old point'), review(2, 'bob', 'CHANGES_REQUESTED', HEAD, 'new point'), review(3, 'carol', 'APPROVED')];
    expect(foldReviews(reviews, HEAD, everyoneWrites)).toEqual({ decision: 'CHANGES_REQUESTED', requestedChanges: ['new point'], sha: HEAD, staleChangeRequests: [{ reviewer: 'alice', sha: OLD }] });
  });

  it('lists stale requests oldest first, by the reviewer as GitHub spells them', () => {
    const reviews = [review(9, 'Zed', 'CHANGES_REQUESTED', OLD, 'z'), review(4, 'Amy', 'CHANGES_REQUESTED', 'e'.repeat(40), 'a')];
    expect(foldReviews(reviews, HEAD, everyoneWrites).staleChangeRequests).toEqual([
      { reviewer: 'Amy', sha: 'e'.repeat(40) },
      { reviewer: 'Zed', sha: OLD },
    ]);
  });
});

describe('the order reviews are read in', () => {
  it('is by review id, not by list position: an approval after a change request stands', () => {
    const asked = review(10, 'alice', 'CHANGES_REQUESTED', HEAD, 'fix');
    const approved = review(11, 'alice', 'APPROVED');
    expect(foldReviews([approved, asked], HEAD, everyoneWrites).decision).toBe('APPROVED');
    expect(foldReviews([asked, approved], HEAD, everyoneWrites).decision).toBe('APPROVED');
  });

  it('orders standing requests by their latest review, not by when the reviewer first reviewed', () => {
    const reviews = [review(1, 'alice', 'CHANGES_REQUESTED', HEAD, 'first ask'), review(2, 'bob', 'CHANGES_REQUESTED', HEAD, 'bob asks'), review(3, 'alice', 'CHANGES_REQUESTED', HEAD, 'alice asks again')];
    expect(foldReviews(reviews, HEAD, everyoneWrites).requestedChanges).toEqual(['bob asks', 'alice asks again']);
    const stale = [review(1, 'alice', 'CHANGES_REQUESTED', OLD, 'a'), review(2, 'bob', 'CHANGES_REQUESTED', OLD, 'b'), review(3, 'alice', 'CHANGES_REQUESTED', 'e'.repeat(40), 'a2')];
    expect(foldReviews(stale, HEAD, everyoneWrites).staleChangeRequests).toEqual([
      { reviewer: 'bob', sha: OLD },
      { reviewer: 'alice', sha: 'e'.repeat(40) },
    ]);
  });

  it('does not reorder the list it was given', () => {
    const reviews = [review(2, 'alice', 'APPROVED'), review(1, 'bob', 'APPROVED')];
    foldReviews(reviews, HEAD, everyoneWrites);
    expect(reviews.map((r) => r.id)).toEqual([2, 1]);
  });
});
