import type { StateType } from '../../domain/issue.js';

// The emulator's stored records: plain JSON, so the whole state can be written to the data
// file as is and read back after a restart. GraphQL objects are built from these on demand
// (`nodes.ts`), so what is stored stays small and what is served follows the schema.

export interface OrganizationRecord {
  id: string;
  name: string;
  urlKey: string;
  createdAt: string;
  updatedAt: string;
}

export interface TeamRecord {
  id: string;
  key: string;
  name: string;
  /** Issues ever created in this team: the next issue's number is this plus one. */
  issueCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface WorkflowStateRecord {
  id: string;
  teamId: string;
  name: string;
  type: StateType;
  position: number;
  color: string;
  createdAt: string;
  updatedAt: string;
}

export interface LabelRecord {
  id: string;
  name: string;
  color: string;
  /** null for a workspace label, visible to every team. */
  teamId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface UserRecord {
  id: string;
  name: string;
  displayName: string;
  email: string;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectRecord {
  id: string;
  name: string;
  teamIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface IssueRecord {
  id: string;
  teamId: string;
  number: number;
  title: string;
  description: string;
  priority: number;
  stateId: string;
  labelIds: string[];
  assigneeId: string | null;
  creatorId: string | null;
  projectId: string | null;
  sortOrder: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  canceledAt: string | null;
}

export interface CommentRecord {
  id: string;
  issueId: string;
  userId: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

/** Linear's IssueRelation: `issueId` relates to `relatedIssueId` as `type` says; for
 * `blocks`, the issue blocks the related issue. */
export interface RelationRecord {
  id: string;
  issueId: string;
  relatedIssueId: string;
  type: 'blocks' | 'duplicate' | 'related' | 'similar';
  createdAt: string;
  updatedAt: string;
}

/** Linear's AgentSessionStatus. */
export type AgentSessionStatus = 'pending' | 'active' | 'awaitingInput' | 'complete' | 'error' | 'stale';

/** Linear's AgentActivityType; `prompt` is a person's, every other one the agent's. */
export type AgentActivityType = 'thought' | 'action' | 'response' | 'error' | 'elicitation' | 'prompt';

/** Linear's AgentActivitySignal. */
export type AgentActivitySignal = 'auth' | 'continue' | 'select' | 'stop';

/** An agent's session on an issue (Linear's AgentSession): the thread its activities form. */
export interface AgentSessionRecord {
  id: string;
  issueId: string;
  /** The agent (app) user the session belongs to: whoever created it through the API. */
  appUserId: string;
  /** The person responsible; null for a session an agent opened by itself. */
  creatorId: string | null;
  status: AgentSessionStatus;
  externalUrls: Array<{ label: string; url: string }>;
  externalLink: string | null;
  plan: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

/** The content of an activity as Linear's `content` JSONObject carries it. */
export interface AgentActivityContentRecord {
  type: AgentActivityType;
  /** thought, response, error, elicitation, prompt. */
  body?: string;
  /** action: what is done (e.g. "Edit"), on what (a path, a command), and optionally its result. */
  action?: string;
  parameter?: string;
  result?: string;
}

export interface AgentActivityRecord {
  id: string;
  agentSessionId: string;
  userId: string;
  content: AgentActivityContentRecord;
  signal: AgentActivitySignal | null;
  signalMetadata: Record<string, unknown> | null;
  ephemeral: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Everything the emulator knows; also the shape of the data file. */
export interface LinearData {
  version: 1;
  organization: OrganizationRecord;
  /** The user every accepted API key acts as (Linear's `viewer`). */
  viewerId: string;
  teams: TeamRecord[];
  states: WorkflowStateRecord[];
  labels: LabelRecord[];
  users: UserRecord[];
  projects: ProjectRecord[];
  issues: IssueRecord[];
  comments: CommentRecord[];
  /** Absent in data files written before relations existed. */
  relations?: RelationRecord[];
  /** Absent in data files written before agent sessions existed. */
  agentSessions?: AgentSessionRecord[];
  agentActivities?: AgentActivityRecord[];
  /** Bumped on every write, served as `lastSyncId` like Linear's sync counter. */
  lastSyncId: number;
}

/** What changed in the store; the webhook sender turns these into Linear's payloads. */
export type StoreEvent =
  | {
      type: 'Issue';
      action: 'create' | 'update' | 'remove';
      issue: IssueRecord;
      /** Linear's `updatedFrom`: the previous values of the fields that changed. */
      updatedFrom?: Partial<IssueRecord>;
    }
  | { type: 'Comment'; action: 'create'; comment: CommentRecord }
  /** Linear's AgentSessionEvent: `created` with a new session, `prompted` with a person's
   * activity in it (a message, or the stop button: `signal: stop`). */
  | { type: 'AgentSessionEvent'; action: 'created' | 'prompted'; session: AgentSessionRecord; activity?: AgentActivityRecord };
