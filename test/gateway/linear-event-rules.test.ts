// The Linear mapper's rules with the words it logs: which actions it handles, how it finds the
// team, how a `/conveyor` command is read and who may give one, and which deliveries say a
// blocker has settled. Payloads are shaped like Linear's (see fixtures.ts).
import { describe, expect, it } from 'vitest';
import { mapLinearEvent, settledBlocker } from '../../src/gateway/linear-events.js';
import { ISSUE_ID, OPERATOR_EMAIL, linearCommentPayload, linearIssuePayload, testConfig } from './payloads.js';

const ctx = { factory: testConfig().factory, deliveryId: 'delivery-7' };
const map = (payload: unknown) => mapLinearEvent(payload, ctx);
const withData = (payload: Record<string, unknown>, patch: Record<string, unknown>) => ({ ...payload, data: { ...(payload.data as Record<string, unknown>), ...patch } });
const issueUpdated = { kind: 'signal', issueId: ISSUE_ID, signal: { name: 'tracker', event: { kind: 'issue-updated', deliveryId: 'delivery-7' } } };

describe('Linear deliveries the gateway does not act on', () => {
  it('names an event type it does not handle', () => {
    expect(map({ type: 'Project', action: 'update', data: {} })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'Linear Project events are not handled' });
  });

  it('names an Issue or Comment action it does not handle', () => {
    expect(map(linearIssuePayload({ action: 'restore' as 'update' }))).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'Linear Issue action "restore" is not handled' });
    expect(map({ ...linearCommentPayload({ body: '/conveyor retry' }), action: 'remove' })).toEqual({ kind: 'ignore', why: 'unhandled', reason: 'Linear Comment action "remove" is not handled' });
  });

  it('says what is wrong with a payload that is not a Linear webhook', () => {
    const result = map({ action: 'update', data: {} });
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.reason).toMatch(/^not a Linear webhook payload \(type: .+\)$/);
    expect(map('Issue').kind).toBe('invalid');
  });

  it('says which field of an Issue or Comment is wrong', () => {
    const noId = map(withData(linearIssuePayload(), { id: '' }));
    expect(noId.kind === 'invalid' && noId.reason).toMatch(/^Linear Issue payload: id: /);
    const noIdentifier = map(withData(linearIssuePayload(), { identifier: '' }));
    expect(noIdentifier.kind === 'invalid' && noIdentifier.reason).toMatch(/^Linear Issue payload: identifier: /);
    const noBody = map(withData(linearCommentPayload({ body: 'x' }), { body: undefined }));
    expect(noBody.kind === 'invalid' && noBody.reason).toMatch(/^Linear Comment payload: body: /);
  });

  it('says which new issue is not ready', () => {
    expect(map(linearIssuePayload({ action: 'create', labels: ['bug'] }))).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'ENG-42 was created but is not ready for the factory' });
  });
});

describe('Linear Issue events', () => {
  it('tells the run, and starts none, when a ready issue is removed', () => {
    expect(map(linearIssuePayload({ action: 'remove' }))).toEqual(issueUpdated);
  });

  it('starts a run on an update that makes the issue ready', () => {
    expect(map(linearIssuePayload({ action: 'update' }))).toMatchObject({ kind: 'start', issue: { id: ISSUE_ID, key: 'ENG-42' }, event: { kind: 'issue-ready', deliveryId: 'delivery-7' } });
  });

  it('reads an issue without labels as not ready', () => {
    expect(map(withData(linearIssuePayload({ action: 'update' }), { labels: null }))).toEqual(issueUpdated);
    expect(map(withData(linearIssuePayload({ action: 'create' }), { labels: undefined }))).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
  });

  it('takes the team from the identifier up to its last dash when the payload has no team', () => {
    const factory = testConfig().factory;
    const withTeams = { ...ctx, factory: { ...factory, tracker: { ...factory.tracker, teams: [...factory.tracker.teams, { ...factory.tracker.teams[0]!, key: 'MY-TEAM' }, { ...factory.tracker.teams[0]!, key: 'NODASH' }] } } };
    const noTeam = (identifier: string) => withData(linearIssuePayload({ identifier }), { team: null });
    expect(mapLinearEvent(noTeam('MY-TEAM-7'), withTeams)).toMatchObject({ kind: 'start', issue: { key: 'MY-TEAM-7' } });
    expect(mapLinearEvent(noTeam('NODASH'), withTeams)).toMatchObject({ kind: 'start', issue: { key: 'NODASH' } });
    expect(mapLinearEvent(noTeam('-7'), withTeams)).toEqual({ kind: 'ignore', why: 'not-allowlisted', reason: 'team -7 is not listed under tracker.teams' });
  });

  it('prefers the team object to the identifier (a team key can change; old identifiers keep the old key)', () => {
    expect(map(withData(linearIssuePayload({ identifier: 'OLD-3' }), { team: { id: 't', key: 'ENG' } }))).toMatchObject({ kind: 'start', issue: { key: 'OLD-3' } });
  });
});

