// Small questions and starts about runs that several parts ask: is a run open, and make sure
// the fleet of a task queue runs with given caps.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { fleetWorkflowId } from '../domain/naming.js';
import { configureFleetSignal, type FleetCapacity } from '../workflows/messages.js';
import { FLEET_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

/** Whether the latest run of `workflowId` is open; a workflow that never existed is not. */
export async function isRunOpen(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Start the task queue's fleet if it is not running, and hand it these caps either way. */
export async function startFleet(client: Client, taskQueue: string, capacity: FleetCapacity): Promise<string> {
  const workflowId = fleetWorkflowId(taskQueue);
  await client.workflow.signalWithStart(FLEET_WORKFLOW_TYPE, { workflowId, taskQueue, args: [{ capacity }], signal: configureFleetSignal, signalArgs: [capacity] });
  return workflowId;
}
