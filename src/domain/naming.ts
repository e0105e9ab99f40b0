// Names derived from the tracker's stable issue id. Every part that needs to find an issue's
// run (gateway, sweep, CLI, tests) derives it here, so nothing ever needs a lookup.

export const ISSUE_WORKFLOW_PREFIX = 'conveyor-issue-';
export const BRANCH_PREFIX = 'conveyor/';

/** One run per issue: the workflow id is a function of the stable id, never of the key. */
export function issueWorkflowId(issueId: string): string {
  return `${ISSUE_WORKFLOW_PREFIX}${issueId}`;
}

/** The stable issue id an issue run's workflow id was derived from, or null for any other workflow. */
export function issueIdFromWorkflowId(workflowId: string): string | null {
  return workflowId.startsWith(ISSUE_WORKFLOW_PREFIX) ? workflowId.slice(ISSUE_WORKFLOW_PREFIX.length) || null : null;
}

/**
 * The task queue only one host polls: activities that touch a worktree that host holds (publishing
 * the agent's commits, removing the worktree) are sent there, never to whichever host polls first.
 */
export function hostTaskQueue(taskQueue: string, hostId: string): string {
  return `${taskQueue}@${hostId}`;
}

/** The idempotency marker of an escalation comment: one comment per reason for the whole run
 * chain (the triage station posts it; the triage advisor checks it before asking a model). */
export function escalationMarker(reason: string): string {
  return `escalation:${reason}`;
}

export function fleetWorkflowId(taskQueue: string): string {
  return `conveyor-fleet-${taskQueue}`;
}

/** `conveyor/<issue-key-lowercased>-<stable issue id>` */
export function branchForIssue(issueKey: string, issueId: string): string {
  return `${BRANCH_PREFIX}${issueKey.toLowerCase()}-${issueId}`;
}

const BRANCH_PATTERN = /^conveyor\/[a-z0-9]+-\d+-(.+)$/;

/** The stable issue id a factory branch belongs to, or null for any other branch. */
export function issueIdFromBranch(branch: string): string | null {
  const ref = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  const match = BRANCH_PATTERN.exec(ref);
  return match?.[1] ?? null;
}

/** The lowercased issue key a factory branch was named after (`eng-12`), or null. */
export function issueKeyFromBranch(branch: string): string | null {
  const match = /^conveyor\/([a-z0-9]+-\d+)-/.exec(branch);
  return match?.[1] ?? null;
}
