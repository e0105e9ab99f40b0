// The gateway over real HTTP on a free port, with a recording double in place of Temporal.
// Every refused or ignored delivery is also checked to have signalled nothing.
import { request as httpRequest } from 'node:http';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StartedGateway } from '../../src/gateway/server.js';
import {
  FACTORY_BRANCH,
  GITHUB_OLD_SECRET,
  GITHUB_RETIRED_SECRET,
  GITHUB_SECRET,
  ISSUE_ID,
  LINEAR_OLD_SECRET,
  LINEAR_RETIRED_SECRET,
  LINEAR_SECRET,
  RecordingSignals,
  capturingLogger,
  githubDelivery,
  githubExample,
  linearCommentPayload,
  linearDelivery,
  linearIssuePayload,
  post,
  signLinear,
  startTestGateway,
} from './fixtures.js';

let signals: RecordingSignals;
let gateway: StartedGateway;
const linearUrl = () => `${gateway.url}/webhooks/linear`;
const githubUrl = () => `${gateway.url}/webhooks/github`;

beforeEach(async () => {
  signals = new RecordingSignals();
  gateway = await startTestGateway({ signals });
});
afterEach(async () => {
  await gateway.close();
});

describe('deliveries that reach a run', () => {
  it('a Linear issue made ready starts its run, carrying the Linear-Delivery id', async () => {
    const response = await post(linearUrl(), linearDelivery(linearIssuePayload(), { deliveryId: 'lin-1' }));
    expect(response).toMatchObject({ status: 200, body: { result: 'started', workflowId: `conveyor-issue-${ISSUE_ID}` } });
    expect(signals.calls).toEqual([{ op: 'start', issue: { id: ISSUE_ID, key: 'ENG-42', title: 'Add a widget', url: 'https://linear.app/acme/issue/ENG-42' }, event: { kind: 'issue-ready', deliveryId: 'lin-1' } }]);
  });

  it('without a Linear-Delivery header, the delivery id is webhookId and timestamp, stable across redeliveries', async () => {
    const payload = linearIssuePayload({ webhookTimestamp: Date.now() });
    const delivery = linearDelivery(payload);
    delete delivery.headers['linear-delivery'];
    await post(linearUrl(), delivery);
    await post(linearUrl(), delivery);
    expect(signals.calls.map((c) => (c.op === 'start' ? c.event.deliveryId : null))).toEqual([
      `webhook-1:${payload.webhookTimestamp}`,
      `webhook-1:${payload.webhookTimestamp}`,
    ]);
  });

  it('a Linear update of an issue that is not ready signals its run; with no open run it has no effect', async () => {
    signals.openRuns = false;
    const response = await post(linearUrl(), linearDelivery(linearIssuePayload({ labels: [] }), { deliveryId: 'lin-2' }));
    expect(response).toMatchObject({ status: 202, body: { result: 'no-run' } });
    expect(signals.calls).toEqual([{ op: 'signal', issueId: ISSUE_ID, signal: { name: 'tracker', event: { kind: 'issue-updated', deliveryId: 'lin-2' } } }]);
  });

  it('an operator command comment signals the run', async () => {
    const response = await post(linearUrl(), linearDelivery(linearCommentPayload({ body: '/conveyor abort' }), { deliveryId: 'lin-3' }));
    expect(response).toMatchObject({ status: 200, body: { result: 'signalled', issueIds: [ISSUE_ID] } });
    expect(signals.calls).toMatchObject([{ op: 'signal', issueId: ISSUE_ID, signal: { name: 'operator', event: { command: 'abort', deliveryId: 'lin-3' } } }]);
  });

  it('/conveyor retry with no open run starts one, with the key, title and URL the comment carries for its summary', async () => {
    signals.openRuns = false;
    const response = await post(linearUrl(), linearDelivery(linearCommentPayload({ body: '/conveyor retry' }), { deliveryId: 'lin-4' }));
    expect(response).toMatchObject({ status: 200, body: { result: 'started' } });
    expect(signals.calls).toMatchObject([
      { op: 'signal', issueId: ISSUE_ID },
      { op: 'start', issue: { id: ISSUE_ID, key: 'ENG-42', title: 'Add a widget', url: 'https://linear.app' }, event: { command: 'retry', deliveryId: 'lin-4' } },
    ]);
  });

  it('real GitHub payloads, re-signed, signal the issue named by the head branch with the X-GitHub-Delivery id', async () => {
    const cases: Array<[string, string | null]> = [
      ['pull_request', 'opened'],
      ['pull_request', 'synchronize'],
      ['pull_request_review', 'submitted'],
      ['check_suite', 'completed'],
      ['check_run', 'completed'],
      ['status', null],
    ];
    for (const [event, action] of cases) {
      const response = await post(githubUrl(), await githubDelivery(event, githubExample(event, action), { deliveryId: `gh-${event}` }));
      expect(response, `${event}.${action}`).toMatchObject({ status: 200, body: { result: 'signalled' } });
    }
    expect(signals.calls.map((c) => (c.op === 'signal' ? [c.issueId, c.signal.name, c.signal.event.deliveryId] : c))).toEqual(
      cases.map(([event]) => [ISSUE_ID, 'forge', `gh-${event}`]),
    );
  });

  it('rotation: deliveries signed with the new and with the old secret are both accepted', async () => {
    expect((await post(linearUrl(), linearDelivery(linearIssuePayload(), { secret: LINEAR_SECRET }))).status).toBe(200);
    expect((await post(linearUrl(), linearDelivery(linearIssuePayload(), { secret: LINEAR_OLD_SECRET }))).status).toBe(200);
    const pr = githubExample('pull_request', 'opened');
    expect((await post(githubUrl(), await githubDelivery('pull_request', pr, { secret: GITHUB_SECRET }))).status).toBe(200);
    expect((await post(githubUrl(), await githubDelivery('pull_request', pr, { secret: GITHUB_OLD_SECRET }))).status).toBe(200);
    expect(signals.calls).toHaveLength(4);
  });

  it('the Linear timestamp is checked against the injected clock', async () => {
    await gateway.close();
    const then = Date.parse('2024-01-01T00:00:00Z');
    gateway = await startTestGateway({ signals, now: () => then });
    expect((await post(linearUrl(), linearDelivery(linearIssuePayload({ webhookTimestamp: then - 30_000 })))).status).toBe(200);
    expect((await post(linearUrl(), linearDelivery(linearIssuePayload({ webhookTimestamp: Date.now() })))).status).toBe(401);
    expect(signals.calls).toHaveLength(1);
  });
});

