// The gateway's core, free of any HTTP framework: verify the raw body, parse it, map it to an
// action, carry the action out, and say what to answer. `server.ts` only adapts HTTP to this.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { FactoryConfig } from '../config/factory-schema.js';
import type { GatewayAction } from './actions.js';
import { mapGithubEvent } from './github-events.js';
import { TemporalUnavailableError, type IssueSignals } from './issue-signals.js';
import { mapLinearEvent, settledBlocker } from './linear-events.js';
import type { GatewayMetrics, WebhookSource } from './metrics.js';
import { actionOutcome, githubEventName, UNBLOCK_OUTCOME } from './routes.js';
import { verifyGithubSignature, type LinearVerifier, type Verification } from './verify.js';
import type { OperatorCommand } from '../workflows/messages.js';

export interface ReceiveDeps {
  factory: FactoryConfig;
  linear: LinearVerifier;
  githubSecrets: readonly string[];
  signals: IssueSignals;
  logger: Logger;
  metrics: GatewayMetrics;
  now: () => number;
  /**
   * The unfinished issues an issue blocks (a tracker read). When present, a delivery saying an
   * issue finished (or was deleted) also sends `trackerEvent` to the run of each issue it
   * blocked, which re-triages and starts once its last blocker is done. Absent (no tracker
   * credentials on the gateway host): those runs wait for the sweep.
   */
  blockedBy?: (issueId: string) => Promise<Array<{ id: string; key: string }>>;
}

export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  /** The raw body exactly as received: signatures are over these bytes. */
  body: Buffer | undefined;
}

export type ReceiveOutcome =
  | 'started'
  | 'signalled'
  | 'no-run'
  | 'ignored'
  | 'unhandled'
  | 'not-allowlisted'
  | 'unauthorized'
  | 'bad-request'
  | 'unavailable'
  | 'error';

export interface ReceiveResult {
  status: number;
  /** Short JSON: `{ error }` when refused, `{ result, … }` otherwise; never a stack. */
  body: Record<string, unknown>;
  outcome: ReceiveOutcome;
  headers?: Record<string, string>;
}

/** How long a sender should wait before retrying while Temporal is unreachable. */
const RETRY_AFTER_SECONDS = '30';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function receiveLinear(deps: ReceiveDeps, request: WebhookRequest): Promise<ReceiveResult> {
  const source: WebhookSource = 'linear';
  const raw = request.body;
  if (!raw || raw.length === 0) return badRequest('empty body: expected a Linear webhook JSON payload');

  const signature = deps.linear.signature(raw, header(request.headers, 'linear-signature'));
  if (!signature.ok) return unauthorized(deps, source, signature);

  const payload = parseJson(raw);
  if (payload === undefined) return badRequest('body is not UTF-8 JSON');
  const fresh = deps.linear.timestamp(payload, deps.now());
  if (!fresh.ok) return unauthorized(deps, source, fresh);

  const { type, action, webhookId, webhookTimestamp } = payload as Record<string, unknown>;
  // The fallbacks matter only if Linear ever stops sending the header: a redelivery carries the
  // same signed body, so the same webhookId+timestamp (or body hash) identifies it again.
  const deliveryId =
    header(request.headers, 'linear-delivery') ??
    (typeof webhookId === 'string' && typeof webhookTimestamp === 'number' ? `${webhookId}:${webhookTimestamp}` : `sha256:${createHash('sha256').update(raw).digest('hex')}`);
  const event = `${String(type)}.${String(action)}`;
  deps.metrics.deliveries.inc({ source, event });
  const mapped = mapLinearEvent(payload, { factory: deps.factory, deliveryId });
  deps.metrics.routes.inc({ ingress: source, event, outcome: actionOutcome(mapped) });
  const result = await act(deps, { source, deliveryId, event }, mapped);
  const settled = result.status < 300 ? settledBlocker(payload) : null;
  if (!settled || !deps.blockedBy) return result;
  const unblocked = await tellBlocked(deps, { source, deliveryId, event }, settled);
  if (unblocked.length > 0) deps.metrics.routes.inc({ ingress: source, event, outcome: UNBLOCK_OUTCOME });
  return unblocked.length > 0 ? { ...result, body: { ...result.body, unblocked } } : result;
}

