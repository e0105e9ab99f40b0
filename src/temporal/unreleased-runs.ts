// Runs that closed without reaching their release station, and what the sweep needs to know to
// do that station's work for one: under which names it worked, how it ended, which leases the
// fleet still books to it. The run itself cannot be asked: its last state is not kept anywhere
// a terminated run could have written it, so the answers come from Temporal and the fleet.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { boundText } from '../domain/bounded-text.js';
import { fleetWorkflowId } from '../domain/naming.js';
import { fleetStateQuery, releaseLeaseSignal } from '../workflows/messages.js';
import { IssueKey, Repo } from '../workflows/search-attributes.js';

/** How a run ends without its release station. A COMPLETED, FAILED or CANCELED run ran it
 * (the station is in a non-cancellable scope); CONTINUED_AS_NEW is never the latest run. */
export type UnreleasedStatus = 'TERMINATED' | 'TIMED_OUT';

export interface UnreleasedRun {
  workflowId: string;
  runId: string;
  status: UnreleasedStatus;
  /** The issue key and repo the run published (search attributes), when it got that far. */
  issueKey: string | null;
  repo: string | null;
}

/** The latest run of `workflowId` when it closed without its release station on `taskQueue`; else null. */
export async function describeUnreleasedRun(client: Client, workflowId: string, taskQueue: string): Promise<UnreleasedRun | null> {
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  const status = description.status.name;
  if (status !== 'TERMINATED' && status !== 'TIMED_OUT') return null;
  // A run of another line (another task queue on the namespace) is its own sweep's to compensate.
  if (description.taskQueue !== taskQueue) return null;
  const attributes = description.typedSearchAttributes;
  return { workflowId, runId: description.runId, status, issueKey: attributes.get(IssueKey) ?? null, repo: attributes.get(Repo) ?? null };
}

/**
 * "terminated (<the operator's reason>)" or "timed out (…)", for a comment. Read from the run's
 * last history event (one event, newest first), since a description does not carry the reason.
 */
export async function howRunEnded(client: Client, run: Pick<UnreleasedRun, 'workflowId' | 'runId' | 'status'>, maxReasonBytes = 500): Promise<string> {
  const fallback = run.status === 'TIMED_OUT' ? 'timed out' : 'terminated (no reason recorded)';
  try {
    const { history } = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace: client.options.namespace,
      execution: { workflowId: run.workflowId, runId: run.runId },
      maximumPageSize: 1,
    });
    const last = history?.events?.[0];
    const terminated = last?.workflowExecutionTerminatedEventAttributes;
    if (terminated) {
      const reason = terminated.reason?.trim();
      return `terminated (${reason ? boundText(reason.replace(/\s+/g, ' '), maxReasonBytes, "the run's history") : 'no reason given'})`;
    }
    if (last?.workflowExecutionTimedOutEventAttributes) return 'timed out (it outlived its workflow execution or run timeout)';
  } catch {
    // The history is gone (retention) or unreadable: the status alone still says enough.
  }
  return fallback;
}

/**
 * Returns to the task queue's fleet every lease and waiting request booked to this closed run,
 * and how many; null when the fleet could not be asked (its periodic holder check reclaims them
 * anyway, since they belong to a run that is closed). Matched by run id, so a newer run of the
 * same issue keeps its own lease.
 */
export async function returnLeasesOf(client: Client, taskQueue: string, run: Pick<UnreleasedRun, 'workflowId' | 'runId'>): Promise<number | null> {
  const fleet = client.workflow.getHandle(fleetWorkflowId(taskQueue));
  try {
    const state = await fleet.query(fleetStateQuery);
    const booked = [...state.leases, ...state.waiting].filter((entry) => entry.holderRunId === run.runId);
    for (const { requestId } of booked) await fleet.signal(releaseLeaseSignal, { requestId, holderId: run.workflowId });
    return booked.length;
  } catch {
    return null;
  }
}
