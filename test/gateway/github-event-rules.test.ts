// The GitHub mapper's rules with the words it logs: which actions each event hands on, how
// checks find their issues (one, several, none), when a PR number goes with them, and which
// payloads are refused and why. Payloads carry only the fields GitHub sends that the mapper reads.
import { describe, expect, it } from 'vitest';
import { mapGithubEvent } from '../../src/gateway/github-events.js';
import { branchForIssue } from '../../src/domain/naming.js';
import { FACTORY_BRANCH, ISSUE_ID, REPO, githubExample, testConfig } from './payloads.js';

const ctx = { factory: testConfig().factory, deliveryId: 'gh-7' };
const map = (event: string, payload: unknown) => mapGithubEvent(event, payload, ctx);
const repository = { id: 101, full_name: REPO, name: 'widgets' };
const OTHER_ID = 'a0b1c2d3-0000-4000-8000-000000000043';
const OTHER_BRANCH = branchForIssue('ENG-43', OTHER_ID);
const SHA = 'f'.repeat(40);

const pull = (ref = FACTORY_BRANCH, headRepo: unknown = repository) => ({ number: 12, head: { ref, sha: SHA, repo: headRepo } });
const linked = (number: number, ref: string) => ({ number, head: { ref } });
const suite = (patch: Record<string, unknown> = {}) => ({ action: 'completed', repository, check_suite: { head_branch: FACTORY_BRANCH, head_sha: SHA, conclusion: 'failure', pull_requests: [], ...patch } });
const checkRun = (patch: Record<string, unknown> = {}) => ({ action: 'completed', repository, check_run: { head_sha: SHA, conclusion: 'success', check_suite: { head_branch: FACTORY_BRANCH }, pull_requests: [], ...patch } });
const checks = (action: string, extra: Record<string, unknown> = {}) => ({ name: 'forge', event: { kind: 'checks', action, headSha: SHA, deliveryId: 'gh-7', ...extra } });

describe('events and actions the gateway does not act on', () => {
  it('answers a ping and names an event it does not listen to', () => {
    expect(map('ping', githubExample('ping', null))).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'ping: the webhook is set up' });
    expect(map('issues', { repository })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'GitHub issues events are not handled' });
  });

  it('names the action it does not handle for each event', () => {
    expect(map('pull_request', { action: 'edited', repository, pull_request: pull() })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'pull_request action "edited" is not handled' });
    expect(map('pull_request_review', { action: 'edited', repository, pull_request: pull(), review: { state: 'commented' } })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'pull_request_review action "edited" is not handled' });
    expect(map('check_suite', suite())).toMatchObject({ kind: 'signal' });
    expect(map('check_suite', { ...suite(), action: 'rerequested' })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'check_suite action "rerequested" is not handled' });
    expect(map('check_run', { ...checkRun(), action: 'requested_action' })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'check_run action "requested_action" is not handled' });
  });

  it('says which field of each event is broken', () => {
    expect(map('pull_request_review', { action: 'submitted', repository, pull_request: pull() })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^GitHub pull_request_review payload: review: /) });
    expect(map('check_suite', { action: 'completed', repository, check_suite: { head_branch: FACTORY_BRANCH } })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^GitHub check_suite payload: check_suite\.head_sha: /) });
    expect(map('check_run', { action: 'completed', repository, check_run: {} })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^GitHub check_run payload: check_run\.head_sha: /) });
    expect(map('status', { repository, sha: SHA, state: 'success' })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^GitHub status payload: branches: /) });
    expect(map('pull_request', { action: 'opened', repository, pull_request: { number: 'twelve', head: pull().head } })).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^GitHub pull_request payload: pull_request\.number: /) });
  });
});

describe('payload shapes', () => {
  const invalid = (event: string, payload: unknown, where: string) => expect(map(event, payload)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining(`GitHub ${event} payload: ${where}`) });

  it('needs the head branch and SHA of a pull request, and the state of a review', () => {
    invalid('pull_request', { action: 'opened', repository, pull_request: { number: 12, head: { ref: FACTORY_BRANCH } } }, 'pull_request.head.sha: ');
    invalid('pull_request_review', { action: 'submitted', repository, pull_request: pull(), review: {} }, 'review.state: ');
  });

  it("needs a number and a branch for each PR checks link to, and a text head branch", () => {
    invalid('check_suite', suite({ pull_requests: [{ head: { ref: FACTORY_BRANCH } }] }), 'check_suite.pull_requests.0.number: ');
    invalid('check_suite', suite({ pull_requests: [{ number: 3, head: {} }] }), 'check_suite.pull_requests.0.head.ref: ');
    invalid('check_run', checkRun({ check_suite: { head_branch: 42 } }), 'check_run.check_suite.head_branch: ');
  });

  it('needs a name for each branch of a commit status, and its SHA and state', () => {
    invalid('status', { repository, sha: SHA, state: 'success', branches: [{ name: 5 }] }, 'branches.0.name: ');
    invalid('status', { repository, state: 'success', branches: [] }, 'sha: ');
    invalid('status', { repository, sha: SHA, branches: [] }, 'state: ');
  });

  it('reads checks without linked PRs as linking none', () => {
    const { pull_requests: _suitePulls, ...bareSuite } = suite().check_suite;
    expect(map('check_suite', { ...suite(), check_suite: bareSuite })).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('failure') });
    const { pull_requests: _runPulls, ...bareRun } = checkRun().check_run;
    expect(map('check_run', { ...checkRun(), check_run: bareRun })).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('success') });
  });
});

