// Real GitHub payloads (@octokit/webhooks-examples, renamed to the factory's repo and branch)
// map to forge signals for the issue named by the head branch, and nothing else does.
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import { GITHUB_EVENTS, GITHUB_ROUTES, mapGithubEvent } from '../../src/gateway/github-events.js';
import { actionOutcome, githubEventName, routeKey } from '../../src/gateway/routes.js';
import { branchForIssue } from '../../src/domain/naming.js';
import { FACTORY_BRANCH, ISSUE_ID, githubExample, testConfig } from './payloads.js';

const ctx = { factory: testConfig().factory, deliveryId: 'gh-delivery-1' };
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];

describe('GitHub events from real payloads', () => {
  it.each(['opened', 'synchronize', 'closed', 'reopened', 'ready_for_review'])('pull_request %s → pull-request signal', (action) => {
    const payload = githubExample('pull_request', action);
    const pr = payload.pull_request as { number: number; head: { sha: string; ref: string } };
    expect(pr.head.ref).toBe(FACTORY_BRANCH);
    expect(mapGithubEvent('pull_request', payload, ctx)).toEqual({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'forge', event: { kind: 'pull-request', action, prNumber: pr.number, headSha: pr.head.sha, deliveryId: 'gh-delivery-1' } },
    });
  });

  it.each(['labeled', 'assigned', 'converted_to_draft'])('pull_request %s is not handled', (action) => {
    expect(mapGithubEvent('pull_request', githubExample('pull_request', action), ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
  });

  it.each(['submitted', 'dismissed'])('pull_request_review %s → review signal', (action) => {
    expect(mapGithubEvent('pull_request_review', githubExample('pull_request_review', action), ctx)).toMatchObject({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'forge', event: { kind: 'review', action, prNumber: 2 } },
    });
  });

  it('check_suite completed → checks signal, found through head_branch', () => {
    const payload = githubExample('check_suite', 'completed');
    expect(mapGithubEvent('check_suite', payload, ctx)).toEqual({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'forge', event: { kind: 'checks', action: 'success', headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821', prNumber: 2, deliveryId: 'gh-delivery-1' } },
    });
  });

  it("check_run completed → checks signal, found through the run's pull requests", () => {
    const payload = githubExample('check_run', 'completed');
    (payload.check_run as { check_suite: { head_branch: string | null } }).check_suite.head_branch = null;
    expect(mapGithubEvent('check_run', payload, ctx)).toMatchObject({ kind: 'signal', issueId: ISSUE_ID, signal: { event: { kind: 'checks', prNumber: 2 } } });
  });

  it('check_suite and check_run that are not completed are not handled', () => {
    expect(mapGithubEvent('check_suite', githubExample('check_suite', 'requested'), ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
    expect(mapGithubEvent('check_run', githubExample('check_run', 'created'), ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
  });

  it('status → checks signal for the factory branch among branches[]', () => {
    const payload = githubExample('status', null);
    expect(mapGithubEvent('status', payload, ctx)).toMatchObject({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'forge', event: { kind: 'checks', action: 'success', headSha: payload.sha } },
    });
  });

  it('status whose commit is on two factory branches tells both issues', () => {
    const payload = githubExample('status', null);
    const other = branchForIssue('ENG-43', 'a0b1c2d3-0000-4000-8000-000000000043');
    (payload.branches as Array<{ name: string }>).push({ name: other });
    expect(mapGithubEvent('status', payload, ctx)).toMatchObject({ kind: 'signal-each', issueIds: [ISSUE_ID, 'a0b1c2d3-0000-4000-8000-000000000043'] });
  });
});

describe('GitHub events that concern no factory issue', () => {
  it('a repository not in the allowlist is ignored, saying which', () => {
    expect(mapGithubEvent('pull_request', githubExample('pull_request', 'opened', { repo: 'evil/fork' }), ctx)).toEqual({
      kind: 'ignore',
      why: 'not-allowlisted',
      reason: 'repository evil/fork is not listed under repos',
    });
  });

  it('a branch that is not a factory branch is ignored', () => {
    for (const [event, action] of [['pull_request', 'opened'], ['check_suite', 'completed'], ['pull_request_review', 'submitted']] as const) {
      expect(mapGithubEvent(event, githubExample(event, action, { branch: 'feature/manual-work' }), ctx)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
    }
    // The example status names master, gh-pages and the renamed branch.
    expect(mapGithubEvent('status', githubExample('status', null, { branch: 'feature/x' }), ctx)).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('no factory branch') });
  });

  it('a PR from a fork whose branch imitates a factory branch is ignored', () => {
    const payload = githubExample('pull_request', 'opened');
    (payload.pull_request as { head: { repo: { id: number } } }).head.repo.id = 999;
    expect(mapGithubEvent('pull_request', payload, ctx)).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('another repository') });
  });

  it('events the factory does not listen to, and ping, are not handled', () => {
    expect(mapGithubEvent('push', githubExample('push', null), ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
    expect(mapGithubEvent('ping', githubExample('ping', null), ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
  });

  it('a handled event with a broken shape is invalid', () => {
    const payload = githubExample('pull_request', 'opened');
    delete (payload.pull_request as Record<string, unknown>).head;
    expect(mapGithubEvent('pull_request', payload, ctx)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('pull_request.head') });
  });

  it('an envelope without a usable repository is invalid, with the schema\'s own message', () => {
    const cases: Array<[unknown, string]> = [
      [{ action: 'opened' }, 'repository: '],
      [{ repository: null }, 'repository: '],
      [{ repository: [] }, 'repository: '],
      [{ repository: { id: '1', full_name: 'acme/widgets' } }, 'repository.id: '],
      [{ repository: { id: Number.POSITIVE_INFINITY, full_name: 'acme/widgets' } }, 'repository.id: '],
      [{ repository: { id: 1, full_name: 7 } }, 'repository.full_name: '],
      [{ repository: { id: 1 } }, 'repository.full_name: '],
      [[{ repository: { id: 1, full_name: 'acme/widgets' } }], '(top level): '],
    ];
    for (const [payload, where] of cases) {
      expect(mapGithubEvent('pull_request', payload, ctx)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining(`GitHub pull_request payload: ${where}`) });
    }
  });

  it('reads the repository of a large payload without copying it, and still checks the allowlist case-insensitively', () => {
    const payload = githubExample('pull_request', 'opened', { repo: 'Acme/Widgets' });
    expect(mapGithubEvent('pull_request', payload, ctx)).toMatchObject({ kind: 'signal', issueId: ISSUE_ID });
    const elsewhere = githubExample('pull_request', 'opened', { repo: 'acme/widgets-fork' });
    expect(mapGithubEvent('pull_request', elsewhere, ctx)).toEqual({ kind: 'ignore', why: 'not-allowlisted', reason: 'repository acme/widgets-fork is not listed under repos' });
  });
});

describe('the GitHub routes table (conveyor routes)', () => {
  const left = new Set(['ignore:not-allowlisted', 'ignore:unhandled', 'invalid']);
  const table = new Set(GITHUB_ROUTES.map(routeKey));
  const keyOf = (event: string, payload: Record<string, unknown>) =>
    routeKey({ ingress: 'github', event: githubEventName(event, payload.action), outcome: actionOutcome(mapGithubEvent(event, payload, ctx)) });

  it('every real example payload of a handled event, on a factory branch or another, takes a listed route', () => {
    const reached = new Set<string>();
    for (const definition of examples.filter((d) => (GITHUB_EVENTS as readonly string[]).includes(d.name))) {
      definition.examples.forEach((_, index) => {
        for (const branch of [undefined, 'feature/manual-work']) {
          const payload = githubExample(definition.name, null, { index, ...(branch ? { branch } : {}) });
          const key = keyOf(definition.name, payload);
          if (left.has(key.split(' → ')[1]!)) continue;
          expect(table, `${key} is taken by the mapper but not in GITHUB_ROUTES`).toContain(key);
          reached.add(key);
        }
      });
    }
    // The examples lack some actions (e.g. ready_for_review on another branch): reach the rest.
    for (const key of table) {
      if (reached.has(key)) continue;
      const [event, action] = key.split(' ')[1]!.split('.') as [string, string | undefined];
      const other = key.endsWith('ignore:not-applicable');
      expect(keyOf(event, githubExample(event, action ?? null, other ? { branch: 'feature/manual-work' } : {})), `${key} is in GITHUB_ROUTES but not reached`).toBe(key);
    }
  });
});
