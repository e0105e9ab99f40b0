import { matches, many, one, scalar, type FilterView } from './filters.js';
import { connection, type PageArgs } from './pagination.js';
import type { LinearStore } from './store.js';
import type { AgentActivityRecord, AgentSessionRecord, CommentRecord, IssueRecord, LabelRecord, ProjectRecord, RelationRecord, TeamRecord, UserRecord, WorkflowStateRecord } from './types.js';

// GraphQL source objects built from stored records. A property holds a field's value; a
// function property resolves a field with arguments or a relation, lazily, so a document pays
// only for what it selects. Non-null fields the emulator has no data for are filled by the
// schema-driven fallback in `schema.ts` (false, 0, empty lists and connections), never invented
// entities.

export interface ResolverContext {
  store: LinearStore;
  /** The emulator's own origin, e.g. http://127.0.0.1:8788: issue and user URLs point here. */
  baseUrl: string;
}

export type Node = Record<string, unknown>;
type Args = Record<string, unknown>;

interface ListArgs extends PageArgs {
  filter?: Record<string, unknown> | null;
}

const PRIORITY_LABELS = ['No priority', 'Urgent', 'High', 'Medium', 'Low'] as const;

export function priorityLabel(priority: number): string {
  return PRIORITY_LABELS[priority] ?? 'No priority';
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'issue'
  );
}

export function issueUrl(ctx: ResolverContext, issue: IssueRecord): string {
  return `${ctx.baseUrl}/${ctx.store.org().urlKey}/issue/${ctx.store.identifier(issue)}/${slug(issue.title)}`;
}

/** Filters, then pages `records` into a connection of nodes. */
export function list<R extends { id: string; createdAt: string; updatedAt: string }>(
  records: R[],
  args: Args,
  view: (record: R) => FilterView,
  node: (record: R) => Node,
): ReturnType<typeof connection<R, Node>> {
  const { filter, ...page } = args as ListArgs;
  return connection(
    records.filter((record) => matches(view(record), filter ?? null)),
    page,
    node,
  );
}

// ── filter views ─────────────────────────────────────────────────────────────────────────

export function teamView(team: TeamRecord): FilterView {
  return {
    id: scalar(team.id),
    key: scalar(team.key),
    name: scalar(team.name),
    createdAt: scalar(team.createdAt),
    updatedAt: scalar(team.updatedAt),
  };
}

export function stateView(ctx: ResolverContext, state: WorkflowStateRecord): FilterView {
  return {
    id: scalar(state.id),
    name: scalar(state.name),
    type: scalar(state.type),
    position: scalar(state.position),
    createdAt: scalar(state.createdAt),
    updatedAt: scalar(state.updatedAt),
    team: one(() => teamView(ctx.store.requireTeam(state.teamId))),
  };
}

export function labelView(ctx: ResolverContext, label: LabelRecord): FilterView {
  return {
    id: scalar(label.id),
    name: scalar(label.name),
    isGroup: scalar(false),
    createdAt: scalar(label.createdAt),
    updatedAt: scalar(label.updatedAt),
    team: one(() => (label.teamId ? teamView(ctx.store.requireTeam(label.teamId)) : null)),
  };
}

export function userView(ctx: ResolverContext, user: UserRecord): FilterView {
  return {
    id: scalar(user.id),
    name: scalar(user.name),
    displayName: scalar(user.displayName),
    email: scalar(user.email),
    active: scalar(true),
    isMe: scalar(user.id === ctx.store.viewer().id),
    createdAt: scalar(user.createdAt),
    updatedAt: scalar(user.updatedAt),
  };
}

export function projectView(project: ProjectRecord): FilterView {
  return {
    id: scalar(project.id),
    name: scalar(project.name),
    createdAt: scalar(project.createdAt),
    updatedAt: scalar(project.updatedAt),
  };
}

