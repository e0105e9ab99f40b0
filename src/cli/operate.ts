// Operator commands against running workflows: status, retry/approve/abort, pause/resume, and
// the fleet: show it, or apply this installation's fleet configuration to it deliberately.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { fleetCapacity } from '../config/fleet-capacity.js';
import { ConfigError, type Config } from '../config/load.js';
import { fleetWorkflowId, issueIdFromWorkflowId, issueWorkflowId } from '../domain/naming.js';
import { latestRunMetadata, signalIssue, signalWithStartIssue, type IssueRunTarget } from '../temporal/issue-runs.js';
import { issueRunMetadata } from '../temporal/run-metadata.js';
import { readFleetMemo, startFleet, type FleetStart } from '../temporal/runs.js';
import { fleetStateQuery, issueStateQuery, pauseFleetSignal, type OperatorCommandName } from '../workflows/messages.js';
import type { FleetState, IssueRunState } from '../workflows/state.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';
import { IssueKey, PhaseKey, PR, Repo } from '../workflows/search-attributes.js';

const operator = () => process.env.CONVEYOR_OPERATOR ?? process.env.USER ?? 'cli';

/** An issue given as a key (ENG-12) is found by search attribute; anything else is an id. */
export async function resolveIssueId(client: Client, issue: string): Promise<string> {
  if (!/^[A-Za-z0-9]+-\d+$/.test(issue)) return issue;
  for await (const run of client.workflow.list({ query: `${IssueKey.name} = '${issue.toUpperCase()}'`, pageSize: 1 })) {
    const issueId = issueIdFromWorkflowId(run.workflowId);
    if (issueId) return issueId;
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

/** How many runs `conveyor status` lists without --all: the latest, newest first. */
export const STATUS_ROWS = 50;
/** Visibility's largest page: `--all` over a backlog of thousands reads it in few round trips. */
const MAX_PAGE = 1_000;

/** The issue runs of the task queue, newest first: the first `limit`, or all of them (Infinity). */
export async function listRuns(client: Client, config: Config, limit = STATUS_ROWS): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  const query = `WorkflowType = '${ISSUE_WORKFLOW_TYPE}' AND TaskQueue = '${config.taskQueue}'`;
  for await (const run of client.workflow.list({ query, pageSize: Math.min(limit, MAX_PAGE) })) {
    const attrs = run.typedSearchAttributes;
    rows.push({
      workflowId: run.workflowId,
      issueKey: attrs.get(IssueKey) ?? '',
      phase: attrs.get(PhaseKey) ?? '',
      repo: attrs.get(Repo) ?? '',
      pr: attrs.get(PR) ?? '',
      status: run.status.name,
      startTime: run.startTime.toISOString(),
    });
    if (rows.length >= limit) break;
  }
  return rows;
}

/** Sends the command to the issue's open run; `retry` with no open run starts one (given `target`). */
export async function commandIssue(client: Client, issue: string, command: OperatorCommandName, target?: IssueRunTarget): Promise<'signalled' | 'started'> {
  const issueId = await resolveIssueId(client, issue);
  const event = { deliveryId: `cli:${randomUUID()}`, command, by: operator() };
  const delivered = await signalIssue(client, issueId, { name: 'operator', event });
  if (delivered) return 'signalled';
  // A blocked issue has no open run: `retry` is the human act that starts it again.
  if (command === 'retry' && target) {
    // The CLI reads no tracker: the new run takes the summary of the issue's last one.
    const key = /^[A-Za-z0-9]+-\d+$/.test(issue) ? issue.toUpperCase() : undefined;
    const subject = { id: issueId, ...(key ? { key } : {}) };
    await signalWithStartIssue(target, subject, event, (await latestRunMetadata(client, issueId)) ?? issueRunMetadata(subject));
    return 'started';
  }
  const hint = command === 'hold' ? ' To keep the factory off an issue that has no run, remove its ready label.' : '';
  throw new ConfigError(`Issue ${issue} has no open run, so there is nothing to ${command}.${hint}`);
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

/**
 * `conveyor fleet apply`: make the fleet run this installation's configuration (starting it if
 * it is not running), and wait a little for it to take it. `taken` is false when no worker has
 * run the fleet since: it takes the configuration as soon as one does.
 */
export async function applyFleet(client: Client, config: Config, waitMs = 10_000): Promise<FleetStart & { taken: boolean }> {
  const applied = await startFleet(client, config.taskQueue, fleetCapacity(config), { apply: true, by: operator() });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const taken = (await readFleetMemo(client, applied.workflowId))?.fingerprint === applied.fingerprint;
    if (taken || Date.now() >= deadline) return { ...applied, taken };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `conveyor fleet show`: caps, fingerprint, leases, the queue and the health of the holder check. */
export function formatFleet(state: FleetState): string {
  const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
  const { capacity } = state;
  const repoSlots = Object.entries(capacity.repoSlots).map(([repo, slots]) => `${repo}=${slots}`).join(', ') || '(none)';
  return [
    `configuration  ${state.fingerprint.slice(0, 12)}  set ${state.configuredBy ? `by ${state.configuredBy} at ${time(state.configuredAt)}` : 'when the fleet started'}`,
    `caps           slots ${capacity.globalSlots}, per repo ${repoSlots}, agents ${capacity.agentNames.join(' ')}`,
    `               holder check every ${capacity.holderCheckInterval}, max lease age ${capacity.maxLeaseAge}`,
    `now            paused: ${state.paused}   slots: ${state.leases.length}/${capacity.globalSlots}   waiting: ${state.waiting.length}   granted so far: ${state.grantsTotal}   reclaimed: ${state.reclaimedTotal}`,
    `holder check   ${state.rebuiltAt === null ? 'ledger not rebuilt yet (nothing is granted until it is)' : `last ok ${time(state.lastHolderCheckAt)}`}`,
    ...(state.lastHolderCheckError ? [`               FAILING since ${time(state.lastHolderCheckErrorAt)}: ${state.lastHolderCheckError}`] : []),
    '',
    'leases',
    formatTable(state.leases.map((l) => ({ agent: l.agentName, repo: l.repo, holder: l.holderId, run: l.holderRunId, since: time(l.grantedAt) }))),
    '',
    'waiting',
    formatTable(state.waiting.map((w) => ({ priority: String(w.priority), repo: w.repo, holder: w.holderId, queued: time(w.queuedAt) }))),
    ...(state.notes.length > 0 ? ['', 'notes', ...state.notes.slice(-5).map((n) => `  ${time(n.at)}  ${n.note}`)] : []),
  ].join('\n');
}

export function formatTable(rows: Array<Record<string, string>>): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  return [line(keys), ...rows.map((r) => line(keys.map((k) => r[k] ?? '')))].join('\n');
}
