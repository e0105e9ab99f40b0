// Every issue is findable in the Web UI by these, kept current as the run moves. Their values
// are not encrypted: ids, keys, names and phases only, never content.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { IssueRunState } from './state.js';

export const IssueKey = defineSearchAttributeKey('ConveyorIssueKey', SearchAttributeType.KEYWORD);
export const Repo = defineSearchAttributeKey('ConveyorRepo', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('ConveyorPhase', SearchAttributeType.KEYWORD);
export const Agent = defineSearchAttributeKey('ConveyorAgent', SearchAttributeType.KEYWORD);
export const PR = defineSearchAttributeKey('ConveyorPR', SearchAttributeType.KEYWORD);
export const FailureClassKey = defineSearchAttributeKey('ConveyorFailureClass', SearchAttributeType.KEYWORD);
/** The lease request a run holds while its agent runs, absent otherwise: a revived fleet
 * rebuilds its ledger from the runs that carry it. */
export const LeaseKey = defineSearchAttributeKey('ConveyorLease', SearchAttributeType.KEYWORD);

export function publishSearchAttributes(state: IssueRunState): void {
  upsertSearchAttributes([
    { key: PhaseKey, value: state.outcome ? `${state.phase}:${state.outcome}` : state.phase },
    ...(state.issueKey ? [{ key: IssueKey, value: state.issueKey }] : []),
    ...(state.routing ? [{ key: Repo, value: state.routing.repo }] : []),
    ...(state.agentName ? [{ key: Agent, value: state.agentName }] : []),
    ...(state.pr ? [{ key: PR, value: `${state.pr.repo}#${state.pr.number}` }] : []),
    ...(state.failureClass ? [{ key: FailureClassKey, value: state.failureClass }] : []),
    // Present exactly while the run holds a lease: a revived fleet rebuilds its ledger from it.
    { key: LeaseKey, value: state.leaseGranted && state.leaseRequestId ? state.leaseRequestId : null },
  ]);
}
