import type { StateType, TrackerIssue } from '../domain/issue.js';

/** One end of a "blocks" relation, with the state it is in now. */
export interface RelatedIssue {
  id: string;
  key: string;
  state: { name: string; type: StateType };
}

/** An issue's "blocks" relations, both ways, as the tracker has them now. */
export interface BlockingRelations {
  /** Issues that block this one, finished or not. */
  blockedBy: RelatedIssue[];
  /** Issues this one blocks. */
  blocks: RelatedIssue[];
}

/**
 * The tracker as Conveyor uses it. Implemented over `@linear/sdk` (`linear-tracker.ts`);
 * tests hand in the same implementation pointed at the sandbox emulator.
 */
export interface Tracker {
  getIssue(issueId: string): Promise<TrackerIssue>;
  /** Issues carrying `label` in a non-completed state in the given teams (by team key). */
  listIssues(query: { teamKeys: string[]; label: string }): Promise<TrackerIssue[]>;
  /** Move an issue to the workflow state with this name in the issue's team. */
  moveIssue(issueId: string, stateName: string): Promise<void>;
  comment(issueId: string, body: string): Promise<void>;
  /** Whether some comment on the issue contains `text` (case-sensitive): how a writer that may
   * run twice (a retried or repeated sweep) finds out it has already said its piece. */
  hasComment(issueId: string, text: string): Promise<boolean>;
  /** The issue's "blocks" relations both ways (Linear: `relations` and `inverseRelations` of
   * type `blocks`). */
  getBlockingRelations(issueId: string): Promise<BlockingRelations>;
  addLabel(issueId: string, label: string): Promise<void>;
  removeLabel(issueId: string, label: string): Promise<void>;
}

/** A new issue, by names as a human gives them; the tracker resolves them to ids. */
export interface NewIssue {
  teamKey: string;
  title: string;
  description: string;
  /** Label names; each must exist as a workspace label or one of the team's. */
  labels: string[];
  /** The workflow state to file it in, by name (e.g. the team's ready state). */
  stateName: string;
}

/** Filing issues: only `conveyor canary` does (a synthetic issue); the line never creates any. */
export interface IssueFiler {
  createIssue(issue: NewIssue): Promise<TrackerIssue>;
}

/** What one entry of an agent session says (Linear's AgentActivity content an agent may post). */
export type AgentActivityContent =
  | { type: 'thought' | 'response' | 'error'; body: string }
  | { type: 'action'; action: string; parameter: string; result?: string };

/**
 * The tracker's view of an agent at work (Linear's agent sessions): a session on the issue, and
 * the entries the agent posts in it. Off unless `tracker.agentSessions.enabled`.
 */
export interface AgentSessions {
  /** Opens a session on the issue for one agent attempt; returns its id. */
  createAgentSession(input: { issueId: string; links?: Array<{ label: string; url: string }> }): Promise<string>;
  /** Posts one entry; `ephemeral` (thoughts and actions only) is replaced by the next one in Linear's view. */
  postAgentActivity(sessionId: string, content: AgentActivityContent, options?: { ephemeral?: boolean }): Promise<void>;
}
