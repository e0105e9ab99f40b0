// Which Linear deliveries start a run, which signal one, and which are ignored, and why.
import { describe, expect, it } from 'vitest';
import { LINEAR_ROUTES, mapLinearEvent } from '../../src/gateway/linear-events.js';
import { actionOutcome, routeKey, UNBLOCK_OUTCOME } from '../../src/gateway/routes.js';
import { APP_USER_ID, ISSUE_ID, OPERATOR_EMAIL, linearAgentSessionPayload, linearCommentPayload, linearIssuePayload, sessionsConfig, testConfig } from './fixtures.js';

const ctx = { factory: testConfig().factory, deliveryId: 'delivery-1' };

describe('Linear Issue events', () => {
  it('starts a run when an allowlisted issue is labelled and in an unstarted state', () => {
    expect(mapLinearEvent(linearIssuePayload({ action: 'create' }), ctx)).toEqual({
      kind: 'start',
      // Title and URL only dress the run's summary in the Web UI; the run reads the issue itself.
      issue: { id: ISSUE_ID, key: 'ENG-42', title: 'Add a widget', url: 'https://linear.app/acme/issue/ENG-42' },
      event: { kind: 'issue-ready', deliveryId: 'delivery-1' },
    });
  });

  it("also counts the team's readyState by name as ready, whatever its type", () => {
    const payload = linearIssuePayload({ identifier: 'OPS-7', state: { name: 'Ready for agents', type: 'started' } });
    expect(mapLinearEvent(payload, ctx)).toMatchObject({ kind: 'start', issue: { key: 'OPS-7' } });
  });

  it('signals the run (issue-updated) when an allowlisted issue changes but is not ready', () => {
    for (const payload of [
      linearIssuePayload({ labels: ['bug'] }),
      linearIssuePayload({ state: { name: 'In Progress', type: 'started' } }),
      linearIssuePayload({ action: 'remove' }),
    ]) {
      expect(mapLinearEvent(payload, ctx)).toEqual({
        kind: 'signal',
        issueId: ISSUE_ID,
        signal: { name: 'tracker', event: { kind: 'issue-updated', deliveryId: 'delivery-1' } },
      });
    }
  });

  it('ignores a new issue that is not ready: no run can exist for it yet', () => {
    expect(mapLinearEvent(linearIssuePayload({ action: 'create', labels: [] }), ctx)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
  });

  it('ignores a team that is not allowlisted, saying which', () => {
    expect(mapLinearEvent(linearIssuePayload({ identifier: 'HR-1' }), ctx)).toEqual({
      kind: 'ignore',
      why: 'not-allowlisted',
      reason: 'team HR is not listed under tracker.teams',
    });
  });

  it('reads the team key from the identifier when the payload has no team object', () => {
    const payload = linearIssuePayload({ identifier: 'HR-1' });
    delete (payload.data as Record<string, unknown>).team;
    expect(mapLinearEvent(payload, ctx)).toMatchObject({ kind: 'ignore', why: 'not-allowlisted' });
  });

  it('ignores event types it does not handle, and reports a handled type with a broken shape', () => {
    expect(mapLinearEvent({ type: 'Project', action: 'update', data: {} }, ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
    const broken = linearIssuePayload();
    delete (broken.data as Record<string, unknown>).state;
    expect(mapLinearEvent(broken, ctx)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('state') });
    expect(mapLinearEvent({ hello: 'world' }, ctx)).toMatchObject({ kind: 'invalid' });
  });
});

describe('Linear operator commands', () => {
  it('signals an operator command from an allowlisted email, with the rest of the comment as reason', () => {
    expect(mapLinearEvent(linearCommentPayload({ body: '/conveyor retry flaky CI, try again' }), ctx)).toEqual({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'operator', event: { command: 'retry', by: OPERATOR_EMAIL, reason: 'flaky CI, try again', deliveryId: 'delivery-1' } },
      // For the run a retry starts when none is open: its summary in the Web UI.
      issue: { id: ISSUE_ID, key: 'ENG-42', title: 'Add a widget', url: 'https://linear.app' },
    });
  });

  it('accepts an operator listed by name, and each of retry, abort, approve, hold, release', () => {
    for (const command of ['retry', 'abort', 'approve', 'hold', 'release'] as const) {
      const payload = linearCommentPayload({ body: `/conveyor ${command}`, user: { name: 'Grace Hopper', email: 'grace@navy.example' } });
      expect(mapLinearEvent(payload, ctx)).toMatchObject({ kind: 'signal', signal: { name: 'operator', event: { command, by: 'Grace Hopper' } } });
    }
  });

  it('matches operator emails case-insensitively', () => {
    const payload = linearCommentPayload({ body: '/conveyor abort', user: { name: 'Ops', email: 'Operator@Example.com' } });
    expect(mapLinearEvent(payload, ctx)).toMatchObject({ kind: 'signal' });
  });

  it('ignores a command from someone who is not an operator, saying who', () => {
    const payload = linearCommentPayload({ body: '/conveyor approve', user: { name: 'Mallory', email: 'mallory@example.com' } });
    expect(mapLinearEvent(payload, ctx)).toEqual({
      kind: 'ignore',
      why: 'not-allowlisted',
      reason: '/conveyor approve from mallory@example.com, who is not listed under tracker.operators',
    });
  });

  it('ignores ordinary comments, unknown commands, and commands on other teams', () => {
    expect(mapLinearEvent(linearCommentPayload({ body: 'looks good to me' }), ctx)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
    expect(mapLinearEvent(linearCommentPayload({ body: 'please /conveyor retry' }), ctx)).toMatchObject({ kind: 'ignore' });
    expect(mapLinearEvent(linearCommentPayload({ body: '/conveyor merge-now' }), ctx)).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('unknown command') });
    expect(mapLinearEvent(linearCommentPayload({ body: '/conveyor retry', identifier: 'HR-3' }), ctx)).toMatchObject({ kind: 'ignore', why: 'not-allowlisted' });
  });

  it('ignores edits and removals of comments: a command is obeyed once, when written', () => {
    const payload = { ...linearCommentPayload({ body: '/conveyor retry' }), action: 'update' };
    expect(mapLinearEvent(payload, ctx)).toMatchObject({ kind: 'ignore', why: 'unhandled' });
  });
});

