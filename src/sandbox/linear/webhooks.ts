import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { agentSessionUrl, issueUrl, priorityLabel, type ResolverContext } from './nodes.js';
import type { AgentActivityRecord, AgentSessionRecord, CommentRecord, IssueRecord, StoreEvent } from './types.js';
import { webhookShapeErrors } from './webhook-shapes.js';

// Linear's webhooks: one signed POST per change per configured URL, sent after the GraphQL
// response (never blocking it), retried with backoff, recorded for tests. The signature is
// the hex HMAC-SHA256 of the exact raw body with the webhook's secret, in `Linear-Signature`,
// which is what `LinearWebhookClient` of @linear/sdk verifies; `webhookTimestamp` (ms) is in
// the signed body, and a retry re-signs the body with a fresh timestamp under the same
// `Linear-Delivery` id, so a receiver can drop a redelivery it has already handled.

export interface WebhookTarget {
  url: string;
  secret: string;
}

/** An entity change (Issue, Comment): Linear's data-change webhook. */
export interface EntityWebhookPayload {
  action: 'create' | 'update' | 'remove';
  type: 'Issue' | 'Comment';
  actor: { id: string; name: string; email: string; type: 'user' };
  createdAt: string;
  data: Record<string, unknown>;
  updatedFrom?: Record<string, unknown>;
  url: string;
  organizationId: string;
  webhookTimestamp: number;
  webhookId: string;
}

/**
 * Linear's AgentSessionEvent (the schema's AgentSessionEventWebhookPayload): sent to the agent a
 * session belongs to when the session is `created`, and when a person `prompted` it (a message,
 * or the stop button: an activity with `signal: stop`).
 */
export interface AgentSessionEventPayload {
  type: 'AgentSessionEvent';
  action: 'created' | 'prompted';
  createdAt: string;
  organizationId: string;
  oauthClientId: string;
  appUserId: string;
  agentSession: Record<string, unknown>;
  agentActivity?: Record<string, unknown>;
  promptContext?: string;
  guidance: unknown[];
  webhookTimestamp: number;
  webhookId: string;
}

export type LinearWebhookPayload = EntityWebhookPayload | AgentSessionEventPayload;

/** The schema's type each AgentSessionEvent payload is checked against before it is sent. */
export const AGENT_SESSION_EVENT_TYPE = 'AgentSessionEventWebhookPayload';

export interface WebhookDelivery {
  /** The `Linear-Delivery` header: the same on every attempt of this delivery. */
  id: string;
  webhookId: string;
  url: string;
  event: LinearWebhookPayload['type'];
  action: LinearWebhookPayload['action'];
  /** The payload of the last attempt. */
  payload: LinearWebhookPayload;
  /** The raw body of the last attempt, exactly as signed and sent. */
  body: string;
  signature: string;
  attempts: number;
  status: 'pending' | 'delivered' | 'failed';
  responseStatus?: number;
  error?: string;
}

export interface WebhookSenderOptions {
  context: ResolverContext;
  targets: WebhookTarget[];
  logger: Logger;
  /** Waits before each retry; the length is the number of retries. */
  retryDelaysMs?: number[];
  /** Per-attempt timeout. */
  timeoutMs?: number;
}

