// Linear deliveries → gateway actions. Only the fields read here are validated; the workflow
// re-reads the issue from the tracker, so nothing in a payload is trusted beyond routing.
import { z } from 'zod';
import type { FactoryConfig, TeamConfig } from '../config/factory-schema.js';
import type { OperatorCommandName } from '../workflows/messages.js';
import { isReadyForFactory } from '../domain/triage.js';
import { describePayloadError, ignore, type GatewayAction } from './actions.js';
import { UNBLOCK_OUTCOME, type Route } from './routes.js';

const envelopeSchema = z.looseObject({
  type: z.string(),
  action: z.string(),
  data: z.unknown(),
});

const kindSchema = z.looseObject({ type: z.string(), action: z.string() });

const issueDataSchema = z.looseObject({
  id: z.string().min(1),
  identifier: z.string().min(1),
  title: z.string().nullish(),
  url: z.string().nullish(),
  team: z.looseObject({ key: z.string() }).nullish(),
  state: z.looseObject({ name: z.string(), type: z.string() }),
  labels: z.array(z.looseObject({ name: z.string() })).nullish(),
});

const commentDataSchema = z.looseObject({
  body: z.string(),
  issueId: z.string().nullish(),
  issue: z
    .looseObject({
      identifier: z.string(),
      title: z.string().nullish(),
      url: z.string().nullish(),
      team: z.looseObject({ key: z.string() }).nullish(),
    })
    .nullish(),
  user: z.looseObject({ name: z.string().nullish(), email: z.string().nullish() }).nullish(),
});

// Linear's AgentSessionEvent (the schema's AgentSessionEventWebhookPayload): no `data`; the
// session and the person's activity ride at the top level.
const agentSessionEventSchema = z.looseObject({
  appUserId: z.string().min(1),
  agentSession: z.looseObject({
    id: z.string().min(1),
    issueId: z.string().nullish(),
    issue: z.looseObject({ id: z.string().nullish(), identifier: z.string(), title: z.string().nullish(), url: z.string().nullish(), team: z.looseObject({ key: z.string() }).nullish() }).nullish(),
  }),
  agentActivity: z
    .looseObject({
      signal: z.string().nullish(),
      content: z.looseObject({ body: z.string().nullish() }).nullish(),
      user: z.looseObject({ name: z.string().nullish(), email: z.string().nullish() }).nullish(),
    })
    .nullish(),
});

export interface LinearContext {
  factory: FactoryConfig;
  deliveryId: string;
}

export function mapLinearEvent(payload: unknown, ctx: LinearContext): GatewayAction {
  // An AgentSessionEvent has no `data`: its session and activity ride at the top level.
  const kind = kindSchema.safeParse(payload);
  if (kind.success && kind.data.type === AGENT_SESSION_EVENT) return mapAgentSessionEvent(kind.data.action, payload, ctx);
  const envelope = envelopeSchema.safeParse(payload);
  if (!envelope.success) return { kind: 'invalid', reason: `not a Linear webhook payload (${describePayloadError(envelope.error)})` };
  const { type, action, data } = envelope.data;
  if (type === 'Issue') return mapIssue(action, data, ctx);
  if (type === 'Comment') return mapComment(action, data, ctx);
  return ignore('unhandled', `Linear ${type} events are not handled`);
}

/** The Issue and Comment actions the mapper acts on; any other is `ignore:unhandled`. */
export const LINEAR_ISSUE_ACTIONS = ['create', 'update', 'remove'] as const;
export const LINEAR_COMMENT_ACTIONS = ['create'] as const;
/** Linear's webhook type for agent sessions; `prompted` with `signal: stop` is the stop button. */
export const AGENT_SESSION_EVENT = 'AgentSessionEvent';
export const AGENT_SESSION_ACTIONS = ['created', 'prompted'] as const;
/** The operator commands a `/conveyor …` comment may give. */
export const OPERATOR_COMMANDS: readonly OperatorCommandName[] = ['retry', 'abort', 'approve', 'hold', 'release'];

/**
 * Every route a Linear delivery can take, from the constants above; `linear-events.test.ts`
 * holds it to `mapLinearEvent` (each row reached by a payload, and nothing reached outside it).
 * Not listed: deliveries from teams, users or of types the factory does not serve
 * (`ignore:not-allowlisted`, `ignore:unhandled`) and malformed ones (`invalid`).
 */
