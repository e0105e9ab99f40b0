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
  | { type: 'Comment'; action: 'create'; comment: CommentRecord };
