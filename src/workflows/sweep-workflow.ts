// The reconcile sweep: what a lost webhook missed, found by comparing the tracker and the forge
// with the open runs, and the compensation of runs that closed without their release station.
// Three activities do all the work in batches, so a sweep's history stays a dozen events however
// many issues and PRs there are; all are idempotent, so a retried or overlapping sweep can never
// start a run twice or compensate one twice.
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
  /** Runs waiting on blockers that had all finished, told to re-read (absent in older sweeps). */
  unblocked?: number;
  prsSignalled: number;
  /** Open PRs not nudged again: unchanged since the worker last nudged their run (absent in older sweeps). */
  prsUnchanged?: number;
  prsWithoutRun: number;
  gatesOnClosedPrs: number;
  compensated: number;
}

export async function sweepWorkflow(input: SweepInput): Promise<SweepSummary> {
  const { compensateClosedRuns, startReadyIssues, signalOpenPullRequests } = proxyActivities<SweepActivities>({
    taskQueue: input.taskQueue,
    // Long lists take a while; the heartbeat, not the overall deadline, says the worker is alive.
    startToCloseTimeout: '10m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  });
  // Compensation first: an issue it puts back to ready is started by this same sweep.
  const closed = await compensateClosedRuns();
  const issues = await startReadyIssues({ policy: input.policy });
  const pulls = await signalOpenPullRequests();
  return { ...issues, ...pulls, ...closed };
}
