// The sweep's clock: a Temporal Schedule per task queue, created or brought up to date by every
// worker at start-up, plus the on-demand paths the `conveyor sweep` command uses.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { durationMs, type DurationString } from '../domain/duration.js';
import type { LinePolicy } from '../workflows/input.js';
import type { SweepInput, SweepSummary, sweepWorkflow } from '../workflows/sweep-workflow.js';
import { SWEEP_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

export const DEFAULT_SWEEP_INTERVAL: DurationString = '5m';

export interface SweepScheduleOptions {
  taskQueue: string;
  policy: LinePolicy;
  /** How often the sweep runs; default 5m. */
  every?: DurationString;
}

export function sweepScheduleId(taskQueue: string): string {
  return `conveyor-sweep-${taskQueue}`;
}

function sweepAction(taskQueue: string, policy: LinePolicy): ScheduleOptionsStartWorkflowAction<typeof sweepWorkflow> {
  const input: SweepInput = { taskQueue, policy };
  return {
    type: 'startWorkflow',
    workflowType: SWEEP_WORKFLOW_TYPE,
    // The schedule appends the scheduled time, so each sweep has its own id.
    workflowId: sweepScheduleId(taskQueue),
    taskQueue,
    args: [input],
    // Overlaps are skipped, so a wedged sweep would silence every later one: bound it.
    workflowExecutionTimeout: '30m',
  };
}

function sweepPolicies() {
  return {
    // A sweep still running covers the next tick; a pile-up after an outage helps nobody.
    overlap: ScheduleOverlapPolicy.SKIP,
    // After an outage one sweep soon is what is needed, not one per missed tick.
    catchupWindow: '1m',
    pauseOnFailure: false,
  } as const;
}

/**
 * Create the task queue's sweep schedule, or update it to these options when it exists. Safe to
 * call at every worker start-up, from several workers at once. A schedule an operator paused
 * stays paused.
 */
export async function ensureSweepSchedule(client: Client, options: SweepScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = sweepScheduleId(options.taskQueue);
  const every = durationMs(options.every ?? DEFAULT_SWEEP_INTERVAL);
  const action = sweepAction(options.taskQueue, options.policy);
  try {
    await client.schedule.create({ scheduleId, spec: { intervals: [{ every }] }, action, policies: sweepPolicies() });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update(
    (previous): ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<typeof sweepWorkflow>> => ({
      spec: { intervals: [{ every }] },
      action,
      policies: sweepPolicies(),
      state: { paused: previous.state.paused, note: previous.state.note },
    }),
  );
  return { scheduleId, created: false };
}

/** Ask the schedule for a sweep now (fire and forget); skipped when one is already running. */
export async function triggerSweep(client: Client, taskQueue: string): Promise<void> {
  await client.schedule.getHandle(sweepScheduleId(taskQueue)).trigger(ScheduleOverlapPolicy.SKIP);
}

/**
 * Run a sweep now and wait for its summary (`conveyor sweep`). Works with or without the
 * schedule; two operators asking at once share one sweep rather than racing two.
 */
export async function runSweepNow(client: Client, options: { taskQueue: string; policy: LinePolicy }): Promise<SweepSummary> {
  const input: SweepInput = { taskQueue: options.taskQueue, policy: options.policy };
  const handle = await client.workflow.start<typeof sweepWorkflow>(SWEEP_WORKFLOW_TYPE, {
    workflowId: `${sweepScheduleId(options.taskQueue)}-now`,
    taskQueue: options.taskQueue,
    args: [input],
    workflowExecutionTimeout: '30m',
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  return handle.result();
}
