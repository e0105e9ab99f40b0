// The fleet's side effects: asking Temporal's visibility which lease holders are still open and
// which runs hold leases, and starting the fleet when it is gone. One query each, never a
// describe per holder, so a check costs the same for three holders or three hundred.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reviveFleet } from '../temporal/runs.js';
import type { FleetActivities } from '../workflows/activity-types.js';
import { claimLeaseUpdate, type FleetCapacity } from '../workflows/messages.js';
import { Agent, LeaseKey, Repo } from '../workflows/search-attributes.js';
import type { Lease } from '../workflows/state.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

/** Workflow ids per visibility query: keeps the query string well under the server's limits. */
const IDS_PER_QUERY = 100;

export interface FleetActivityDeps {
  client: Client;
  /** The task queue of this worker, its fleet and its issue runs. */
  taskQueue: string;
  /** This worker's fleet configuration: what a revived fleet starts with. */
  capacity: FleetCapacity;
}

/** A visibility query string literal. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Heartbeat between pages of a long listing (outside an activity, as in a test, there is no one to tell). */
function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // not running as an activity
  }
}

export function createFleetActivities(deps: FleetActivityDeps): FleetActivities {
  const { client, taskQueue } = deps;
  return {
    async findClosedHolders({ holders }) {
      const workflowIds = [...new Set(holders.map((h) => h.workflowId))];
      const open = new Set<string>();
      for (let i = 0; i < workflowIds.length; i += IDS_PER_QUERY) {
        const ids = workflowIds.slice(i, i + IDS_PER_QUERY).map(literal).join(', ');
        for await (const run of client.workflow.list({ query: `ExecutionStatus = 'Running' AND WorkflowId IN (${ids})` })) {
          open.add(run.runId);
          heartbeat();
        }
      }
      return holders.filter((h) => !open.has(h.runId)).map((h) => h.runId);
    },

    async listLeaseHolders() {
      const query = `WorkflowType = ${literal(ISSUE_WORKFLOW_TYPE)} AND ExecutionStatus = 'Running' AND TaskQueue = ${literal(taskQueue)} AND ${LeaseKey.name} IS NOT NULL`;
      const now = Date.now();
      const leases: Lease[] = [];
      for await (const run of client.workflow.list({ query })) {
        const attrs = run.typedSearchAttributes;
        const requestId = attrs.get(LeaseKey);
        if (requestId) leases.push({ requestId, holderId: run.workflowId, holderRunId: run.runId, repo: attrs.get(Repo) ?? '', agentName: attrs.get(Agent) ?? '', grantedAt: now });
        heartbeat();
      }
      return leases;
    },

    async reviveFleet() {
      await reviveFleet(client, taskQueue, deps.capacity);
    },

    async claimLease({ fleetWorkflowId, request }) {
      const claim = () => client.workflow.getHandle(fleetWorkflowId).executeUpdate(claimLeaseUpdate, { args: [request] });
      try {
        try {
          return await claim();
        } catch (err) {
          // Gone (terminated, failed, never started on this queue): revived, asked once more.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          await reviveFleet(client, taskQueue, deps.capacity);
          return await claim();
        }
      } catch (err) {
        // Not an error of the run's: it asks by signal instead, as runs before this path did.
        return { unreachable: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
