import { randomUUID } from 'node:crypto';
import type { StateType } from '../../domain/issue.js';
import { LinearInputError } from './errors.js';
import type {
  AgentActivityContentRecord,
  AgentActivityRecord,
  AgentActivitySignal,
  AgentSessionRecord,
  CommentRecord,
  IssueRecord,
  LabelRecord,
  LinearData,
  ProjectRecord,
  RelationRecord,
  StoreEvent,
  TeamRecord,
  UserRecord,
  WorkflowStateRecord,
} from './types.js';

export interface StateSeed {
  name: string;
  type: StateType;
  color?: string;
}

/** Linear's out-of-the-box workflow of a new team. */
export const DEFAULT_STATES: readonly StateSeed[] = [
  { name: 'Backlog', type: 'backlog', color: '#bec2c8' },
  { name: 'Todo', type: 'unstarted', color: '#e2e2e2' },
  { name: 'In Progress', type: 'started', color: '#f2c94c' },
  { name: 'In Review', type: 'started', color: '#0f783c' },
  { name: 'Done', type: 'completed', color: '#5e6ad2' },
  { name: 'Canceled', type: 'canceled', color: '#95a2b3' },
];

export interface CreateTeamInput {
  key: string;
  name: string;
  states?: StateSeed[];
}

export interface CreateLabelInput {
  name: string;
  color?: string;
  /** Absent: a workspace label, usable in every team. */
  teamKey?: string;
}

export interface CreateUserInput {
  name: string;
  email: string;
  displayName?: string;
}

export interface CreateProjectInput {
  name: string;
  teamKeys: string[];
}

export interface CreateIssueInput {
  teamKey: string;
  title: string;
  description?: string;
  /** Label names; a name no label has yet becomes a new workspace label (a seeding shortcut). */
  labels?: string[];
  priority?: number;
  /** Absent: the team's first backlog state, as Linear does for issues created through the API. */
  stateName?: string;
  assigneeEmail?: string;
  projectName?: string;
}

/** A seeding update by names; GraphQL mutations go through `applyIssueChanges` with ids. */
export interface UpdateIssueInput {
  title?: string;
  description?: string;
  priority?: number;
  stateName?: string;
  labels?: string[];
  assigneeEmail?: string | null;
  projectName?: string | null;
}

/** Changes by id, as Linear's `IssueUpdateInput` carries them. */
export interface IssueChanges {
  title?: string;
  description?: string;
  priority?: number;
  stateId?: string;
  labelIds?: string[];
  assigneeId?: string | null;
  projectId?: string | null;
}

export interface AddCommentInput {
  issueId: string;
  body: string;
  /** The author; absent: the viewer (the API key's user). */
  userEmail?: string;
}

const ISSUE_KEY = /^([A-Za-z0-9]+)-(\d+)$/;
const TEAM_KEY = /^[A-Z0-9]{1,7}$/;

function now(): string {
  return new Date().toISOString();
}

/** An empty workspace with the user every API key acts as. */
export function emptyData(): LinearData {
  const at = now();
  const viewer: UserRecord = {
    id: randomUUID(),
    name: 'Conveyor Bot',
    displayName: 'conveyor',
    email: 'conveyor-bot@sandbox.local',
    createdAt: at,
    updatedAt: at,
  };
  return {
    version: 1,
    organization: { id: randomUUID(), name: 'Sandbox', urlKey: 'sandbox', createdAt: at, updatedAt: at },
    viewerId: viewer.id,
    teams: [],
    states: [],
    labels: [],
    users: [viewer],
    projects: [],
    issues: [],
    comments: [],
    relations: [],
    agentSessions: [],
    agentActivities: [],
    lastSyncId: 0,
  };
}

/** What an agent session's status becomes after an activity of this type from its agent. */
function statusAfter(type: AgentActivityContentRecord['type'], current: AgentSessionRecord['status']): AgentSessionRecord['status'] {
  switch (type) {
    case 'thought':
    case 'action':
      return 'active';
    case 'elicitation':
      return 'awaitingInput';
    case 'response':
      return 'complete';
    case 'error':
      return 'error';
    case 'prompt':
      return current;
  }
}

