import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidInputLinearError, LinearClient } from '@linear/sdk';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_SESSION_EVENT_TYPE,
  startLinearEmulator,
  webhookShapeErrors,
  type AgentSessionEventPayload,
  type LinearEmulator,
} from '../../src/sandbox/linear/index.js';
import { rejectionOf } from '../helpers/capture.js';

// Agent sessions in the Linear emulator, through the real @linear/sdk 88.3.0 over HTTP: its
// generated `agentSessionCreateOnIssue`, `createAgentActivity`, `updateAgentSession`,
// `agentSession` and `agentActivities` documents must validate against the shared schema (checked
// after each test), and the AgentSessionEvent webhooks the emulator signs must conform to the
// schema's AgentSessionEventWebhookPayload.

const API_KEY = 'lin_api_agent_sessions_key_0123456789';
const SECRET = 'agent-session-webhook-secret';
const logger = pino({ level: 'silent' });

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

async function startReceiver() {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/linear`,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('Linear emulator: agent sessions', () => {
  let emulator: LinearEmulator;
  let client: LinearClient;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeEach(async () => {
    receiver = await startReceiver();
    emulator = await startLinearEmulator({ logger, apiKeys: [API_KEY], webhooks: [{ url: receiver.url, secret: SECRET }] });
    client = new LinearClient({ apiKey: API_KEY, apiUrl: emulator.url });
    emulator.createTeam({ key: 'ENG', name: 'Engineering' });
    emulator.createUser({ name: 'Olga Operator', email: 'olga@example.com' });
  });

  afterEach(async () => {
    const { invalidDocuments, unsupportedRequests } = emulator.state();
    await emulator.close();
    await receiver.close();
    expect(invalidDocuments).toEqual([]);
    expect(unsupportedRequests).toEqual([]);
  });

  /** The AgentSessionEvent payloads received, each checked for its signature and the schema's shape. */
  const sessionEvents = async (): Promise<AgentSessionEventPayload[]> => {
    await emulator.webhooksSettled();
    const verifier = new LinearWebhookClient(SECRET);
    return receiver.received
      .filter((r) => r.headers['linear-event'] === 'AgentSessionEvent')
      .map((r) => {
        expect(r.headers['linear-signature']).toBe(createHmac('sha256', SECRET).update(r.body).digest('hex'));
        const payload = verifier.parseData(Buffer.from(r.body), String(r.headers['linear-signature'])) as unknown as AgentSessionEventPayload;
        expect(webhookShapeErrors(AGENT_SESSION_EVENT_TYPE, payload)).toEqual([]);
        return payload;
      });
  };

  it('creates a session on an issue, takes thought/action/response activities and moves its status as Linear does', async () => {
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Session me', description: 'Acceptance: a session shows.' });
    const created = await client.agentSessionCreateOnIssue({ issueId: issue.key, externalUrls: [{ label: 'Conveyor run', url: 'http://localhost:8233/namespaces/default/workflows/conveyor-issue-x' }] });
    expect(created.success).toBe(true);
    const sessionId = created.agentSessionId!;

    const session = await client.agentSession(sessionId);
    expect(session).toMatchObject({ id: sessionId, status: 'pending', externalLinks: [{ label: 'Conveyor run', url: 'http://localhost:8233/namespaces/default/workflows/conveyor-issue-x' }] });
    expect((await session.issue)?.id).toBe(issue.id);
    expect((await session.appUser)?.id).toBe(emulator.viewer().id);

    await client.createAgentActivity({ agentSessionId: sessionId, content: { type: 'thought', body: 'Reading the issue.' } });
    expect((await client.agentSession(sessionId)).status).toBe('active');
    await client.createAgentActivity({ agentSessionId: sessionId, content: { type: 'action', action: 'Edit', parameter: 'README.md' }, ephemeral: true });
    await client.createAgentActivity({ agentSessionId: sessionId, content: { type: 'response', body: 'Added a greeting.' } });
    const ended = await client.agentSession(sessionId);
    expect(ended.status).toBe('complete');
    expect(ended.endedAt).toBeInstanceOf(Date);

    // Newest first, as Linear lists by default.
    const activities = await client.agentActivities({ filter: { agentSessionId: { eq: sessionId } } });
    expect(activities.nodes.map((a) => a.content)).toEqual([
      expect.objectContaining({ __typename: 'AgentActivityResponseContent', type: 'response', body: 'Added a greeting.' }),
      expect.objectContaining({ __typename: 'AgentActivityActionContent', type: 'action', action: 'Edit', parameter: 'README.md', result: null }),
      expect.objectContaining({ __typename: 'AgentActivityThoughtContent', type: 'thought', body: 'Reading the issue.' }),
    ]);
    expect(activities.nodes.map((a) => a.ephemeral)).toEqual([false, true, false].reverse());
    const onlyActions = await client.agentActivities({ filter: { type: { eq: 'action' } } });
    expect(onlyActions.nodes).toHaveLength(1);
    // Through the session's own connection too (the SDK's agentSession_activities document).
    expect((await session.activities()).nodes).toHaveLength(3);
    // The other reads: one activity by id, every session, and the issue's own sessions.
    const first = activities.nodes.at(-1)!;
    expect((await client.agentActivity(first.id)).content).toMatchObject({ type: 'thought', body: 'Reading the issue.' });
    expect((await client.agentSessions()).nodes.map((s) => s.id)).toEqual([sessionId]);
    const raw = await client.client.rawRequest<{ issue: { agentSessions: { nodes: Array<{ id: string; status: string }> } } }, { id: string }>(
      'query IssueSessions($id: String!) { issue(id: $id) { agentSessions(first: 10) { nodes { id status } } } }',
      { id: issue.id },
    );
    expect(raw.data?.issue.agentSessions.nodes).toEqual([{ id: sessionId, status: 'complete' }]);

    // An error activity ends a session as `error`.
    const second = (await client.agentSessionCreateOnIssue({ issueId: issue.id })).agentSessionId!;
    await client.createAgentActivity({ agentSessionId: second, content: { type: 'error', body: 'The agent failed.' } });
    expect((await client.agentSession(second)).status).toBe('error');
    expect(emulator.listAgentSessions(issue.key).map((s) => s.status)).toEqual(['complete', 'error']);
  });

  it('refuses activity content Linear would refuse, naming what is wrong', async () => {
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Validate me' });
    const sessionId = (await client.agentSessionCreateOnIssue({ issueId: issue.id })).agentSessionId!;
    const refused = async (input: Parameters<LinearClient['createAgentActivity']>[0]) => String(await rejectionOf(client.createAgentActivity(input), InvalidInputLinearError));
    expect(await refused({ agentSessionId: sessionId, content: { type: 'musing', body: 'x' } })).toMatch(/not an agent activity type/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'prompt', body: 'x' } })).toMatch(/created by people/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'thought' } })).toMatch(/content\.body is required/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'thought', body: '   ' } })).toMatch(/must not be empty/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'action', action: 'Edit' } })).toMatch(/content\.parameter is required/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'thought', body: 'x', action: 'Edit' } })).toMatch(/does not take action/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'response', body: 'x' }, ephemeral: true })).toMatch(/Only thought and action/i);
    expect(await refused({ agentSessionId: sessionId, content: { type: 'thought', body: 'x' }, id: 'not-a-uuid' })).toMatch(/UUID v4/i);
    expect(await refused({ agentSessionId: 'f0f0f0f0-0000-4000-8000-000000000000', content: { type: 'thought', body: 'x' } })).toMatch(/AgentSession/i);
        expect(String(await rejectionOf(client.agentSessionCreateOnIssue({ issueId: 'ENG-999' }), InvalidInputLinearError))).toMatch(/Issue/i);
    expect(String(await rejectionOf(client.agentSessionCreateOnIssue({ issueId: issue.id, externalUrls: [{ label: 'x', url: 'ftp://nope' }] }), InvalidInputLinearError))).toMatch(/http or https/i);
    // Nothing refused was stored.
    expect(emulator.listAgentSessions(issue.id)[0]!.activities).toEqual([]);
  });

  it('updates a session\'s external links and plan (agentSessionUpdate)', async () => {
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Link me' });
    const sessionId = (await client.agentSessionCreateOnIssue({ issueId: issue.id, externalUrls: [{ label: 'Run', url: 'http://example.com/run' }] })).agentSessionId!;
    await client.updateAgentSession(sessionId, { addedExternalUrls: [{ label: 'PR', url: 'http://example.com/pr/1' }], plan: { steps: [{ content: 'Edit', status: 'completed' }] } });
    let session = await client.agentSession(sessionId);
    expect(session.externalLinks).toEqual([expect.objectContaining({ label: 'Run' }), expect.objectContaining({ label: 'PR' })]);
    expect(session.plan).toEqual({ steps: [{ content: 'Edit', status: 'completed' }] });
    await client.updateAgentSession(sessionId, { removedExternalUrls: ['http://example.com/run'] });
    session = await client.agentSession(sessionId);
    expect(session.externalLinks.map((l) => l.label)).toEqual(['PR']);
    // An internal-only field is a gap the emulator names, never silently ignored.
    expect((await rejectionOf(client.updateAgentSession(sessionId, { dismissedAt: new Date() }), Error)).message).toMatch(/does not implement AgentSessionUpdateInput\.dismissedAt/);
    (emulator.unsupportedRequests as unknown[]).length = 0; // provoked on purpose
  });

  it('sends AgentSessionEvent created, and prompted with signal stop when a person presses stop', async () => {
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Stop me', description: 'Acceptance: it stops.' });
    const sessionId = (await client.agentSessionCreateOnIssue({ issueId: issue.id })).agentSessionId!;
    await client.createAgentActivity({ agentSessionId: sessionId, content: { type: 'thought', body: 'Working.' } });
    // The admin hook, over HTTP as a demo or a test would press it.
    const stop = await fetch(`${emulator.baseUrl}/_sandbox/agent-sessions/${sessionId}/stop`, { method: 'POST', body: JSON.stringify({ userEmail: 'olga@example.com' }) });
    expect(stop.status).toBe(201);
    expect(await stop.json()).toMatchObject({ signal: 'stop', content: { type: 'prompt' }, user: { email: 'olga@example.com' } });

    const events = await sessionEvents();
    expect(events.map((e) => e.action)).toEqual(['created', 'prompted']);
    const [created, prompted] = events;
    expect(created).toMatchObject({
      type: 'AgentSessionEvent',
      appUserId: emulator.viewer().id,
      organizationId: emulator.state().data.organization.id,
      agentSession: { id: sessionId, issueId: issue.id, status: 'pending', issue: { identifier: 'ENG-1', team: { key: 'ENG' } } },
    });
    expect(created!.promptContext).toContain('Stop me');
    expect(prompted).toMatchObject({
      action: 'prompted',
      agentSession: { id: sessionId, status: 'active' },
      agentActivity: { agentSessionId: sessionId, signal: 'stop', content: { type: 'prompt' }, user: { email: 'olga@example.com', name: 'Olga Operator' } },
    });
    expect(prompted!.promptContext).toBeUndefined();
    const deliveries = emulator.deliveries.filter((d) => d.event === 'AgentSessionEvent');
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(2);

    // A stop on a session that ended, or by the agent itself, is refused with the reason.
    await client.createAgentActivity({ agentSessionId: sessionId, content: { type: 'response', body: 'Stopped.' } });
    const again = await fetch(`${emulator.baseUrl}/_sandbox/agent-sessions/${sessionId}/stop`, { method: 'POST', body: JSON.stringify({ userEmail: 'olga@example.com' }) });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toMatch(/already ended \(complete\)/);
    const byAgent = await fetch(`${emulator.baseUrl}/_sandbox/agent-sessions/${sessionId}/prompt`, { method: 'POST', body: JSON.stringify({ userEmail: emulator.viewer().email, body: 'hi' }) });
    expect(byAgent.status).toBe(400);
  });

  it('holds its payload checker to the schema: a wrong payload is named', () => {
    expect(webhookShapeErrors(AGENT_SESSION_EVENT_TYPE, { type: 'AgentSessionEvent', action: 'prompted', extra: 1 })).toEqual(
      expect.arrayContaining([expect.stringMatching(/\.extra: .*no such field/), expect.stringMatching(/\.agentSession: required/), expect.stringMatching(/\.webhookTimestamp: required/)]),
    );
  });

  it('keeps sessions and activities in its state, which is what the data file holds', async () => {
    const issue = emulator.createIssue({ teamKey: 'ENG', title: 'Persist me' });
    const sessionId = (await client.agentSessionCreateOnIssue({ issueId: issue.id })).agentSessionId!;
    await client.createAgentActivity({ agentSessionId: sessionId, content: { type: 'thought', body: 'Kept.' } });
    const data = emulator.state().data;
    expect(data.agentSessions).toHaveLength(1);
    expect(data.agentActivities?.[0]).toMatchObject({ agentSessionId: sessionId, content: { type: 'thought', body: 'Kept.' } });
  });
});
