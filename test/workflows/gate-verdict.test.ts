// The merge gate's decisions, read by read, without Temporal: what ends the run, what goes back
// to the agent and in which words, which clock starts when, and what a refused merge leaves
// behind. The words matter: they are the agent's feedback and the operator's comment.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAYLOAD_LIMIT } from '../../src/domain/bounded-text.js';
import type { ChecksSummary, MergeResult, PullRequest, PullRequestStatus, ReviewSummary } from '../../src/domain/issue.js';
import type { LinePolicy } from '../../src/workflows/input.js';
import { gateVerdict, refusalVerdict } from '../../src/workflows/issue/gate.js';
import { NO_WAITS, type Routing, type Waits } from '../../src/workflows/state.js';

// Written out rather than taken from the scripted line's helpers: those load the Temporal
// client, and this file runs once per mutant under `npm run mutation`.
const policy: LinePolicy = {
  timeouts: { agentIdle: '5s', agentTotal: '30s', prOpen: '10s', ci: '60s', review: '7d', escalation: '30s', queue: '60s', heartbeat: '300ms' },
  maxRedispatch: 3,
  budgetUsd: null,
  fleetWorkflowId: 'fleet',
  continueAsNewAfterEvents: 2_000,
  retry: { initialInterval: '100ms', maximumAttempts: 3 },
};
const neverMerges: Routing = { repo: 'acme/widgets', baseBranch: 'main', mergePolicy: 'never', agent: 'claude', synthetic: false, states: { ready: 'Todo', inProgress: 'In Progress', inReview: 'In Review', done: 'Done' } };
const autoMerges: Routing = { ...neverMerges, mergePolicy: 'on-green-with-review' };
const now = 5_000_000;
const HEAD = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const CI_MS = 60_000;
const REVIEW_MS = 7 * 24 * 3_600_000;

const pr = (patch: Partial<PullRequest> = {}): PullRequest => ({ number: 42, url: 'https://gh/pr/42', repo: neverMerges.repo, headRef: 'conveyor/eng-1-x', headSha: HEAD, baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true, ...patch });
function status(checks: Partial<ChecksSummary> = {}, review: Partial<ReviewSummary> = {}, prPatch: Partial<PullRequest> = {}): PullRequestStatus {
  const p = pr(prPatch);
  return { pr: p, checks: { sha: p.headSha, state: 'success', failures: [], ...checks }, review: { decision: 'REVIEW_REQUIRED', requestedChanges: [], ...review } };
}
const gate = (s: PullRequestStatus, routing: Routing = neverMerges, waits: Waits = NO_WAITS, at = now, p = policy) => gateVerdict(s, waits, { routing, policy: p, now: at });

describe('a PR that is already done', () => {
  it('ends the run as merged when a human merged it, whatever CI or review say', () => {
    expect(gate(status({ state: 'failure', failures: [{ name: 'ci', summary: 'red' }] }, { decision: 'CHANGES_REQUESTED' }, { merged: true, state: 'closed' }))).toEqual({
      verdict: { kind: 'end', outcome: 'merged', reason: 'PR #42 was merged' },
      waits: NO_WAITS,
    });
  });

  it('ends the run as pr-closed when it was closed without merge, even with CI still running', () => {
    expect(gate(status({ state: 'pending' }, {}, { state: 'closed' }))).toEqual({
      verdict: { kind: 'end', outcome: 'pr-closed', reason: 'PR #42 was closed without merge' },
      waits: NO_WAITS,
    });
  });
});

describe('red CI', () => {
  it('sends every failed check back to the agent, one per line, with the short head SHA', () => {
    const red = gate(status({ state: 'failure', failures: [{ name: 'unit', summary: '2 tests failed' }, { name: 'lint', summary: 'no-unused-vars' }] }));
    expect(red).toEqual({ verdict: { kind: 'redispatch', feedback: 'CI failed on aaaaaaa:\n- unit: 2 tests failed\n- lint: no-unused-vars' }, waits: NO_WAITS });
  });

  it('outranks an approval and a synthetic issue: a red head is never merged nor closed as passed', () => {
    const red = status({ state: 'failure', failures: [{ name: 'unit', summary: 'x' }] }, { decision: 'APPROVED' });
    expect(gate(red, autoMerges).verdict.kind).toBe('redispatch');
    expect(gate(red, { ...autoMerges, synthetic: true }).verdict.kind).toBe('redispatch');
  });

  it('cuts the feedback to the configured payload limit, not only the default one', () => {
    const small = { ...policy, payloadLimit: 300 };
    const red = gate(status({ state: 'failure', failures: [{ name: 'unit', summary: 'y'.repeat(10_000) }] }), neverMerges, NO_WAITS, now, small).verdict;
    expect(red.kind === 'redispatch' && red.feedback.startsWith('CI failed on aaaaaaa:\n- unit: yyy')).toBe(true);
    expect(red.kind === 'redispatch' && Buffer.byteLength(red.feedback)).toBeLessThanOrEqual(300);
    const asked = gate(status({}, { decision: 'CHANGES_REQUESTED', requestedChanges: ['z'.repeat(10_000)] }), neverMerges, NO_WAITS, now, small).verdict;
    expect(asked.kind === 'redispatch' && Buffer.byteLength(asked.feedback)).toBeLessThanOrEqual(300);
    const unbounded = gate(status({ state: 'failure', failures: [{ name: 'unit', summary: 'y'.repeat(10_000) }] })).verdict;
    expect(unbounded.kind === 'redispatch' && unbounded.feedback.length).toBeGreaterThan(10_000);
    expect(unbounded.kind === 'redispatch' && Buffer.byteLength(unbounded.feedback)).toBeLessThanOrEqual(DEFAULT_PAYLOAD_LIMIT);
  });
});