export function issueView(ctx: ResolverContext, issue: IssueRecord): FilterView {
  const { store } = ctx;
  return {
    id: scalar(issue.id),
    number: scalar(issue.number),
    title: scalar(issue.title),
    description: scalar(issue.description === '' ? null : issue.description),
    priority: scalar(issue.priority),
    createdAt: scalar(issue.createdAt),
    updatedAt: scalar(issue.updatedAt),
    startedAt: scalar(issue.startedAt),
    completedAt: scalar(issue.completedAt),
    canceledAt: scalar(issue.canceledAt),
    team: one(() => teamView(store.requireTeam(issue.teamId))),
    state: one(() => stateView(ctx, store.requireState(issue.stateId))),
    labels: many(() => issue.labelIds.map((id) => labelView(ctx, store.requireLabel(id)))),
    assignee: one(() => (issue.assigneeId ? userView(ctx, store.requireUser(issue.assigneeId)) : null)),
    creator: one(() => (issue.creatorId ? userView(ctx, store.requireUser(issue.creatorId)) : null)),
    project: one(() => (issue.projectId ? projectView(store.requireProject(issue.projectId)) : null)),
  };
}

export function commentView(ctx: ResolverContext, comment: CommentRecord): FilterView {
  return {
    id: scalar(comment.id),
    body: scalar(comment.body),
    createdAt: scalar(comment.createdAt),
    updatedAt: scalar(comment.updatedAt),
    issue: one(() => issueView(ctx, ctx.store.requireIssue(comment.issueId))),
    user: one(() => userView(ctx, ctx.store.requireUser(comment.userId))),
  };
}

// ── nodes ────────────────────────────────────────────────────────────────────────────────

export function organizationNode(ctx: ResolverContext): Node {
  const org = ctx.store.org();
  return {
    id: org.id,
    name: org.name,
    urlKey: org.urlKey,
    createdAt: org.createdAt,
    updatedAt: org.updatedAt,
    userCount: ctx.store.allUsers().length,
    createdIssueCount: ctx.store.allIssues().length,
    teams: (args: Args) => list(ctx.store.allTeams(), args, teamView, (t) => teamNode(ctx, t)),
    users: (args: Args) => list(ctx.store.allUsers(), args, (u) => userView(ctx, u), (u) => userNode(ctx, u)),
    labels: (args: Args) => list(ctx.store.allLabels(), args, (l) => labelView(ctx, l), (l) => labelNode(ctx, l)),
  };
}

export function teamNode(ctx: ResolverContext, team: TeamRecord): Node {
  const { store } = ctx;
  const states = (): WorkflowStateRecord[] => store.teamStates(team.id);
  const issues = (): IssueRecord[] => store.allIssues().filter((i) => i.teamId === team.id);
  return {
    id: team.id,
    key: team.key,
    name: team.name,
    displayName: team.name,
    createdAt: team.createdAt,
    updatedAt: team.updatedAt,
    timezone: 'Etc/UTC',
    private: false,
    // Nothing is ever archived in the emulator, so includeArchived changes nothing.
    issueCount: () => issues().length,
    defaultIssueState: () => {
      const state = states().find((s) => s.type === 'backlog') ?? states()[0];
      return state ? stateNode(ctx, state) : null;
    },
    organization: () => organizationNode(ctx),
    states: (args: Args) => list(states(), args, (s) => stateView(ctx, s), (s) => stateNode(ctx, s)),
    labels: (args: Args) =>
      list(
        store.allLabels().filter((l) => l.teamId === team.id),
        args,
        (l) => labelView(ctx, l),
        (l) => labelNode(ctx, l),
      ),
    issues: (args: Args) => list(issues(), args, (i) => issueView(ctx, i), (i) => issueNode(ctx, i)),
    members: (args: Args) => list(store.allUsers(), args, (u) => userView(ctx, u), (u) => userNode(ctx, u)),
  };
}

