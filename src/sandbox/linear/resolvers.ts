import { EmulatorGapError, LinearInputError } from './errors.js';
import {
  agentActivityNode,
  agentActivityView,
  agentSessionNode,
  agentSessionView,
  commentNode,
  commentView,
  issueNode,
  issueView,
  labelNode,
  labelView,
  list,
  organizationNode,
  projectNode,
  projectView,
  relationNode,
  relationView,
  stateNode,
  stateView,
  teamNode,
  teamView,
  userNode,
  userView,
  type Node,
  type ResolverContext,
} from './nodes.js';
import type { IssueChanges, LinearStore } from './store.js';
import type { AgentActivityContentRecord, AgentActivitySignal, AgentSessionRecord } from './types.js';

// The root of Linear's Query and Mutation types, as far as Conveyor and @linear/sdk use them.
// Root fields are functions of their arguments; `schema.ts` calls them.

type Args = Record<string, unknown>;

function str(args: Args, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw new LinearInputError(`Argument ${name} must be a string.`);
  return value;
}

/** Input fields the emulator implements; any other field present is refused by name. */
function pick(input: Args, supported: readonly string[], inputType: string): Args {
  const extra = Object.keys(input).filter((key) => input[key] !== undefined && !supported.includes(key));
  if (extra.length > 0) {
    throw new EmulatorGapError(`The Linear emulator does not implement ${inputType}.${extra.join(', ')}.`);
  }
  return input;
}

function optionalString(input: Args, key: string): string | undefined {
  const value = input[key];
  return typeof value === 'string' ? value : undefined;
}

function optionalNullableId(input: Args, key: string): string | null | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}

function stringList(input: Args, key: string): string[] | undefined {
  const value = input[key];
  return Array.isArray(value) ? value.map(String) : undefined;
}

const ISSUE_UPDATE_FIELDS = [
  'title',
  'description',
  'priority',
  'stateId',
  'labelIds',
  'addedLabelIds',
  'removedLabelIds',
  'assigneeId',
  'projectId',
  'teamId',
] as const;
const ISSUE_CREATE_FIELDS = ['teamId', 'title', 'description', 'priority', 'stateId', 'labelIds', 'assigneeId', 'projectId'] as const;
const COMMENT_CREATE_FIELDS = ['issueId', 'body'] as const;
const RELATION_CREATE_FIELDS = ['id', 'issueId', 'relatedIssueId', 'type'] as const;
const RELATION_TYPES = ['blocks', 'duplicate', 'related', 'similar'] as const;
const SESSION_CREATE_ON_ISSUE_FIELDS = ['issueId', 'externalLink', 'externalUrls'] as const;
const SESSION_UPDATE_FIELDS = ['externalLink', 'externalUrls', 'addedExternalUrls', 'removedExternalUrls', 'plan'] as const;
const ACTIVITY_CREATE_FIELDS = ['agentSessionId', 'content', 'ephemeral', 'id', 'signal', 'signalMetadata'] as const;
/** The activity types an agent posts; `prompt` is a person's (agentActivityCreatePrompt, internal). */
const AGENT_ACTIVITY_TYPES = ['thought', 'action', 'response', 'error', 'elicitation'] as const;
/** The content keys each type takes (https://linear.app/developers/agent-interaction#activity-content-payload). */
const CONTENT_KEYS: Record<(typeof AGENT_ACTIVITY_TYPES)[number], readonly string[]> = {
  thought: ['type', 'body'],
  response: ['type', 'body'],
  error: ['type', 'body'],
  elicitation: ['type', 'body'],
  action: ['type', 'action', 'parameter', 'result'],
};
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function httpUrl(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new LinearInputError(`${what} must be a URL string.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new LinearInputError(`${what} "${value}" is not a valid URL.`, `${what} must be a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LinearInputError(`${what} "${value}" must be an http or https URL.`, `${what} must be an http(s) URL.`);
  return value;
}

function externalUrls(value: unknown, what: string): Array<{ label: string; url: string }> {
  if (!Array.isArray(value)) throw new LinearInputError(`${what} must be a list of { label, url }.`);
  return value.map((entry, index) => {
    const item = (entry ?? {}) as Args;
    const label = typeof item['label'] === 'string' ? item['label'].trim() : '';
    if (label === '') throw new LinearInputError(`${what}[${index}].label must not be empty.`);
    return { label, url: httpUrl(item['url'], `${what}[${index}].url`) };
  });
}

/** Only the agent a session belongs to writes to it, as in Linear. */
function ownSession(store: LinearStore, id: string): AgentSessionRecord {
  const session = store.requireAgentSession(id);
  if (session.appUserId !== store.viewer().id) {
    throw new LinearInputError(`Agent session ${id} belongs to another agent; only its own agent may write to it.`, 'You do not have access to this agent session.');
  }
  return session;
}

/** An agent's activity content, checked the way Linear types it for each activity type. */
function activityContent(raw: unknown): AgentActivityContentRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LinearInputError('content must be an object with a "type".');
  const content = raw as Args;
  const type = AGENT_ACTIVITY_TYPES.find((t) => t === content['type']);
  if (!type) {
    const given = JSON.stringify(content['type'] ?? null);
    const why = content['type'] === 'prompt' ? 'prompt activities are created by people, not agents' : `use one of ${AGENT_ACTIVITY_TYPES.join(', ')}`;
    throw new LinearInputError(`content.type ${given} is not an agent activity type: ${why}.`, 'Invalid agent activity content type.');
  }
  const extra = Object.keys(content).filter((key) => !CONTENT_KEYS[type].includes(key));
  if (extra.length > 0) throw new LinearInputError(`content of a ${type} activity does not take ${extra.join(', ')}; it takes ${CONTENT_KEYS[type].join(', ')}.`, 'Invalid agent activity content.');
  const text = (key: string, required: boolean): string | undefined => {
    const value = content[key];
    if (value === undefined || value === null) {
      if (required) throw new LinearInputError(`content.${key} is required for a ${type} activity.`, 'Invalid agent activity content.');
      return undefined;
    }
    if (typeof value !== 'string') throw new LinearInputError(`content.${key} must be a string.`, 'Invalid agent activity content.');
    if (required && value.trim() === '' && key !== 'parameter') throw new LinearInputError(`content.${key} must not be empty.`, 'Invalid agent activity content.');
    return value;
  };
  if (type === 'action') {
    const result = text('result', false);
    return { type, action: text('action', true)!, parameter: text('parameter', true)!, ...(result !== undefined ? { result } : {}) };
  }
  return { type, body: text('body', true)! };
}

