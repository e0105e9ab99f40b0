// Messages of the two workflows, typed once and used by the workflows, the gateway, the CLI
// and the tests alike.
import { defineQuery, defineSignal } from '@temporalio/workflow';
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

export type OperatorCommandName = 'retry' | 'abort' | 'approve';
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
export interface LeaseRequest {
  /** Idempotency key: a request id the fleet has seen is never queued or granted twice. */
  requestId: string;
  holderId: string;
  /** The run that asked (sent by the issue run; the fleet's side lands separately). */
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
  /** How often the fleet asks Temporal whether lease holders are still open. */
  holderCheckInterval: string;
}

export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
export const releaseLeaseSignal = defineSignal<[LeaseRelease]>('releaseLease');
export const configureFleetSignal = defineSignal<[FleetCapacity]>('configureFleet');
export const pauseFleetSignal = defineSignal<[{ paused: boolean; by: string }]>('pauseFleet');
export const leaseGrantedSignal = defineSignal<[LeaseGrant]>('leaseGranted');
export const fleetStateQuery = defineQuery<FleetState>('fleetState');
