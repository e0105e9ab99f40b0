// The fleet's one side effect: asking Temporal whether lease holders are still open, so a
// holder that never reached its release station (terminated, timed out) cannot leak a lease.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FleetActivities } from '../workflows/activity-types.js';

export function createFleetActivities(deps: { client: Client }): FleetActivities {
  return {
    async findClosedWorkflows({ workflowIds }) {
      const closed: string[] = [];
      for (const workflowId of workflowIds) {
        try {
          const description = await deps.client.workflow.getHandle(workflowId).describe();
          if (description.status.name !== 'RUNNING') closed.push(workflowId);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push(workflowId);
          else throw err;
        }
      }
      return closed;
    },
  };
}
