import { z } from 'zod';
import { LinearInputError } from './errors.js';
import type { HttpReply } from './graphql-handler.js';
import type { LinearEmulator } from './index.js';

// The admin API over HTTP, for the CLI and the dev demo: JSON in, JSON out, the same operations
// as the emulator's programmatic API. It has no authentication: the emulator listens on
// 127.0.0.1 only and holds no real data.
//
//   GET    /_sandbox/state                    everything, plus deliveries and refused documents
//   POST   /_sandbox/reset                    empty workspace (faults cleared too)
//   POST   /_sandbox/teams                    { key, name, states? }
//   POST   /_sandbox/labels                   { name, color?, teamKey? }
//   POST   /_sandbox/users                    { name, email, displayName? }
//   POST   /_sandbox/projects                 { name, teamKeys }
//   POST   /_sandbox/issues                   { teamKey, title, description?, labels?, priority?, stateName?, assigneeEmail?, projectName? }
//   GET    /_sandbox/issues/:idOrKey
//   PATCH  /_sandbox/issues/:idOrKey          { title?, description?, priority?, stateName?, labels?, assigneeEmail?, projectName? }
//   GET    /_sandbox/issues/:idOrKey/comments
//   POST   /_sandbox/issues/:idOrKey/comments { body, userEmail? }
//   GET    /_sandbox/issues/:idOrKey/agent-sessions   the issue's agent sessions with their activities
//   POST   /_sandbox/agent-sessions/:id/stop  { userEmail, body? } a person presses stop (AgentSessionEvent prompted, signal stop)
//   POST   /_sandbox/agent-sessions/:id/prompt { userEmail, body } a person writes in the session (AgentSessionEvent prompted)
//   POST   /_sandbox/relations                { issue, relatedIssue, type } (ids or keys; blocks: issue blocks relatedIssue)
//   POST   /_sandbox/faults                   { operationName?, status, headers?, body?, times? }
//   DELETE /_sandbox/faults
//   POST   /_sandbox/webhooks                 { url, secret }
//   GET    /_sandbox/deliveries

const stateType = z.enum(['triage', 'backlog', 'unstarted', 'started', 'completed', 'canceled']);

const schemas = {
  team: z.object({
    key: z.string().min(1),
    name: z.string().min(1),
    states: z.array(z.object({ name: z.string().min(1), type: stateType, color: z.string().optional() })).optional(),
  }),
  label: z.object({ name: z.string().min(1), color: z.string().optional(), teamKey: z.string().optional() }),
  user: z.object({ name: z.string().min(1), email: z.string().min(3), displayName: z.string().optional() }),
  project: z.object({ name: z.string().min(1), teamKeys: z.array(z.string()).min(1) }),
  issue: z.object({
    teamKey: z.string().min(1),
    title: z.string().min(1),
    description: z.string().optional(),
    labels: z.array(z.string()).optional(),
    priority: z.number().int().min(0).max(4).optional(),
    stateName: z.string().optional(),
    assigneeEmail: z.string().optional(),
    projectName: z.string().optional(),
  }),
  issueUpdate: z.object({
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    priority: z.number().int().min(0).max(4).optional(),
    stateName: z.string().optional(),
    labels: z.array(z.string()).optional(),
    assigneeEmail: z.string().nullable().optional(),
    projectName: z.string().nullable().optional(),
  }),
  comment: z.object({ body: z.string().min(1), userEmail: z.string().optional() }),
  stop: z.object({ userEmail: z.string().min(3), body: z.string().min(1).optional() }),
  prompt: z.object({ userEmail: z.string().min(3), body: z.string().min(1) }),
  relation: z.object({ issue: z.string().min(1), relatedIssue: z.string().min(1), type: z.enum(['blocks', 'duplicate', 'related', 'similar']) }),
  fault: z.object({
    operationName: z.string().optional(),
    status: z.number().int().min(100).max(599),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
    times: z.number().int().min(1).optional(),
  }),
  webhook: z.object({ url: z.url(), secret: z.string().min(1) }),
};

function ok(body: unknown, status = 200): HttpReply {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

function fail(status: number, error: string, details?: unknown): HttpReply {
  return ok({ error, ...(details === undefined ? {} : { details }) }, status);
}

class BadRequest extends Error {
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function input<T>(schema: z.ZodType<T>, raw: string): T {
  let value: unknown;
  try {
    value = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new BadRequest('The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw new BadRequest(`Invalid request body: ${details.map((d) => `${d.path || '(body)'}: ${d.message}`).join('; ')}`, details);
  }
  return parsed.data;
}

function route(emulator: LinearEmulator, method: string, path: string, raw: string): HttpReply {
  const parts = path.split('/').filter(Boolean).slice(1).map(decodeURIComponent); // drop "_sandbox"
  const [resource, id, sub] = parts;
  const key = `${method} ${resource ?? ''}${id === undefined ? '' : '/:id'}${sub === undefined ? '' : `/${sub}`}`;
  switch (key) {
    case 'GET state':
      return ok(emulator.state());
    case 'POST reset':
      emulator.reset();
      return ok({ reset: true });
    case 'POST teams':
      return ok(emulator.createTeam(input(schemas.team, raw)), 201);
    case 'POST labels':
      return ok(emulator.createLabel(input(schemas.label, raw)), 201);
    case 'POST users':
      return ok(emulator.createUser(input(schemas.user, raw)), 201);
    case 'POST projects':
      return ok(emulator.createProject(input(schemas.project, raw)), 201);
    case 'POST issues':
      return ok(emulator.createIssue(input(schemas.issue, raw)), 201);
    case 'GET issues/:id': {
      const issue = emulator.getIssue(id ?? '');
      return issue ? ok(issue) : fail(404, `No issue ${id}.`);
    }
    case 'PATCH issues/:id':
      return ok(emulator.updateIssue(id ?? '', input(schemas.issueUpdate, raw)));
    case 'GET issues/:id/comments':
      return ok(emulator.listComments(id ?? ''));
    case 'POST issues/:id/comments':
      return ok(emulator.addComment({ issueId: id ?? '', ...input(schemas.comment, raw) }), 201);
    case 'GET issues/:id/agent-sessions':
      return ok(emulator.listAgentSessions(id ?? ''));
    case 'POST agent-sessions/:id/stop':
      return ok(emulator.stopAgentSession(id ?? '', input(schemas.stop, raw)), 201);
    case 'POST agent-sessions/:id/prompt':
      return ok(emulator.promptAgentSession(id ?? '', input(schemas.prompt, raw)), 201);
    case 'POST relations':
      return ok(emulator.createRelation(input(schemas.relation, raw)), 201);
    case 'POST faults':
      emulator.injectFault(input(schemas.fault, raw));
      return ok({ injected: true }, 201);
    case 'DELETE faults':
      emulator.clearFaults();
      return ok({ cleared: true });
    case 'POST webhooks':
      emulator.addWebhook(input(schemas.webhook, raw));
      return ok({ added: true }, 201);
    case 'GET deliveries':
      return ok(emulator.deliveries);
    default:
      return fail(404, `No admin route ${method} ${path}; see src/sandbox/linear/admin.ts for the list.`);
  }
}

export function handleAdmin(emulator: LinearEmulator, method: string, path: string, raw: string): HttpReply {
  try {
    return route(emulator, method, path, raw);
  } catch (error) {
    if (error instanceof BadRequest) return fail(400, error.message, error.details);
    if (error instanceof LinearInputError) return fail(400, error.message);
    throw error;
  }
}