describe('Linear agent session events (tracker.agentSessions)', () => {
  const on = { factory: sessionsConfig().factory, deliveryId: 'delivery-9' };

  it('maps stop in a session to the issue\'s abort, by the person who pressed it', () => {
    expect(mapLinearEvent(linearAgentSessionPayload(), on)).toEqual({
      kind: 'signal',
      issueId: ISSUE_ID,
      signal: { name: 'operator', event: { command: 'abort', by: OPERATOR_EMAIL, deliveryId: 'delivery-9', reason: 'stopped in the Linear agent session' } },
    });
  });

  it('does nothing with sessions off, a message without stop, or a new session', () => {
    expect(mapLinearEvent(linearAgentSessionPayload(), ctx)).toMatchObject({ kind: 'ignore', why: 'not-applicable', reason: expect.stringContaining('tracker.agentSessions is off') });
    expect(mapLinearEvent(linearAgentSessionPayload({ signal: null }), on)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
    expect(mapLinearEvent(linearAgentSessionPayload({ signal: 'continue' }), on)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
    expect(mapLinearEvent(linearAgentSessionPayload({ action: 'created' }), on)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
    expect(mapLinearEvent(linearAgentSessionPayload({ issueId: null }), on)).toMatchObject({ kind: 'ignore', why: 'not-applicable' });
  });

  it('obeys a stop only from tracker.operators, on an allowlisted team, for its own app user when one is set', () => {
    expect(mapLinearEvent(linearAgentSessionPayload({ user: { name: 'Mallory', email: 'mallory@example.com' } }), on)).toMatchObject({ kind: 'ignore', why: 'not-allowlisted', reason: expect.stringContaining('mallory@example.com') });
    expect(mapLinearEvent(linearAgentSessionPayload({ identifier: 'HR-2' }), on)).toMatchObject({ kind: 'ignore', why: 'not-allowlisted' });
    const pinned = { ...on, factory: sessionsConfig(APP_USER_ID).factory };
    expect(mapLinearEvent(linearAgentSessionPayload(), pinned)).toMatchObject({ kind: 'signal' });
    expect(mapLinearEvent(linearAgentSessionPayload({ appUserId: 'someone-else' }), pinned)).toMatchObject({ kind: 'ignore', why: 'not-allowlisted', reason: expect.stringContaining('someone-else') });
  });

  it('refuses a stop whose shape is not Linear\'s', () => {
    const broken = { ...linearAgentSessionPayload(), agentSession: { issueId: ISSUE_ID } };
    expect(mapLinearEvent(broken, on)).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('agentSession.id') });
  });
});

describe('the Linear routes table (conveyor routes)', () => {
  // One payload per route the table lists, and the near misses beside them: every payload must
  // land on a listed route (or on an ignore the table leaves out), and every route be reached.
  const on = { factory: sessionsConfig().factory, deliveryId: 'delivery-1' };
  const samples: Array<[string, Record<string, unknown>, typeof ctx?]> = [
    ['AgentSessionEvent.prompted', linearAgentSessionPayload(), on],
    ['AgentSessionEvent.prompted', linearAgentSessionPayload({ signal: null }), on],
    ['AgentSessionEvent.prompted', linearAgentSessionPayload()],
    ['AgentSessionEvent.prompted', linearAgentSessionPayload({ user: { name: 'Mallory', email: 'mallory@example.com' } }), on],
    ['AgentSessionEvent.created', linearAgentSessionPayload({ action: 'created' }), on],
    ['Issue.create', linearIssuePayload({ action: 'create' })],
    ['Issue.update', linearIssuePayload({ action: 'update' })],
    ['Issue.update', linearIssuePayload({ identifier: 'OPS-7', state: { name: 'Ready for agents', type: 'started' } })],
    ['Issue.create', linearIssuePayload({ action: 'create', labels: [] })],
    ['Issue.update', linearIssuePayload({ labels: ['bug'] })],
    ['Issue.update', linearIssuePayload({ state: { name: 'Done', type: 'completed' } })],
    ['Issue.remove', linearIssuePayload({ action: 'remove' })],
    ['Issue.remove', linearIssuePayload({ action: 'remove', labels: [] })],
    ...(['retry', 'abort', 'approve', 'hold', 'release', 'Retry'] as const).map((c): [string, Record<string, unknown>] => ['Comment.create', linearCommentPayload({ body: `/conveyor ${c}` })]),
    ['Comment.create', linearCommentPayload({ body: 'looks good' })],
    ['Comment.create', linearCommentPayload({ body: '/conveyor merge-now' })],
    ['Comment.create', linearCommentPayload({ body: '/conveyor retry', user: { name: 'Mallory', email: 'mallory@example.com' } })],
    ['Issue.update', linearIssuePayload({ identifier: 'HR-1' })],
    ['Comment.update', { ...linearCommentPayload({ body: '/conveyor retry' }), action: 'update' }],
  ];
  const left = new Set(['ignore:not-allowlisted', 'ignore:unhandled', 'invalid']);

  it('lists exactly the routes the mapper takes', () => {
    const table = new Set(LINEAR_ROUTES.map(routeKey));
    const reached = new Set<string>();
    for (const [event, payload, context] of samples) {
      const outcome = actionOutcome(mapLinearEvent(payload, context ?? ctx));
      if (left.has(outcome)) continue;
      const key = routeKey({ ingress: 'linear', event, outcome });
      expect(table, `${key} is taken by the mapper but not in LINEAR_ROUTES`).toContain(key);
      reached.add(key);
    }
    // The unblock route is taken by receive.ts, after the mapper (gateway-blockers.test.ts).
    const unreached = [...table].filter((key) => !reached.has(key) && !key.endsWith(UNBLOCK_OUTCOME));
    expect(unreached, 'routes in LINEAR_ROUTES no payload reaches').toEqual([]);
  });
});
