import { EmulatorGapError, LinearInputError } from './errors.js';
import {
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
import type { IssueChanges } from './store.js';

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
  };
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
