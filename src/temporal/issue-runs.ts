// The one way any part of Conveyor (gateway, sweep, CLI, tests) starts or signals an issue's
// run. Starts are signal-with-start on an id derived from the stable issue id, so a duplicate
// webhook, a sweep and an operator start land on the same run and can never dispatch twice.
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { issueWorkflowId } from '../domain/naming.js';
import type { LinePolicy, IssueRunInput } from '../workflows/input.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';
import { IssueKey, Repo } from '../workflows/search-attributes.js';
import { issueRunMetadata, type IssueRunSubject, type RunMetadata } from './run-metadata.js';
import {
  forgeEventSignal,
  operatorCommandSignal,
  trackerEventSignal,
  type ForgeEvent,
  type OperatorCommand,
  type TrackerEvent,
} from '../workflows/messages.js';


export interface IssueRunTarget {
  client: Client;
  taskQueue: string;
  policy: LinePolicy;
}

/**
 * Start the issue's run if none is open, and deliver the event to it either way. The event is a
 * tracker event (the issue became ready), or an operator's `/conveyor retry` for an issue with
 * no open run (a blocked issue: the run it starts unblocks it). A run started here carries the
 * Web UI's summary and details (`metadata`, by default made from what the caller knows of the
 * issue); a running run keeps its own.
 */
export async function signalWithStartIssue(
  target: IssueRunTarget,
  issue: IssueRunSubject,
  event: TrackerEvent | OperatorCommand,
  metadata: RunMetadata = issueRunMetadata(issue),
): Promise<{ workflowId: string; runId: string }> {
  const workflowId = issueWorkflowId(issue.id);
  const input: IssueRunInput = { issueId: issue.id, issueKey: issue.key, policy: target.policy };
  const options = {
    workflowId,
    taskQueue: target.taskQueue,
    args: [input] as [IssueRunInput],
    // A closed run's id may start again (the issue was reopened and made ready again);
    // triage reads the issue fresh, so a late redelivery cannot send an agent onto finished work.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: issue.key ? [{ key: IssueKey, value: issue.key }] : undefined,
    staticSummary: metadata.staticSummary,
    staticDetails: metadata.staticDetails,
  };
  const handle =
    'command' in event
      ? await target.client.workflow.signalWithStart(ISSUE_WORKFLOW_TYPE, { ...options, signal: operatorCommandSignal, signalArgs: [event] })
      : await target.client.workflow.signalWithStart(ISSUE_WORKFLOW_TYPE, { ...options, signal: trackerEventSignal, signalArgs: [event] });
  return { workflowId, runId: handle.signaledRunId };
}

/**
 * The Web UI's summary and details of the issue's latest run, for a new run of the issue started
 * by a caller that has not read the issue (`conveyor retry`): the run's own, or, for a run that
 * continued as new (which has none), ones made from its key and repo search attributes. None
 * when the issue never had a run.
 */
export async function latestRunMetadata(client: Client, issueId: string): Promise<RunMetadata | undefined> {
  try {
    const description = await client.workflow.getHandle(issueWorkflowId(issueId)).describe();
    const staticSummary = await description.staticSummary();
    if (staticSummary) return { staticSummary, staticDetails: await description.staticDetails() };
    const key = description.typedSearchAttributes.get(IssueKey);
    const repo = description.typedSearchAttributes.get(Repo);
    return issueRunMetadata({ id: issueId, ...(key ? { key } : {}), ...(repo ? { repo: { name: repo } } : {}) });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export type IssueSignal =
  | { name: 'tracker'; event: TrackerEvent }
  | { name: 'forge'; event: ForgeEvent }
  | { name: 'operator'; event: OperatorCommand };

/**
 * Signal the issue's open run. Returns false when there is none: an event for an issue with
 * no run has no effect (a closed run must not be revived by a late PR event).
 */
export async function signalIssue(client: Client, issueId: string, signal: IssueSignal): Promise<boolean> {
  const handle = client.workflow.getHandle(issueWorkflowId(issueId));
  try {
    if (signal.name === 'tracker') await handle.signal(trackerEventSignal, signal.event);
    else if (signal.name === 'forge') await handle.signal(forgeEventSignal, signal.event);
    else await handle.signal(operatorCommandSignal, signal.event);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