/** Changes to a session, as `agentSessionUpdate` carries them. */
export interface AgentSessionChanges {
  externalUrls?: Array<{ label: string; url: string }>;
  externalLink?: string | null;
  plan?: Record<string, unknown> | null;
}

/**
 * The emulator's state and every write to it. Maps keep insertion order, which is creation
 * order, so listings are stable across a restart. Listeners hear of each change after it is
 * applied: webhooks are sent from there and the data file is saved from there.
 */
export class LinearStore {
  private organization!: LinearData['organization'];
  private viewerId!: string;
  private teams = new Map<string, TeamRecord>();
  private states = new Map<string, WorkflowStateRecord>();
  private labels = new Map<string, LabelRecord>();
  private users = new Map<string, UserRecord>();
  private projects = new Map<string, ProjectRecord>();
  private issues = new Map<string, IssueRecord>();
  private comments = new Map<string, CommentRecord>();
  private relations = new Map<string, RelationRecord>();
  private agentSessions = new Map<string, AgentSessionRecord>();
  private agentActivities = new Map<string, AgentActivityRecord>();
  private syncId = 0;
  private readonly eventListeners: Array<(event: StoreEvent) => void> = [];
  private readonly writeListeners: Array<() => void> = [];

  constructor(data: LinearData = emptyData()) {
    this.load(data);
  }

  private load(data: LinearData): void {
    this.organization = data.organization;
    this.viewerId = data.viewerId;
    this.teams = new Map(data.teams.map((r) => [r.id, r]));
    this.states = new Map(data.states.map((r) => [r.id, r]));
    this.labels = new Map(data.labels.map((r) => [r.id, r]));
    this.users = new Map(data.users.map((r) => [r.id, r]));
    this.projects = new Map(data.projects.map((r) => [r.id, r]));
    this.issues = new Map(data.issues.map((r) => [r.id, r]));
    this.comments = new Map(data.comments.map((r) => [r.id, r]));
    this.relations = new Map((data.relations ?? []).map((r) => [r.id, r]));
    this.agentSessions = new Map((data.agentSessions ?? []).map((r) => [r.id, r]));
    this.agentActivities = new Map((data.agentActivities ?? []).map((r) => [r.id, r]));
    this.syncId = data.lastSyncId;
  }

  onEvent(listener: (event: StoreEvent) => void): void {
    this.eventListeners.push(listener);
  }

  onWrite(listener: () => void): void {
    this.writeListeners.push(listener);
  }

  private written(events: StoreEvent[] = []): void {
    this.syncId += 1;
    for (const listener of this.writeListeners) listener();
    for (const event of events) for (const listener of this.eventListeners) listener(event);
  }

  get lastSyncId(): number {
    return this.syncId;
  }

  snapshot(): LinearData {
    // structuredClone so a caller holding the snapshot cannot reach into the live records.
    return structuredClone({
      version: 1,
      organization: this.organization,
      viewerId: this.viewerId,
      teams: [...this.teams.values()],
      states: [...this.states.values()],
      labels: [...this.labels.values()],
      users: [...this.users.values()],
      projects: [...this.projects.values()],
      issues: [...this.issues.values()],
      comments: [...this.comments.values()],
      relations: [...this.relations.values()],
      agentSessions: [...this.agentSessions.values()],
      agentActivities: [...this.agentActivities.values()],
      lastSyncId: this.syncId,
    });
  }