describe('refused deliveries signal nothing', () => {
  afterEach(() => {
    expect(signals.calls).toEqual([]);
  });

  it('Linear: no signature → 401', async () => {
    const delivery = linearDelivery(linearIssuePayload());
    delete delivery.headers['linear-signature'];
    expect(await post(linearUrl(), delivery)).toMatchObject({ status: 401, body: { error: 'missing linear-signature header' } });
  });

  it('Linear: wrong signature → 401', async () => {
    const delivery = linearDelivery(linearIssuePayload());
    delivery.headers['linear-signature'] = signLinear('something else');
    expect(await post(linearUrl(), delivery)).toMatchObject({ status: 401, body: { error: expect.stringContaining('does not match') } });
  });

  it('Linear: signed with a secret that was rotated out → 401', async () => {
    expect((await post(linearUrl(), linearDelivery(linearIssuePayload(), { secret: LINEAR_RETIRED_SECRET }))).status).toBe(401);
  });

  it('Linear: correctly signed but stale (a replay) → 401', async () => {
    const response = await post(linearUrl(), linearDelivery(linearIssuePayload({ webhookTimestamp: Date.now() - 5 * 60_000 })));
    expect(response).toMatchObject({ status: 401, body: { error: expect.stringContaining('webhookTimestamp') } });
  });

  it('GitHub: no signature, wrong signature, rotated-out secret → 401', async () => {
    const payload = githubExample('pull_request', 'opened');
    const unsigned = await githubDelivery('pull_request', payload);
    delete unsigned.headers['x-hub-signature-256'];
    expect(await post(githubUrl(), unsigned)).toMatchObject({ status: 401, body: { error: 'missing x-hub-signature-256 header' } });
    const wrong = await githubDelivery('pull_request', payload);
    wrong.headers['x-hub-signature-256'] = `sha256=${'0'.repeat(64)}`;
    expect((await post(githubUrl(), wrong)).status).toBe(401);
    expect((await post(githubUrl(), await githubDelivery('pull_request', payload, { secret: GITHUB_RETIRED_SECRET }))).status).toBe(401);
  });

  it('a body over the limit → 413, with a short JSON error', async () => {
    const payload = linearIssuePayload();
    (payload.data as Record<string, unknown>).description = 'x'.repeat(1024 * 1024 + 1);
    const response = await postRaw(linearUrl(), linearDelivery(payload));
    expect(response).toMatchObject({ status: 413, body: { error: 'body is larger than 1048576 bytes' } });
  });

  it('a streamed body over a configured limit → 413 before the rest is sent', async () => {
    await gateway.close();
    gateway = await startTestGateway({ signals, bodyLimit: 16 * 1024 });
    const { status, sentBytes } = await streamUntilAnswered(linearUrl(), 64 * 1024 * 1024);
    expect(status).toBe(413);
    // The answer came long before 64 MiB were written: the server stopped reading.
    expect(sentBytes).toBeLessThan(32 * 1024 * 1024);
  });

  it('a signed body that is not JSON → 400', async () => {
    const body = 'this is not json';
    const response = await post(linearUrl(), { body, headers: { 'content-type': 'application/json', 'linear-signature': signLinear(body) } });
    expect(response).toMatchObject({ status: 400, body: { error: 'body is not UTF-8 JSON' } });
    const truncated = '{"action":"opened","pull_request":';
    const gh = await githubDelivery('pull_request', {});
    const signedTruncated = { body: truncated, headers: { ...gh.headers, 'x-hub-signature-256': await signGithub(GITHUB_SECRET, truncated) } };
    expect(await post(githubUrl(), signedTruncated)).toMatchObject({ status: 400, body: { error: 'body is not UTF-8 JSON' } });
  });

  it('a wrong content type → 400 saying what to configure', async () => {
    const delivery = linearDelivery(linearIssuePayload());
    const response = await post(linearUrl(), { ...delivery, headers: { ...delivery.headers, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response).toMatchObject({ status: 400, body: { error: expect.stringContaining('application/json') } });
    expect((await post(githubUrl(), { body: 'hi', headers: { 'content-type': 'text/plain' } })).status).toBe(400);
  });

  it('an empty body → 400', async () => {
    expect((await post(linearUrl(), { body: '', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });

  it('an event type the factory does not handle → 202', async () => {
    expect(await post(githubUrl(), await githubDelivery('push', githubExample('push', null)))).toMatchObject({ status: 202, body: { result: 'ignored' } });
    const project = { type: 'Project', action: 'update', data: { id: 'p1' }, webhookId: 'w', webhookTimestamp: Date.now() };
    expect((await post(linearUrl(), linearDelivery(project))).status).toBe(202);
  });

  it('a team that is not allowlisted → 202 with the reason', async () => {
    const response = await post(linearUrl(), linearDelivery(linearIssuePayload({ identifier: 'HR-9' })));
    expect(response).toMatchObject({ status: 202, body: { result: 'ignored', reason: 'team HR is not listed under tracker.teams' } });
  });

  it('a repository that is not allowlisted → 202 with the reason', async () => {
    const response = await post(githubUrl(), await githubDelivery('pull_request', githubExample('pull_request', 'opened', { repo: 'someone/else' })));
    expect(response).toMatchObject({ status: 202, body: { reason: 'repository someone/else is not listed under repos' } });
  });

  it('a command comment from someone who is not an operator → 202', async () => {
    const payload = linearCommentPayload({ body: '/conveyor approve', user: { name: 'Mallory', email: 'mallory@example.com' } });
    expect(await post(linearUrl(), linearDelivery(payload))).toMatchObject({ status: 202, body: { reason: expect.stringContaining('not listed under tracker.operators') } });
  });

  it('a branch that is not a factory branch → 202', async () => {
    const payload = githubExample('pull_request', 'opened', { branch: 'feature/by-hand' });
    expect(await post(githubUrl(), await githubDelivery('pull_request', payload))).toMatchObject({ status: 202, body: { reason: 'branch feature/by-hand is not a factory branch' } });
  });

  it('a GitHub delivery without X-GitHub-Event or X-GitHub-Delivery → 400', async () => {
    const delivery = await githubDelivery('pull_request', githubExample('pull_request', 'opened'));
    delete delivery.headers['x-github-delivery'];
    expect(await post(githubUrl(), delivery)).toMatchObject({ status: 400, body: { error: 'missing x-github-delivery header' } });
  });

  it('Temporal unreachable → 503 with Retry-After, and /readyz says so', async () => {
    signals.unavailable = true;
    const response = await post(linearUrl(), linearDelivery(linearIssuePayload()));
    expect(response).toMatchObject({ status: 503, body: { error: expect.stringContaining('Temporal is unreachable') } });
    expect(response.headers.get('retry-after')).toBe('30');
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(503);
    signals.unavailable = false;
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });
});

describe('the service around the webhooks', () => {
  it('/healthz answers while the process lives; unknown routes get a JSON 404', async () => {
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const missing = await fetch(`${gateway.url}/webhooks/jira`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route POST /webhooks/jira' });
  });

  it('an unexpected failure answers 500 without a stack, and the next delivery is served', async () => {
    signals.startOrSignal = async () => {
      throw new Error('boom at /secret/path/file.ts:12');
    };
    const response = await post(linearUrl(), linearDelivery(linearIssuePayload()));
    expect(response.status).toBe(500);
    expect(JSON.stringify(response.body)).not.toMatch(/boom|\.ts:|at /);
    expect((await post(linearUrl(), linearDelivery(linearIssuePayload({ labels: [] })))).status).toBe(200);
  });

  it('/metrics shows requests, refusals, deliveries and signal latency moving', async () => {
    await post(linearUrl(), linearDelivery(linearIssuePayload()));
    await post(linearUrl(), linearDelivery(linearIssuePayload(), { secret: LINEAR_RETIRED_SECRET }));
    await post(githubUrl(), await githubDelivery('pull_request', githubExample('pull_request', 'opened')));
    await post(githubUrl(), await githubDelivery('pull_request', githubExample('pull_request', 'opened', { repo: 'someone/else' })));
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('conveyor_gateway_requests_total{route="/webhooks/linear",outcome="started"} 1');
    expect(metrics).toContain('conveyor_gateway_requests_total{route="/webhooks/linear",outcome="unauthorized"} 1');
    expect(metrics).toContain('conveyor_gateway_requests_total{route="/webhooks/github",outcome="signalled"} 1');
    expect(metrics).toContain('conveyor_gateway_requests_total{route="/webhooks/github",outcome="not-allowlisted"} 1');
    expect(metrics).toContain('conveyor_gateway_verification_failures_total{source="linear",reason="bad-signature"} 1');
    expect(metrics).toContain('conveyor_gateway_deliveries_total{source="linear",event="Issue.update"} 1');
    expect(metrics).toContain('conveyor_gateway_deliveries_total{source="github",event="pull_request.opened"} 2');
    expect(metrics).toContain('conveyor_gateway_routes_total{ingress="github",event="pull_request.opened",outcome="signal:forge:pull-request"} 1');
    expect(metrics).toContain('conveyor_gateway_routes_total{ingress="github",event="pull_request.opened",outcome="ignore:not-allowlisted"} 1');
    expect(metrics).toContain('conveyor_gateway_signal_duration_seconds_count{operation="start"} 1');
    expect(metrics).toContain('conveyor_gateway_signal_duration_seconds_count{operation="signal"} 1');
    // Its own registry: nothing from prom-client's global default metrics.
    expect(metrics).not.toContain('process_cpu_user_seconds_total');
  });

  it('logs hold no secret and no body, even at trace level', async () => {
    await gateway.close();
    const { logger, lines } = capturingLogger();
    gateway = await startTestGateway({ signals, logger });
    const payload = linearIssuePayload({ identifier: 'HR-1' });
    (payload.data as Record<string, unknown>).description = 'BODY-MARKER-7731';
    await post(linearUrl(), linearDelivery(payload));
    await post(linearUrl(), linearDelivery(linearIssuePayload(), { secret: LINEAR_RETIRED_SECRET }));
    await post(linearUrl(), linearDelivery(linearIssuePayload()));
    await post(githubUrl(), await githubDelivery('pull_request', githubExample('pull_request', 'opened', { branch: FACTORY_BRANCH })));
    const log = lines.join('');
    expect(log).toContain('not allowlisted');
    expect(log).toContain('team HR is not listed under tracker.teams');
    for (const secret of [LINEAR_SECRET, LINEAR_OLD_SECRET, LINEAR_RETIRED_SECRET, GITHUB_SECRET, GITHUB_OLD_SECRET, 'BODY-MARKER-7731', 'sha256=']) {
      expect(log).not.toContain(secret);
    }
  });
});

describe('what the gateway logs about a delivery', () => {
  it('a delivery that is not allowlisted: one info line with source, delivery id, event and reason; routine ones only at debug', async () => {
    await gateway.close();
    const { logger, lines } = capturingLogger();
    gateway = await startTestGateway({ signals, logger });
    await post(githubUrl(), await githubDelivery('pull_request', githubExample('pull_request', 'opened', { repo: 'someone/else' }), { deliveryId: 'gh-log-1' }));
    await post(githubUrl(), await githubDelivery('push', githubExample('push', null), { deliveryId: 'gh-log-2' }));
    await post(linearUrl(), linearDelivery(linearIssuePayload(), { deliveryId: 'lin-log-1' }));
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.filter((e) => e.deliveryId === 'gh-log-1')).toEqual([
      expect.objectContaining({
        level: 30,
        source: 'github',
        deliveryId: 'gh-log-1',
        event: 'pull_request.opened',
        reason: 'repository someone/else is not listed under repos',
        msg: 'delivery ignored: not allowlisted',
      }),
    ]);
    expect(entries.filter((e) => e.deliveryId === 'gh-log-2')).toEqual([expect.objectContaining({ level: 20, source: 'github', event: 'push', msg: 'delivery ignored' })]);
    expect(entries.filter((e) => e.deliveryId === 'lin-log-1')).toEqual([
      expect.objectContaining({ level: 30, source: 'linear', event: 'Issue.update', issueId: ISSUE_ID, issueKey: 'ENG-42', msg: 'issue ready: run started or signalled' }),
    ]);
    // Each field once per line: nothing is bound twice.
    for (const line of lines.filter((l) => l.includes('"deliveryId"'))) expect(line.match(/"deliveryId"/g)).toHaveLength(1);
  });
});

/** POST with node:http, which copes with the server answering before the upload is done. */
function postRaw(url: string, delivery: { body: string; headers: Record<string, string> }): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...delivery.headers, 'content-length': String(Buffer.byteLength(delivery.body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
    req.end(delivery.body);
  });
}

/** Stream a chunked body (no Content-Length) until the server answers; report how much was sent. */
function streamUntilAnswered(url: string, maxBytes: number): Promise<{ status: number; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    let sentBytes = 0;
    let answered = false;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'linear-signature': 'ab' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, sentBytes });
      req.destroy();
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pump = () => {
      while (!answered && sentBytes < maxBytes) {
        sentBytes += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