export function stateNode(ctx: ResolverContext, state: WorkflowStateRecord): Node {
  return {
    id: state.id,
    name: state.name,
    type: state.type,
    position: state.position,
    color: state.color,
    description: null,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    team: () => teamNode(ctx, ctx.store.requireTeam(state.teamId)),
    issues: (args: Args) =>
      list(
        ctx.store.allIssues().filter((i) => i.stateId === state.id),
        args,
        (i) => issueView(ctx, i),
        (i) => issueNode(ctx, i),
      ),
  };
}

export function labelNode(ctx: ResolverContext, label: LabelRecord): Node {
  return {
    id: label.id,
    name: label.name,
    color: label.color,
    description: null,
    isGroup: false,
    createdAt: label.createdAt,
    updatedAt: label.updatedAt,
    team: () => (label.teamId ? teamNode(ctx, ctx.store.requireTeam(label.teamId)) : null),
    organization: () => organizationNode(ctx),
    issues: (args: Args) =>
      list(
        ctx.store.allIssues().filter((i) => i.labelIds.includes(label.id)),
        args,
        (i) => issueView(ctx, i),
        (i) => issueNode(ctx, i),
      ),
  };
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? '')
    .join('');
}

export function userNode(ctx: ResolverContext, user: UserRecord): Node {
  const { store } = ctx;
  const isMe = user.id === store.viewer().id;
  return {
    id: user.id,
    name: user.name,
    displayName: user.displayName,
    email: user.email,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
    url: `${ctx.baseUrl}/${store.org().urlKey}/profiles/${user.displayName}`,
    initials: initials(user.name),
    avatarBackgroundColor: '#5e6ad2',
    active: true,
    isMe,
    isAssignable: true,
    isMentionable: true,
    canAccessAnyPublicTeam: true,
    createdIssueCount: store.allIssues().filter((i) => i.creatorId === user.id).length,
    organization: () => organizationNode(ctx),
    assignedIssues: (args: Args) =>
      list(
        store.allIssues().filter((i) => i.assigneeId === user.id),
        args,
        (i) => issueView(ctx, i),
        (i) => issueNode(ctx, i),
      ),
    createdIssues: (args: Args) =>
      list(
        store.allIssues().filter((i) => i.creatorId === user.id),
        args,
        (i) => issueView(ctx, i),
        (i) => issueNode(ctx, i),
      ),
    teams: (args: Args) => list(store.allTeams(), args, teamView, (t) => teamNode(ctx, t)),
  };
}

/** Linear has a project status entity; the emulator serves one fixed "Planned" status. */
const PLANNED_STATUS_ID = '7f1e3a52-3c1b-4b7e-9a57-2d0c4f1f6a01';

export function projectNode(ctx: ResolverContext, project: ProjectRecord): Node {
  const slugId = project.id.replace(/-/g, '').slice(0, 12);
  return {
    id: project.id,
    name: project.name,
    slugId,
    url: `${ctx.baseUrl}/${ctx.store.org().urlKey}/project/${slug(project.name)}-${slugId}`,
    description: '',
    color: '#5e6ad2',
    state: 'planned',
    priorityLabel: priorityLabel(0),
    createdAt: project.createdAt,
    updatedAt: project.updatedAt,
    status: () => ({
      id: PLANNED_STATUS_ID,
      name: 'Planned',
      type: 'planned',
      color: '#5e6ad2',
      position: 0,
      createdAt: project.createdAt,
      updatedAt: project.createdAt,
    }),
    teams: (args: Args) =>
      list(
        project.teamIds.map((id) => ctx.store.requireTeam(id)),
        args,
        teamView,
        (t) => teamNode(ctx, t),
      ),
    issues: (args: Args) =>
      list(
        ctx.store.allIssues().filter((i) => i.projectId === project.id),
        args,
        (i) => issueView(ctx, i),
        (i) => issueNode(ctx, i),
      ),
  };
}