export const LINEAR_ROUTES: readonly Route[] = [
  ...LINEAR_ISSUE_ACTIONS.filter((a) => a !== 'remove').map((a) => ({ ingress: 'linear' as const, event: `Issue.${a}`, when: 'the issue is ready for the factory', outcome: 'start:issue-ready' })),
  { ingress: 'linear', event: 'Issue.create', when: 'the new issue is not ready', outcome: 'ignore:not-applicable' },
  { ingress: 'linear', event: 'Issue.update', when: 'not ready (label removed, moved on, edited)', outcome: 'signal:tracker:issue-updated' },
  { ingress: 'linear', event: 'Issue.update', when: 'the issue finished and blocks others (LINEAR_API_KEY on the gateway)', outcome: UNBLOCK_OUTCOME },
  { ingress: 'linear', event: 'Issue.remove', when: 'always', outcome: 'signal:tracker:issue-updated' },
  ...OPERATOR_COMMANDS.map((command) => ({ ingress: 'linear' as const, event: 'Comment.create', when: `/conveyor ${command} from tracker.operators`, outcome: `signal:operator:${command}` })),
  { ingress: 'linear', event: 'Comment.create', when: 'not a /conveyor command', outcome: 'ignore:not-applicable' },
  { ingress: 'linear', event: `${AGENT_SESSION_EVENT}.prompted`, when: 'stop pressed in a Conveyor agent session (tracker.agentSessions on) by one of tracker.operators', outcome: 'signal:operator:abort' },
  { ingress: 'linear', event: `${AGENT_SESSION_EVENT}.prompted`, when: 'a message without stop, or agent sessions off', outcome: 'ignore:not-applicable' },
  { ingress: 'linear', event: `${AGENT_SESSION_EVENT}.created`, when: 'always: Conveyor opens its own sessions, and work comes from the ready label', outcome: 'ignore:not-applicable' },
];

function mapIssue(action: string, data: unknown, ctx: LinearContext): GatewayAction {
  if (!(LINEAR_ISSUE_ACTIONS as readonly string[]).includes(action)) return ignore('unhandled', `Linear Issue action "${action}" is not handled`);
  const parsed = issueDataSchema.safeParse(data);
  if (!parsed.success) return { kind: 'invalid', reason: `Linear Issue payload: ${describePayloadError(parsed.error)}` };
  const issue = parsed.data;
  const teamKey = issue.team?.key ?? teamKeyOf(issue.identifier);
  const team = findTeam(ctx.factory, teamKey);
  if (!team) return ignore('not-allowlisted', `team ${teamKey} is not listed under tracker.teams`);

  const readiness = { team: { key: team.key }, labels: (issue.labels ?? []).map((label) => label.name), state: issue.state };
  if (action !== 'remove' && isReadyForFactory(readiness, ctx.factory) === null) {
    return { kind: 'start', issue: { id: issue.id, key: issue.identifier, ...presentationOf(issue) }, event: { kind: 'issue-ready', deliveryId: ctx.deliveryId } };
  }
  // A new issue that is not ready has no run to tell; any other change may matter to a run
  // (label removed, moved out of ready, deleted), and the run re-reads the issue to see.
  if (action === 'create') return ignore('not-applicable', `${issue.identifier} was created but is not ready for the factory`);
  return { kind: 'signal', issueId: issue.id, signal: { name: 'tracker', event: { kind: 'issue-updated', deliveryId: ctx.deliveryId } } };
}

const settledSchema = z.looseObject({
  type: z.literal('Issue'),
  action: z.enum(['update', 'remove']),
  data: z.looseObject({ id: z.string().min(1), identifier: z.string().min(1), state: z.looseObject({ type: z.string() }).nullish() }),
  updatedFrom: z.looseObject({}).nullish(),
});

/**
 * The issue a delivery says has stopped blocking others: moved into a finished state
 * (completed or canceled) or deleted. The runs it blocks are then told (`receive.ts`), whatever
 * the issue's team: a blocker need not be a factory issue, nor in an allowlisted team.
 */
export function settledBlocker(payload: unknown): { id: string; key: string } | null {
  const parsed = settledSchema.safeParse(payload);
  if (!parsed.success) return null;
  const { action, data, updatedFrom } = parsed.data;
  if (action === 'remove') return { id: data.id, key: data.identifier };
  const finished = data.state?.type === 'completed' || data.state?.type === 'canceled';
  return finished && updatedFrom && 'stateId' in updatedFrom ? { id: data.id, key: data.identifier } : null;
}

const COMMAND_PATTERN = /^\/conveyor\s+(\S+)(?:\s+([\s\S]*))?$/;

