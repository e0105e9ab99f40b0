// When Temporal cannot be reached, the gateway refuses deliveries with 503 (so the sender
// retries them) and /readyz says so; it recovers by itself once Temporal answers again.
// This file kills a server, so it starts its own instead of using the shared one.
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createTemporalSignals } from '../../src/gateway/temporal-signals.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { freePort, startDevServer } from '../../src/temporal/dev-server.js';
import type { LinePolicy } from '../../src/workflows/input.js';
import { ISSUE_ID, eventually, linearDelivery, linearIssuePayload, post, startTestGateway } from './fixtures.js';

// No worker runs here: a started run just waits, so any valid policy will do.
const policy: LinePolicy = {
  timeouts: { agentIdle: '10m', agentTotal: '60m', prOpen: '5m', ci: '60m', review: '7d', escalation: '14d', queue: '24h', heartbeat: '30s' },
  maxRedispatch: 3,
  budgetUsd: null,
  fleetWorkflowId: 'conveyor-fleet-test',
  continueAsNewAfterEvents: 5_000,
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function gatewayOver(address: string): Promise<StartedGateway> {
  // Lazy: the gateway starts (and answers /healthz) even when Temporal is down at start-up.
  const connection = Connection.lazy({ address, connectTimeout: 1_000 });
  cleanups.push(() => connection.close());
  const signals = createTemporalSignals({ client: new Client({ connection }), taskQueue: 'conveyor-gateway-down', policy, callTimeoutMs: 2_000, readyTimeoutMs: 1_000 });
  const gateway = await startTestGateway({ signals, logger: pino({ level: 'silent' }) });
  cleanups.push(() => gateway.close());
  return gateway;
}

describe('Temporal unreachable', () => {
  it('nothing listening on the Temporal port: deliveries get 503, /readyz 503, /healthz 200', async () => {
    const gateway = await gatewayOver(`127.0.0.1:${await freePort()}`);
    const started = Date.now();
    const response = await post(`${gateway.url}/webhooks/linear`, linearDelivery(linearIssuePayload()));
    expect(response).toMatchObject({ status: 503, body: { error: expect.stringContaining('Temporal is unreachable') } });
    // Answered within the call deadline, well before a webhook sender gives up (about 10 s).
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });

  it('a dev server that goes away: 200 while it runs, then 503 and /readyz 503 once it is stopped', async () => {
    const config = loadConfig({ profile: 'sandbox' });
    const server = await startDevServer({ cli: inject('temporalCli'), uiPort: null, searchAttributes: config.temporal.searchAttributes });
    cleanups.push(() => server.stop());
    const gateway = await gatewayOver(server.address);

    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    const first = await post(`${gateway.url}/webhooks/linear`, linearDelivery(linearIssuePayload()));
    expect(first).toMatchObject({ status: 200, body: { result: 'started', workflowId: `conveyor-issue-${ISSUE_ID}` } });

    await server.stop();
    await eventually('/readyz to report 503', async () => (await fetch(`${gateway.url}/readyz`)).status === 503);
    const second = await post(`${gateway.url}/webhooks/linear`, linearDelivery(linearIssuePayload()));
    expect(second).toMatchObject({ status: 503, body: { error: expect.stringContaining('Temporal is unreachable') } });
    expect(second.headers.get('retry-after')).toBe('30');
  });
});
