// Triage reads the issue fresh and decides from what it sees: thin issues are escalated,
// reserved ones wait for humans, and an issue with a factory PR is never dispatched again.
import { describe, expect, it } from 'vitest';
import { triage, isThin } from '../../src/domain/triage.js';
import { branchForIssue, issueIdFromBranch, issueKeyFromBranch, issueWorkflowId } from '../../src/domain/naming.js';
import { durationMs } from '../../src/domain/duration.js';
import { makeIssue, testFactoryConfig } from '../helpers/line-inputs.js';
import type { PullRequest } from '../../src/domain/issue.js';

const config = testFactoryConfig();
const pr = (overrides: Partial<PullRequest>): PullRequest => ({ number: 1, url: 'u', repo: 'acme/widgets', headRef: 'b', headSha: 's', baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true, ...overrides });

describe('triage rules', () => {
  it('dispatches a ready, well-specified issue to its team repo', () => {
    const result = triage(makeIssue(), config, null);
    expect(result).toMatchObject({ decision: 'dispatch', routing: { repo: 'acme/widgets', mergePolicy: 'on-green-with-review', synthetic: false, states: { ready: 'Todo', done: 'Done' } } });
  });

  it.each([
    ['no acceptance signal', 'x'.repeat(200)],
    ['too short', 'Acceptance: ok'],
  ])('escalates a thin issue (%s) and lets an operator override it', (_, description) => {
    expect(triage(makeIssue({ description }), config, null)).toMatchObject({ decision: 'escalate', overridable: true });
  });

  it('accepts each acceptance signal: heading, checklist, "done when"', () => {
    const pad = 'The service must answer health probes from the load balancer quickly and reliably, every time. '.repeat(2);
    for (const signal of ['## Acceptance\nok', '- [ ] probe answers', 'Done when the probe is green']) expect(isThin(makeIssue({ description: `${pad}\n\n${signal}` }), 140)).toBeNull();
  });

  it('never dispatches reserved issues, even with an override', () => {
    expect(triage(makeIssue({ labels: ['conveyor', 'needs-design'] }), config, null)).toMatchObject({ decision: 'escalate', overridable: false });
  });

  it('ignores issues outside the allowlist, without the label, or not in a ready state', () => {
    expect(triage(makeIssue({ team: { id: 't', key: 'OPS' } }), config, null).reason).toMatch(/not on the allowlist/);
    expect(triage(makeIssue({ labels: [] }), config, null).reason).toMatch(/not labelled "conveyor"/);
    expect(triage(makeIssue({ state: { name: 'In Progress', type: 'started' } }), config, null).decision).toBe('ignore');
    expect(triage(makeIssue({ state: { name: 'Todo', type: 'backlog' } }), config, null).decision).toBe('dispatch');
  });

  it('ignores an issue that already has an open or merged factory PR (a late redelivery)', () => {
    expect(triage(makeIssue(), config, pr({ state: 'open' })).decision).toBe('ignore');
    expect(triage(makeIssue(), config, pr({ state: 'closed', merged: true })).decision).toBe('ignore');
    expect(triage(makeIssue(), config, pr({ state: 'closed', merged: false })).decision).toBe('dispatch');
  });

  it('marks synthetic end-to-end issues so they are closed, never merged', () => {
    expect(triage(makeIssue({ labels: ['conveyor', 'conveyor-e2e'] }), config, null).routing?.synthetic).toBe(true);
  });
});

describe('names derived from the stable issue id', () => {
  it('maps a branch back to its issue without a lookup', () => {
    const id = '9f1c2d3e-aaaa-4bbb-8ccc-123456789abc';
    const branch = branchForIssue('ENG-12', id);
    expect(branch).toBe(`conveyor/eng-12-${id}`);
    expect(issueIdFromBranch(branch)).toBe(id);
    expect(issueIdFromBranch(`refs/heads/${branch}`)).toBe(id);
    expect(issueKeyFromBranch(branch)).toBe('eng-12');
    expect(issueIdFromBranch('feature/eng-12-x')).toBeNull();
    expect(issueWorkflowId(id)).toBe(`conveyor-issue-${id}`);
  });

  it('parses durations and rejects nonsense with a hint', () => {
    expect(durationMs('7d')).toBe(7 * 86_400_000);
    expect(durationMs('1500ms')).toBe(1_500);
    expect(() => durationMs('soon')).toThrow(/e\.g\. 500ms, 30s/);
  });
});