export function issueNode(ctx: ResolverContext, issue: IssueRecord): Node {
  const { store } = ctx;
  const identifier = store.identifier(issue);
  const team = store.requireTeam(issue.teamId);
  return {
    id: issue.id,
    identifier,
    number: issue.number,
    title: issue.title,
    // Linear serves an issue without a description as null, not as an empty string.
    description: issue.description === '' ? null : issue.description,
    priority: issue.priority,
    priorityLabel: priorityLabel(issue.priority),
    url: issueUrl(ctx, issue),
    branchName: `${store.viewer().displayName}/${identifier.toLowerCase()}-${slug(issue.title)}`,
    labelIds: issue.labelIds,
    previousIdentifiers: [],
    reactionData: [],
    sortOrder: issue.sortOrder,
    boardOrder: issue.sortOrder,
    prioritySortOrder: issue.sortOrder,
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
    addedToTeamAt: issue.createdAt,
    startedAt: issue.startedAt,
    completedAt: issue.completedAt,
    canceledAt: issue.canceledAt,
    archivedAt: null,
    team: () => teamNode(ctx, team),
    state: () => stateNode(ctx, store.requireState(issue.stateId)),
    assignee: () => (issue.assigneeId ? userNode(ctx, store.requireUser(issue.assigneeId)) : null),
    creator: () => (issue.creatorId ? userNode(ctx, store.requireUser(issue.creatorId)) : null),
    project: () => (issue.projectId ? projectNode(ctx, store.requireProject(issue.projectId)) : null),
    labels: (args: Args) =>
      list(
        issue.labelIds.map((id) => store.requireLabel(id)),
        args,
        (l) => labelView(ctx, l),
        (l) => labelNode(ctx, l),
      ),
    comments: (args: Args) =>
      list(
        store.issueComments(issue.id),
        args,
        (c) => commentView(ctx, c),
        (c) => commentNode(ctx, c),
      ),
    relations: (args: Args) => list(store.issueRelations(issue.id), args, relationView, (r) => relationNode(ctx, r)),
    agentSessions: (args: Args) => list(store.issueAgentSessions(issue.id), args, agentSessionView, (a) => agentSessionNode(ctx, a)),
    inverseRelations: (args: Args) => list(store.inverseRelations(issue.id), args, relationView, (r) => relationNode(ctx, r)),
  };
}

export function relationView(relation: RelationRecord): FilterView {
  return {
    id: scalar(relation.id),
    type: scalar(relation.type),
    createdAt: scalar(relation.createdAt),
    updatedAt: scalar(relation.updatedAt),
  };
}

export function relationNode(ctx: ResolverContext, relation: RelationRecord): Node {
  return {
    id: relation.id,
    type: relation.type,
    createdAt: relation.createdAt,
    updatedAt: relation.updatedAt,
    archivedAt: null,
    issue: () => issueNode(ctx, ctx.store.requireIssue(relation.issueId)),
    relatedIssue: () => issueNode(ctx, ctx.store.requireIssue(relation.relatedIssueId)),
  };
}

function bodyData(body: string): string {
  // Linear stores comments as ProseMirror documents; one paragraph per line is close enough.
  const paragraphs = body.split('\n').map((line) =>
    line === '' ? { type: 'paragraph' } : { type: 'paragraph', content: [{ type: 'text', text: line }] },
  );
  return JSON.stringify({ type: 'doc', content: paragraphs });
}

export function commentNode(ctx: ResolverContext, comment: CommentRecord): Node {
  const issue = ctx.store.requireIssue(comment.issueId);
  return {
    id: comment.id,
    body: comment.body,
    bodyData: bodyData(comment.body),
    createdAt: comment.createdAt,
    updatedAt: comment.updatedAt,
    editedAt: null,
    url: `${issueUrl(ctx, issue)}#comment-${comment.id.slice(0, 8)}`,
    issueId: issue.id,
    reactionData: [],
    reactions: [],
    issue: () => issueNode(ctx, issue),
    user: () => userNode(ctx, ctx.store.requireUser(comment.userId)),
  };
}