/** A stable id per URL, so a receiver sees the same `webhookId` after an emulator restart. */
function webhookIdFor(url: string): string {
  const hex = createHash('sha256').update(`linear-emulator-webhook:${url}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function issueData(ctx: ResolverContext, issue: IssueRecord): Record<string, unknown> {
  const { store } = ctx;
  const team = store.requireTeam(issue.teamId);
  const state = store.requireState(issue.stateId);
  const labels = issue.labelIds.map((id) => store.requireLabel(id));
  const assignee = issue.assigneeId ? store.user(issue.assigneeId) : undefined;
  return {
    id: issue.id,
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
    archivedAt: null,
    number: issue.number,
    identifier: store.identifier(issue),
    title: issue.title,
    description: issue.description === '' ? null : issue.description,
    priority: issue.priority,
    priorityLabel: priorityLabel(issue.priority),
    sortOrder: issue.sortOrder,
    boardOrder: issue.sortOrder,
    prioritySortOrder: issue.sortOrder,
    startedAt: issue.startedAt,
    completedAt: issue.completedAt,
    canceledAt: issue.canceledAt,
    teamId: team.id,
    team: { id: team.id, key: team.key, name: team.name },
    stateId: state.id,
    state: { id: state.id, name: state.name, type: state.type, color: state.color },
    labelIds: [...issue.labelIds],
    labels: labels.map((label) => ({ id: label.id, name: label.name, color: label.color, parentId: null })),
    assigneeId: issue.assigneeId,
    ...(assignee ? { assignee: { id: assignee.id, name: assignee.name, email: assignee.email } } : {}),
    creatorId: issue.creatorId,
    projectId: issue.projectId,
    subscriberIds: [],
    previousIdentifiers: [],
    url: issueUrl(ctx, issue),
  };
}

function commentData(ctx: ResolverContext, comment: CommentRecord): Record<string, unknown> {
  const { store } = ctx;
  const issue = store.requireIssue(comment.issueId);
  const user = store.requireUser(comment.userId);
  return {
    id: comment.id,
    createdAt: comment.createdAt,
    updatedAt: comment.updatedAt,
    body: comment.body,
    issueId: issue.id,
    issue: { id: issue.id, identifier: store.identifier(issue), title: issue.title, teamId: issue.teamId, url: issueUrl(ctx, issue) },
    userId: user.id,
    user: { id: user.id, name: user.name, email: user.email },
    reactionData: [],
  };
}

type Envelope = 'webhookTimestamp' | 'webhookId';
/** The parts of a payload fixed at the moment of the change; the envelope is added per attempt. */
type PayloadCore = Omit<EntityWebhookPayload, Envelope> | Omit<AgentSessionEventPayload, Envelope>;

/** A stable OAuth client id per workspace: the emulator has one app, the API key's user. */
function oauthClientIdOf(orgId: string): string {
  const hex = createHash('sha256').update(`linear-emulator-oauth-client:${orgId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function userChild(ctx: ResolverContext, userId: string): Record<string, unknown> {
  const user = ctx.store.requireUser(userId);
  return { id: user.id, name: user.name, email: user.email, url: `${ctx.baseUrl}/${ctx.store.org().urlKey}/profiles/${user.displayName}` };
}

function agentSessionData(ctx: ResolverContext, session: AgentSessionRecord): Record<string, unknown> {
  const { store } = ctx;
  const issue = store.requireIssue(session.issueId);
  const team = store.requireTeam(issue.teamId);
  return {
    id: session.id,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    archivedAt: null,
    appUserId: session.appUserId,
    creatorId: session.creatorId,
    ...(session.creatorId ? { creator: userChild(ctx, session.creatorId) } : {}),
    commentId: null,
    sourceCommentId: null,
    issueId: issue.id,
    issue: { id: issue.id, identifier: store.identifier(issue), title: issue.title, description: issue.description === '' ? null : issue.description, teamId: team.id, team: { id: team.id, key: team.key, name: team.name }, url: issueUrl(ctx, issue) },
    organizationId: store.org().id,
    status: session.status,
    startedAt: session.startedAt,
    endedAt: session.endedAt,
    summary: null,
    sourceMetadata: null,
    type: 'commentThread',
    url: agentSessionUrl(ctx, session),
  };
}

function agentActivityData(ctx: ResolverContext, activity: AgentActivityRecord): Record<string, unknown> {
  return {
    id: activity.id,
    createdAt: activity.createdAt,
    updatedAt: activity.updatedAt,
    archivedAt: null,
    agentSessionId: activity.agentSessionId,
    content: { ...activity.content },
    signal: activity.signal,
    signalMetadata: activity.signalMetadata,
    sourceCommentId: null,
    userId: activity.userId,
    user: userChild(ctx, activity.userId),
  };
}

/** What Linear puts in `promptContext` of a `created` event: the issue, as the agent should read it. */
function promptContext(ctx: ResolverContext, session: AgentSessionRecord): string {
  const issue = ctx.store.requireIssue(session.issueId);
  const description = issue.description === '' ? '' : `\n<description>\n${issue.description}\n</description>`;
  return `<issue identifier="${ctx.store.identifier(issue)}">\n<title>${issue.title}</title>${description}\n</issue>`;
}

/** Builds the payload when the change happens, so a later change cannot leak into it. */
export function payloadFor(ctx: ResolverContext, event: StoreEvent): PayloadCore {
  const { store } = ctx;
  const at = new Date().toISOString();
  if (event.type === 'AgentSessionEvent') {
    return {
      type: 'AgentSessionEvent',
      action: event.action,
      createdAt: at,
      organizationId: store.org().id,
      oauthClientId: oauthClientIdOf(store.org().id),
      appUserId: event.session.appUserId,
      agentSession: agentSessionData(ctx, event.session),
      ...(event.activity ? { agentActivity: agentActivityData(ctx, event.activity) } : {}),
      ...(event.action === 'created' ? { promptContext: promptContext(ctx, event.session) } : {}),
      guidance: [],
    };
  }
  if (event.type === 'Issue') {
    const viewer = store.viewer();
    return {
      action: event.action,
      type: 'Issue',
      actor: { id: viewer.id, name: viewer.name, email: viewer.email, type: 'user' },
      createdAt: event.action === 'create' ? event.issue.createdAt : at,
      data: issueData(ctx, event.issue),
      ...(event.updatedFrom ? { updatedFrom: { ...event.updatedFrom } } : {}),
      url: issueUrl(ctx, event.issue),
      organizationId: store.org().id,
    };
  }
  const author = store.requireUser(event.comment.userId);
  const data = commentData(ctx, event.comment);
  return {
    action: event.action,
    type: 'Comment',
    actor: { id: author.id, name: author.name, email: author.email, type: 'user' },
    createdAt: event.comment.createdAt,
    data,
    url: `${issueUrl(ctx, store.requireIssue(event.comment.issueId))}#comment-${event.comment.id.slice(0, 8)}`,
    organizationId: store.org().id,
  };
}

export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly targets: WebhookTarget[];
  private readonly retryDelaysMs: number[];
  private readonly timeoutMs: number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborts = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {
    this.targets = [...options.targets];
    this.retryDelaysMs = options.retryDelaysMs ?? [250, 1_000, 4_000];
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  addTarget(target: WebhookTarget): void {
    this.targets.push(target);
  }

  /** Queues one delivery per target; returns at once. */
  send(event: StoreEvent): void {
    if (this.closed || this.targets.length === 0) return;
    let core: PayloadCore;
    try {
      core = payloadFor(this.options.context, event);
      if (core.type === 'AgentSessionEvent') {
        // Held to the schema before it leaves, with a placeholder envelope (its two fields are typed too).
        const errors = webhookShapeErrors(AGENT_SESSION_EVENT_TYPE, { ...core, webhookId: '00000000-0000-4000-a000-000000000000', webhookTimestamp: 0 });
        if (errors.length > 0) throw new Error(`AgentSessionEvent payload does not match the schema: ${errors.join('; ')}`);
      }
    } catch (error) {
      this.options.logger.error({ err: error }, 'linear emulator: could not build a webhook payload; nothing sent');
      return;
    }
    for (const target of this.targets) {
      const delivery = this.record(core, target);
      const run = this.deliver(delivery, core, target).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
  }

  private envelope(core: PayloadCore, webhookId: string): { payload: LinearWebhookPayload; body: string } {
    const payload = { ...core, webhookTimestamp: Date.now(), webhookId } as LinearWebhookPayload;
    return { payload, body: JSON.stringify(payload) };
  }

  private record(core: PayloadCore, target: WebhookTarget): WebhookDelivery {
    const webhookId = webhookIdFor(target.url);
    const { payload, body } = this.envelope(core, webhookId);
    const delivery: WebhookDelivery = {
      id: randomUUID(),
      webhookId,
      url: target.url,
      event: core.type,
      action: core.action,
      payload,
      body,
      signature: sign(body, target.secret),
      attempts: 0,
      status: 'pending',
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  private async deliver(delivery: WebhookDelivery, core: PayloadCore, target: WebhookTarget): Promise<void> {
    const { logger } = this.options;
    for (let attempt = 0; attempt <= this.retryDelaysMs.length && !this.closed; attempt += 1) {
      if (attempt > 0) {
        await this.wait(this.retryDelaysMs[attempt - 1] ?? 0);
        if (this.closed) break;
        const fresh = this.envelope(core, delivery.webhookId);
        delivery.payload = fresh.payload;
        delivery.body = fresh.body;
        delivery.signature = sign(fresh.body, target.secret);
      }
      delivery.attempts = attempt + 1;
      const abort = new AbortController();
      this.aborts.add(abort);
      const timer = setTimeout(() => abort.abort(), this.timeoutMs);
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'User-Agent': 'Linear-Webhook',
            'Linear-Delivery': delivery.id,
            'Linear-Event': delivery.event,
            'Linear-Signature': delivery.signature,
          },
          body: delivery.body,
          signal: abort.signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        delivery.responseStatus = response.status;
        if (response.ok) {
          delivery.status = 'delivered';
          delete delivery.error;
          return;
        }
        delivery.error = `HTTP ${response.status}`;
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      } finally {
        clearTimeout(timer);
        this.aborts.delete(abort);
      }
      logger.warn(
        { delivery: delivery.id, url: target.url, attempt: delivery.attempts, error: delivery.error },
        'linear emulator: webhook delivery failed',
      );
    }
    delivery.status = 'failed';
    if (this.closed) {
      delivery.error = `${delivery.error ?? 'not sent'}; the emulator closed before it was delivered`;
      return;
    }
    logger.error({ delivery: delivery.id, url: target.url, attempts: delivery.attempts }, 'linear emulator: webhook delivery gave up');
  }

  /** A backoff wait that `close()` cuts short. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const abort = new AbortController();
      const done = (): void => {
        clearTimeout(timer);
        this.aborts.delete(abort);
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort.signal.addEventListener('abort', done, { once: true });
      this.aborts.add(abort);
    });
  }

  /** Resolves when every queued delivery has been delivered or given up. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops retrying and aborts requests in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const abort of this.aborts) abort.abort();
    await this.settled();
  }
}
