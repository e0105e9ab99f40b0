import type { StateType } from '../../domain/issue.js';
import { agentSessionUrl, issueUrl, type ResolverContext } from './nodes.js';
import type { AgentActivityContentRecord, AgentActivityRecord, AgentSessionRecord, AgentSessionStatus, CommentRecord, IssueRecord, LabelRecord, TeamRecord } from './types.js';

// What the admin API (programmatic and /_sandbox over HTTP) hands back: records joined with
// the names a test or a demo script wants to read, ids included.

export interface SandboxState {
  id: string;
  name: string;
  type: StateType;
  position: number;
}

export interface SandboxTeam {
  id: string;
  key: string;
  name: string;
  states: SandboxState[];
}

export interface SandboxLabel {
  id: string;
  name: string;
  color: string;
  teamId: string | null;
}

export interface SandboxIssue {
  id: string;
  key: string;
  number: number;
  title: string;
  description: string;
  priority: number;
  url: string;
  team: { id: string; key: string; name: string };
  state: SandboxState;
  labels: string[];
  labelIds: string[];
  assignee: { id: string; name: string; email: string } | null;
  project: { id: string; name: string } | null;
  createdAt: string;
  updatedAt: string;
}

export interface SandboxComment {
  id: string;
  issueId: string;
  body: string;
  user: { id: string; name: string; email: string };
  createdAt: string;
}

export function teamSummary(ctx: ResolverContext, team: TeamRecord): SandboxTeam {
  return {
    id: team.id,
    key: team.key,
    name: team.name,
    states: ctx.store.teamStates(team.id).map((s) => ({ id: s.id, name: s.name, type: s.type, position: s.position })),
  };
}

export function labelSummary(label: LabelRecord): SandboxLabel {
  return { id: label.id, name: label.name, color: label.color, teamId: label.teamId };
}

export function issueSummary(ctx: ResolverContext, issue: IssueRecord): SandboxIssue {
  const { store } = ctx;
  const team = store.requireTeam(issue.teamId);
  const state = store.requireState(issue.stateId);
  const assignee = issue.assigneeId ? store.user(issue.assigneeId) : undefined;
  const project = issue.projectId ? store.project(issue.projectId) : undefined;
  return {
    id: issue.id,
    key: store.identifier(issue),
    number: issue.number,
    title: issue.title,
    description: issue.description,
    priority: issue.priority,
    url: issueUrl(ctx, issue),
    team: { id: team.id, key: team.key, name: team.name },
    state: { id: state.id, name: state.name, type: state.type, position: state.position },
    labels: issue.labelIds.map((id) => store.requireLabel(id).name),
    labelIds: [...issue.labelIds],
    assignee: assignee ? { id: assignee.id, name: assignee.name, email: assignee.email } : null,
    project: project ? { id: project.id, name: project.name } : null,
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
  };
}

export function commentSummary(ctx: ResolverContext, comment: CommentRecord): SandboxComment {
  const user = ctx.store.requireUser(comment.userId);
  return {
    id: comment.id,
    issueId: comment.issueId,
    body: comment.body,
    user: { id: user.id, name: user.name, email: user.email },
    createdAt: comment.createdAt,
  };
}

export interface SandboxAgentActivity {
  id: string;
  content: AgentActivityContentRecord;
  signal: string | null;
  ephemeral: boolean;
  user: { id: string; name: string; email: string };
  createdAt: string;
}

export interface SandboxAgentSession {
  id: string;
  issueId: string;
  issueKey: string;
  url: string;
  status: AgentSessionStatus;
  appUserId: string;
  externalUrls: Array<{ label: string; url: string }>;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** Oldest first. */
  activities: SandboxAgentActivity[];
}

export function agentActivitySummary(ctx: ResolverContext, activity: AgentActivityRecord): SandboxAgentActivity {
  const user = ctx.store.requireUser(activity.userId);
  return { id: activity.id, content: { ...activity.content }, signal: activity.signal, ephemeral: activity.ephemeral, user: { id: user.id, name: user.name, email: user.email }, createdAt: activity.createdAt };
}

export function agentSessionSummary(ctx: ResolverContext, session: AgentSessionRecord): SandboxAgentSession {
  const issue = ctx.store.requireIssue(session.issueId);
  return {
    id: session.id,
    issueId: issue.id,
    issueKey: ctx.store.identifier(issue),
    url: agentSessionUrl(ctx, session),
    status: session.status,
    appUserId: session.appUserId,
    externalUrls: session.externalUrls.map((u) => ({ ...u })),
    createdAt: session.createdAt,
    startedAt: session.startedAt,
    endedAt: session.endedAt,
    activities: ctx.store.sessionActivities(session.id).map((a) => agentActivitySummary(ctx, a)),
  };
}
