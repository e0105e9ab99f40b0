import type { TrackerIssue } from '../domain/issue.js';

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
  addLabel(issueId: string, label: string): Promise<void>;
  removeLabel(issueId: string, label: string): Promise<void>;
}
