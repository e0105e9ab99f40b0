// foldReviews: the review decision for the PR's current head. Guards issue 12's stale reviews:
// an approval of SHA A merging SHA B that no human saw, and a change request on A sending the
// agent back again and again after it pushed B.
import { describe, expect, it } from 'vitest';
import { foldReviews, permissionCanApprove, type FoldReviewsOptions, type ReviewInput } from '../../src/integrations/github/reviews.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const BOT = 'conveyor-bot';

let ids = 0;
function review(user: string, state: string, commit: string | null, body = ''): ReviewInput {
  ids += 1;
  return { id: ids, user: { login: user }, state, body, commit_id: commit, submitted_at: null };
}

const everyoneWrites: FoldReviewsOptions = { factoryLogin: BOT, hasWriteAccess: () => true };

describe('foldReviews', () => {
  it('ignores an approval made on an older head (approve A, the agent pushes B: B is not approved)', () => {
    const reviews = [review('alice', 'APPROVED', A)];
    expect(foldReviews(reviews, A, everyoneWrites).decision).toBe('APPROVED');
    expect(foldReviews(reviews, B, everyoneWrites)).toEqual({ decision: 'REVIEW_REQUIRED', requestedChanges: [], sha: B, staleChangeRequests: [] });
  });

  it('counts an approval on an older head when the repo sets approvalSurvivesPush', () => {
    const reviews = [review('alice', 'APPROVED', A)];
    expect(foldReviews(reviews, B, { ...everyoneWrites, approvalSurvivesPush: true }).decision).toBe('APPROVED');
  });

  it('no longer reads a change request on an older head as CHANGES_REQUESTED, but keeps it visible (no re-dispatch on a review of A once B is pushed)', () => {
    const reviews = [review('alice', 'CHANGES_REQUESTED', A, 'rename the handler')];
    expect(foldReviews(reviews, A, everyoneWrites)).toEqual({ decision: 'CHANGES_REQUESTED', requestedChanges: ['rename the handler'], sha: A, staleChangeRequests: [] });
    expect(foldReviews(reviews, B, everyoneWrites)).toEqual({ decision: 'REVIEW_REQUIRED', requestedChanges: [], sha: B, staleChangeRequests: [{ reviewer: 'alice', sha: A }] });
    // Surviving approvals do not make a stale change request go away either.
    expect(foldReviews(reviews, B, { ...everyoneWrites, approvalSurvivesPush: true }).decision).toBe('REVIEW_REQUIRED');
  });

  it('approves the head once the reviewer who asked for changes on an older head approves it', () => {
    const reviews = [review('alice', 'CHANGES_REQUESTED', A, 'rename the handler'), review('alice', 'APPROVED', B)];
    expect(foldReviews(reviews, B, everyoneWrites)).toEqual({ decision: 'APPROVED', requestedChanges: [], sha: B, staleChangeRequests: [] });
  });

  it("waits for the requester: another reviewer's approval of the head does not override a stale change request", () => {
    const reviews = [review('alice', 'CHANGES_REQUESTED', A, 'rename the handler'), review('bob', 'APPROVED', B)];
    expect(foldReviews(reviews, B, everyoneWrites)).toMatchObject({ decision: 'REVIEW_REQUIRED', staleChangeRequests: [{ reviewer: 'alice', sha: A }] });
    // A comment on the new head is no review decision: still waiting.
    expect(foldReviews([...reviews, review('alice', 'COMMENTED', B, 'looking')], B, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
  });

  it("never counts the factory's own reviews, whatever their case", () => {
    expect(foldReviews([review(BOT, 'APPROVED', B)], B, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
    expect(foldReviews([review('Conveyor-Bot', 'CHANGES_REQUESTED', B, 'self')], B, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
    expect(foldReviews([review('conveyor[bot]', 'APPROVED', B)], B, { ...everyoneWrites, factoryLogin: 'conveyor[bot]' }).decision).toBe('REVIEW_REQUIRED');
  });

  it('never counts a reviewer without write access, neither approving nor requesting changes', () => {
    const writers = new Set(['alice']);
    const options: FoldReviewsOptions = { factoryLogin: BOT, hasWriteAccess: (login) => writers.has(login) };
    expect(foldReviews([review('mallory', 'APPROVED', B)], B, options).decision).toBe('REVIEW_REQUIRED');
    expect(foldReviews([review('mallory', 'CHANGES_REQUESTED', B, 'no')], B, options).decision).toBe('REVIEW_REQUIRED');
    expect(foldReviews([review('mallory', 'APPROVED', B), review('alice', 'APPROVED', B)], B, options).decision).toBe('APPROVED');
  });

  it('drops a dismissed review: a dismissed change request no longer blocks, a dismissed approval no longer approves', () => {
    const approval = review('alice', 'APPROVED', B);
    const asked = review('bob', 'CHANGES_REQUESTED', B, 'add a test');
    expect(foldReviews([approval, asked], B, everyoneWrites).decision).toBe('CHANGES_REQUESTED');
    // GitHub rewrites a dismissed review's state in place.
    expect(foldReviews([approval, { ...asked, state: 'DISMISSED' }], B, everyoneWrites).decision).toBe('APPROVED');
    expect(foldReviews([{ ...approval, state: 'DISMISSED' }], B, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
    // A stale change request, once dismissed, stops holding the head back.
    expect(foldReviews([{ ...review('carol', 'CHANGES_REQUESTED', A, 'x'), state: 'DISMISSED' }, review('alice', 'APPROVED', B)], B, everyoneWrites).decision).toBe('APPROVED');
  });

  it("keeps each reviewer's latest decision, in submission order, with comments overriding nothing", () => {
    const reviews = [review('alice', 'APPROVED', B), review('alice', 'COMMENTED', B, 'nit'), review('bob', 'CHANGES_REQUESTED', B, 'first'), review('bob', 'APPROVED', B)];
    expect(foldReviews(reviews.reverse(), B, everyoneWrites)).toEqual({ decision: 'APPROVED', requestedChanges: [], sha: B, staleChangeRequests: [] });
  });

  it('treats a review whose commit GitHub no longer has (commit_id null) as made on another head', () => {
    expect(foldReviews([review('alice', 'APPROVED', null)], B, everyoneWrites).decision).toBe('REVIEW_REQUIRED');
    expect(foldReviews([review('alice', 'CHANGES_REQUESTED', null, 'x')], B, everyoneWrites).staleChangeRequests).toEqual([{ reviewer: 'alice', sha: null }]);
  });
});

describe('permissionCanApprove', () => {
  it('lets admin, maintain and write approve; triage, read and none not', () => {
    expect(['admin', 'maintain', 'write'].every(permissionCanApprove)).toBe(true);
    expect(['triage', 'read', 'none', '', null, undefined].some(permissionCanApprove)).toBe(false);
  });
});