describe('CI still running', () => {
  it('waits until the CI deadline of this head and says which head timed out', () => {
    expect(gate(status({ state: 'pending' }))).toEqual({
      verdict: { kind: 'wait', until: now + CI_MS, timeout: { outcome: 'ci-timeout', reason: 'CI did not finish on aaaaaaa within 60s' } },
      waits: { ...NO_WAITS, ciSha: HEAD, ciDeadlineAt: now + CI_MS },
    });
  });

  it('keeps the deadline of a head it already waits for, and never starts the review clock', () => {
    const waiting = { ...NO_WAITS, ciSha: HEAD, ciDeadlineAt: now + 10 };
    expect(gate(status({ state: 'pending' }), neverMerges, waiting, now + 5)).toEqual({
      verdict: { kind: 'wait', until: now + 10, timeout: { outcome: 'ci-timeout', reason: 'CI did not finish on aaaaaaa within 60s' } },
      waits: waiting,
    });
  });

  it('waits for CI on a synthetic issue too before closing it', () => {
    expect(gate(status({ state: 'pending' }), { ...neverMerges, synthetic: true }).verdict.kind).toBe('wait');
  });

  it('does not change the waits it was given', () => {
    const given = { ...NO_WAITS, ciSha: OLD, ciDeadlineAt: 1 };
    gate(status({ state: 'pending' }), neverMerges, given);
    expect(given).toEqual({ ...NO_WAITS, ciSha: OLD, ciDeadlineAt: 1 });
  });
});

describe('green CI', () => {
  it('closes a synthetic issue without looking at the review', () => {
    expect(gate(status({}, { decision: 'CHANGES_REQUESTED', requestedChanges: ['no'] }), { ...autoMerges, synthetic: true })).toEqual({ verdict: { kind: 'close-synthetic' }, waits: NO_WAITS });
  });

  it('sends requested changes back, every one, under either merge policy', () => {
    const asked = status({}, { decision: 'CHANGES_REQUESTED', requestedChanges: ['rename it', 'add a test'] });
    const feedback = { kind: 'redispatch', feedback: 'Changes requested in review:\n- rename it\n- add a test' };
    expect(gate(asked, neverMerges)).toEqual({ verdict: feedback, waits: NO_WAITS });
    expect(gate(asked, autoMerges).verdict).toEqual(feedback);
  });

  it('merges an approved head, pinned to it, when the repo merges on green with review', () => {
    expect(gate(status({}, { decision: 'APPROVED' }), autoMerges)).toEqual({ verdict: { kind: 'merge', sha: HEAD }, waits: { ...NO_WAITS, reviewDeadlineAt: now + REVIEW_MS } });
  });

  it('merges an approved head even when an older head was refused', () => {
    expect(gate(status({}, { decision: 'APPROVED' }), autoMerges, { ...NO_WAITS, refusedSha: OLD }).verdict).toEqual({ kind: 'merge', sha: HEAD });
  });

  it('keeps an approved PR for a human until the review deadline when the repo never merges itself', () => {
    expect(gate(status({}, { decision: 'APPROVED' }), neverMerges)).toEqual({
      verdict: { kind: 'wait', until: now + REVIEW_MS, timeout: { outcome: 'review-timeout', reason: 'no approved review within 7d; the PR is kept for a human' } },
      waits: { ...NO_WAITS, reviewDeadlineAt: now + REVIEW_MS },
    });
  });

  it('waits for a review when none approved, on the deadline set at the first green read', () => {
    const waits = { ...NO_WAITS, reviewDeadlineAt: now + 3 };
    expect(gate(status(), autoMerges, waits, now + 2).verdict).toEqual({ kind: 'wait', until: now + 3, timeout: { outcome: 'review-timeout', reason: 'no approved review within 7d; the PR is kept for a human' } });
  });

  it('holds an approved head the forge refused until the head moves', () => {
    expect(gate(status({}, { decision: 'APPROVED' }), autoMerges, { ...NO_WAITS, refusedSha: HEAD }).verdict.kind).toBe('wait');
  });
});

