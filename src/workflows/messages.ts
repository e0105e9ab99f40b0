// Messages of the two workflows, typed once and used by the workflows, the gateway, the CLI
// and the tests alike.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FleetState, IssueRunState } from './state.js';

/** Every external event carries the id of the delivery that brought it (webhook, sweep, CLI);
 * the receiving workflow drops an id it has already seen. */
export interface Delivery {
  deliveryId: string;
}

/** The tracker says something changed: the workflow re-reads the issue; it trusts nothing in here. */
export interface TrackerEvent extends Delivery {
  kind: 'issue-ready' | 'issue-updated';
}

/** The forge says something changed on the PR: the workflow re-reads the PR's status. */
export interface ForgeEvent extends Delivery {
  kind: 'pull-request' | 'checks' | 'review';
  action?: string;
  prNumber?: number;
  headSha?: string;
}

export type OperatorCommandName = 'retry' | 'abort' | 'approve' | 'hold' | 'release';
export interface OperatorCommand extends Delivery {
  command: OperatorCommandName;
  by: string;
  reason?: string;
}

export const trackerEventSignal = defineSignal<[TrackerEvent]>('trackerEvent');
export const forgeEventSignal = defineSignal<[ForgeEvent]>('forgeEvent');
export const operatorCommandSignal = defineSignal<[OperatorCommand]>('operatorCommand');
export const issueStateQuery = defineQuery<IssueRunState>('state');

// Fleet: leases are asked for by signal and granted by a reply signal (the mutex sample's shape).
// Leases belong to the run that asked: a new run of the same issue is another holder.
export interface LeaseRequest {
  /** Idempotency key: a request id the fleet has seen is never queued or granted twice. */
  requestId: string;
  /** The asking run's workflow id; grants go to its latest run (no run id). */
  holderId: string;
  /** The run that asked. A continued run asks again with the same requestId and its new run
   * id: the fleet moves the waiting request or held lease to it (and re-sends a held grant). */
  holderRunId: string;
  repo: string;
  priority: number;
  queuedAt: number;
}
export interface LeaseGrant {
  requestId: string;
  agentName: string;
}
export interface LeaseRelease {
  requestId: string;
  holderId: string;
}
export interface FleetCapacity {
  globalSlots: number;
  repoSlots: Record<string, number>;
  agentNames: string[];
  /** How often the fleet asks Temporal which lease holders are still open (one visibility query). */
  holderCheckInterval: string;
  /** A lease older than this is reclaimed even if its run looks open (a wedged run holds forever). */
  maxLeaseAge: string;
}
/** A fleet configuration: its caps and their fingerprint, so every worker can tell whether it
 * runs the same one (all workers on a task queue must). */
export interface FleetConfiguration {
  capacity: FleetCapacity;
  /** sha256 of the canonical JSON of `capacity` (computed outside workflow code). */
  fingerprint: string;
  /** Who applied it: an operator (`conveyor fleet apply`), `conveyor dev`, a worker. */
  by: string;
}
/** The fleet keeps its current configuration in this memo key, so a starting worker can compare
 * fingerprints with a describe (no worker needed to answer, unlike a query). */
export const FLEET_MEMO_KEY = 'conveyorFleet';
/** Each issue run keeps the issue's ledger (IssueLedger) in this memo key; the issue's next run
 * reads it from the latest closed run, so counts and limits hold across runs. */
export const LEDGER_MEMO_KEY = 'conveyorLedger';
export interface FleetMemo {
  capacity: FleetCapacity;
  fingerprint: string;
  configuredBy: string | null;
  configuredAt: number | null;
}

export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
export const releaseLeaseSignal = defineSignal<[LeaseRelease]>('releaseLease');
export const configureFleetSignal = defineSignal<[FleetConfiguration]>('configureFleet');
export const pauseFleetSignal = defineSignal<[{ paused: boolean; by: string }]>('pauseFleet');
export const leaseGrantedSignal = defineSignal<[LeaseGrant]>('leaseGranted');
/**
 * A lease asked for by update (an issue run's local activity): the fleet answers in the same
 * workflow task, with the grant when a slot and a name are free now, or `queued`, and the grant
 * then comes as leaseGranted like a signalled request's. The same request id as the signal's, so
 * asking both ways is one request.
 */
export type LeaseClaim = { granted: LeaseGrant } | { queued: true };
export const claimLeaseUpdate = defineUpdate<LeaseClaim, [LeaseRequest]>('claimLease');
export const fleetStateQuery = defineQuery<FleetState>('fleetState');