describe('/conveyor commands', () => {
  // Linear sends `user` without an email for some accounts (integrations), and null for none.
  const command = (body: string, user: { name: string; email?: string } | null = { name: 'Ops Person', email: OPERATOR_EMAIL }) =>
    map(withData(linearCommentPayload({ body }), { user: user === null ? null : { id: 'user-2', ...user } }));
  // The comment's issue rides along (the Web UI's summary of a run the command starts).
  const onIssue = (key = 'ENG-42') => ({ issue: { id: ISSUE_ID, key, title: 'Add a widget', url: 'https://linear.app' } });
  const signalled = (cmd: string, by: string, reason?: string, issue: object = onIssue()) => ({
    kind: 'signal',
    issueId: ISSUE_ID,
    ...issue,
    signal: { name: 'operator', event: { command: cmd, by, deliveryId: 'delivery-7', ...(reason ? { reason } : {}) } },
  });

  it('reads the command in any case, with spaces around it, and the rest of the comment as reason across lines', () => {
    expect(command('  /conveyor   APPROVE   the spec is fine  ')).toEqual(signalled('approve', OPERATOR_EMAIL, 'the spec is fine'));
    expect(command('/conveyor abort\nwrong repo\nsorry')).toEqual(signalled('abort', OPERATOR_EMAIL, 'wrong repo\nsorry'));
  });

  it('gives no reason when nothing follows the command', () => {
    expect(command('/conveyor retry')).toEqual(signalled('retry', OPERATOR_EMAIL));
    expect(command('/conveyor retry   \n  ')).toEqual(signalled('retry', OPERATOR_EMAIL));
  });

  it('is not a command without a space after /conveyor, or not at the start', () => {
    expect(command('/conveyorretry')).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'comment is not a /conveyor command' });
    expect(command('note: /conveyor retry')).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'comment is not a /conveyor command' });
    expect(command('/conveyor')).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'comment is not a /conveyor command' });
  });

  it('names an unknown command as written and lists the known ones', () => {
    expect(command('/conveyor Merge now')).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'unknown command "/conveyor Merge"; use one of retry, abort, approve, hold, release' });
  });

  it('ignores a command on a comment that is not on an issue', () => {
    expect(map(withData(linearCommentPayload({ body: '/conveyor retry' }), { issueId: null }))).toEqual({ kind: 'ignore', why: 'not-applicable', reason: 'command comment is not on an issue' });
  });

  it("takes the team from the comment's issue, its identifier, or lets the command through when it has neither", () => {
    const payload = linearCommentPayload({ body: '/conveyor retry' });
    const issue = (payload.data as { issue: Record<string, unknown> }).issue;
    expect(map(withData(payload, { issue: { ...issue, team: null, identifier: 'HR-1' } }))).toEqual({ kind: 'ignore', why: 'not-allowlisted', reason: 'team HR is not listed under tracker.teams' });
    expect(map(withData(payload, { issue: { ...issue, team: null, identifier: 'ENG-1' } }))).toEqual(signalled('retry', OPERATOR_EMAIL, undefined, onIssue('ENG-1')));
    expect(map(withData(payload, { issue: { ...issue, team: { key: 'HR' }, identifier: 'ENG-1' } }))).toMatchObject({ kind: 'ignore', why: 'not-allowlisted' });
    expect(map(withData(payload, { issue: null }))).toEqual(signalled('retry', OPERATOR_EMAIL, undefined, {}));
  });

  it('names the operator by the email as the author wrote it, trimmed', () => {
    expect(command('/conveyor retry', { name: 'Ops', email: '  Operator@Example.COM ' })).toEqual(signalled('retry', 'Operator@Example.COM'));
  });

  it('matches operator names exactly, trimmed, never by case', () => {
    expect(command('/conveyor retry', { name: ' Grace Hopper ' })).toEqual(signalled('retry', 'Grace Hopper'));
    expect(command('/conveyor retry', { name: 'grace hopper' })).toMatchObject({ kind: 'ignore', why: 'not-allowlisted', reason: '/conveyor retry from grace hopper, who is not listed under tracker.operators' });
  });

  it('trims the operator list too', () => {
    const factory = testConfig().factory;
    const padded = { ...ctx, factory: { ...factory, tracker: { ...factory.tracker, operators: ['  lead@example.com  ', ' Ada Lovelace '] } } };
    expect(mapLinearEvent(linearCommentPayload({ body: '/conveyor abort', user: { name: 'x', email: 'LEAD@example.com' } }), padded)).toMatchObject({ kind: 'signal', signal: { event: { by: 'LEAD@example.com' } } });
    expect(mapLinearEvent(linearCommentPayload({ body: '/conveyor abort', user: { name: 'Ada Lovelace', email: 'ada@elsewhere' } }), padded)).toMatchObject({ kind: 'signal', signal: { event: { by: 'Ada Lovelace' } } });
  });

  it('says who asked when the author is not an operator: the email, else the name, else an unknown user', () => {
    expect(command('/conveyor retry', { name: 'Mallory' })).toMatchObject({ reason: '/conveyor retry from Mallory, who is not listed under tracker.operators' });
    expect(command('/conveyor retry', null)).toEqual({ kind: 'ignore', why: 'not-allowlisted', reason: '/conveyor retry from an unknown user, who is not listed under tracker.operators' });
  });
});

