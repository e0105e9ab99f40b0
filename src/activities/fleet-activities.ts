// The fleet's one side effect: asking Temporal whether lease holders are still open, so a
// holder that never reached its release station (terminated, timed out) cannot leak a lease.
import type { Client } from '@temporalio/client';
import { isRunOpen } from '../temporal/runs.js';
import type { FleetActivities } from '../workflows/activity-types.js';

export function createFleetActivities(deps: { client: Client }): FleetActivities {
  return {
    async findClosedWorkflows({ workflowIds }) {
      const closed: string[] = [];
      for (const workflowId of workflowIds) {
        if (!(await isRunOpen(deps.client, workflowId))) closed.push(workflowId);
      }
      return closed;
    },
    async reviveFleet() {
      throw new Error('reviveFleet: not wired yet');
    },
  };
}
