// The canary's decisions without a line: where it files its issue (and the error that says how
// to route it when it cannot), what each station makes of what it reads, and the route counts
// it reads from the gateway's /metrics.
import { describe, expect, it } from 'vitest';
import { canaryTarget, judgeStation, parseRouteCounts } from '../../src/cli/canary.js';
import { freshState } from '../../src/workflows/issue/run.js';
import type { PullRequest } from '../../src/domain/issue.js';
import type { IssueRunState } from '../../src/workflows/state.js';
import { testConfig } from '../gateway/fixtures.js';

const config = testConfig();
const ctx = { repo: 'acme/widgets', synthetic: 'conveyor-e2e', teamKey: 'ENG', doneState: 'Done' };
const pr: PullRequest = { number: 3, url: 'https://github.com/acme/widgets/pull/3', repo: 'acme/widgets', headRef: 'conveyor/eng-1-x', headSha: 'abcdef0123', baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true };
const state = (over: Partial<IssueRunState>): IssueRunState => ({ ...freshState({ issueId: 'x', issueKey: 'ENG-1', policy: {} as never }), ...over });
const seen = (over: Partial<Parameters<typeof judgeStation>[1]>) => ({ run: 'open' as const, state: null, pr: null, checks: null, issue: null, ...over });

describe('where the canary goes', () => {
  it("takes the first team with a default repo, and the repo triage would route its issue to", () => {
    expect(canaryTarget(config, {})).toMatchObject({ team: { key: 'ENG' }, repo: 'acme/widgets' });
    expect(canaryTarget(config, { team: 'ops' })).toMatchObject({ team: { key: 'OPS' }, repo: 'acme/widgets' });
  });

  it('refuses a team that is not configured, and a repo its issue would not be routed to, saying how to route it', () => {
    expect(() => canaryTarget(config, { team: 'HR' })).toThrow(/Team HR is not under tracker.teams .*use one of ENG, OPS/);
    expect(() => canaryTarget(config, { team: 'ENG', repo: 'acme/other' })).toThrow(/routed to acme\/widgets, not acme\/other: add a routing rule[\s\S]*labels: \[conveyor-e2e\]\n {4}repo: acme\/other/);
  });
});

describe('what each station makes of a read', () => {
  it('fails "webhook received" when the sweep, not the webhook, started the run', () => {
    expect(judgeStation('webhook received', seen({ state: state({ seenDeliveries: ['sweep:x:2026'] }) }), ctx)).toMatchObject({ fail: expect.stringContaining('started by sweep'), check: expect.stringContaining('LINEAR_WEBHOOK_SECRETS') });
    expect(judgeStation('webhook received', seen({ state: state({ seenDeliveries: ['3f2a-delivery'] }) }), ctx)).toMatchObject({ pass: expect.stringContaining('Linear webhook') });
    expect(judgeStation('webhook received', seen({ run: 'missing' }), ctx)).toBeNull();
  });

  it('fails "triaged" on an escalation, and on a routing that is not synthetic', () => {
    expect(judgeStation('triaged', seen({ state: state({ phase: 'escalated', reason: 'too thin' }) }), ctx)).toMatchObject({ fail: 'triage escalated the canary: too thin' });
    const routing = { repo: 'acme/widgets', baseBranch: 'main', mergePolicy: 'never' as const, agent: 'demo', synthetic: false, states: { ready: 'Todo', inProgress: 'In Progress', inReview: 'In Review', done: 'Done' } };
    expect(judgeStation('triaged', seen({ state: state({ phase: 'queued', routing }) }), ctx)).toMatchObject({ fail: expect.stringContaining('not see the issue as synthetic') });
  });

  it('fails whatever station the run is at when it ends any other way than closed-synthetic', () => {
    expect(judgeStation('agent ran', seen({ state: state({ outcome: 'agent-failed', reason: 'exit 3' }) }), ctx)).toMatchObject({ fail: 'the run ended agent-failed: exit 3' });
  });

  it('fails "PR closed without merge" loudly when the PR was merged', () => {
    expect(judgeStation('PR closed without merge', seen({ pr: { ...pr, state: 'closed', merged: true } }), ctx)).toMatchObject({ fail: expect.stringContaining('MERGED') });
    expect(judgeStation('PR closed without merge', seen({ pr: { ...pr, state: 'closed' } }), ctx)).toMatchObject({ pass: expect.stringContaining('not merged') });
    expect(judgeStation('PR closed without merge', seen({ pr }), ctx)).toBeNull();
  });

  it('fails "CI green" on red checks, waits while they are pending', () => {
    expect(judgeStation('CI green', seen({ pr, checks: { sha: pr.headSha, state: 'failure', failures: [{ name: 'ci', summary: 'lint failed\nmore' }] } }), ctx)).toMatchObject({ fail: 'CI failed on abcdef0: ci: lint failed' });
    expect(judgeStation('CI green', seen({ pr, checks: { sha: pr.headSha, state: 'pending', failures: [] } }), ctx)).toBeNull();
  });
});

it('reads the route counts from the gateway metrics text', () => {
  const text = [
    '# TYPE conveyor_gateway_routes_total counter',
    'conveyor_gateway_routes_total{ingress="linear",event="Issue.create",outcome="start:issue-ready"} 2',
    'conveyor_gateway_routes_total{ingress="github",event="status",outcome="signal:forge:checks"} 1',
    'conveyor_gateway_deliveries_total{source="linear",event="Issue.create"} 2',
  ].join('\n');
  expect(parseRouteCounts(text)).toEqual({ 'linear Issue.create → start:issue-ready': 2, 'github status → signal:forge:checks': 1 });
});