describe('a blocker that settled', () => {
  const moved = (type: string | null, updatedFrom: unknown = { stateId: 'state-0', updatedAt: 'x' }) => ({ ...withData(linearIssuePayload({ identifier: 'OPS-9' }), { state: type === null ? null : { name: type, type } }), updatedFrom });

  it('is an issue moved into a completed or canceled state, or removed, in any team', () => {
    expect(settledBlocker(moved('completed'))).toEqual({ id: ISSUE_ID, key: 'OPS-9' });
    expect(settledBlocker(moved('canceled'))).toEqual({ id: ISSUE_ID, key: 'OPS-9' });
    expect(settledBlocker(linearIssuePayload({ action: 'remove', identifier: 'HR-2' }))).toEqual({ id: ISSUE_ID, key: 'HR-2' });
  });

  it('is not an issue moved anywhere else, nor a finished one changed in another way', () => {
    expect(settledBlocker(moved('started'))).toBeNull();
    expect(settledBlocker(moved(null))).toBeNull();
    expect(settledBlocker(moved('completed', { title: 'old title' }))).toBeNull();
    expect(settledBlocker(moved('completed', null))).toBeNull();
  });

  it('is not a created issue, a comment, or something that is not a Linear payload', () => {
    expect(settledBlocker({ ...moved('completed'), action: 'create' })).toBeNull();
    expect(settledBlocker(linearCommentPayload({ body: 'done' }))).toBeNull();
    expect(settledBlocker(null)).toBeNull();
    expect(settledBlocker(withData(moved('completed'), { identifier: '' }))).toBeNull();
  });
});