export async function receiveGithub(deps: ReceiveDeps, request: WebhookRequest): Promise<ReceiveResult> {
  const source: WebhookSource = 'github';
  const raw = request.body;
  if (!raw || raw.length === 0) return badRequest('empty body: expected a GitHub webhook JSON payload');
  const text = decode(raw);
  if (text === undefined) return badRequest('body is not UTF-8 JSON');

  const signature = await verifyGithubSignature(text, header(request.headers, 'x-hub-signature-256'), deps.githubSecrets);
  if (!signature.ok) return unauthorized(deps, source, signature);

  const payload = parseJsonText(text);
  if (payload === undefined) return badRequest('body is not UTF-8 JSON');
  const eventName = header(request.headers, 'x-github-event');
  if (!eventName) return badRequest('missing x-github-event header');
  const deliveryId = header(request.headers, 'x-github-delivery');
  if (!deliveryId) return badRequest('missing x-github-delivery header');

  const event = githubEventName(eventName, (payload as Record<string, unknown>).action);
  deps.metrics.deliveries.inc({ source, event });
  const action = mapGithubEvent(eventName, payload, { factory: deps.factory, deliveryId });
  deps.metrics.routes.inc({ ingress: source, event, outcome: actionOutcome(action) });
  return act(deps, { source, deliveryId, event }, action);
}

/**
 * What every log line about one verified delivery starts with. The fields go into each line
 * (the same fields, in the same order, as a pino child with them as bindings would print)
 * rather than into a child logger made per delivery: most deliveries log one line or none at
 * the configured level, and a child costs about as much as the line.
 */
interface DeliveryContext {
  source: WebhookSource;
  deliveryId: string;
  event: string;
}

async function act(deps: ReceiveDeps, delivery: DeliveryContext, action: GatewayAction): Promise<ReceiveResult> {
  const { logger } = deps;
  // Spelled out in each line (not spread from `delivery`): V8 builds a literal of a fixed shape
  // much faster than it copies one object into another.
  const { source, deliveryId, event } = delivery;
  const count = (result: string) => deps.metrics.signals.inc({ source, result });
  switch (action.kind) {
    case 'ignore': {
      const outcome: ReceiveOutcome = action.why === 'not-applicable' ? 'ignored' : action.why;
      // Not allowlisted stays at info (actions.ts): the line says which repo, team or user and
      // which delivery, which the signals counter (`result="not-allowlisted"`) cannot.
      if (action.why === 'not-allowlisted') logger.info({ source, deliveryId, event, reason: action.reason }, 'delivery ignored: not allowlisted');
      else if (logger.isLevelEnabled('debug')) logger.debug({ source, deliveryId, event, reason: action.reason }, 'delivery ignored');
      count(outcome);
      return { status: 202, body: { result: 'ignored', reason: action.reason }, outcome };
    }
    case 'invalid':
      logger.warn({ source, deliveryId, event, reason: action.reason }, 'verified delivery has an unexpected shape');
      count('invalid');
      return badRequest(action.reason);
  }

  try {
    if (action.kind === 'start') {
      const { workflowId } = await timed(deps, 'start', () => deps.signals.startOrSignal(action.issue, action.event));
      logger.info({ source, deliveryId, event, issueId: action.issue.id, issueKey: action.issue.key, workflowId }, 'issue ready: run started or signalled');
      count('started');
      return { status: 200, body: { result: 'started', workflowId }, outcome: 'started' };
    }
    const issueIds = action.kind === 'signal' ? [action.issueId] : action.issueIds;
    const delivered = await timed(deps, 'signal', () => Promise.all(issueIds.map((issueId) => deps.signals.signal(issueId, action.signal))));
    const signalled = issueIds.filter((_, i) => delivered[i]);
    if (signalled.length === 0 && action.kind === 'signal' && action.signal.name === 'operator' && action.signal.event.command === 'retry') {
      // `/conveyor retry` on an issue with no open run (a blocked one): the human act that starts it again.
      const { workflowId } = await timed(deps, 'start', () => deps.signals.startOrSignal(action.issue ?? { id: action.issueId }, action.signal.event as OperatorCommand));
      logger.info({ source, deliveryId, event, issueId: action.issueId, workflowId }, 'retry for an issue with no open run: run started');
      count('started');
      return { status: 200, body: { result: 'started', workflowId }, outcome: 'started' };
    }
    if (signalled.length === 0) {
      // No open run: the event has no effect (a closed run must not be revived by a late event).
      logger.debug({ source, deliveryId, event, issueIds, signal: action.signal.name }, 'no open run for the issue; delivery has no effect');
      count('no-run');
      return { status: 202, body: { result: 'no-run', reason: 'no open run for this issue' }, outcome: 'no-run' };
    }
    logger.info({ source, deliveryId, event, issueIds: signalled, signal: action.signal.name }, 'run signalled');
    count('signalled');
    return { status: 200, body: { result: 'signalled', issueIds: signalled }, outcome: 'signalled' };
  } catch (err) {
    if (err instanceof TemporalUnavailableError) {
      logger.warn({ source, deliveryId, event, err: err.message }, 'Temporal is unreachable; the sender will retry the delivery');
      count('unavailable');
      return {
        status: 503,
        body: { error: 'Temporal is unreachable; the delivery was not accepted, retry later' },
        outcome: 'unavailable',
        headers: { 'retry-after': RETRY_AFTER_SECONDS },
      };
    }
    logger.error({ source, deliveryId, event, err }, 'delivery failed');
    count('error');
    return { status: 500, body: { error: 'internal error; the delivery was not accepted, retry later' }, outcome: 'error' };
  }
}