describe('a refused merge', () => {
  const refused = (reason: Extract<MergeResult, { merged: false }>['reason'], message = 'Base branch was modified', conflicts?: string[]): Extract<MergeResult, { merged: false }> => ({ merged: false, reason, message, ...(conflicts ? { conflicts } : {}) });
  const fresh = { refusedSha: null, mergeRetrySha: null, mergeRetries: 0 };
  const retries = { mergeRetries: 3 };

  it('reads the PR again when the head moved or the PR closed, leaving every wait as it was', () => {
    const waits = { refusedSha: OLD, mergeRetrySha: OLD, mergeRetries: 2 };
    for (const reason of ['head-moved', 'closed'] as const) {
      const verdict = refusalVerdict(refused(reason), HEAD, waits, retries, 'main');
      expect(verdict).toEqual({ kind: 'reread', waits });
      expect(verdict.waits).not.toBe(waits);
    }
  });

  it('tries a not-yet-mergeable head again, keeping a refusal of another head, and counts from zero for a new head', () => {
    expect(refusalVerdict(refused('not-ready'), HEAD, { refusedSha: OLD, mergeRetrySha: OLD, mergeRetries: 3 }, retries, 'main')).toEqual({ kind: 'retry', waits: { refusedSha: OLD, mergeRetrySha: HEAD, mergeRetries: 1 } });
  });

  it('counts a retry record without a count (older runs) as none tried', () => {
    expect(refusalVerdict(refused('not-ready'), HEAD, { refusedSha: null, mergeRetrySha: HEAD }, retries, 'main')).toEqual({ kind: 'retry', waits: { refusedSha: null, mergeRetrySha: HEAD, mergeRetries: 1 } });
  });

  it('holds the head once the retries are used up, saying how many and why', () => {
    expect(refusalVerdict(refused('not-ready'), HEAD, { refusedSha: null, mergeRetrySha: HEAD, mergeRetries: 3 }, retries, 'main')).toEqual({
      kind: 'held',
      comment: 'Conveyor could not merge aaaaaaa after 3 tries (Base branch was modified). It waits for a new push or a human.',
      waits: { refusedSha: HEAD, mergeRetrySha: HEAD, mergeRetries: 3 },
    });
    expect(refusalVerdict(refused('not-ready'), HEAD, { refusedSha: null, mergeRetrySha: HEAD, mergeRetries: 2 }, retries, 'main').kind).toBe('retry');
  });

  it('holds at once when no retries are allowed', () => {
    expect(refusalVerdict(refused('not-ready'), HEAD, fresh, { mergeRetries: 0 }, 'main')).toMatchObject({ kind: 'held', waits: { refusedSha: HEAD, mergeRetrySha: HEAD, mergeRetries: 0 } });
  });

  it('sends a conflict back with the base branch and the files, and starts the retry count over', () => {
    expect(refusalVerdict(refused('conflict', 'dirty', ['src/a.ts', 'README.md']), HEAD, { refusedSha: null, mergeRetrySha: HEAD, mergeRetries: 2 }, retries, 'develop')).toEqual({
      kind: 'redispatch',
      feedback: 'The branch conflicts with develop at aaaaaaa: merge origin/develop into it and resolve the conflicts.\nConflicting files:\n- src/a.ts\n- README.md',
      waits: { refusedSha: HEAD, mergeRetrySha: null, mergeRetries: 0 },
    });
  });

  it('sends a conflict back without a file list when GitHub named none', () => {
    const plain = 'The branch conflicts with main at aaaaaaa: merge origin/main into it and resolve the conflicts.';
    expect(refusalVerdict(refused('conflict', 'dirty'), HEAD, fresh, retries, 'main')).toMatchObject({ kind: 'redispatch', feedback: plain });
    expect(refusalVerdict(refused('conflict', 'dirty', []), HEAD, fresh, retries, 'main')).toMatchObject({ kind: 'redispatch', feedback: plain });
  });

  it('holds a head branch protection refused, with GitHub\'s words, keeping the retries counted on it', () => {
    expect(refusalVerdict(refused('not-mergeable', 'Required status check "e2e" is expected'), HEAD, { refusedSha: null, mergeRetrySha: HEAD, mergeRetries: 1 }, retries, 'main')).toEqual({
      kind: 'held',
      comment: 'GitHub refused to merge aaaaaaa: Required status check "e2e" is expected. Conveyor waits for a new push, a review or a human.',
      waits: { refusedSha: HEAD, mergeRetrySha: HEAD, mergeRetries: 1 },
    });
  });
});
