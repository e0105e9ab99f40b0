// The reconcile sweep: what a lost webhook missed, found by comparing the tracker and the forge
// with the open runs. Two activities do all the work in batches, so a sweep's history stays a
// dozen events however many issues and PRs there are; both are idempotent, so a retried or
// overlapping sweep can never start a run twice.
import { proxyActivities } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/sweep-activities.js';
import type { LinePolicy } from './input.js';

export interface SweepInput {
  /** The line's task queue: its workers hold the tracker and forge clients the activities need. */
  taskQueue: string;
  /** The policy of the runs the sweep starts (a run's policy is the one it was started with). */
  policy: LinePolicy;
}

export interface SweepSummary {
  started: number;
  alreadyRunning: number;
  prsSignalled: number;
  prsWithoutRun: number;
  gatesOnClosedPrs: number;
}

export async function sweepWorkflow(input: SweepInput): Promise<SweepSummary> {
  const { startReadyIssues, signalOpenPullRequests } = proxyActivities<SweepActivities>({
    taskQueue: input.taskQueue,
    // Long lists take a while; the heartbeat, not the overall deadline, says the worker is alive.
    startToCloseTimeout: '10m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  });
  const issues = await startReadyIssues({ policy: input.policy });
  const pulls = await signalOpenPullRequests();
  return { ...issues, ...pulls };
}
