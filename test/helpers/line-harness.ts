// Builds a line for one test: its own task queue, its own fleet, a worker running the bundled
// workflows over a scripted world. Scenarios then read top to bottom.
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { signalWithStartIssue } from '../../src/temporal/issue-runs.js';
import type { AgentHost } from '../../src/workflows/activity-types.js';
import type { LinePolicy } from '../../src/workflows/input.js';
import { fleetStateQuery, issueStateQuery, operatorCommandSignal, type FleetCapacity, type OperatorCommandName } from '../../src/workflows/messages.js';
import type { FleetState, IssueRunState } from '../../src/workflows/state.js';
import { fleetWorkflowId, issueWorkflowId } from '../../src/domain/naming.js';
import { startFleet } from '../../src/temporal/runs.js';
import type { TrackerIssue } from '../../src/domain/issue.js';
import { recordScenarioHistories, recording } from './history-corpus.js';
import { ScriptedWorld, testCapacity, testPolicy } from './scripted-line.js';
import { createTestWorker, eventually, testClient, uniqueId, uniqueTaskQueue } from './temporal.js';

export interface Line {
  client: Client;
  taskQueue: string;
  fleetId: string;
  world: ScriptedWorld;
  policy: LinePolicy;
  worker: Worker;
  start(issue: TrackerIssue, deliveryId?: string): Promise<string>;
  state(issue: TrackerIssue): Promise<IssueRunState>;
  result(issue: TrackerIssue): Promise<IssueRunState>;
  fleet(): Promise<FleetState>;
  until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number): Promise<T>;
}

export async function createLine(options: {
  name: string;
  world?: ScriptedWorld;
  policy?: Partial<Parameters<typeof testPolicy>[1]>;
  capacity?: Partial<FleetCapacity>;
  /** The host the line's worker stands for (given the line's task queue); default: none, as a worker with no host queue. */
  host?: (taskQueue: string) => AgentHost;
}): Promise<Line> {
  const client = await testClient();
  const taskQueue = uniqueTaskQueue(options.name);
  const fleetId = fleetWorkflowId(taskQueue);
  const world = options.world ?? new ScriptedWorld();
  const policy = testPolicy(fleetId, options.policy ?? {});
  const capacity = testCapacity(options.capacity);
  world.fleet = { taskQueue, capacity };
  const host = options.host;
  const worker = await createTestWorker({ taskQueue, activities: world.activities(client, host ? { host: () => host(taskQueue) } : {}) });
  await startFleet(client, taskQueue, capacity);
  const line: Line = {
    client,
    taskQueue,
    fleetId,
    world,
    policy,
    worker,
    async start(issue, deliveryId = uniqueId('delivery')) {
      const { workflowId } = await signalWithStartIssue({ client, taskQueue, policy }, issue, { deliveryId, kind: 'issue-ready' });
      return workflowId;
    },
    state: (issue) => client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery),
    result: (issue) => client.workflow.getHandle(issueWorkflowId(issue.id)).result() as Promise<IssueRunState>,
    fleet: () => client.workflow.getHandle(fleetId).query(fleetStateQuery),
    until: (what, check, timeoutMs) => eventually(what, check, timeoutMs),
  };
  return line;
}

/** Run a scenario with the line's worker running, then stop the fleet. When recording the
 * replay corpus, the histories of every run on the line are written once the scenario passed. */
export async function withLine<T>(line: Line, scenario: () => Promise<T>): Promise<T> {
  try {
    const result = await line.worker.runUntil(scenario());
    if (recording()) await recordScenarioHistories(line.client, line.taskQueue);
    return result;
  } finally {
    await line.client.workflow.getHandle(line.fleetId).terminate('test finished').catch(() => undefined);
  }
}

/** An operator's `/conveyor <name>` as the gateway delivers it to the issue's open run. */
export function operatorSays(line: Line, issueId: string, name: OperatorCommandName): Promise<void> {
  return line.client.workflow.getHandle(issueWorkflowId(issueId)).signal(operatorCommandSignal, { deliveryId: uniqueId('cmd'), command: name, by: 'op@example.com' });
}