export function queryRoot(ctx: ResolverContext): Node {
  const { store } = ctx;
  return {
    viewer: () => userNode(ctx, store.viewer()),
    organization: () => organizationNode(ctx),
    issue: (args: Args) => issueNode(ctx, store.requireIssue(str(args, 'id'))),
    issues: (args: Args) => list(store.allIssues(), args, (i) => issueView(ctx, i), (i) => issueNode(ctx, i)),
    // Linear's team(id:) takes the team's key as well as its id.
    team: (args: Args) => teamNode(ctx, store.requireTeam(str(args, 'id'))),
    teams: (args: Args) => list(store.allTeams(), args, teamView, (t) => teamNode(ctx, t)),
    workflowState: (args: Args) => stateNode(ctx, store.requireState(str(args, 'id'))),
    workflowStates: (args: Args) => list(store.allStates(), args, (s) => stateView(ctx, s), (s) => stateNode(ctx, s)),
    issueLabel: (args: Args) => labelNode(ctx, store.requireLabel(str(args, 'id'))),
    issueLabels: (args: Args) => list(store.allLabels(), args, (l) => labelView(ctx, l), (l) => labelNode(ctx, l)),
    user: (args: Args) => userNode(ctx, store.requireUser(str(args, 'id'))),
    users: (args: Args) => list(store.allUsers(), args, (u) => userView(ctx, u), (u) => userNode(ctx, u)),
    project: (args: Args) => projectNode(ctx, store.requireProject(str(args, 'id'))),
    projects: (args: Args) => list(store.allProjects(), args, projectView, (p) => projectNode(ctx, p)),
    comment: (args: Args) => {
      if (typeof args['id'] !== 'string') throw new EmulatorGapError('The Linear emulator looks comments up by id only.');
      return commentNode(ctx, store.requireComment(args['id']));
    },
    comments: (args: Args) => list(store.allComments(), args, (c) => commentView(ctx, c), (c) => commentNode(ctx, c)),
    issueRelation: (args: Args) => relationNode(ctx, store.requireRelation(str(args, 'id'))),
    issueRelations: (args: Args) => list(store.allRelations(), args, relationView, (r) => relationNode(ctx, r)),
    agentSession: (args: Args) => agentSessionNode(ctx, store.requireAgentSession(str(args, 'id'))),
    agentSessions: (args: Args) => list(store.allAgentSessions(), args, agentSessionView, (a) => agentSessionNode(ctx, a)),
    agentActivity: (args: Args) => agentActivityNode(ctx, store.requireAgentActivity(str(args, 'id'))),
    agentActivities: (args: Args) => list(store.allAgentActivities(), args, agentActivityView, (a) => agentActivityNode(ctx, a)),
  };
}