  /** Back to an empty workspace; the organization and the viewer keep their ids. */
  reset(): void {
    const viewer = this.viewer();
    this.load({ ...emptyData(), organization: this.organization, viewerId: viewer.id, users: [viewer] });
    this.written();
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────

  org(): LinearData['organization'] {
    return this.organization;
  }

  viewer(): UserRecord {
    const viewer = this.users.get(this.viewerId);
    if (!viewer) throw new Error('The emulator data has no viewer user: the data file is damaged; delete it.');
    return viewer;
  }

  allTeams(): TeamRecord[] {
    return [...this.teams.values()];
  }
  allStates(): WorkflowStateRecord[] {
    return [...this.states.values()];
  }
  allLabels(): LabelRecord[] {
    return [...this.labels.values()];
  }
  allUsers(): UserRecord[] {
    return [...this.users.values()];
  }
  allIssues(): IssueRecord[] {
    return [...this.issues.values()];
  }
  allComments(): CommentRecord[] {
    return [...this.comments.values()];
  }

  team(idOrKey: string): TeamRecord | undefined {
    return this.teams.get(idOrKey) ?? this.allTeams().find((t) => t.key.toUpperCase() === idOrKey.toUpperCase());
  }
  state(id: string): WorkflowStateRecord | undefined {
    return this.states.get(id);
  }
  teamStates(teamId: string): WorkflowStateRecord[] {
    return this.allStates()
      .filter((s) => s.teamId === teamId)
      .sort((a, b) => a.position - b.position);
  }
  label(id: string): LabelRecord | undefined {
    return this.labels.get(id);
  }
  user(id: string): UserRecord | undefined {
    return this.users.get(id);
  }
  userByEmail(email: string): UserRecord | undefined {
    return this.allUsers().find((u) => u.email.toLowerCase() === email.toLowerCase());
  }
  project(id: string): ProjectRecord | undefined {
    return this.projects.get(id);
  }
  comment(id: string): CommentRecord | undefined {
    return this.comments.get(id);
  }

  /** By UUID or by key (`ENG-12`), as Linear's `issue(id:)` accepts both. */
  issue(idOrKey: string): IssueRecord | undefined {
    const byId = this.issues.get(idOrKey);
    if (byId) return byId;
    const match = ISSUE_KEY.exec(idOrKey);
    if (!match) return undefined;
    const team = this.team(match[1] ?? '');
    const number = Number(match[2]);
    return team ? this.allIssues().find((i) => i.teamId === team.id && i.number === number) : undefined;
  }

  identifier(issue: IssueRecord): string {
    return `${this.requireTeam(issue.teamId).key}-${issue.number}`;
  }

  allRelations(): RelationRecord[] {
    return [...this.relations.values()];
  }

  relation(id: string): RelationRecord | undefined {
    return this.relations.get(id);
  }

  /** Relations this issue is the source of (Linear's `Issue.relations`). */
  issueRelations(issueId: string): RelationRecord[] {
    return this.allRelations().filter((r) => r.issueId === issueId);
  }

  /** Relations pointing at this issue (Linear's `Issue.inverseRelations`). */
  inverseRelations(issueId: string): RelationRecord[] {
    return this.allRelations().filter((r) => r.relatedIssueId === issueId);
  }

  requireRelation(id: string): RelationRecord {
    const relation = this.relation(id);
    if (!relation) throw new LinearInputError('Entity not found: IssueRelation', 'Could not find referenced IssueRelation.');
    return relation;
  }

  allAgentSessions(): AgentSessionRecord[] {
    return [...this.agentSessions.values()];
  }

  allAgentActivities(): AgentActivityRecord[] {
    return [...this.agentActivities.values()];
  }

  /** An issue's agent sessions, oldest first (Linear's `Issue.agentSessions`). */
  issueAgentSessions(issueId: string): AgentSessionRecord[] {
    return this.allAgentSessions().filter((s) => s.issueId === issueId);
  }

  /** A session's activities, oldest first (Linear's `AgentSession.activities`). */
  sessionActivities(sessionId: string): AgentActivityRecord[] {
    return this.allAgentActivities().filter((a) => a.agentSessionId === sessionId);
  }

  requireAgentSession(id: string): AgentSessionRecord {
    const session = this.agentSessions.get(id);
    if (!session) throw new LinearInputError('Entity not found: AgentSession', 'Could not find referenced AgentSession.');
    return session;
  }

  requireAgentActivity(id: string): AgentActivityRecord {
    const activity = this.agentActivities.get(id);
    if (!activity) throw new LinearInputError('Entity not found: AgentActivity', 'Could not find referenced AgentActivity.');
    return activity;
  }

  issueComments(issueId: string): CommentRecord[] {
    return this.allComments().filter((c) => c.issueId === issueId);
  }

  requireIssue(idOrKey: string): IssueRecord {
    const issue = this.issue(idOrKey);
    if (!issue) throw new LinearInputError('Entity not found: Issue', 'Could not find referenced Issue.');
    return issue;
  }
  requireTeam(idOrKey: string): TeamRecord {
    const team = this.team(idOrKey);
    if (!team) throw new LinearInputError('Entity not found: Team', 'Could not find referenced Team.');
    return team;
  }
  requireState(id: string): WorkflowStateRecord {
    const state = this.state(id);
    if (!state) throw new LinearInputError('Entity not found: WorkflowState', 'Could not find referenced WorkflowState.');
    return state;
  }
  requireLabel(id: string): LabelRecord {
    const label = this.label(id);
    if (!label) throw new LinearInputError('Entity not found: IssueLabel', 'Could not find referenced IssueLabel.');
    return label;
  }
  requireUser(id: string): UserRecord {
    const user = this.user(id);
    if (!user) throw new LinearInputError('Entity not found: User', 'Could not find referenced User.');
    return user;
  }
  requireProject(id: string): ProjectRecord {
    const project = this.project(id);
    if (!project) throw new LinearInputError('Entity not found: Project', 'Could not find referenced Project.');
    return project;
  }
  requireComment(id: string): CommentRecord {
    const comment = this.comment(id);
    if (!comment) throw new LinearInputError('Entity not found: Comment', 'Could not find referenced Comment.');
    return comment;
  }

  // ── seeding (the admin API) ────────────────────────────────────────────────────────────

  createTeam(input: CreateTeamInput): TeamRecord {
    const key = input.key.trim().toUpperCase();
    if (!TEAM_KEY.test(key)) {
      throw new LinearInputError(`Team key "${input.key}" is invalid: use 1 to 7 letters or digits, e.g. ENG.`);
    }
    if (this.team(key)) throw new LinearInputError(`A team with key ${key} already exists.`);
    const seeds = input.states && input.states.length > 0 ? input.states : DEFAULT_STATES;
    const at = now();
    const team: TeamRecord = { id: randomUUID(), key, name: input.name, issueCount: 0, createdAt: at, updatedAt: at };
    this.teams.set(team.id, team);
    seeds.forEach((seed, index) => {
      const state: WorkflowStateRecord = {
        id: randomUUID(),
        teamId: team.id,
        name: seed.name,
        type: seed.type,
        position: index,
        color: seed.color ?? '#bec2c8',
        createdAt: at,
        updatedAt: at,
      };
      this.states.set(state.id, state);
    });
    this.written();
    return team;
  }

  createLabel(input: CreateLabelInput): LabelRecord {
    const teamId = input.teamKey === undefined ? null : this.requireTeam(input.teamKey).id;
    const clash = this.allLabels().find(
      (l) => l.name.toLowerCase() === input.name.toLowerCase() && (l.teamId === teamId || l.teamId === null || teamId === null),
    );
    if (clash) throw new LinearInputError(`A label named "${input.name}" already exists.`);
    const at = now();
    const label: LabelRecord = {
      id: randomUUID(),
      name: input.name,
      color: input.color ?? '#5e6ad2',
      teamId,
      createdAt: at,
      updatedAt: at,
    };
    this.labels.set(label.id, label);
    this.written();
    return label;
  }

  createUser(input: CreateUserInput): UserRecord {
    if (this.userByEmail(input.email)) throw new LinearInputError(`A user with email ${input.email} already exists.`);
    const at = now();
    const user: UserRecord = {
      id: randomUUID(),
      name: input.name,
      displayName: input.displayName ?? input.name.split(/\s+/)[0]?.toLowerCase() ?? input.name,
      email: input.email,
      createdAt: at,
      updatedAt: at,
    };
    this.users.set(user.id, user);
    this.written();
    return user;
  }

  createProject(input: CreateProjectInput): ProjectRecord {
    const at = now();
    const project: ProjectRecord = {
      id: randomUUID(),
      name: input.name,
      teamIds: input.teamKeys.map((key) => this.requireTeam(key).id),
      createdAt: at,
      updatedAt: at,
    };
    this.projects.set(project.id, project);
    this.written();
    return project;
  }

  /** Labels visible in a team: its own and the workspace's. */
  labelsForTeam(teamId: string): LabelRecord[] {
    return this.allLabels().filter((l) => l.teamId === null || l.teamId === teamId);
  }

  private labelIdsByName(teamId: string, names: string[]): string[] {
    return names.map((name) => {
      const found = this.labelsForTeam(teamId).find((l) => l.name.toLowerCase() === name.toLowerCase());
      return found ? found.id : this.createLabel({ name }).id;
    });
  }

  private stateByName(teamId: string, name: string): WorkflowStateRecord {
    const state = this.teamStates(teamId).find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (!state) {
      const names = this.teamStates(teamId).map((s) => s.name);
      throw new LinearInputError(`Team ${this.requireTeam(teamId).key} has no state "${name}"; it has: ${names.join(', ')}.`);
    }
    return state;
  }

  createIssue(input: CreateIssueInput): IssueRecord {
    const team = this.requireTeam(input.teamKey);
    const state = input.stateName
      ? this.stateByName(team.id, input.stateName)
      : (this.teamStates(team.id).find((s) => s.type === 'backlog') ?? this.teamStates(team.id)[0]);
    if (!state) throw new LinearInputError(`Team ${team.key} has no workflow states.`);
    const assignee = input.assigneeEmail ? this.userByEmail(input.assigneeEmail) : undefined;
    if (input.assigneeEmail && !assignee) throw new LinearInputError(`No user has email ${input.assigneeEmail}.`);
    const project = input.projectName ? this.allProjects().find((p) => p.name === input.projectName) : undefined;
    if (input.projectName && !project) throw new LinearInputError(`No project is named "${input.projectName}".`);
    return this.insertIssue({
      teamId: team.id,
      title: input.title,
      description: input.description ?? '',
      priority: input.priority ?? 0,
      stateId: state.id,
      labelIds: this.labelIdsByName(team.id, input.labels ?? []),
      assigneeId: assignee?.id ?? null,
      projectId: project?.id ?? null,
      creatorId: this.viewerId,
    });
  }

  allProjects(): ProjectRecord[] {
    return [...this.projects.values()];
  }

  /** The one place an issue is born, for seeding and for `issueCreate` alike. */
  insertIssue(fields: Omit<IssueRecord, 'id' | 'number' | 'sortOrder' | 'createdAt' | 'updatedAt' | 'startedAt' | 'completedAt' | 'canceledAt'>): IssueRecord {
    validatePriority(fields.priority);
    const team = this.requireTeam(fields.teamId);
    const state = this.requireState(fields.stateId);
    if (state.teamId !== team.id) throw new LinearInputError('The state does not belong to the issue team.');
    for (const labelId of fields.labelIds) this.requireLabel(labelId);
    team.issueCount += 1;
    const at = now();
    const issue: IssueRecord = {
      ...fields,
      id: randomUUID(),
      number: team.issueCount,
      sortOrder: -team.issueCount,
      createdAt: at,
      updatedAt: at,
      startedAt: state.type === 'started' ? at : null,
      completedAt: state.type === 'completed' ? at : null,
      canceledAt: state.type === 'canceled' ? at : null,
    };
    this.issues.set(issue.id, issue);
    this.written([{ type: 'Issue', action: 'create', issue: structuredClone(issue) }]);
    return issue;
  }

  updateIssue(idOrKey: string, input: UpdateIssueInput): IssueRecord {
    const issue = this.requireIssue(idOrKey);
    const changes: IssueChanges = {};
    if (input.title !== undefined) changes.title = input.title;
    if (input.description !== undefined) changes.description = input.description;
    if (input.priority !== undefined) changes.priority = input.priority;
    if (input.stateName !== undefined) changes.stateId = this.stateByName(issue.teamId, input.stateName).id;
    if (input.labels !== undefined) changes.labelIds = this.labelIdsByName(issue.teamId, input.labels);
    if (input.assigneeEmail !== undefined) {
      const user = input.assigneeEmail === null ? null : this.userByEmail(input.assigneeEmail);
      if (user === undefined) throw new LinearInputError(`No user has email ${input.assigneeEmail}.`);
      changes.assigneeId = user?.id ?? null;
    }
    if (input.projectName !== undefined) {
      const project = input.projectName === null ? null : this.allProjects().find((p) => p.name === input.projectName);
      if (project === undefined) throw new LinearInputError(`No project is named "${input.projectName}".`);
      changes.projectId = project?.id ?? null;
    }
    return this.applyIssueChanges(issue.id, changes);
  }

  /** Applies changes and emits one Issue update with `updatedFrom`, as Linear does. */
  applyIssueChanges(idOrKey: string, changes: IssueChanges): IssueRecord {
    const issue = this.requireIssue(idOrKey);
    const before = structuredClone(issue);
    if (changes.priority !== undefined) validatePriority(changes.priority);
    if (changes.stateId !== undefined) {
      const state = this.requireState(changes.stateId);
      if (state.teamId !== issue.teamId) {
        throw new LinearInputError(
          `Workflow state ${state.name} belongs to another team than issue ${this.identifier(issue)}.`,
          'The workflow state does not belong to the issue team.',
        );
      }
    }
    if (changes.labelIds !== undefined) {
      for (const labelId of changes.labelIds) {
        const label = this.requireLabel(labelId);
        if (label.teamId !== null && label.teamId !== issue.teamId) {
          throw new LinearInputError(`Label ${label.name} belongs to another team.`, 'The label does not belong to the issue team.');
        }
      }
    }
    if (changes.assigneeId) this.requireUser(changes.assigneeId);
    if (changes.projectId) this.requireProject(changes.projectId);

    const at = now();
    const updatedFrom: Partial<IssueRecord> = {};
    const assign = <K extends keyof IssueChanges & keyof IssueRecord>(key: K): void => {
      const value = changes[key];
      if (value === undefined) return;
      if (JSON.stringify(value) === JSON.stringify(issue[key])) return;
      (updatedFrom as Record<string, unknown>)[key] = before[key];
      (issue as unknown as Record<string, unknown>)[key] = key === 'labelIds' ? [...new Set(value as string[])] : value;
    };
    assign('title');
    assign('description');
    assign('priority');
    assign('stateId');
    assign('labelIds');
    assign('assigneeId');
    assign('projectId');
    if (updatedFrom.stateId !== undefined) {
      const type = this.requireState(issue.stateId).type;
      const stamp = (key: 'startedAt' | 'completedAt' | 'canceledAt', value: string | null): void => {
        if (issue[key] === value) return;
        updatedFrom[key] = issue[key];
        issue[key] = value;
      };
      if (type === 'started' && issue.startedAt === null) stamp('startedAt', at);
      stamp('completedAt', type === 'completed' ? at : null);
      stamp('canceledAt', type === 'canceled' ? at : null);
    }
    if (Object.keys(updatedFrom).length === 0) return issue; // nothing changed: Linear sends no webhook
    updatedFrom.updatedAt = issue.updatedAt;
    issue.updatedAt = at;
    this.written([{ type: 'Issue', action: 'update', issue: structuredClone(issue), updatedFrom }]);
    return issue;
  }

  addLabelToIssue(idOrKey: string, labelId: string): IssueRecord {
    const issue = this.requireIssue(idOrKey);
    return this.applyIssueChanges(issue.id, { labelIds: [...issue.labelIds, labelId] });
  }

  removeLabelFromIssue(idOrKey: string, labelId: string): IssueRecord {
    const issue = this.requireIssue(idOrKey);
    this.requireLabel(labelId);
    return this.applyIssueChanges(issue.id, { labelIds: issue.labelIds.filter((id) => id !== labelId) });
  }

  addComment(input: AddCommentInput): CommentRecord {
    const issue = this.requireIssue(input.issueId);
    const author = input.userEmail === undefined ? this.viewer() : this.userByEmail(input.userEmail);
    if (!author) throw new LinearInputError(`No user has email ${input.userEmail}.`);
    return this.insertComment(issue.id, author.id, input.body);
  }

  /** `issue` relates to `relatedIssue` (ids or keys); for `blocks`, it blocks it. */
  createRelation(input: { issue: string; relatedIssue: string; type: RelationRecord['type']; id?: string }): RelationRecord {
    const issue = this.requireIssue(input.issue);
    const related = this.requireIssue(input.relatedIssue);
    if (issue.id === related.id) throw new LinearInputError('An issue cannot relate to itself.', 'Cannot relate an issue to itself.');
    const existing = this.allRelations().find((r) => r.issueId === issue.id && r.relatedIssueId === related.id && r.type === input.type);
    if (existing) return existing;
    const at = now();
    const relation: RelationRecord = { id: input.id ?? randomUUID(), issueId: issue.id, relatedIssueId: related.id, type: input.type, createdAt: at, updatedAt: at };
    this.relations.set(relation.id, relation);
    this.written();
    return relation;
  }

  deleteRelation(id: string): void {
    this.requireRelation(id);
    this.relations.delete(id);
    this.written();
  }

  /** A new session on an issue, pending until its agent says something; Linear sends `created`. */
  createAgentSession(input: { issueId: string; appUserId: string; creatorId?: string | null; externalUrls?: Array<{ label: string; url: string }>; externalLink?: string | null }): AgentSessionRecord {
    const issue = this.requireIssue(input.issueId);
    this.requireUser(input.appUserId);
    const at = now();
    const session: AgentSessionRecord = {
      id: randomUUID(),
      issueId: issue.id,
      appUserId: input.appUserId,
      creatorId: input.creatorId ?? null,
      status: 'pending',
      externalUrls: input.externalUrls ?? [],
      externalLink: input.externalLink ?? null,
      plan: null,
      createdAt: at,
      updatedAt: at,
      startedAt: null,
      endedAt: null,
    };
    this.agentSessions.set(session.id, session);
    this.written([{ type: 'AgentSessionEvent', action: 'created', session: structuredClone(session) }]);
    return session;
  }

  /**
   * An activity in a session. The agent's own move the session's status as Linear does
   * (thought/action: active, elicitation: awaitingInput, response: complete, error: error); a
   * person's (a prompt, the stop button) is sent to the agent as a `prompted` event.
   */
  insertAgentActivity(input: { id?: string; agentSessionId: string; userId: string; content: AgentActivityContentRecord; signal?: AgentActivitySignal | null; signalMetadata?: Record<string, unknown> | null; ephemeral?: boolean }): AgentActivityRecord {
    const session = this.requireAgentSession(input.agentSessionId);
    this.requireUser(input.userId);
    if (input.id !== undefined && this.agentActivities.has(input.id)) {
      throw new LinearInputError(`An agent activity with id ${input.id} already exists.`, 'The agent activity already exists.');
    }
    const at = now();
    const activity: AgentActivityRecord = {
      id: input.id ?? randomUUID(),
      agentSessionId: session.id,
      userId: input.userId,
      content: { ...input.content },
      signal: input.signal ?? null,
      signalMetadata: input.signalMetadata ?? null,
      ephemeral: input.ephemeral ?? false,
      createdAt: at,
      updatedAt: at,
    };
    this.agentActivities.set(activity.id, activity);
    const status = statusAfter(activity.content.type, session.status);
    if (status !== session.status) {
      session.status = status;
      if (status === 'active' && session.startedAt === null) session.startedAt = at;
      session.endedAt = status === 'complete' || status === 'error' ? at : null;
    }
    session.updatedAt = at;
    const events: StoreEvent[] = activity.content.type === 'prompt' ? [{ type: 'AgentSessionEvent', action: 'prompted', session: structuredClone(session), activity: structuredClone(activity) }] : [];
    this.written(events);
    return activity;
  }

  updateAgentSession(id: string, changes: AgentSessionChanges): AgentSessionRecord {
    const session = this.requireAgentSession(id);
    if (changes.externalUrls !== undefined) session.externalUrls = changes.externalUrls.map((u) => ({ ...u }));
    if (changes.externalLink !== undefined) session.externalLink = changes.externalLink;
    if (changes.plan !== undefined) session.plan = changes.plan;
    session.updatedAt = now();
    this.written();
    return session;
  }

  insertComment(issueId: string, userId: string, body: string): CommentRecord {
    if (body.trim() === '') throw new LinearInputError('Comment body must not be empty.', 'Comment body must not be empty.');
    const at = now();
    const comment: CommentRecord = { id: randomUUID(), issueId, userId, body, createdAt: at, updatedAt: at };
    this.comments.set(comment.id, comment);
    this.written([{ type: 'Comment', action: 'create', comment: structuredClone(comment) }]);
    return comment;
  }
}

function validatePriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < 0 || priority > 4) {
    throw new LinearInputError(`Priority ${priority} is invalid: use 0 (none) to 4 (low).`, 'Priority must be between 0 and 4.');
  }
}
