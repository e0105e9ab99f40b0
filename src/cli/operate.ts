// Operator commands against running workflows: status, retry/approve/abort, pause/resume.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ConfigError, type Config } from '../config/load.js';
import { fleetWorkflowId, issueWorkflowId } from '../domain/naming.js';
import { signalIssue } from '../temporal/issue-runs.js';
import { fleetStateQuery, issueStateQuery, pauseFleetSignal, type OperatorCommandName } from '../workflows/messages.js';
import type { FleetState, IssueRunState } from '../workflows/state.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

const operator = () => process.env.CONVEYOR_OPERATOR ?? process.env.USER ?? 'cli';

/** An issue given as a key (ENG-12) is found by search attribute; anything else is an id. */
export async function resolveIssueId(client: Client, issue: string): Promise<string> {
  if (!/^[A-Za-z0-9]+-\d+$/.test(issue)) return issue;
  for await (const run of client.workflow.list({ query: `ConveyorIssueKey = '${issue.toUpperCase()}'`, pageSize: 1 })) {
    return run.workflowId.replace(/^conveyor-issue-/, '');
  }
  throw new ConfigError(`No run found for issue ${issue}. Check the key, or pass the issue's id.`);
}

export async function issueStatus(client: Client, issue: string): Promise<IssueRunState> {
  const issueId = await resolveIssueId(client, issue);
  try {
    return await client.workflow.getHandle(issueWorkflowId(issueId)).query(issueStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ConfigError(`No run for issue ${issue}.`);
    throw err;
  }
}

export interface RunRow {
  workflowId: string;
  issueKey: string;
  phase: string;
  repo: string;
  pr: string;
  status: string;
  startTime: string;
}

export async function listRuns(client: Client, config: Config, limit = 50): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  const query = `WorkflowType = '${ISSUE_WORKFLOW_TYPE}' AND TaskQueue = '${config.taskQueue}'`;
  for await (const run of client.workflow.list({ query, pageSize: limit })) {
    const attrs = run.searchAttributes as Record<string, unknown[] | undefined>;
    const first = (name: string) => String(attrs[name]?.[0] ?? '');
    rows.push({ workflowId: run.workflowId, issueKey: first('ConveyorIssueKey'), phase: first('ConveyorPhase'), repo: first('ConveyorRepo'), pr: first('ConveyorPR'), status: run.status.name, startTime: run.startTime.toISOString() });
    if (rows.length >= limit) break;
  }
  return rows;
}

export async function commandIssue(client: Client, issue: string, command: OperatorCommandName): Promise<void> {
  const issueId = await resolveIssueId(client, issue);
  const delivered = await signalIssue(client, issueId, { name: 'operator', event: { deliveryId: `cli:${randomUUID()}`, command, by: operator() } });
  if (!delivered) throw new ConfigError(`Issue ${issue} has no open run, so there is nothing to ${command}.`);
}

export async function setPaused(client: Client, config: Config, paused: boolean): Promise<void> {
  await client.workflow.getHandle(fleetWorkflowId(config.taskQueue)).signal(pauseFleetSignal, { paused, by: operator() });
}

export async function fleetState(client: Client, config: Config): Promise<FleetState> {
  try {
    return await client.workflow.getHandle(fleetWorkflowId(config.taskQueue)).query(fleetStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ConfigError(`The fleet of task queue ${config.taskQueue} is not running: start a worker (conveyor worker) first.`);
    throw err;
  }
}

export function formatTable(rows: Array<Record<string, string>>): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  return [line(keys), ...rows.map((r) => line(keys.map((k) => r[k] ?? '')))].join('\n');
}
