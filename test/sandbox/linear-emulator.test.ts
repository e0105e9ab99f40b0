import { createHmac } from 'node:crypto';
import { rejectionOf } from '../helpers/capture.js';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthenticationLinearError,
  ForbiddenLinearError,
  InternalLinearError,
  InvalidInputLinearError,
  LinearClient,
  RatelimitedLinearError,
} from '@linear/sdk';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLinearEmulator, type LinearEmulator, type LinearWebhookPayload } from '../../src/sandbox/linear/index.js';

// The emulator as @linear/sdk sees it: every call below goes through the real SDK over HTTP to
// an emulator on a free port, and every document the SDK sent must validate against Linear's
// schema (checked after each test), so the emulator cannot drift from the real API unnoticed.

const API_KEY = 'lin_api_emulator_test_key_0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// The emulator logs refused documents and failed deliveries at warn; these tests provoke both.
const logger = pino({ level: 'silent' });

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on a free port; `respond` decides each answer (default 200). */
async function startReceiver(respond: (req: Received, index: number) => Promise<number> | number = () => 200) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      void Promise.resolve(respond(entry, received.length - 1)).then((status) => {
        res.writeHead(status);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/linear`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls until `check` holds, failing with `what` after a short deadline. */
async function eventually(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}


describe('Linear emulator through @linear/sdk', () => {
  let emulator: LinearEmulator;
  let client: LinearClient;

  beforeEach(async () => {
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY] });
    client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
  });

  afterEach(async () => {
    // Every document the SDK sent in the test must have been valid Linear GraphQL.
    expect(emulator.invalidDocuments.filter((d) => !d.query.includes('nosuchfield'))).toEqual([]);
    expect(emulator.unsupportedRequests).toEqual([]);
    await emulator.close();
  });

  it('listens on a free port, not on a default one', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(emulator.port).not.toBe(8788);
  });

  it('serves an issue by UUID and by key, shaped as the schema says', async () => {
    const ada = emulator.createUser({ name: 'Ada Lovelace', email: 'ada@example.com' });
    emulator.createProject({ name: 'Factory', teamKeys: ['ENG'] });
    const seeded = emulator.createIssue({
      teamKey: 'ENG',
      title: 'Add retries',
      description: 'Acceptance: retries work',
      labels: ['conveyor', 'backend'],
      priority: 2,
      stateName: 'Todo',
      assigneeEmail: ada.email,
      projectName: 'Factory',
    });
    expect(seeded.key).toBe('ENG-1');
    expect(seeded.id).toMatch(UUID);

    const byId = await client.issue(seeded.id);
    const byKey = await client.issue('ENG-1');
    expect(byKey.id).toBe(seeded.id);
    expect(byId.identifier).toBe('ENG-1');
    expect(byId.title).toBe('Add retries');
    expect(byId.description).toBe('Acceptance: retries work');
    expect(byId.priority).toBe(2);
    expect(byId.priorityLabel).toBe('High');
    expect(byId.number).toBe(1);
    expect(byId.url).toBe(`${emulator.baseUrl}/sandbox/issue/ENG-1/add-retries`);
    expect(byId.createdAt).toBeInstanceOf(Date);
    expect(byId.createdAt.toISOString()).toBe(seeded.createdAt);

    // The relations the SDK follows lazily, each with a request of its own.
    const [labels, state, team, assignee, project, comments] = await Promise.all([
      byId.labels(),
      byId.state,
      byId.team,
      byId.assignee,
      byId.project,
      byId.comments(),
    ]);
    expect(labels.nodes.map((l) => l.name).sort()).toEqual(['backend', 'conveyor']);
    expect(labels.pageInfo.hasNextPage).toBe(false);
    expect(state?.name).toBe('Todo');
    expect(state?.type).toBe('unstarted');
    expect(team?.key).toBe('ENG');
    expect(assignee?.email).toBe('ada@example.com');
    expect(project?.name).toBe('Factory');
    expect(comments.nodes).toEqual([]);
  });

  it('answers an unknown issue with Linear\'s "Entity not found" input error', async () => {
    const error = await rejectionOf(client.issue('ENG-404'), InvalidInputLinearError);
    expect(error.message).toContain('Could not find referenced Issue');
  });

  it('serves teams, workflow states, labels and the viewer', async () => {
    emulator.createTeam({ key: 'OPS', name: 'Operations', states: [{ name: 'Ready', type: 'unstarted' }, { name: 'Shipped', type: 'completed' }] });
    emulator.createLabel({ name: 'conveyor' });
    emulator.createLabel({ name: 'infra', teamKey: 'OPS' });

    const teams = await client.teams();
    expect(teams.nodes.map((t) => t.key).sort()).toEqual(['ENG', 'OPS']);
    const ops = await client.team('OPS');
    const opsStates = await ops.states();
    expect(opsStates.nodes.map((s) => s.name).sort()).toEqual(['Ready', 'Shipped']);
    const eng = await client.team(teams.nodes.find((t) => t.key === 'ENG')?.id ?? '');
    expect((await eng.states()).nodes.map((s) => `${s.name}:${s.type}`).sort()).toEqual([
      'Backlog:backlog',
      'Canceled:canceled',
      'Done:completed',
      'In Progress:started',
      'In Review:started',
      'Todo:unstarted',
    ]);
    const engStates = await client.workflowStates({ filter: { team: { key: { eq: 'ENG' } }, type: { eq: 'started' } } });
    expect(engStates.nodes.map((s) => s.name).sort()).toEqual(['In Progress', 'In Review']);
    const labels = await client.issueLabels({ filter: { name: { in: ['infra', 'conveyor'] } } });
    expect(labels.nodes.map((l) => l.name).sort()).toEqual(['conveyor', 'infra']);
    const viewer = await client.viewer;
    expect(viewer.id).toBe(emulator.viewer().id);
    expect(viewer.isMe).toBe(true);
  });

  it('filters issues by team key, label name and state type, as Conveyor asks', async () => {
    emulator.createTeam({ key: 'OPS', name: 'Operations' });
    const ready = emulator.createIssue({ teamKey: 'ENG', title: 'ready', labels: ['conveyor'], stateName: 'Todo' });
    emulator.createIssue({ teamKey: 'ENG', title: 'done', labels: ['conveyor'], stateName: 'Done' });
    emulator.createIssue({ teamKey: 'ENG', title: 'canceled', labels: ['conveyor'], stateName: 'Canceled' });
    emulator.createIssue({ teamKey: 'ENG', title: 'other label', labels: ['bug'], stateName: 'Todo' });
    const ops = emulator.createIssue({ teamKey: 'OPS', title: 'ops ready', labels: ['Conveyor'], stateName: 'In Progress' });

    const found = await client.issues({
      filter: {
        team: { key: { in: ['ENG', 'OPS'] } },
        labels: { name: { eqIgnoreCase: 'conveyor' } },
        state: { type: { nin: ['completed', 'canceled'] } },
      },
    });
    expect(found.nodes.map((i) => i.id).sort()).toEqual([ready.id, ops.id].sort());

    const engOnly = await client.issues({ filter: { team: { key: { eq: 'ENG' } }, labels: { name: { in: ['bug'] } } } });
    expect(engOnly.nodes.map((i) => i.title)).toEqual(['other label']);
  });

  it('pages through more than 50 issues with cursors', async () => {
    for (let n = 0; n < 57; n += 1) emulator.createIssue({ teamKey: 'ENG', title: `issue ${n}`, labels: ['conveyor'] });

    const first = await client.issues();
    expect(first.nodes).toHaveLength(50); // Linear's default page size
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await client.issues({ after: first.pageInfo.endCursor });
    expect(second.nodes).toHaveLength(7);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const seen = new Set<string>();
    let page = await client.issues({ first: 10 });
    for (;;) {
      for (const issue of page.nodes) seen.add(issue.id);
      if (!page.pageInfo.hasNextPage) break;
      page = await page.fetchNext();
    }
    expect(seen.size).toBe(57);
  });

  it('applies issueUpdate, issueAddLabel, issueRemoveLabel and commentCreate', async () => {
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Change me', labels: ['conveyor'], stateName: 'Todo' });
    const team = await client.team('ENG');
    const inProgress = (await team.states()).nodes.find((s) => s.name === 'In Progress');
    const bug = emulator.createLabel({ name: 'bug' });

    const updated = await client.updateIssue(issue.id, { stateId: inProgress?.id, title: 'Changed', description: 'New text' });
    expect(updated.success).toBe(true);
    expect(emulator.getIssue(issue.id)?.state.name).toBe('In Progress');
    expect(emulator.getIssue(issue.id)?.title).toBe('Changed');

    expect((await client.issueAddLabel(issue.id, bug.id)).success).toBe(true);
    expect(emulator.getIssue(issue.id)?.labels.sort()).toEqual(['bug', 'conveyor']);
    expect((await client.issueRemoveLabel(issue.id, bug.id)).success).toBe(true);
    expect(emulator.getIssue(issue.id)?.labels).toEqual(['conveyor']);

    const created = await client.createComment({ issueId: issue.id, body: 'Picked up by the factory.' });
    const comment = await created.comment;
    expect(comment?.body).toBe('Picked up by the factory.');
    expect((await comment?.user)?.id).toBe(emulator.viewer().id);
    expect(emulator.listComments('ENG-1').map((c) => c.body)).toEqual(['Picked up by the factory.']);
    const viaConnection = await client.comments({ filter: { issue: { id: { eq: issue.id } } } });
    expect(viaConnection.nodes.map((c) => c.body)).toEqual(['Picked up by the factory.']);
    const viaIssue = await (await client.issue(issue.id)).comments();
    expect(viaIssue.nodes.map((c) => c.body)).toEqual(['Picked up by the factory.']);
  });

  it('refuses a state of another team', async () => {
    emulator.createTeam({ key: 'OPS', name: 'Operations' });
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Stay in ENG' });
    const opsTodo = (await (await client.team('OPS')).states()).nodes.find((s) => s.name === 'Todo');
    await rejectionOf(client.updateIssue(issue.id, { stateId: opsTodo?.id }), InvalidInputLinearError);
    expect(emulator.getIssue(issue.id)?.state.name).toBe('Backlog');
  });

  it('answers an unknown API key as Linear does, which the SDK maps to AuthenticationLinearError', async () => {
    const bad = new LinearClient({ apiKey: 'lin_api_not_a_real_key', apiUrl: emulator.url });
    const error = await rejectionOf(bad.viewer, AuthenticationLinearError);
    expect(error.status).toBe(400);

    const raw = await fetch(emulator.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ query: '{ viewer { id } }' }) });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { errors: Array<{ extensions: { type: string; code: string } }> };
    expect(body.errors[0]?.extensions).toMatchObject({ type: 'authentication error', code: 'AUTHENTICATION_ERROR' });
  });

  it('rejects and records a document that does not validate against the schema', async () => {
    const response = await fetch(emulator.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: API_KEY },
      body: JSON.stringify({ query: 'query Broken { issue(id: "ENG-1") { id nosuchfield } }' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ message: string }>; data?: unknown };
    expect(body.errors[0]?.message).toContain('Cannot query field "nosuchfield" on type "Issue"');
    expect(body.data).toBeUndefined();
    expect(emulator.invalidDocuments).toHaveLength(1);
    expect(emulator.invalidDocuments[0]?.operationName).toBe('Broken');
    expect(emulator.invalidDocuments[0]?.errors[0]).toContain('nosuchfield');
  });

  it('injects faults shaped like Linear\'s, per operation and for a number of times', async () => {
    emulator.injectFault({ operationName: 'viewer', status: 400, headers: { 'Retry-After': '12' } });
    const limited = await rejectionOf(client.viewer, RatelimitedLinearError);
    expect(limited.retryAfter).toBe(12);
    expect(limited.status).toBe(400);
    await expect(client.viewer).resolves.toMatchObject({ id: emulator.viewer().id }); // used up

    emulator.injectFault({ operationName: 'teams', status: 500, times: 2 });
    await client.viewer; // another operation is not affected
    await rejectionOf(client.teams(), InternalLinearError);
    await rejectionOf(client.teams(), InternalLinearError);
    expect((await client.teams()).nodes).toHaveLength(1);

    emulator.injectFault({ status: 403 });
    await rejectionOf(client.viewer, ForbiddenLinearError);
    emulator.injectFault({ status: 401 });
    await rejectionOf(client.viewer, AuthenticationLinearError);
    emulator.injectFault({ status: 429, body: '' });
    await rejectionOf(client.viewer, RatelimitedLinearError);
  });

  it('never sends a stack trace to a client, and caps bodies', async () => {
    const response = await fetch(emulator.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: API_KEY },
      body: 'x'.repeat(1024 * 1024 + 10),
    });
    expect(response.status).toBe(413);
    const text = await response.text();
    expect(text).not.toMatch(/\bat \S+ \(/);
    const notJson = await fetch(emulator.url, { method: 'POST', headers: { Authorization: API_KEY }, body: '{' });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).not.toMatch(/\bat \S+ \(/);
  });
});

describe('Linear emulator webhooks', () => {
  const secret = 'whsec_emulator_test';
  let emulator: LinearEmulator | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;

  afterEach(async () => {
    await emulator?.close();
    await receiver?.close();
    emulator = undefined;
    receiver = undefined;
  });

  it('sends signed Issue and Comment webhooks that @linear/sdk verifies', async () => {
    receiver = await startReceiver();
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY], webhooks: [{ url: receiver.url, secret }] });
    const client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Hook me', labels: ['conveyor'], stateName: 'Todo', priority: 1 });
    const todo = emulator.getIssue(issue.id)?.state;
    const done = (await (await client.team('ENG')).states()).nodes.find((s) => s.name === 'Done');
    await client.updateIssue(issue.id, { stateId: done?.id });
    await client.createComment({ issueId: issue.id, body: 'Closed by the factory.' });

    await eventually('three webhooks', () => receiver!.received.length >= 3);
    const verifier = new LinearWebhookClient(secret);
    const payloads = receiver.received.map((r) => {
      // Real HMAC check over the exact raw body, and the SDK's own verifier.
      expect(r.headers['linear-signature']).toBe(createHmac('sha256', secret).update(r.body).digest('hex'));
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.headers['linear-delivery']).toMatch(UUID);
      return verifier.parseData(Buffer.from(r.body), String(r.headers['linear-signature'])) as unknown as LinearWebhookPayload;
    });
    expect(() => verifier.parseData(Buffer.from(receiver!.received[0]!.body), 'f'.repeat(64))).toThrow(/Invalid webhook signature/);

    const [created, updated, commented] = payloads;
    expect(receiver.received.map((r) => r.headers['linear-event'])).toEqual(['Issue', 'Issue', 'Comment']);
    expect(created).toMatchObject({
      action: 'create',
      type: 'Issue',
      organizationId: emulator.state().data.organization.id,
      data: {
        id: issue.id,
        identifier: 'ENG-1',
        title: 'Hook me',
        priority: 1,
        team: { key: 'ENG', name: 'Engineering' },
        state: { name: 'Todo', type: 'unstarted' },
        labels: [{ name: 'conveyor' }],
        labelIds: issue.labelIds,
        url: issue.url,
      },
    });
    expect(created?.webhookId).toMatch(UUID);
    expect(typeof created?.webhookTimestamp).toBe('number');
    expect(created?.createdAt).toMatch(ISO);
    expect(updated).toMatchObject({
      action: 'update',
      type: 'Issue',
      data: { id: issue.id, stateId: done?.id, state: { name: 'Done', type: 'completed' } },
      updatedFrom: { stateId: todo?.id },
    });
    expect(commented).toMatchObject({
      action: 'create',
      type: 'Comment',
      data: {
        body: 'Closed by the factory.',
        issueId: issue.id,
        issue: { id: issue.id, identifier: 'ENG-1', title: 'Hook me' },
        userId: emulator.viewer().id,
        user: { id: emulator.viewer().id, name: emulator.viewer().name, email: emulator.viewer().email },
      },
    });
    // The receiver records a request before it answers, and the emulator marks a delivery
    // delivered only once the answer is back: wait for that, not for the arrivals alone.
    await emulator.webhooksSettled();
    expect(emulator.deliveries.map((d) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('sends an Issue update with updatedFrom.labelIds on a label change', async () => {
    receiver = await startReceiver();
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY], webhooks: [{ url: receiver.url, secret }] });
    const client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Label me' });
    const label = emulator.createLabel({ name: 'conveyor' });
    await client.issueAddLabel(issue.id, label.id);
    await eventually('two webhooks', () => receiver!.received.length >= 2);
    const payload = JSON.parse(receiver.received[1]!.body) as LinearWebhookPayload;
    expect(payload).toMatchObject({ action: 'update', data: { labelIds: [label.id], labels: [{ id: label.id, name: 'conveyor' }] }, updatedFrom: { labelIds: [] } });
  });

  it('answers the GraphQL call without waiting for the webhook receiver', async () => {
    let release!: () => void;
    const held = new Promise<number>((resolve) => (release = () => resolve(200)));
    receiver = await startReceiver(() => held);
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY], webhooks: [{ url: receiver.url, secret }] });
    const client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Slow receiver' });
    await eventually('the create webhook to arrive', () => receiver!.received.length === 1);
    // The receiver has not answered, yet the mutation completes.
    const result = await client.createComment({ issueId: issue.id, body: 'not blocked' });
    expect(result.success).toBe(true);
    expect(emulator.deliveries[0]?.status).toBe('pending');
    release();
    await emulator.webhooksSettled();
    expect(emulator.deliveries.map((d) => d.status)).toEqual(['delivered', 'delivered']);
  });

  it('retries a failed delivery with the same delivery id and a fresh signature, then gives up without crashing', async () => {
    receiver = await startReceiver((_req, index) => (index < 2 ? 500 : 200));
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY], webhooks: [{ url: receiver.url, secret }], webhookRetryDelaysMs: [10, 10, 10] });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
    emulator.createIssue({ teamKey: 'ENG', title: 'Flaky receiver' });
    await emulator.webhooksSettled();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['linear-delivery'])).size).toBe(1);
    for (const r of receiver.received) expect(r.headers['linear-signature']).toBe(createHmac('sha256', secret).update(r.body).digest('hex'));
    expect(emulator.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 3, responseStatus: 200 });

    // A receiver that is gone: every attempt fails, the emulator logs, records, and keeps serving.
    await receiver.close();
    emulator.createIssue({ teamKey: 'ENG', title: 'Nobody listens' });
    await emulator.webhooksSettled();
    expect(emulator.deliveries[1]).toMatchObject({ status: 'failed', attempts: 4 });
    const client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
    expect((await client.issue('ENG-2')).title).toBe('Nobody listens');
  });
});

describe('Linear emulator persistence and admin API', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'linear-emulator-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps its state across a restart with a data file', async () => {
    const dataFile = join(dir, 'nested', 'linear.json');
    const first = await startLinearEmulator({ logger, apiKeys: [API_KEY], dataFile });
    first.createTeam({ key: 'ENG', name: 'Engineering' });
    const issue = first.createIssue({ teamKey: 'ENG', title: 'Survive restarts', labels: ['conveyor'], stateName: 'Todo' });
    first.addComment({ issueId: issue.id, body: 'still here' });
    const viewerId = first.viewer().id;
    await first.close();
    // Saved by rename from a temporary file: nothing else is left beside it.
    expect(await readdir(join(dir, 'nested'))).toEqual(['linear.json']);
    const saved = JSON.parse(await readFile(dataFile, 'utf8')) as { issues: Array<{ id: string }> };
    expect(saved.issues.map((i) => i.id)).toEqual([issue.id]);

    const second = await startLinearEmulator({ logger, apiKeys: [API_KEY], dataFile });
    try {
      const client = new LinearClient({ apiKey: API_KEY, apiUrl: second.url });
      const reloaded = await client.issue('ENG-1');
      expect(reloaded.id).toBe(issue.id);
      expect((await reloaded.labels()).nodes.map((l) => l.name)).toEqual(['conveyor']);
      expect((await reloaded.state)?.name).toBe('Todo');
      expect(second.listComments(issue.id).map((c) => c.body)).toEqual(['still here']);
      expect(second.viewer().id).toBe(viewerId);
      expect(second.createIssue({ teamKey: 'ENG', title: 'Next' }).key).toBe('ENG-2');
      await second.flush();
      const again = JSON.parse(await readFile(dataFile, 'utf8')) as { issues: unknown[] };
      expect(again.issues).toHaveLength(2);
    } finally {
      await second.close();
    }
  });

  it('refuses a damaged data file with a message naming it', async () => {
    const dataFile = join(dir, 'broken.json');
    await writeFile(dataFile, '{ not json');
    await expect(startLinearEmulator({ logger, apiKeys: [API_KEY], dataFile })).rejects.toThrow(`data file ${dataFile} is not valid JSON`);
  });

  it('seeds, reads, faults and resets over HTTP under /_sandbox', async () => {
    const emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY] });
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${emulator.baseUrl}/_sandbox${path}`, {
        method,
        headers: { 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    try {
      expect((await admin('POST', '/teams', { key: 'ENG', name: 'Engineering' })).status).toBe(201);
      const created = await admin('POST', '/issues', { teamKey: 'ENG', title: 'From HTTP', labels: ['conveyor'], stateName: 'Todo' });
      expect(created.status).toBe(201);
      const issue = (await created.json()) as { id: string; key: string; state: { name: string } };
      expect(issue).toMatchObject({ key: 'ENG-1', state: { name: 'Todo' } });

      const patched = await admin('PATCH', '/issues/ENG-1', { stateName: 'In Progress' });
      expect(((await patched.json()) as { state: { name: string } }).state.name).toBe('In Progress');
      expect((await admin('POST', '/issues/ENG-1/comments', { body: 'hi' })).status).toBe(201);
      expect(((await (await admin('GET', '/issues/ENG-1/comments')).json()) as unknown[]).length).toBe(1);

      const invalid = await admin('POST', '/issues', { teamKey: 'ENG' });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { error: string }).error).toContain('title');
      const badState = await admin('PATCH', '/issues/ENG-1', { stateName: 'Nope' });
      expect(badState.status).toBe(400);
      expect(((await badState.json()) as { error: string }).error).toContain('Backlog, Todo, In Progress, In Review, Done, Canceled');

      expect((await admin('POST', '/faults', { status: 500 })).status).toBe(201);
      const client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
      await rejectionOf(client.viewer, InternalLinearError);

      const state = (await (await admin('GET', '/state')).json()) as { data: { issues: Array<{ id: string }> } };
      expect(state.data.issues.map((i) => i.id)).toEqual([issue.id]);
      expect((await admin('POST', '/reset')).status).toBe(200);
      expect((await admin('GET', '/issues/ENG-1')).status).toBe(404);
      expect((await admin('GET', '/nowhere')).status).toBe(404);
    } finally {
      await emulator.close();
    }
  });
});
