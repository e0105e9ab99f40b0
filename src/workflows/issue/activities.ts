// The line's activity proxies: one per part of the outside world, each typed by that part's
// interface, with the timeouts and retries the part needs.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../../domain/duration.js';
import { NON_RETRYABLE_CLASSES } from '../../domain/failure.js';
import type { AgentActivities, FleetActivities, ForgeActivities, LedgerActivities, TrackerActivities, WorkspaceActivities } from '../activity-types.js';
import type { LinePolicy } from '../input.js';

export interface LineProxies {
  tracker: TrackerActivities;
  forge: ForgeActivities;
  /** Opening the PR has its own deadline: time to open a PR after the agent finished. */
  publisher: Pick<ForgeActivities, 'publishPullRequest'>;
  workspace: WorkspaceActivities;
  agent: AgentActivities;
  fleet: Pick<FleetActivities, 'reviveFleet'>;
  ledger: LedgerActivities;
}

export function lineProxies(policy: LinePolicy): LineProxies {
  const retry: ActivityOptions['retry'] = {
    initialInterval: policy.retry.initialInterval,
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: policy.retry.maximumAttempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE_CLASSES],
  };
  const heartbeatMs = durationMs(policy.timeouts.heartbeat);
  return {
    tracker: proxyActivities<TrackerActivities>({ startToCloseTimeout: '1m', retry }),
    forge: proxyActivities<ForgeActivities>({ startToCloseTimeout: '2m', retry }),
    publisher: proxyActivities<ForgeActivities>({ scheduleToCloseTimeout: policy.timeouts.prOpen, startToCloseTimeout: '2m', retry }),
    workspace: {
      // Preparing ahead is only a head start: one attempt, since the agent activity prepares the
      // worktree itself when this one failed, and a held slot must not wait out retries.
      prepareWorkspace: proxyActivities<WorkspaceActivities>({ startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 1 } }).prepareWorkspace,
      cleanupWorkspace: proxyActivities<WorkspaceActivities>({ startToCloseTimeout: '2m', retry }).cleanupWorkspace,
    },
    agent: proxyActivities<AgentActivities>({
      startToCloseTimeout: policy.timeouts.agentTotal,
      // The activity heartbeats while its worker and agent live; three missed beats mean the
      // worker is gone and the attempt is retried (by policy) elsewhere.
      heartbeatTimeout: heartbeatMs * 3,
      cancellationType: 'WAIT_CANCELLATION_COMPLETED' as ActivityOptions['cancellationType'],
      retry: { ...retry, maximumAttempts: Math.min(policy.retry.maximumAttempts, 2), nonRetryableErrorTypes: [...NON_RETRYABLE_CLASSES, 'agent-stalled', 'agent-failed'] },
    }),
    // Reviving the fleet is a start-if-absent: cheap, idempotent, and needed before any lease.
    fleet: proxyActivities<FleetActivities>({ startToCloseTimeout: '30s', retry }),
    ledger: proxyActivities<LedgerActivities>({ startToCloseTimeout: '30s', retry }),
  };
}
