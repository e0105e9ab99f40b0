// Small questions and starts about runs that several parts ask: is a run open, and make sure
// the fleet of a task queue runs, with one configuration for every worker.
import { hostname } from 'node:os';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { fleetWorkflowId, issueIdFromWorkflowId } from '../domain/naming.js';
import type { FleetInput } from '../workflows/input.js';
import { FLEET_MEMO_KEY, configureFleetSignal, type FleetCapacity, type FleetConfiguration, type FleetMemo } from '../workflows/messages.js';
import { PhaseKey, PR } from '../workflows/search-attributes.js';
import { FLEET_WORKFLOW_TYPE, ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';
import { FleetConfigMismatchError, fleetChanges, fleetFingerprint, type FleetChange } from './fleet-config.js';
import { fleetRunMetadata } from './run-metadata.js';

/**
 * The `ConveyorPhase` of the latest run of `workflowId` while it is open ('' before it published
 * one); null when it is closed or never existed. One describe, no signal: a run's history stays free of it.
 */
export async function openRunPhase(client: Client, workflowId: string): Promise<string | null> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING' ? (description.typedSearchAttributes.get(PhaseKey) ?? '') : null;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** What one visibility listing says of an open issue run. */
export interface ListedIssueRun {
  runId: string;
  /** Its `ConveyorPhase` ('' before it published one). */
  phase: string;
  /** Its `ConveyorPR` (`owner/name#number`), once it opened one. */
  pr: string | null;
}

/**
 * The open issue runs of a task queue by issue id, from one visibility listing (paged by the
 * client) rather than a describe per issue: a sweep over 10,000 waiting issues is one query, not
 * 10,000 round trips. Visibility lags the runs by up to a second or so, so the listing is only
 * trusted to say a run is open: a caller about to act on "no open run" confirms it with a describe.
 */
export async function listOpenIssueRuns(client: Client, taskQueue: string, onProgress?: (listed: number) => void): Promise<Map<string, ListedIssueRun>> {
  const query = `WorkflowType = '${ISSUE_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
  const runs = new Map<string, ListedIssueRun>();
  for await (const run of client.workflow.list({ query })) {
    const issueId = issueIdFromWorkflowId(run.workflowId);
    if (!issueId) continue;
    runs.set(issueId, { runId: run.runId, phase: run.typedSearchAttributes.get(PhaseKey) ?? '', pr: run.typedSearchAttributes.get(PR) ?? null });
    if (runs.size % 500 === 0) onProgress?.(runs.size);
  }
  return runs;
}

/** Start the task queue's fleet with these caps unless one runs; a running fleet is left as it
 * is (never reconfigured). A fleet started here rebuilds its ledger from the dispatched runs. */
export async function reviveFleet(client: Client, taskQueue: string, capacity: FleetCapacity): Promise<string> {
  const workflowId = fleetWorkflowId(taskQueue);
  const fingerprint = fleetFingerprint(capacity);
  const input: FleetInput = { capacity, fingerprint };
  const memo: FleetMemo = { capacity, fingerprint, configuredBy: null, configuredAt: null };
  await client.workflow.start(FLEET_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [input],
    memo: { [FLEET_MEMO_KEY]: memo },
    // Only its first run shows them: the fleet continues as new, which takes no user metadata.
    ...fleetRunMetadata(taskQueue),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  return workflowId;
}

export interface FleetStart {
  workflowId: string;
  fingerprint: string;
  /** `running`: the fleet runs (or was just started with) this configuration. `pending`: it was
   * sent this one (conveyor fleet apply) and takes it as soon as a worker runs it. `applied`: it
   * had another one and was sent this one now. */
  outcome: 'running' | 'pending' | 'applied';
  /** From the fleet's configuration to this one (empty unless `applied`). */
  changes: FleetChange[];
}

/** Who changed the configuration, as the fleet records it. */
export function configurer(role: string): string {
  return `${role} on ${hostname()}`;
}

/**
 * Make sure the task queue's fleet runs with these caps. A fleet that is not running is started
 * with them. A running fleet with another configuration is changed only when `apply` is set
 * (`conveyor fleet apply`, `conveyor dev`); otherwise this throws FleetConfigMismatchError, so
 * two hosts with different configurations can never fight over the caps silently. A
 * configuration sent but not yet taken (no worker ran the fleet since) counts as the fleet's.
 */
export async function startFleet(client: Client, taskQueue: string, capacity: FleetCapacity, options: { apply?: boolean; by?: string } = {}): Promise<FleetStart> {
  const workflowId = await reviveFleet(client, taskQueue, capacity);
  const fingerprint = fleetFingerprint(capacity);
  const pending = await pendingFleetConfiguration(client, workflowId);
  const current = pending ? { capacity: pending.capacity, fingerprint: pending.fingerprint, configuredBy: pending.by } : await readFleetMemo(client, workflowId);
  if (current?.fingerprint === fingerprint) return { workflowId, fingerprint, outcome: pending ? 'pending' : 'running', changes: [] };
  const changes = fleetChanges(current?.capacity, capacity);
  if (!options.apply) throw new FleetConfigMismatchError(taskQueue, changes, { fingerprint: current?.fingerprint ?? null, configuredBy: current?.configuredBy ?? null });
  const configuration: FleetConfiguration = { capacity, fingerprint, by: options.by ?? configurer('worker') };
  await client.workflow.getHandle(workflowId).signal(configureFleetSignal, configuration);
  return { workflowId, fingerprint, outcome: 'applied', changes };
}

/** The configuration the fleet runs, from its memo: a describe, answered without any worker. */
export async function readFleetMemo(client: Client, workflowId: string): Promise<FleetMemo | undefined> {
  const description = await client.workflow.getHandle(workflowId).describe();
  return description.memo?.[FLEET_MEMO_KEY] as FleetMemo | undefined;
}

/**
 * The newest configuration sent to the fleet that it has not taken yet (no worker has run it
 * since), or null. So `conveyor fleet apply` on a host whose only worker is stopped is followed
 * by a worker start with the new configuration, not refused against the old one.
 */
async function pendingFleetConfiguration(client: Client, workflowId: string): Promise<FleetConfiguration | null> {
  const { payloadConverter } = client.options.loadedDataConverter;
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistoryReverse({ namespace: client.options.namespace, execution: { workflowId }, maximumPageSize: 100, nextPageToken });
    for (const event of page.history?.events ?? []) {
      // Newest first: everything older than the last completed workflow task was seen by the fleet.
      if (event.workflowTaskCompletedEventAttributes) return null;
      const signal = event.workflowExecutionSignaledEventAttributes;
      const payload = signal?.signalName === configureFleetSignal.name ? signal.input?.payloads?.[0] : undefined;
      if (payload) return payloadConverter.fromPayload<FleetConfiguration>(payload);
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return null;
}
