// Shared pieces of the gateway tests: a config with known allowlists, a recording
// `IssueSignals` double, signed Linear and GitHub deliveries, and a gateway on a free port.
import { randomUUID } from 'node:crypto';
import { sign as signGithubHmac } from '@octokit/webhooks-methods';
import { pino } from 'pino';
import { TemporalUnavailableError, type IssueRef, type IssueSignal, type IssueSignals } from '../../src/gateway/issue-signals.js';
import { startGateway, type GatewayOptions, type StartedGateway } from '../../src/gateway/server.js';
import { recordGatewayRoutes } from '../helpers/route-record.js';
import type { TrackerEvent } from '../../src/workflows/messages.js';
import { GITHUB_OLD_SECRET, GITHUB_SECRET, LINEAR_OLD_SECRET, LINEAR_SECRET, signLinear, testConfig } from './payloads.js';

export * from './payloads.js';

export { eventually } from '../helpers/temporal.js';

export type RecordedCall = { op: 'start'; issue: IssueRef; event: TrackerEvent } | { op: 'signal'; issueId: string; signal: IssueSignal };

/** Records what the gateway asks of the workflows; can pretend Temporal is down or no run is open. */
export class RecordingSignals implements IssueSignals {
  readonly calls: RecordedCall[] = [];
  unavailable = false;
  openRuns = true;

  async startOrSignal(issue: IssueRef, event: TrackerEvent) {
    if (this.unavailable) throw new TemporalUnavailableError('Temporal is down (test double)');
    this.calls.push({ op: 'start', issue, event });
    return { workflowId: `conveyor-issue-${issue.id}`, runId: 'run-1' };
  }

  async signal(issueId: string, signal: IssueSignal) {
    if (this.unavailable) throw new TemporalUnavailableError('Temporal is down (test double)');
    this.calls.push({ op: 'signal', issueId, signal });
    return this.openRuns;
  }

  async ready() {
    return !this.unavailable;
  }
}

export { capturingLogger } from '../helpers/capture.js';

export async function startTestGateway(options: Partial<GatewayOptions> & { signals: IssueSignals }): Promise<StartedGateway> {
  const gateway = await startGateway({
    config: testConfig(),
    secrets: { linear: [LINEAR_SECRET, LINEAR_OLD_SECRET], github: [GITHUB_SECRET, GITHUB_OLD_SECRET] },
    logger: pino({ level: 'silent' }),
    port: 0,
    ...options,
  });
  // The routes it counted go to the suite's record (npm run record-routes) before it closes.
  return { ...gateway, close: async () => {
    await recordGatewayRoutes(gateway.url).catch(() => undefined);
    await gateway.close();
  } };
}

export interface Delivery {
  body: string;
  headers: Record<string, string>;
}

export function linearDelivery(payload: unknown, options: { secret?: string; deliveryId?: string } = {}): Delivery {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'linear-signature': signLinear(body, options.secret),
      'linear-delivery': options.deliveryId ?? randomUUID(),
      'linear-event': String((payload as { type?: string }).type),
    },
  };
}

export async function githubDelivery(event: string, payload: unknown, options: { secret?: string; deliveryId?: string } = {}): Promise<Delivery> {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-hub-signature-256': await signGithubHmac(options.secret ?? GITHUB_SECRET, body),
    },
  };
}

export async function post(url: string, delivery: { body: string | Buffer; headers: Record<string, string> }): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, body, headers: response.headers };
}
