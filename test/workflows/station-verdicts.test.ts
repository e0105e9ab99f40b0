// The stations' decisions as pure functions over plain state, tested without Temporal: what
// triage does with a read, what the merge gate does with one look at the PR, what release
// must undo after each ending.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAYLOAD_LIMIT } from '../../src/domain/bounded-text.js';
import { triage } from '../../src/domain/triage.js';
import type { ChecksSummary, PullRequest, PullRequestStatus, ReviewSummary } from '../../src/domain/issue.js';
import { gateVerdict } from '../../src/workflows/issue/gate.js';
import { releasePlan } from '../../src/workflows/issue/release.js';
import { triageVerdict } from '../../src/workflows/issue/triage.js';
import { NO_WAITS, type Outcome, type Routing } from '../../src/workflows/state.js';
import { makeIssue, testFactoryConfig, testPolicy } from '../helpers/scripted-line.js';

const config = testFactoryConfig();
const policy = testPolicy('fleet', { ci: '60s', review: '7d' });
const routing: Routing = triage(makeIssue(), config, null).routing!;
const now = 1_000_000;

const pr = (overrides: Partial<PullRequest> = {}): PullRequest => ({ number: 7, url: 'https://gh/pr/7', repo: routing.repo, headRef: 'conveyor/eng-1-x', headSha: 'a'.repeat(40), baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true, ...overrides });
const status = (checks: Partial<ChecksSummary> = {}, review: Partial<ReviewSummary> = {}, prPatch: Partial<PullRequest> = {}): PullRequestStatus => {
  const p = pr(prPatch);
  return { pr: p, checks: { sha: p.headSha, state: 'success', failures: [], ...checks }, review: { decision: 'REVIEW_REQUIRED', requestedChanges: [], ...review } };
};
const gate = (s: PullRequestStatus, waits = NO_WAITS, r: Routing = routing) => gateVerdict(s, waits, { routing: r, policy, now });

describe('triage verdict', () => {
  it('dispatches what the rules dispatch, ignores what is not ready', () => {
    expect(triageVerdict(triage(makeIssue(), config, null), NO_WAITS)).toEqual({ kind: 'dispatch' });
    expect(triageVerdict(triage(makeIssue({ labels: [] }), config, null), NO_WAITS)).toMatchObject({ kind: 'ignore' });
  });

  it('escalates a thin issue with one comment marker per reason, and dispatches it once approved', () => {
    const thin = triage(makeIssue({ description: 'short' }), config, null);
    const verdict = triageVerdict(thin, NO_WAITS);
    expect(verdict).toMatchObject({ kind: 'escalate', marker: `escalation:${thin.reason}` });
    expect(verdict.kind === 'escalate' && verdict.comment).toMatch(/`\/conveyor approve`/);
    expect(triageVerdict(thin, { approved: true })).toEqual({ kind: 'dispatch' });
  });

  it('never lets an approval dispatch a reserved issue', () => {
    const reserved = triage(makeIssue({ labels: ['conveyor', 'reserved'] }), config, null);
    const verdict = triageVerdict(reserved, { approved: true });
    expect(verdict.kind).toBe('escalate');
    expect(verdict.kind === 'escalate' && verdict.comment).not.toMatch(/approve/);
  });
});