describe('the repository allowlist', () => {
  it('accepts any listed repository, not only the first', () => {
    const factory = testConfig().factory;
    const two = { factory: { ...factory, repos: [...factory.repos, { ...factory.repos[0]!, name: 'acme/docs' }] }, deliveryId: 'gh-7' };
    expect(mapGithubEvent('pull_request', { action: 'opened', repository: { id: 7, full_name: 'acme/docs' }, pull_request: pull(FACTORY_BRANCH, { id: 7, full_name: 'acme/docs' }) }, two)).toMatchObject({ kind: 'signal', issueId: ISSUE_ID });
  });
});

describe('pull requests and reviews', () => {
  it('signal the issue of a factory branch with the PR and its head', () => {
    expect(map('pull_request', { action: 'synchronize', repository, pull_request: pull() })).toEqual({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'forge', event: { kind: 'pull-request', action: 'synchronize', prNumber: 12, headSha: SHA, deliveryId: 'gh-7' } },
    });
    expect(map('pull_request_review', { action: 'dismissed', repository, pull_request: pull(), review: { state: 'dismissed' } })).toEqual({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'forge', event: { kind: 'review', action: 'dismissed', prNumber: 12, headSha: SHA, deliveryId: 'gh-7' } },
    });
  });

  it('name a branch that is not a factory branch', () => {
    expect(map('pull_request', { action: 'opened', repository, pull_request: pull('feature/manual') })).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'branch feature/manual is not a factory branch' });
  });

  it('refuse a factory-looking branch whose head is in another repository, or in one that was deleted', () => {
    const fromFork = { kind: 'ignore', why: 'not-applicable', reason: 'PR #12 comes from another repository, not a factory branch' };
    expect(map('pull_request', { action: 'opened', repository, pull_request: pull(FACTORY_BRANCH, { ...repository, id: 202 }) })).toEqual(fromFork);
    expect(map('pull_request', { action: 'opened', repository, pull_request: pull(FACTORY_BRANCH, null) })).toEqual(fromFork);
  });
});

describe('checks', () => {
  it('carry the conclusion as the action, or "completed" when there is none', () => {
    expect(map('check_suite', suite())).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('failure') });
    expect(map('check_suite', suite({ conclusion: null }))).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('completed') });
    expect(map('check_run', checkRun({ conclusion: undefined }))).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('completed') });
  });

  it('carry the PR number only when they concern exactly one PR', () => {
    expect(map('check_suite', suite({ pull_requests: [linked(12, FACTORY_BRANCH)] }))).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('failure', { prNumber: 12 }) });
    expect(map('check_run', checkRun({ pull_requests: [linked(12, FACTORY_BRANCH), linked(13, OTHER_BRANCH)] }))).toEqual({ kind: 'signal-each', issueIds: [ISSUE_ID, OTHER_ID], signal: checks('success') });
  });

  it('tell each issue once, however many times its branch is named', () => {
    expect(map('check_suite', suite({ pull_requests: [linked(12, FACTORY_BRANCH)] }))).toMatchObject({ kind: 'signal', issueId: ISSUE_ID });
    expect(map('status', { repository, sha: SHA, state: 'pending', branches: [{ name: FACTORY_BRANCH }, { name: `refs/heads/${FACTORY_BRANCH}` }] })).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('pending') });
  });

  it('find the issue through a linked PR when the suite names no branch', () => {
    expect(map('check_run', checkRun({ check_suite: null, pull_requests: [linked(12, FACTORY_BRANCH)] }))).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('success', { prNumber: 12 }) });
  });

  it('name the branches they concern when none is a factory branch', () => {
    expect(map('check_suite', suite({ head_branch: 'main', pull_requests: [linked(3, 'feature/x')] }))).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'no factory branch among main, feature/x' });
    expect(map('status', { repository, sha: SHA, state: 'success', branches: [{ name: 'main' }, { name: 'gh-pages' }] })).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'no factory branch among main, gh-pages' });
  });

  it('say so when they name no branch at all', () => {
    expect(map('check_suite', suite({ head_branch: null }))).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'the checks name no branch' });
    expect(map('check_run', checkRun({ check_suite: { head_branch: null } }))).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'the checks name no branch' });
    expect(map('status', { repository, sha: SHA, state: 'success', branches: [] })).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'the checks name no branch' });
  });

  it('from a commit status never carry a PR number, even with one factory branch', () => {
    expect(map('status', { repository, sha: SHA, state: 'failure', branches: [{ name: FACTORY_BRANCH }] })).toEqual({ kind: 'signal', issueId: ISSUE_ID, signal: checks('failure') });
    const single = map('status', { repository, sha: SHA, state: 'failure', branches: [{ name: FACTORY_BRANCH }] });
    expect(single.kind === 'signal' && Object.keys(single.signal.event)).not.toContain('prNumber');
  });
});
