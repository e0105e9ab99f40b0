import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { issueWorkflowId } from '../domain/naming.js';
import type { AgentOwner } from '../integrations/agent-records.js';
import type { OwnerStatus, RunStatus } from '../integrations/reaper.js';

// What the reaper asks Temporal: does the activity that started an agent still run, and is an
// issue's run still open. One describe per question; any error other than "no such workflow"
// answers "unknown", and the reaper removes nothing on an unknown.

export function temporalOwners(client: Client): { ownerStatus: (owner: AgentOwner) => Promise<OwnerStatus>; runStatus: (issueId: string) => Promise<RunStatus> } {
  return {
    async ownerStatus(owner) {
      try {
        const described = await client.workflow.getHandle(owner.workflowId, owner.runId).describe();
        if (described.status.name !== 'RUNNING') return 'gone';
        const pending = (described.raw.pendingActivities ?? []).find((activity) => activity.activityId === owner.activityId);
        // Not pending any more, or retried: a later attempt owns the work (perhaps on another host).
        if (!pending || (pending.attempt ?? 1) !== owner.attempt) return 'gone';
        return 'running';
      } catch (error) {
        return error instanceof WorkflowNotFoundError ? 'gone' : 'unknown';
      }
    },
    async runStatus(issueId) {
      try {
        const described = await client.workflow.getHandle(issueWorkflowId(issueId)).describe();
        return described.status.name === 'RUNNING' ? 'open' : 'closed';
      } catch (error) {
        return error instanceof WorkflowNotFoundError ? 'closed' : 'unknown';
      }
    },
  };
}
