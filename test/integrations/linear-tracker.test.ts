import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TrackerIssue } from '../../src/domain/issue.js';
import { capturingLogger, rejectionOf } from '../helpers/capture.js';
import { IntegrationError } from '../../src/integrations/errors.js';
import { createLinearTracker } from '../../src/integrations/linear-tracker.js';
import type { Tracker } from '../../src/integrations/tracker.js';
import { startLinearEmulator, type LinearEmulator } from '../../src/sandbox/linear/index.js';

// The Tracker contract, driven through the real @linear/sdk against the Linear emulator over
// HTTP on a free port. Failure classes decide retry or escalate (DESIGN.md, "Deterministic
// retries"): an error that can never succeed must not be retried for half a day, and a
// passing rate limit must not escalate.

const API_KEY = 'lin_api_tracker_test_SECRET_4f9a2c7e';


const failure = (promise: Promise<unknown>) => rejectionOf(promise, IntegrationError);

describe('createLinearTracker against the Linear emulator', () => {
  let emulator: LinearEmulator;
  let tracker: Tracker;
  let logs: string[];

  beforeEach(async () => {
    emulator = await startLinearEmulator({ apiKeys: [API_KEY], logger: pino({ level: 'silent' }) });
    const captured = capturingLogger();
    logs = captured.lines;
    tracker = createLinearTracker({ apiKey: API_KEY, apiUrl: emulator.url, logger: captured.logger });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
  });

  afterEach(async () => {
    // Whatever the tracker sent must have been valid against Linear's schema.
    expect(emulator.invalidDocuments).toEqual([]);
    expect(emulator.unsupportedRequests).toEqual([]);
    // The key never reaches a log line, whatever happened in the test.
    expect(logs.join('\n')).not.toContain(API_KEY);
    await emulator.close();
  });

  it('reads an issue by id and by key into a TrackerIssue', async () => {
    emulator.createUser({ name: 'Ada Lovelace', email: 'ada@example.com' });
    emulator.createProject({ name: 'Factory', teamKeys: ['ENG'] });
    const seeded = emulator.createIssue({
      teamKey: 'ENG',
      title: 'Add retries',
      description: '## Acceptance\n- [ ] retries',
      labels: ['conveyor', 'backend'],
      priority: 3,
      stateName: 'Todo',
      assigneeEmail: 'ada@example.com',
      projectName: 'Factory',
    });
    const expected: TrackerIssue = {
      id: seeded.id,
      key: 'ENG-1',
      title: 'Add retries',
      description: '## Acceptance\n- [ ] retries',
      url: seeded.url,
      team: { id: seeded.team.id, key: 'ENG' },
      project: 'Factory',
      labels: ['conveyor', 'backend'],
      priority: 3,
      state: { name: 'Todo', type: 'unstarted' },
      assignee: 'ada@example.com',
      createdAt: seeded.createdAt,
      updatedAt: seeded.updatedAt,
    };
    const byId = await tracker.getIssue(seeded.id);
    expect({ ...byId, labels: [...byId.labels].sort() }).toEqual({ ...expected, labels: ['backend', 'conveyor'] });
    expect((await tracker.getIssue('ENG-1')).id).toBe(seeded.id);
  });

  it('reads an issue without description, project or assignee as empty and null', async () => {
    const seeded = emulator.createIssue({ teamKey: 'ENG', title: 'Bare' });
    const issue = await tracker.getIssue(seeded.id);
    expect(issue).toMatchObject({ description: '', project: null, assignee: null, labels: [], priority: 0, state: { name: 'Backlog', type: 'backlog' } });
  });

  it('fails a missing issue as a logic error', async () => {
    const error = await failure(tracker.getIssue('ENG-999'));
    expect(error.failureClass).toBe('logic');
    expect(error.details.service).toBe('linear');
    expect(error.message).toContain('ENG-999');
    expect(error.message).toContain('Could not find referenced Issue');
  });

  it('lists every open issue with the label in the given teams, across pages', async () => {
    emulator.createTeam({ key: 'OPS', name: 'Operations' });
    emulator.createTeam({ key: 'WEB', name: 'Web' });
    const wanted = new Set<string>();
    for (let n = 0; n < 53; n += 1) {
      const state = ['Backlog', 'Todo', 'In Progress', 'In Review'][n % 4];
      wanted.add(emulator.createIssue({ teamKey: n % 5 === 0 ? 'OPS' : 'ENG', title: `ready ${n}`, labels: ['conveyor'], ...(state ? { stateName: state } : {}) }).id);
    }
    emulator.createIssue({ teamKey: 'ENG', title: 'done', labels: ['conveyor'], stateName: 'Done' });
    emulator.createIssue({ teamKey: 'ENG', title: 'canceled', labels: ['conveyor'], stateName: 'Canceled' });
    emulator.createIssue({ teamKey: 'ENG', title: 'unlabelled', stateName: 'Todo' });
    emulator.createIssue({ teamKey: 'WEB', title: 'other team', labels: ['conveyor'], stateName: 'Todo' });

    const listed = await tracker.listIssues({ teamKeys: ['ENG', 'OPS'], label: 'conveyor' });
    expect(listed).toHaveLength(53); // two pages of Linear's default 50
    expect(new Set(listed.map((i) => i.id))).toEqual(wanted);
    expect(listed.every((i) => i.labels.includes('conveyor') && i.state.type !== 'completed')).toBe(true);

    const small = createLinearTracker({ apiKey: API_KEY, apiUrl: emulator.url, pageSize: 7 });
    const paged = await small.listIssues({ teamKeys: ['ENG', 'OPS'], label: 'conveyor' });
    expect(new Set(paged.map((i) => i.id))).toEqual(wanted);
    expect(paged).toHaveLength(53);

    expect(await tracker.listIssues({ teamKeys: [], label: 'conveyor' })).toEqual([]);
  });

  it('moves an issue to a state by name, and names the team and its states when the name is unknown', async () => {
    const seeded = emulator.createIssue({ teamKey: 'ENG', title: 'Move me', stateName: 'Todo' });
    await tracker.moveIssue(seeded.id, 'In Progress');
    expect(emulator.getIssue(seeded.id)?.state).toMatchObject({ name: 'In Progress', type: 'started' });
    await tracker.moveIssue('ENG-1', 'in review'); // by key, and case-insensitively
    expect(emulator.getIssue(seeded.id)?.state.name).toBe('In Review');

    const before = emulator.getIssue(seeded.id)?.updatedAt;
    await tracker.moveIssue(seeded.id, 'In Review'); // already there: nothing written
    expect(emulator.getIssue(seeded.id)?.updatedAt).toBe(before);

    const error = await failure(tracker.moveIssue(seeded.id, 'Shipping'));
    expect(error.failureClass).toBe('logic');
    expect(error.message).toContain('ENG');
    expect(error.message).toContain('"Shipping"');
    expect(error.message).toContain('Backlog, Todo, In Progress, In Review, Done, Canceled');
    expect(emulator.getIssue(seeded.id)?.state.name).toBe('In Review');
  });

  it('comments on an issue as the API key\'s user', async () => {
    const seeded = emulator.createIssue({ teamKey: 'ENG', title: 'Talk to me' });
    await tracker.comment(seeded.id, 'Dispatched to agent **ada**.\n\nPR to follow.');
    const comments = emulator.listComments(seeded.id);
    expect(comments.map((c) => c.body)).toEqual(['Dispatched to agent **ada**.\n\nPR to follow.']);
    expect(comments[0]?.user.id).toBe(emulator.viewer().id);
  });

  it('tells whether an issue already has a comment containing a marker (how the sweep comments once)', async () => {
    const seeded = emulator.createIssue({ teamKey: 'ENG', title: 'Said before?' });
    const other = emulator.createIssue({ teamKey: 'ENG', title: 'Elsewhere' });
    const marker = 'run `0f8e2d1c-6b1a-4c2e-9d7f-3a5b6c7d8e9f`';
    expect(await tracker.hasComment(seeded.id, marker)).toBe(false);
    await tracker.comment(other.id, `Compensated ${marker}.`);
    for (let n = 0; n < 60; n += 1) await tracker.comment(seeded.id, `chatter ${n}`);
    // Only this issue's comments count, and a comment past the first page is found.
    expect(await tracker.hasComment(seeded.id, marker)).toBe(false);
    await tracker.comment(seeded.id, `Conveyor's ${marker} was terminated.`);
    expect(await tracker.hasComment(seeded.id, marker)).toBe(true);
    expect(await tracker.hasComment('ENG-1', '0f8e2d1c-6b1a-4c2e-9d7f-3a5b6c7d8e9f')).toBe(true);
  });

  it('adds and removes labels by name, idempotently, preferring a team label', async () => {
    emulator.createTeam({ key: 'OPS', name: 'Operations' });
    emulator.createLabel({ name: 'conveyor' });
    const engBlocked = emulator.createLabel({ name: 'blocked', teamKey: 'ENG' });
    emulator.createLabel({ name: 'only-ops', teamKey: 'OPS' });
    const seeded = emulator.createIssue({ teamKey: 'ENG', title: 'Label me', labels: ['conveyor'] });

    await tracker.addLabel(seeded.id, 'blocked');
    expect(emulator.getIssue(seeded.id)?.labelIds).toContain(engBlocked.id);
    await tracker.addLabel(seeded.id, 'Blocked'); // already there, whatever the case
    expect(emulator.getIssue(seeded.id)?.labels.sort()).toEqual(['blocked', 'conveyor']);

    await tracker.removeLabel(seeded.id, 'conveyor');
    expect(emulator.getIssue(seeded.id)?.labels).toEqual(['blocked']);
    await tracker.removeLabel(seeded.id, 'conveyor'); // not there: nothing to do
    expect(emulator.getIssue(seeded.id)?.labels).toEqual(['blocked']);

    const missing = await failure(tracker.addLabel(seeded.id, 'only-ops'));
    expect(missing.failureClass).toBe('logic');
    expect(missing.message).toContain('"only-ops"');
    expect(missing.message).toContain('team ENG');
  });

  it('classes a rejected API key as auth, without the key in the message', async () => {
    const badKey = 'lin_api_WRONG_key_do_not_print_123';
    const rejected = createLinearTracker({ apiKey: badKey, apiUrl: emulator.url });
    const error = await failure(rejected.getIssue('ENG-1'));
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain('Linear rejected the API key (LINEAR_API_KEY): check it is valid and has access to the team');
    expect(error.message).not.toContain(badKey);
    expect(JSON.stringify(error.details)).not.toContain(badKey);
    expect(String(error.stack)).not.toContain(badKey);

    emulator.injectFault({ status: 403 });
    expect((await failure(tracker.listIssues({ teamKeys: ['ENG'], label: 'conveyor' }))).failureClass).toBe('auth');
  });

  it('classes Linear\'s rate limit as transient with the wait it asks for', async () => {
    emulator.createIssue({ teamKey: 'ENG', title: 'x' });
    emulator.injectFault({ operationName: 'ConveyorIssue', status: 400, headers: { 'Retry-After': '7' } });
    const limited = await failure(tracker.getIssue('ENG-1'));
    expect(limited.failureClass).toBe('transient');
    expect(limited.details).toMatchObject({ service: 'linear', status: 400, retryAfterMs: 7000 });

    // Linear also sends RATELIMITED with only `code` (no `type` the SDK maps), and 429.
    emulator.injectFault({ status: 400, body: { errors: [{ message: 'Rate limit exceeded', extensions: { code: 'RATELIMITED' } }] } });
    expect((await failure(tracker.getIssue('ENG-1'))).failureClass).toBe('transient');

    const resetAt = Date.now() + 30_000;
    emulator.injectFault({ status: 429, body: '', headers: { 'X-RateLimit-Requests-Reset': String(resetAt) } });
    const byReset = await failure(tracker.comment('ENG-1', 'hello'));
    expect(byReset.failureClass).toBe('transient');
    expect(byReset.details.retryAfterMs).toBeGreaterThan(20_000);
    expect(byReset.details.retryAfterMs).toBeLessThanOrEqual(30_000);

    // After the burst, the same call succeeds.
    expect((await tracker.getIssue('ENG-1')).key).toBe('ENG-1');
  });

  it('classes server errors and an unreachable Linear as transient', async () => {
    emulator.createIssue({ teamKey: 'ENG', title: 'x', stateName: 'Todo' });
    emulator.injectFault({ status: 500 });
    const internal = await failure(tracker.getIssue('ENG-1'));
    expect(internal.failureClass).toBe('transient');
    expect(internal.details.status).toBe(500);

    emulator.injectFault({ operationName: 'updateIssue', status: 503 });
    const unavailable = await failure(tracker.moveIssue('ENG-1', 'Done'));
    expect(unavailable.failureClass).toBe('transient');
    expect(unavailable.message).not.toContain('<html>');

    const closed = await startLinearEmulator({ apiKeys: [API_KEY], logger: pino({ level: 'silent' }) });
    const goneUrl = closed.url;
    await closed.close();
    const unreachable = createLinearTracker({ apiKey: API_KEY, apiUrl: goneUrl });
    const network = await failure(unreachable.getIssue('ENG-1'));
    expect(network.failureClass).toBe('transient');
    expect(network.message).toContain('Could not reach Linear');
    const networkWrite = await failure(unreachable.comment('ENG-1', 'x'));
    expect(networkWrite.failureClass).toBe('transient');
  });
});
