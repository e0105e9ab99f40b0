// The stations' decisions as pure functions over plain state, tested without Temporal: what
// triage does with a read, what the merge gate does with one look at the PR, what release
// must undo after each ending.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAYLOAD_LIMIT } from '../../src/domain/bounded-text.js';
import { triage } from '../../src/domain/triage.js';
import type { ChecksSummary, PullRequest, PullRequestStatus, ReviewSummary } from '../../src/domain/issue.js';
import { countAgentRun, countCost, endingKind, goAhead, recordEnding } from '../../src/workflows/issue/endings.js';
import { gateVerdict, refusalVerdict } from '../../src/workflows/issue/gate.js';
import { releasePlan } from '../../src/workflows/issue/release.js';
import { triageVerdict } from '../../src/workflows/issue/triage.js';
import { EMPTY_LEDGER, NO_WAITS, type IssueLedger, type Outcome, type Routing } from '../../src/workflows/state.js';
import { makeIssue, testFactoryConfig, testPolicy } from '../helpers/line-inputs.js';

const config = testFactoryConfig();
const policy = testPolicy('fleet', { ci: '60s', review: '7d' });
// Written out, not computed by triage at load time: Stryker (npm run mutation) counts code run
// while a file loads as covered by every test, which makes each such mutant rerun everything.
// The first test checks it is what triage gives the test issue.
const routing: Routing = { repo: 'acme/widgets', baseBranch: 'main', mergePolicy: 'on-green-with-review', agent: 'scripted', synthetic: false, states: { ready: 'Todo', inProgress: 'In Progress', inReview: 'In Review', done: 'Done' } };
const now = 1_000_000;

const pr = (overrides: Partial<PullRequest> = {}): PullRequest => ({ number: 7, url: 'https://gh/pr/7', repo: routing.repo, headRef: 'conveyor/eng-1-x', headSha: 'a'.repeat(40), baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true, ...overrides });
const status = (checks: Partial<ChecksSummary> = {}, review: Partial<ReviewSummary> = {}, prPatch: Partial<PullRequest> = {}): PullRequestStatus => {
  const p = pr(prPatch);
  return { pr: p, checks: { sha: p.headSha, state: 'success', failures: [], ...checks }, review: { decision: 'REVIEW_REQUIRED', requestedChanges: [], ...review } };
};
const gate = (s: PullRequestStatus, waits = NO_WAITS, r: Routing = routing) => gateVerdict(s, waits, { routing: r, policy, now });