describe('gate verdict', () => {
  it('ends on a merged or closed PR', () => {
    expect(gate(status({}, {}, { merged: true, state: 'closed' })).verdict).toMatchObject({ kind: 'end', outcome: 'merged' });
    expect(gate(status({}, {}, { state: 'closed' })).verdict).toMatchObject({ kind: 'end', outcome: 'pr-closed' });
  });

  it('starts the CI clock once per head and keeps it across reads', () => {
    const first = gate(status({ state: 'pending' }));
    expect(first.verdict).toMatchObject({ kind: 'wait', until: now + 60_000, timeout: { outcome: 'ci-timeout' } });
    const later = gateVerdict(status({ state: 'pending' }), first.waits, { routing, policy, now: now + 30_000 });
    expect(later.verdict).toMatchObject({ kind: 'wait', until: now + 60_000 });
    const moved = gateVerdict(status({ state: 'pending' }, {}, { headSha: 'b'.repeat(40) }), first.waits, { routing, policy, now: now + 30_000 });
    expect(moved.verdict).toMatchObject({ kind: 'wait', until: now + 90_000 });
  });

  it('sends CI failures and requested changes back as bounded feedback', () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const red = gate(status({ state: 'failure', failures: [{ name: 'unit', summary: huge }] })).verdict;
    expect(red.kind).toBe('redispatch');
    expect(red.kind === 'redispatch' && Buffer.byteLength(red.feedback)).toBeLessThanOrEqual(DEFAULT_PAYLOAD_LIMIT);
    expect(gate(status({}, { decision: 'CHANGES_REQUESTED', requestedChanges: ['rename it'] })).verdict).toEqual({ kind: 'redispatch', feedback: 'Changes requested in review:\n- rename it' });
  });

  it('merges only an approved green head, pinned to that head, and not a head the forge refused', () => {
    const approved = status({}, { decision: 'APPROVED' });
    expect(gate(approved).verdict).toEqual({ kind: 'merge', sha: approved.pr.headSha });
    expect(gate(approved, { ...NO_WAITS, refusedSha: approved.pr.headSha }).verdict).toMatchObject({ kind: 'wait', timeout: { outcome: 'review-timeout' } });
    expect(gate(approved, NO_WAITS, { ...routing, mergePolicy: 'never' }).verdict).toMatchObject({ kind: 'wait' });
  });

  it('starts the review clock once, when CI is green', () => {
    const first = gate(status());
    expect(first.waits.reviewDeadlineAt).toBe(now + 7 * 24 * 3600_000);
    expect(gateVerdict(status(), first.waits, { routing, policy, now: now + 5_000 }).waits.reviewDeadlineAt).toBe(first.waits.reviewDeadlineAt);
  });

  it('closes a synthetic issue instead of merging it', () => {
    expect(gate(status({}, { decision: 'APPROVED' }), NO_WAITS, { ...routing, synthetic: true }).verdict).toEqual({ kind: 'close-synthetic' });
  });
});

describe('release plan', () => {
  const base = { attempts: 1, pr: null, routing, branch: 'conveyor/eng-1-x', reason: 'boom' };

  it('puts an abandoned dispatch back to ready with a comment saying why', () => {
    expect(releasePlan(base, 'agent-failed', null)).toEqual({ cleanupWorkspace: true, moveTo: 'Todo', comment: 'Conveyor put this issue back to ready (agent-failed: boom).' });
    expect(releasePlan(base, 'aborted', 'op@example.com').comment).toContain('aborted by op@example.com');
  });

  it('keeps the branch for a human when the PR was closed', () => {
    expect(releasePlan({ ...base, pr: pr({ state: 'closed' }) }, 'pr-closed', null).comment).toContain('is kept for a human');
  });

  it.each<Outcome>(['review-timeout', 'ci-timeout', 'redispatch-limit', 'budget-exceeded'])('leaves the issue and says the PR is kept after %s', (outcome) => {
    const plan = releasePlan({ ...base, pr: pr() }, outcome, null);
    expect(plan.moveTo).toBeNull();
    expect(plan.comment).toContain(`Conveyor stopped (${outcome})`);
  });

  it('does nothing to the tracker for a run that never dispatched or that merged', () => {
    expect(releasePlan({ ...base, attempts: 0 }, 'escalation-timeout', null)).toEqual({ cleanupWorkspace: true, moveTo: null, comment: null });
    expect(releasePlan({ ...base, pr: pr({ merged: true }) }, 'merged', null)).toMatchObject({ moveTo: null, comment: null });
    expect(releasePlan({ ...base, routing: null, branch: null }, 'failed', null)).toEqual({ cleanupWorkspace: false, moveTo: null, comment: null });
  });
});