/**
 * Tells the runs of the issues `blocker` blocked that it finished: each re-reads its blockers.
 * Best effort: the delivery itself is already handled, and a run this misses (tracker or
 * Temporal unreachable) is found by the sweep, so a failure here is logged, not answered 5xx.
 */
async function tellBlocked(deps: ReceiveDeps, delivery: DeliveryContext, blocker: { id: string; key: string }): Promise<string[]> {
  const { source, deliveryId, event } = delivery;
  try {
    const blocked = await deps.blockedBy!(blocker.id);
    if (blocked.length === 0) return [];
    const signal = { name: 'tracker' as const, event: { kind: 'issue-updated' as const, deliveryId: `${deliveryId}:unblocked-by:${blocker.id}` } };
    const delivered = await timed(deps, 'signal', () => Promise.all(blocked.map((issue) => deps.signals.signal(issue.id, signal))));
    const told = blocked.filter((_, i) => delivered[i]).map((issue) => issue.key);
    deps.logger.info({ source, deliveryId, event, blocker: blocker.key, blocked: blocked.map((b) => b.key), told }, 'blocker finished: blocked runs told');
    return told;
  } catch (err) {
    deps.logger.warn({ source, deliveryId, event, blocker: blocker.key, err: err instanceof Error ? err.message : String(err) }, 'could not tell the runs this issue blocked; the sweep will');
    return [];
  }
}

async function timed<T>(deps: ReceiveDeps, operation: 'start' | 'signal', fn: () => Promise<T>): Promise<T> {
  const end = deps.metrics.signalLatency.startTimer({ operation });
  try {
    return await fn();
  } finally {
    end();
  }
}

function unauthorized(deps: ReceiveDeps, source: WebhookSource, failure: Extract<Verification, { ok: false }>): ReceiveResult {
  deps.metrics.verificationFailures.inc({ source, reason: failure.reason });
  // Never the header's value or the body: a forged request learns nothing, and logs hold no secrets.
  deps.logger.info({ source, reason: failure.reason }, 'webhook refused');
  return { status: 401, body: { error: failure.message }, outcome: 'unauthorized' };
}

function badRequest(message: string): ReceiveResult {
  return { status: 400, body: { error: message }, outcome: 'bad-request' };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.length > 0 ? first : undefined;
}

function decode(raw: Buffer): string | undefined {
  try {
    return utf8.decode(raw);
  } catch {
    return undefined;
  }
}

function parseJsonText(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    // Every webhook payload is an object; a bare string or number is not one.
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function parseJson(raw: Buffer): unknown {
  const text = decode(raw);
  return text === undefined ? undefined : parseJsonText(text);
}