function mapComment(action: string, data: unknown, ctx: LinearContext): GatewayAction {
  if (!(LINEAR_COMMENT_ACTIONS as readonly string[]).includes(action)) return ignore('unhandled', `Linear Comment action "${action}" is not handled`);
  const parsed = commentDataSchema.safeParse(data);
  if (!parsed.success) return { kind: 'invalid', reason: `Linear Comment payload: ${describePayloadError(parsed.error)}` };
  const comment = parsed.data;
  const match = COMMAND_PATTERN.exec(comment.body.trim());
  if (!match) return ignore('not-applicable', 'comment is not a /conveyor command');
  const command = match[1]!.toLowerCase() as OperatorCommandName;
  if (!OPERATOR_COMMANDS.includes(command)) return ignore('not-applicable', `unknown command "/conveyor ${match[1]}"; use one of ${OPERATOR_COMMANDS.join(', ')}`);
  if (!comment.issueId) return ignore('not-applicable', 'command comment is not on an issue');

  const teamKey = comment.issue?.team?.key ?? (comment.issue ? teamKeyOf(comment.issue.identifier) : undefined);
  if (teamKey !== undefined && !findTeam(ctx.factory, teamKey)) return ignore('not-allowlisted', `team ${teamKey} is not listed under tracker.teams`);

  const by = operatorOf(comment.user, ctx.factory.tracker.operators);
  if (!by) {
    const who = comment.user?.email ?? comment.user?.name ?? 'an unknown user';
    return ignore('not-allowlisted', `/conveyor ${command} from ${who}, who is not listed under tracker.operators`);
  }
  const reason = match[2]?.trim();
  return {
    kind: 'signal',
    issueId: comment.issueId,
    signal: { name: 'operator', event: { command, by, deliveryId: ctx.deliveryId, ...(reason ? { reason } : {}) } },
    ...(comment.issue ? { issue: { id: comment.issueId, key: comment.issue.identifier, ...presentationOf(comment.issue) } } : {}),
  };
}

/**
 * Stop pressed in an agent session Conveyor opened → the issue's `abort`, as `/conveyor abort`
 * from that person would be. Only with agent sessions on, only for the configured app user when
 * one is set, only on an allowlisted team's issue, and only from tracker.operators (the same
 * allowlist as comment commands). The run drops a delivery id it has seen (a redelivered stop).
 */
function mapAgentSessionEvent(action: string, payload: unknown, ctx: LinearContext): GatewayAction {
  if (!(AGENT_SESSION_ACTIONS as readonly string[]).includes(action)) return ignore('unhandled', `Linear ${AGENT_SESSION_EVENT} action "${action}" is not handled`);
  if (action === 'created') return ignore('not-applicable', 'a new agent session: Conveyor opens its own, and takes work from the ready label, not from a mention or a delegation');
  const sessions = ctx.factory.tracker.agentSessions;
  if (!sessions.enabled) return ignore('not-applicable', 'tracker.agentSessions is off, so Conveyor owns no agent session');
  const parsed = agentSessionEventSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: `Linear ${AGENT_SESSION_EVENT} payload: ${describePayloadError(parsed.error)}` };
  const { appUserId, agentSession, agentActivity } = parsed.data;
  if (sessions.appUserId !== undefined && appUserId !== sessions.appUserId) {
    return ignore('not-allowlisted', `agent session ${agentSession.id} belongs to app user ${appUserId}, not Conveyor's (tracker.agentSessions.appUserId)`);
  }
  if (agentActivity?.signal !== 'stop') return ignore('not-applicable', `a message in agent session ${agentSession.id}: Conveyor acts only on stop`);
  const issueId = agentSession.issueId ?? agentSession.issue?.id ?? null;
  if (!issueId) return ignore('not-applicable', `agent session ${agentSession.id} is not on an issue`);
  const issue = agentSession.issue;
  const teamKey = issue?.team?.key ?? (issue ? teamKeyOf(issue.identifier) : undefined);
  if (teamKey !== undefined && !findTeam(ctx.factory, teamKey)) return ignore('not-allowlisted', `team ${teamKey} is not listed under tracker.teams`);
  const by = operatorOf(agentActivity.user, ctx.factory.tracker.operators);
  if (!by) {
    const who = agentActivity.user?.email ?? agentActivity.user?.name ?? 'an unknown user';
    return ignore('not-allowlisted', `stop in agent session ${agentSession.id} from ${who}, who is not listed under tracker.operators`);
  }
  return {
    kind: 'signal',
    issueId,
    signal: { name: 'operator', event: { command: 'abort', by, deliveryId: ctx.deliveryId, reason: 'stopped in the Linear agent session' } },
  };
}

/** Title and URL as the payload has them, for the Web UI's summary of a run the delivery starts. */
function presentationOf(issue: { title?: string | null; url?: string | null }): { title?: string; url?: string } {
  return { ...(issue.title ? { title: issue.title } : {}), ...(issue.url ? { url: issue.url } : {}) };
}

/** The listed operator the author matches, by email (case-insensitive) or by name. */
function operatorOf(user: { name?: string | null; email?: string | null } | null | undefined, operators: readonly string[]): string | null {
  if (!user) return null;
  const email = user.email?.trim().toLowerCase();
  const name = user.name?.trim();
  for (const operator of operators) {
    const entry = operator.trim();
    if (email && entry.toLowerCase() === email) return user.email!.trim();
    if (name && entry === name) return name;
  }
  return null;
}

function findTeam(factory: FactoryConfig, key: string): TeamConfig | undefined {
  return factory.tracker.teams.find((team) => team.key === key);
}

/** `ENG-12` → `ENG`: the identifier always starts with the team's current key. */
function teamKeyOf(identifier: string): string {
  const dash = identifier.lastIndexOf('-');
  return dash > 0 ? identifier.slice(0, dash) : identifier;
}