function sessionPayload(ctx: ResolverContext, session: AgentSessionRecord): Node {
  return { success: true, lastSyncId: ctx.store.lastSyncId, agentSession: () => agentSessionNode(ctx, session) };
}

function issuePayload(ctx: ResolverContext, issueId: string): Node {
  return { success: true, lastSyncId: ctx.store.lastSyncId, issue: () => issueNode(ctx, ctx.store.requireIssue(issueId)) };
}

export function mutationRoot(ctx: ResolverContext): Node {
  const { store } = ctx;
  return {
    issueCreate: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, ISSUE_CREATE_FIELDS, 'IssueCreateInput');
      const team = store.requireTeam(str(input, 'teamId'));
      const stateId =
        optionalString(input, 'stateId') ??
        (store.teamStates(team.id).find((s) => s.type === 'backlog') ?? store.teamStates(team.id)[0])?.id;
      if (!stateId) throw new LinearInputError(`Team ${team.key} has no workflow states.`);
      const issue = store.insertIssue({
        teamId: team.id,
        title: optionalString(input, 'title') ?? '',
        description: optionalString(input, 'description') ?? '',
        priority: typeof input['priority'] === 'number' ? input['priority'] : 0,
        stateId,
        labelIds: stringList(input, 'labelIds') ?? [],
        assigneeId: optionalNullableId(input, 'assigneeId') ?? null,
        projectId: optionalNullableId(input, 'projectId') ?? null,
        creatorId: store.viewer().id,
      });
      return issuePayload(ctx, issue.id);
    },
    issueUpdate: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, ISSUE_UPDATE_FIELDS, 'IssueUpdateInput');
      const issue = store.requireIssue(str(args, 'id'));
      if (input['teamId'] !== undefined && input['teamId'] !== issue.teamId) {
        throw new EmulatorGapError('The Linear emulator does not move issues between teams.');
      }
      const changes: IssueChanges = {};
      const title = optionalString(input, 'title');
      if (title !== undefined) changes.title = title;
      if (input['description'] !== undefined) changes.description = optionalString(input, 'description') ?? '';
      if (typeof input['priority'] === 'number') changes.priority = input['priority'];
      const stateId = optionalString(input, 'stateId');
      if (stateId !== undefined) changes.stateId = stateId;
      const assigneeId = optionalNullableId(input, 'assigneeId');
      if (assigneeId !== undefined) changes.assigneeId = assigneeId;
      const projectId = optionalNullableId(input, 'projectId');
      if (projectId !== undefined) changes.projectId = projectId;
      const labelIds = stringList(input, 'labelIds');
      const added = stringList(input, 'addedLabelIds');
      const removed = stringList(input, 'removedLabelIds');
      if (labelIds !== undefined || added !== undefined || removed !== undefined) {
        const base = labelIds ?? issue.labelIds;
        changes.labelIds = [...base, ...(added ?? [])].filter((id) => !(removed ?? []).includes(id));
      }
      return issuePayload(ctx, store.applyIssueChanges(issue.id, changes).id);
    },
    issueAddLabel: (args: Args) => issuePayload(ctx, store.addLabelToIssue(str(args, 'id'), str(args, 'labelId')).id),
    issueRemoveLabel: (args: Args) => issuePayload(ctx, store.removeLabelFromIssue(str(args, 'id'), str(args, 'labelId')).id),
    issueRelationCreate: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, RELATION_CREATE_FIELDS, 'IssueRelationCreateInput');
      const type = RELATION_TYPES.find((t) => t === input['type']);
      if (!type) throw new LinearInputError(`Relation type must be one of ${RELATION_TYPES.join(', ')}.`);
      const relation = store.createRelation({ issue: str(input, 'issueId'), relatedIssue: str(input, 'relatedIssueId'), type, ...(optionalString(input, 'id') ? { id: optionalString(input, 'id')! } : {}) });
      return { success: true, lastSyncId: store.lastSyncId, issueRelation: () => relationNode(ctx, relation) };
    },
    issueRelationDelete: (args: Args) => {
      store.deleteRelation(str(args, 'id'));
      return { success: true, lastSyncId: store.lastSyncId, entityId: str(args, 'id') };
    },
    agentSessionCreateOnIssue: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, SESSION_CREATE_ON_ISSUE_FIELDS, 'AgentSessionCreateOnIssue');
      const issue = store.requireIssue(str(input, 'issueId'));
      const urls = input['externalUrls'] === undefined || input['externalUrls'] === null ? [] : externalUrls(input['externalUrls'], 'externalUrls');
      const link = input['externalLink'] === undefined || input['externalLink'] === null ? null : httpUrl(input['externalLink'], 'externalLink');
      // Created through the API, the session belongs to the caller (the agent) and has no human creator.
      return sessionPayload(ctx, store.createAgentSession({ issueId: issue.id, appUserId: store.viewer().id, externalUrls: urls, externalLink: link }));
    },
    agentSessionUpdate: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, SESSION_UPDATE_FIELDS, 'AgentSessionUpdateInput');
      const session = ownSession(store, str(args, 'id'));
      const changes: { externalUrls?: Array<{ label: string; url: string }>; externalLink?: string | null; plan?: Record<string, unknown> | null } = {};
      if (input['externalUrls'] !== undefined && input['externalUrls'] !== null) {
        // As Linear documents: a full list replaces, and then added/removed are ignored.
        changes.externalUrls = externalUrls(input['externalUrls'], 'externalUrls');
      } else if (input['addedExternalUrls'] !== undefined || input['removedExternalUrls'] !== undefined) {
        const removed = stringList(input, 'removedExternalUrls') ?? [];
        const added = input['addedExternalUrls'] ? externalUrls(input['addedExternalUrls'], 'addedExternalUrls') : [];
        changes.externalUrls = [...session.externalUrls.filter((u) => !removed.includes(u.url)), ...added];
      }
      if (input['externalLink'] !== undefined) changes.externalLink = input['externalLink'] === null ? null : httpUrl(input['externalLink'], 'externalLink');
      if (input['plan'] !== undefined) {
        const plan = input['plan'];
        if (plan !== null && (typeof plan !== 'object' || Array.isArray(plan))) throw new LinearInputError('plan must be an object.');
        changes.plan = plan as Record<string, unknown> | null;
      }
      return sessionPayload(ctx, store.updateAgentSession(session.id, changes));
    },
    agentActivityCreate: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, ACTIVITY_CREATE_FIELDS, 'AgentActivityCreateInput');
      const session = ownSession(store, str(input, 'agentSessionId'));
      const content = activityContent(input['content']);
      const id = optionalString(input, 'id');
      if (id !== undefined && !UUID_V4.test(id)) throw new LinearInputError(`id "${id}" is not a UUID v4.`, 'The identifier must be a UUID v4.');
      const signal = (input['signal'] ?? null) as AgentActivitySignal | null;
      if (signal === 'stop' || signal === 'continue') throw new LinearInputError(`signal ${signal} is a person's, not an agent's.`, 'Invalid signal for an agent activity.');
      if ((signal === 'auth' || signal === 'select') && content.type !== 'elicitation') {
        throw new LinearInputError(`signal ${signal} goes with an elicitation activity, not a ${content.type}.`, 'Invalid signal for this activity type.');
      }
      const ephemeral = input['ephemeral'] === true;
      if (ephemeral && content.type !== 'thought' && content.type !== 'action') {
        throw new LinearInputError(`Only thought and action activities can be ephemeral, not a ${content.type}.`, 'Only thought and action activities can be ephemeral.');
      }
      const metadata = input['signalMetadata'];
      const activity = store.insertAgentActivity({
        ...(id !== undefined ? { id } : {}),
        agentSessionId: session.id,
        userId: store.viewer().id,
        content,
        signal,
        signalMetadata: metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : null,
        ephemeral,
      });
      return { success: true, lastSyncId: store.lastSyncId, agentActivity: () => agentActivityNode(ctx, activity) };
    },
    commentCreate: (args: Args) => {
      const input = pick((args['input'] ?? {}) as Args, COMMENT_CREATE_FIELDS, 'CommentCreateInput');
      const issueId = optionalString(input, 'issueId');
      if (!issueId) throw new EmulatorGapError('The Linear emulator creates comments on issues only: pass input.issueId.');
      const issue = store.requireIssue(issueId);
      const comment = store.insertComment(issue.id, store.viewer().id, optionalString(input, 'body') ?? '');
      return { success: true, lastSyncId: store.lastSyncId, comment: () => commentNode(ctx, comment) };
    },
  };
}