describe('triage verdict', () => {
  it('routes the test issue as these verdicts assume', () => {
    expect(triage(makeIssue(), config, null).routing).toEqual(routing);
  });

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

  it('gives each new head a whole review window (runs on the review-window-per-head path)', () => {
    const week = 7 * 24 * 3600_000;
    const perHead = (st: PullRequestStatus, waits: Parameters<typeof gateVerdict>[1], at: number) => gateVerdict(st, waits, { routing, policy, now: at, reviewWindowPerHead: true });
    const onA = perHead(status(), NO_WAITS, now);
    expect(onA.waits).toMatchObject({ reviewSha: 'a'.repeat(40), reviewDeadlineAt: now + week });
    // The same head read again keeps its window.
    expect(perHead(status(), onA.waits, now + 5_000).waits.reviewDeadlineAt).toBe(now + week);
    // Six days later the agent pushed B: B's window runs a week from its first green read.
    const sixDays = now + 6 * 24 * 3600_000;
    const onB = perHead(status({}, {}, { headSha: 'b'.repeat(40) }), onA.waits, sixDays);
    expect(onB.waits).toMatchObject({ reviewSha: 'b'.repeat(40), reviewDeadlineAt: sixDays + week });
    expect(onB.verdict).toMatchObject({ kind: 'wait', until: sixDays + week });
    // Runs on the old path keep one window for the run.
    expect(gateVerdict(status({}, {}, { headSha: 'b'.repeat(40) }), onA.waits, { routing, policy, now: sixDays }).waits.reviewDeadlineAt).toBe(now + week);
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

describe('ending kind (every ending is final)', () => {
  const endings = testPolicy('fleet').endings!;
  const ledger = (patch: Partial<IssueLedger['sinceGoAhead']> = {}): IssueLedger => ({ ...EMPTY_LEDGER, sinceGoAhead: { ...EMPTY_LEDGER.sinceGoAhead, ...patch } });

  it('succeeds on merged and closed-synthetic, does nothing on ignored', () => {
    expect(endingKind('merged', null, ledger(), endings).kind).toBe('success');
    expect(endingKind('closed-synthetic', null, ledger(), endings).kind).toBe('success');
    expect(endingKind('ignored', null, ledger(), endings).kind).toBe('ignored');
  });

  it.each<Outcome>(['agent-failed', 'agent-timeout', 'no-pr', 'budget-exceeded', 'redispatch-limit', 'ci-timeout', 'review-timeout', 'escalation-timeout', 'pr-closed', 'aborted'])('blocks after %s, however few runs came before', (outcome) => {
    expect(endingKind(outcome, null, ledger(), endings)).toEqual({ kind: 'blocked', why: null });
  });

  it('tries infrastructure endings again later, but not a failure retrying cannot help', () => {
    expect(endingKind('failed', 'transient', ledger(), endings).kind).toBe('retry-later');
    expect(endingKind('failed', 'timeout', ledger(), endings).kind).toBe('retry-later');
    expect(endingKind('worker-lost', 'timeout', ledger(), endings).kind).toBe('retry-later');
    expect(endingKind('queue-timeout', null, ledger(), endings).kind).toBe('retry-later');
    expect(endingKind('failed', 'auth', ledger(), endings).kind).toBe('blocked');
    expect(endingKind('failed', 'logic', ledger(), endings).kind).toBe('blocked');
  });

  it('blocks retry-later once its runs are used up, saying why', () => {
    expect(endingKind('failed', 'transient', ledger({ retries: endings.retryLaterRuns - 1 }), endings).kind).toBe('retry-later');
    const used = endingKind('failed', 'transient', ledger({ retries: endings.retryLaterRuns }), endings);
    expect(used.kind).toBe('blocked');
    expect(used.why).toContain(`tried ${endings.retryLaterRuns} more times`);
  });

  it('gives a stalled agent one more run, and blocks the second stall', () => {
    expect(endingKind('agent-stalled', 'timeout', ledger(), endings).kind).toBe('retry-later');
    expect(endingKind('agent-stalled', 'timeout', ledger({ stalls: 1 }), endings).kind).toBe('blocked');
  });

  it('counts endings, agent runs and spend for the issue, and starts the limits over on a go-ahead', () => {
    let l = countCost(countAgentRun(EMPTY_LEDGER), 1.5);
    l = recordEnding(l, { outcome: 'agent-stalled', kind: 'retry-later', reason: 'silent', at: 1 });
    expect(l).toMatchObject({ runs: 1, agentRuns: 1, costUsd: 1.5, sinceGoAhead: { agentRuns: 1, costUsd: 1.5, stalls: 1 } });
    expect(countCost(l, -3)).toBe(l);
    const again = goAhead(l);
    expect(again).toMatchObject({ runs: 1, agentRuns: 1, costUsd: 1.5, sinceGoAhead: { agentRuns: 0, costUsd: 0, retries: 0, stalls: 0 } });
    const many = Array.from({ length: 15 }, (_, i) => i).reduce((acc, i) => recordEnding(acc, { outcome: 'failed', kind: 'retry-later', reason: `r${i}`, at: i }), EMPTY_LEDGER);
    expect(many.endings).toHaveLength(10);
    expect(many.endings.at(-1)!.reason).toBe('r14');
  });
});

describe('merge refusal verdict', () => {
  const sha = 'b'.repeat(40);
  const refused = (reason: 'head-moved' | 'not-ready' | 'conflict' | 'not-mergeable' | 'closed', conflicts?: string[]) => ({ merged: false as const, reason, message: 'refused', ...(conflicts ? { conflicts } : {}) });
  const none = { refusedSha: null, mergeRetrySha: null, mergeRetries: 0 };

  it('reads a moved head again, without holding anything', () => {
    expect(refusalVerdict(refused('head-moved'), sha, none, { mergeRetries: 3 }, 'main')).toEqual({ kind: 'reread', waits: none });
  });

  it('tries not-yet-mergeable again on the same head without holding it, a bounded number of times, then holds it with a comment', () => {
    const first = refusalVerdict(refused('not-ready'), sha, none, { mergeRetries: 2 }, 'main');
    // Not held: the gate's next read may merge this very head.
    expect(first).toEqual({ kind: 'retry', waits: { refusedSha: null, mergeRetrySha: sha, mergeRetries: 1 } });
    const second = refusalVerdict(refused('not-ready'), sha, first.waits, { mergeRetries: 2 }, 'main');
    expect(second).toMatchObject({ kind: 'retry', waits: { mergeRetries: 2 } });
    const third = refusalVerdict(refused('not-ready'), sha, second.waits, { mergeRetries: 2 }, 'main');
    expect(third).toMatchObject({ kind: 'held', waits: { refusedSha: sha } });
    // A new head starts the count over.
    expect(refusalVerdict(refused('not-ready'), 'c'.repeat(40), second.waits, { mergeRetries: 2 }, 'main')).toMatchObject({ kind: 'retry', waits: { mergeRetries: 1 } });
  });

  it('sends a conflict back to the agent with the files, and holds a protection refusal', () => {
    const conflict = refusalVerdict(refused('conflict', ['a.ts', 'b.ts']), sha, none, { mergeRetries: 3 }, 'main');
    expect(conflict.kind).toBe('redispatch');
    expect(conflict.kind === 'redispatch' && conflict.feedback).toContain('conflicts with main');
    expect(conflict.kind === 'redispatch' && conflict.feedback).toContain('- a.ts\n- b.ts');
    expect(refusalVerdict(refused('not-mergeable'), sha, none, { mergeRetries: 3 }, 'main')).toMatchObject({ kind: 'held', waits: { refusedSha: sha } });
  });
});
