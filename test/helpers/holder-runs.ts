// Lease holders for fleet tests: real issue runs on a task queue no worker polls. They stay
// Running and never execute, so a test decides what they ask for and when; started with the
// search attributes a dispatched run carries (ConveyorLease, ConveyorRepo, ConveyorAgent), they
// are what the fleet's visibility queries find, and the grants signalled to them stay in their
// histories for the test to read.
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { issueWorkflowId } from '../../src/domain/naming.js';
import type { IssueRunInput } from '../../src/workflows/input.js';
import { leaseGrantedSignal, requestLeaseSignal, type LeaseGrant } from '../../src/workflows/messages.js';
import { Agent, LeaseKey, Repo } from '../../src/workflows/search-attributes.js';
import { ISSUE_WORKFLOW_TYPE } from '../../src/workflows/workflow-types.js';
import { TEST_REPO, testPolicy } from './scripted-line.js';
import { uniqueId } from './temporal.js';

export interface HolderRun {
  workflowId: string;
  runId: string;
}

/** Start a run that never executes; with `lease`, it carries the attributes of a run holding one. */
export async function startHolderRun(client: Client, options: { taskQueue: string; fleetId: string; workflowId?: string; lease?: { requestId: string; agentName: string } }): Promise<HolderRun> {
  const issueId = uniqueId('holder');
  const workflowId = options.workflowId ?? issueWorkflowId(issueId);
  const input: IssueRunInput = { issueId, policy: testPolicy(options.fleetId) };
  const typedSearchAttributes: SearchAttributePair[] = options.lease
    ? [
        { key: LeaseKey, value: options.lease.requestId },
        { key: Repo, value: TEST_REPO },
        { key: Agent, value: options.lease.agentName },
      ]
    : [];
  const handle = await client.workflow.start(ISSUE_WORKFLOW_TYPE, { workflowId, taskQueue: options.taskQueue, args: [input], typedSearchAttributes });
  return { workflowId, runId: handle.firstExecutionRunId };
}

/** What the holder's run would signal from acquireLease. */
export async function askForLease(client: Client, fleetId: string, holder: HolderRun, requestId: string, priority = 2): Promise<void> {
  await client.workflow.getHandle(fleetId).signal(requestLeaseSignal, { requestId, holderId: holder.workflowId, holderRunId: holder.runId, repo: TEST_REPO, priority, queuedAt: Date.now() });
}

/** The grants the fleet signalled to this run, oldest first. */
export async function grantsTo(client: Client, holder: HolderRun): Promise<LeaseGrant[]> {
  const history = await client.workflow.getHandle(holder.workflowId, holder.runId).fetchHistory();
  const { payloadConverter } = client.options.loadedDataConverter;
  return (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((s) => s?.signalName === leaseGrantedSignal.name)
    .map((s) => payloadConverter.fromPayload<LeaseGrant>(s!.input!.payloads![0]!));
}

/** Runs left open would only clutter the shared dev server. */
export async function terminateHolders(client: Client, holders: HolderRun[]): Promise<void> {
  await Promise.all(holders.map((h) => client.workflow.getHandle(h.workflowId, h.runId).terminate('test finished').catch(() => undefined)));
}