// ── agent sessions ──────────────────────────────────────────────────────────────────────

export function agentSessionView(session: AgentSessionRecord): FilterView {
  return {
    id: scalar(session.id),
    status: scalar(session.status),
    createdAt: scalar(session.createdAt),
    updatedAt: scalar(session.updatedAt),
  };
}

export function agentActivityView(activity: AgentActivityRecord): FilterView {
  return {
    id: scalar(activity.id),
    agentSessionId: scalar(activity.agentSessionId),
    type: scalar(activity.content.type),
    createdAt: scalar(activity.createdAt),
    updatedAt: scalar(activity.updatedAt),
  };
}

export function agentSessionUrl(ctx: ResolverContext, session: AgentSessionRecord): string {
  const issue = ctx.store.requireIssue(session.issueId);
  return `${issueUrl(ctx, issue)}#agent-session-${session.id.slice(0, 8)}`;
}

export function agentSessionNode(ctx: ResolverContext, session: AgentSessionRecord): Node {
  const { store } = ctx;
  return {
    id: session.id,
    status: session.status,
    slugId: session.id.replace(/-/g, '').slice(0, 12),
    url: agentSessionUrl(ctx, session),
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    startedAt: session.startedAt,
    endedAt: session.endedAt,
    dismissedAt: null,
    archivedAt: null,
    summary: null,
    type: null,
    sourceMetadata: null,
    // JSON-typed fields travel as JSON text: @linear/sdk parses them (its parseJson) on arrival.
    plan: session.plan === null ? null : JSON.stringify(session.plan),
    context: '{}',
    externalLink: session.externalLink,
    externalLinks: session.externalUrls.map((u) => ({ ...u })),
    externalUrls: JSON.stringify(session.externalUrls),
    appUser: () => userNode(ctx, store.requireUser(session.appUserId)),
    creator: () => (session.creatorId ? userNode(ctx, store.requireUser(session.creatorId)) : null),
    dismissedBy: null,
    issue: () => issueNode(ctx, store.requireIssue(session.issueId)),
    comment: null,
    sourceComment: null,
    pullRequest: null,
    activities: (args: Args) => list(store.sessionActivities(session.id), args, agentActivityView, (a) => agentActivityNode(ctx, a)),
  };
}

/** Content as the AgentActivityContent union serves it: `__typename` picks the member. */
function activityContent(activity: AgentActivityRecord): Node {
  const { content } = activity;
  const typename = `AgentActivity${content.type[0]!.toUpperCase()}${content.type.slice(1)}Content`;
  if (content.type === 'action') {
    return { __typename: typename, type: 'action', action: content.action ?? '', parameter: content.parameter ?? '', result: content.result ?? null, resultData: content.result ? JSON.parse(bodyData(content.result)) : null };
  }
  const body = content.body ?? '';
  return { __typename: typename, type: content.type, body, bodyData: JSON.parse(bodyData(body)), ...(content.type === 'prompt' ? { title: null } : {}), ...(content.type === 'error' ? { reasonCode: null } : {}) };
}

export function agentActivityNode(ctx: ResolverContext, activity: AgentActivityRecord): Node {
  const { store } = ctx;
  return {
    id: activity.id,
    createdAt: activity.createdAt,
    updatedAt: activity.updatedAt,
    archivedAt: null,
    ephemeral: activity.ephemeral,
    queued: false,
    sentAt: null,
    signal: activity.signal,
    signalMetadata: activity.signalMetadata === null ? null : JSON.stringify(activity.signalMetadata),
    sourceMetadata: null,
    contextualMetadata: null,
    sourceComment: null,
    content: () => activityContent(activity),
    agentSession: () => agentSessionNode(ctx, store.requireAgentSession(activity.agentSessionId)),
    user: () => userNode(ctx, store.requireUser(activity.userId)),
  };
}
