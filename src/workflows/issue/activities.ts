// The line's activity proxies: one per part of the outside world, each typed by that part's
// interface, with the timeouts and retries the part needs.
import { TimeoutType } from '@temporalio/common';
import { ActivityFailure, proxyActivities, proxyLocalActivities, TimeoutFailure, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';
import { durationMs } from '../../domain/duration.js';
import { NON_RETRYABLE_CLASSES } from '../../domain/failure.js';
import type { AgentActivities, AgentHost, FleetActivities, ForgeActivities, LedgerActivities, TrackerActivities, WorkspaceActivities } from '../activity-types.js';
import type { LinePolicy } from '../input.js';

export interface LineProxies {
  tracker: TrackerActivities;
  forge: ActivityInterfaceFor<ForgeActivities>;
  /** Opening the PR has its own deadline: time to open a PR after the agent finished. */
  publisher: Pick<ActivityInterfaceFor<ForgeActivities>, 'publishPullRequest'>;
  workspace: WorkspaceActivities;
  agent: ActivityInterfaceFor<AgentActivities>;
  fleet: Pick<FleetActivities, 'reviveFleet'>;
  ledger: LedgerActivities;
  /**
   * The same calls as local activities, run by the worker inside the run's workflow task (runs on
   * the dispatch-in-one-task path): triage's reads and the lease claim follow each other without
   * an activity task queue or another workflow task between them, so a ready issue's agent is
   * scheduled by the task that started its run. Each is short and read-only or idempotent (the
   * escalation comment carries a hidden marker the tracker finds before posting again).
   */
  local: {
    triageIssue: TrackerActivities['triageIssue'];
    commentOnIssue: TrackerActivities['commentOnIssue'];
    readIssueLedger: LedgerActivities['readIssueLedger'];
    claimLease: FleetActivities['claimLease'];
  };
  /**
   * The activities that touch the worktree `host` holds, sent to the queue only that host polls.
   * A host that does not take the task within policies.timeouts.hostGone is gone: the call fails
   * with a schedule-to-start timeout (`hostGone` tells it), never retried on another host.
   */
  onHost(host: AgentHost): Pick<WorkspaceActivities, 'cleanupWorkspace'> & Pick<ActivityInterfaceFor<ForgeActivities>, 'publishPullRequest'>;
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
    local: {
      triageIssue: proxyLocalActivities<TrackerActivities>({ startToCloseTimeout: '1m', retry }).triageIssue,
      commentOnIssue: proxyLocalActivities<TrackerActivities>({ startToCloseTimeout: '1m', retry }).commentOnIssue,
      readIssueLedger: proxyLocalActivities<LedgerActivities>({ startToCloseTimeout: '30s', retry }).readIssueLedger,
      // Never fails the run: an unreachable fleet is answered `unreachable`, and the run asks by signal.
      claimLease: proxyLocalActivities<FleetActivities>({ startToCloseTimeout: '10s', retry: { ...retry, maximumAttempts: 2 } }).claimLease,
    },
    onHost(host) {
      const hostGone = policy.timeouts.hostGone ?? '5m';
      return {
        publishPullRequest: proxyActivities<ForgeActivities>({
          taskQueue: host.taskQueue,
          scheduleToStartTimeout: hostGone,
          // The deadline to open a PR counts from when the host took the task.
          scheduleToCloseTimeout: durationMs(hostGone) + durationMs(policy.timeouts.prOpen),
          startToCloseTimeout: '2m',
          retry,
        }).publishPullRequest,
        cleanupWorkspace: proxyActivities<WorkspaceActivities>({ taskQueue: host.taskQueue, scheduleToStartTimeout: hostGone, startToCloseTimeout: '2m', retry }).cleanupWorkspace,
      };
    },
  };
}

/** Whether an activity failed because no worker of its host's queue took it in time: the host is gone. */
export function hostGone(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}
