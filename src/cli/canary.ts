// `conveyor canary`: live evidence that the installation works end to end. It files a synthetic
// issue (labelled with the ready label, so the real line picks it up, and the synthetic label,
// so the gate closes its PR and never merges it) and follows it through the real line by
// reading the run (Temporal: describe and the `state` query), the forge and the tracker through
// their clients: webhook received, triaged, agent ran, PR opened, CI green, PR closed without
// merge, issue done. Each station passes, fails (with what to check) or times out; the first
// that does not pass ends the canary, which then aborts its run and closes its PR so nothing is
// left working on it. What it saw is written to .data/canary/last.json for `conveyor routes`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config/load.js';
import { durationMs } from '../domain/duration.js';
import type { ChecksSummary, PullRequest, TrackerIssue } from '../domain/issue.js';
import { branchForIssue, issueWorkflowId } from '../domain/naming.js';
import { explainRoute, routeIssue } from '../domain/triage.js';
import type { Forge } from '../integrations/forge.js';
import type { IssueFiler, Tracker } from '../integrations/tracker.js';
import { temporalOwners } from '../temporal/agent-owners.js';
import { signalIssue } from '../temporal/issue-runs.js';
import { issueStateQuery } from '../workflows/messages.js';
import type { IssueRunState, Outcome } from '../workflows/state.js';
import { ConfigError } from '../config/load.js';

export const STATIONS = ['webhook received', 'triaged', 'agent ran', 'PR opened', 'CI green', 'PR closed without merge', 'issue done'] as const;
export type StationName = (typeof STATIONS)[number];

export interface StationResult {
  station: StationName;
  status: 'ok' | 'failed' | 'timed-out' | 'not-reached';
  /** Since the issue was filed, when the station passed or failed. */
  atMs: number | null;
  detail: string;
  /** What to look at when it did not pass. */
  check?: string;
}

export interface CanaryReport {
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  team: string;
  repo: string;
  issue: { id: string; key: string; url: string } | null;
  workflowId: string | null;
  outcome: Outcome | null;
  stations: StationResult[];
  /** Webhook routes the gateway counted while the canary ran (its /metrics, before and after). */
  routes: { gateway: string; exercised: Record<string, number> } | { gateway: string; error: string };
  /** What the canary did after a failure so nothing keeps working on its issue. */
  cleanup: string[];
}

export interface CanaryDeps {
  config: Config;
  client: Client;
  tracker: Tracker & IssueFiler;
  forge: Forge;
  /** The gateway's base URL, whose /metrics counts deliveries by route. */
  gatewayUrl: string;
  /** Print a line as each station passes or fails (not with --json). */
  progress?: (line: string) => void;
  now?: () => number;
}

export interface CanaryOptions {
  team?: string;
  repo?: string;
  /** The whole canary's deadline (a duration such as 20m). */
  timeout: string;
  /** Text added to the issue's description (sandbox: a demo marker such as [demo:fail-ci-once]). */
  append?: string;
  /** How often the run, the forge and the tracker are read. */
  pollMs?: number;
  /** Leave a failed canary's run and PR as they are, for inspection. */
  keep?: boolean;
}

/** What one read of the world shows. */
interface Observation {
  run: 'missing' | 'open' | 'closed';
  state: IssueRunState | null;
  pr: PullRequest | null;
  checks: ChecksSummary | null;
  issue: TrackerIssue | null;
}

type Verdict = { pass: string } | { fail: string; check: string } | null;

/** Delivery ids the line's own parts give their signals; anything else came from a webhook. */
const NOT_WEBHOOK = /^(sweep|cli):/;

/** The team and repo a canary goes to, or a ConfigError saying how to make it routable. */
export function canaryTarget(config: Config, wanted: { team?: string; repo?: string }): { team: Config['factory']['tracker']['teams'][number]; repo: string } {
  const { factory } = config;
  const teams = factory.tracker.teams;
  const team = wanted.team ? teams.find((t) => t.key === wanted.team!.toUpperCase()) : (teams.find((t) => t.defaultRepo) ?? teams[0]);
  if (!team) throw new ConfigError(wanted.team ? `Team ${wanted.team} is not under tracker.teams in ${config.files.factory}: use one of ${teams.map((t) => t.key).join(', ')}.` : `No team under tracker.teams in ${config.files.factory}: the canary files its issue in one.`);
  const probe: TrackerIssue = {
    id: 'canary',
    key: `${team.key}-0`,
    title: 'Conveyor canary',
    description: '',
    url: '',
    team: { id: team.key, key: team.key },
    project: null,
    labels: [factory.policies.readyLabel, factory.policies.syntheticLabel],
    priority: 0,
    state: { name: team.readyState, type: 'unstarted' },
    assignee: null,
    createdAt: '',
    updatedAt: '',
  };
  const routed = routeIssue(probe, factory, explainRoute(probe, factory));
  const rule = (repo: string) => `add a routing rule to ${config.files.factory}:\n  - team: ${team.key}\n    labels: [${factory.policies.syntheticLabel}]\n    repo: ${repo}`;
  if (!routed) throw new ConfigError(`A canary in team ${team.key} would not be routed to any repo: ${rule(wanted.repo ?? factory.repos[0]?.name ?? 'owner/name')}`);
  if (wanted.repo && routed.repo.toLowerCase() !== wanted.repo.toLowerCase()) {
    throw new ConfigError(`A canary in team ${team.key} is routed to ${routed.repo}, not ${wanted.repo}: ${rule(wanted.repo)}`);
  }
  return { team, repo: routed.repo };
}

function description(append: string | undefined): string {
  return [
    'A synthetic end-to-end check filed by `conveyor canary`. The factory works it like any other issue,',
    'and because it carries the synthetic label its pull request is closed, never merged.',
    '',
    '## Acceptance',
    '- [ ] a pull request is opened from the factory branch',
    '- [ ] its checks are green, then it is closed without merge and this issue is done',
    ...(append ? ['', append] : []),
  ].join('\n');
}

/** The station the observation is at, given the ones already passed: passed, failed, or still waiting. */
export function judgeStation(station: StationName, seen: Observation, ctx: { repo: string; synthetic: string; teamKey: string; doneState: string }): Verdict {
  const { state } = seen;
  // An ending other than the synthetic one fails whichever station the run was at.
  if (state?.outcome && state.outcome !== 'closed-synthetic') {
    return { fail: `the run ended ${state.outcome}: ${state.reason ?? 'no reason recorded'}`, check: `conveyor status ${state.issueKey ?? state.issueId} (its notes), the comment on the issue, and the worker's log` };
  }
  if (state?.phase === 'waiting-to-retry') return { fail: `the run is waiting to retry: ${state.reason ?? ''}`, check: 'the worker log and conveyor failures: an outage of the tracker, forge or agent' };
  switch (station) {
    case 'webhook received': {
      if (seen.run === 'missing' || !state) return null;
      const first = state.seenDeliveries[0];
      if (first && NOT_WEBHOOK.test(first)) {
        return { fail: `the run was started by ${first.split(':')[0]} (delivery ${first}), not by the Linear webhook`, check: `the Linear webhook (URL …/webhooks/linear, resource Issues, secret in LINEAR_WEBHOOK_SECRETS), GET /readyz on the gateway, and that ${ctx.teamKey} is under tracker.teams` };
      }
      return { pass: `run ${issueWorkflowId(state.issueId)} started by the Linear webhook (delivery ${first ?? 'unknown'})` };
    }
    case 'triaged': {
      if (!state) return null;
      if (state.phase === 'escalated') return { fail: `triage escalated the canary: ${state.reason ?? ''}`, check: `conveyor triage ${state.issueKey ?? state.issueId}` };
      if (!state.routing || state.phase === 'triage') return null;
      if (!state.routing.synthetic) return { fail: `triage did not see the issue as synthetic (label ${ctx.synthetic})`, check: 'policies.syntheticLabel in factory.yaml, and the labels on the issue' };
      if (state.routing.repo.toLowerCase() !== ctx.repo.toLowerCase()) return { fail: `triage routed the canary to ${state.routing.repo}, not ${ctx.repo}`, check: `conveyor triage ${state.issueKey ?? state.issueId}` };
      return { pass: `routed to ${state.routing.repo}, agent ${state.routing.agent}, synthetic` };
    }
    case 'agent ran': {
      if (!state || state.attempts < 1) return null;
      const after = ['awaiting-pr', 'merge-gate', 'closing', 'releasing', 'done'].includes(state.phase);
      return after || state.pr ? { pass: `agent ${state.agentName ?? '?'} finished attempt ${state.attempts}` } : null;
    }
    case 'PR opened': {
      if (!state?.pr || !seen.pr) return null;
      return { pass: `${seen.pr.url} from ${seen.pr.headRef}` };
    }
    case 'CI green': {
      if (state && state.redispatches > 0) {
        return { fail: `CI failed and the line sent the agent back (re-dispatch ${state.redispatches}): ${(state.feedback ?? '').split('\n').slice(0, 3).join(' ')}`, check: `the PR's checks (${seen.pr?.url ?? 'the PR'}), the repo's CI configuration and requiredChecks in factory.yaml` };
      }
      if (!seen.checks) return null;
      if (seen.checks.state === 'failure') {
        const failures = seen.checks.failures.map((f) => `${f.name}: ${f.summary.split('\n')[0]}`).join('; ');
        return { fail: `CI failed on ${seen.checks.sha.slice(0, 7)}: ${failures}`, check: `the PR's checks (${seen.pr?.url ?? 'the PR'}), the repo's CI configuration and requiredChecks in factory.yaml` };
      }
      return seen.checks.state === 'success' ? { pass: `required checks green on ${seen.checks.sha.slice(0, 7)}` } : null;
    }
    case 'PR closed without merge': {
      if (!seen.pr) return null;
      if (seen.pr.merged) return { fail: `${seen.pr.url} was MERGED: synthetic issues must never merge`, check: 'pause the line (conveyor pause), revert the merge, and check policies.syntheticLabel' };
      return seen.pr.state === 'closed' ? { pass: `${seen.pr.url} closed, not merged` } : null;
    }
    case 'issue done': {
      if (!seen.issue) return null;
      const done = seen.issue.state.type === 'completed' || seen.issue.state.name.toLowerCase() === ctx.doneState.toLowerCase();
      return done && state?.outcome === 'closed-synthetic' ? { pass: `${seen.issue.key} in ${seen.issue.state.name}; run ended closed-synthetic` } : null;
    }
  }
}

const STATION_CHECKS: Record<StationName, string> = {
  'webhook received': 'the Linear webhook (URL …/webhooks/linear, secret LINEAR_WEBHOOK_SECRETS), GET /readyz on the gateway, the gateway log',
  triaged: 'that a worker runs on the task queue (conveyor doctor), and the worker log',
  'agent ran': 'conveyor fleet (a free slot? paused?), the agent log under workspaceDir/logs, the worker log',
  'PR opened': 'the worker log (push and pull request activities), the forge credentials (GITHUB_TOKEN or the App)',
  'CI green': "the PR's checks on the forge and the repo's CI (a check that never reports stays pending)",
  'PR closed without merge': 'the GitHub webhook (…/webhooks/github, GITHUB_WEBHOOK_SECRETS, events Pull requests, Check suites, Statuses) and the worker log',
  'issue done': 'the worker log (moving the issue), and the team doneState in factory.yaml',
};

export async function runCanary(deps: CanaryDeps, options: CanaryOptions): Promise<CanaryReport> {
  const { config, client, tracker, forge } = deps;
  const now = deps.now ?? Date.now;
  const say = deps.progress ?? (() => undefined);
  const { team, repo } = canaryTarget(config, options);
  const policies = config.factory.policies;
  const deadline = now() + durationMs(options.timeout);
  const pollMs = options.pollMs ?? 1000;
  const startedAt = new Date(now()).toISOString();
  const before = await readRoutes(deps.gatewayUrl);

  const issue = await tracker.createIssue({
    teamKey: team.key,
    title: `Conveyor canary ${startedAt}`,
    description: description(options.append),
    labels: [policies.readyLabel, policies.syntheticLabel],
    stateName: team.readyState,
  });
  const filedAt = now();
  say(`filed ${issue.key} (${issue.url}) in ${team.key}; following it to ${repo}`);
  const workflowId = issueWorkflowId(issue.id);
  const handle = client.workflow.getHandle(workflowId);
  const baseRef = config.factory.repos.find((r) => r.name === repo)?.baseBranch ?? 'main';

  const observe = async (station: StationName, last: Observation): Promise<Observation> => {
    const seen: Observation = { ...last, state: last.state };
    try {
      const description = await handle.describe();
      seen.run = description.status.name === 'RUNNING' ? 'open' : 'closed';
      // A run whose first workflow task has not run yet cannot answer: read again next time.
      seen.state = await handle.query(issueStateQuery).catch(() => seen.state);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      seen.run = 'missing';
    }
    const at = STATIONS.indexOf(station);
    if (at >= STATIONS.indexOf('PR opened') && seen.state?.pr) {
      seen.pr = await forge.getPullRequest(repo, seen.state.pr.number);
      if (at === STATIONS.indexOf('CI green')) seen.checks = await forge.getChecks(repo, seen.pr.headSha, seen.pr.baseRef || baseRef);
    }
    if (at === STATIONS.indexOf('issue done')) seen.issue = await tracker.getIssue(issue.id);
    return seen;
  };

  const results: StationResult[] = [];
  let seen: Observation = { run: 'missing', state: null, pr: null, checks: null, issue: null };
  let failed = false;
  let previousAt = 0;
  // A read that fails (the forge or tracker briefly unreachable) is tried again at the next
  // poll; if the station times out, the last such error is part of its detail.
  let readError: string | null = null;
  for (const station of STATIONS) {
    if (failed) {
      results.push({ station, status: 'not-reached', atMs: null, detail: '' });
      continue;
    }
    for (;;) {
      try {
        seen = await observe(station, seen);
        readError = null;
      } catch (err) {
        readError = messageOf(err);
      }
      const verdict = judgeStation(station, seen, { repo, synthetic: policies.syntheticLabel, teamKey: team.key, doneState: team.doneState });
      const atMs = now() - filedAt;
      if (verdict && 'pass' in verdict) {
        results.push({ station, status: 'ok', atMs, detail: verdict.pass });
        say(`ok    ${station.padEnd(24)} ${seconds(atMs - previousAt).padStart(7)} (at ${seconds(atMs)})  ${verdict.pass}`);
        previousAt = atMs;
        break;
      }
      if (verdict && 'fail' in verdict) {
        results.push({ station, status: 'failed', atMs, detail: verdict.fail, check: verdict.check });
        say(`FAIL  ${station.padEnd(24)} ${seconds(atMs - previousAt).padStart(7)} (at ${seconds(atMs)})  ${verdict.fail}\n      check: ${verdict.check}`);
        failed = true;
        break;
      }
      if (now() >= deadline) {
        const detail = `no sign of it within ${options.timeout} (run ${seen.run}${seen.state ? `, phase ${seen.state.phase}` : ''}${readError ? `; last read failed: ${readError}` : ''})`;
        results.push({ station, status: 'timed-out', atMs, detail, check: STATION_CHECKS[station] });
        say(`FAIL  ${station.padEnd(24)} ${seconds(atMs - previousAt).padStart(7)} (at ${seconds(atMs)})  timed out: ${detail}\n      check: ${STATION_CHECKS[station]}`);
        failed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  const cleanup = failed && !options.keep ? await cleanUpCanary({ client, forge, tracker, readyLabel: policies.readyLabel, repo, issue }) : [];
  for (const line of cleanup) say(`      ${line}`);
  const after = await settledRoutes(deps.gatewayUrl, before);
  const report: CanaryReport = {
    ok: !failed,
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    team: team.key,
    repo,
    issue: { id: issue.id, key: issue.key, url: issue.url },
    workflowId,
    outcome: seen.state?.outcome ?? null,
    stations: results,
    routes: after,
    cleanup,
  };
  writeLastCanary(config, report);
  return report;
}

/**
 * A failed canary's run is aborted (its release returns the slot and worktree and blocks the
 * issue) and its PRs closed. With no run to abort, the ready label goes, or the sweep would start
 * the issue later with nobody watching.
 *
 * The PRs are closed once the aborted run has closed, and they are every open PR of the issue's
 * branch, not only the one the canary saw: an abort does not wait for an activity already in
 * flight, so a publish that was running when it arrived can still open a PR after the one seen
 * was closed (it finds no open PR on the branch and opens another).
 */
export async function cleanUpCanary(input: {
  client: Client;
  forge: Forge;
  tracker: Tracker;
  readyLabel: string;
  repo: string;
  issue: Pick<TrackerIssue, 'id' | 'key'>;
  /** How long to wait for the aborted run to close before closing its PRs anyway. */
  closeWithinMs?: number;
  pollMs?: number;
}): Promise<string[]> {
  const done: string[] = [];
  const { issue, forge, repo } = input;
  let aborted = false;
  try {
    aborted = await signalIssue(input.client, issue.id, { name: 'operator', event: { command: 'abort', by: 'conveyor canary', deliveryId: `cli:canary-abort:${issue.id}` } });
    if (aborted) done.push(`aborted run ${issueWorkflowId(issue.id)} (its release returns the slot and worktree, and blocks the issue)`);
  } catch (err) {
    done.push(`could not abort the run: ${messageOf(err)}`);
  }
  if (aborted) {
    const withinMs = input.closeWithinMs ?? 60_000;
    if (!(await runClosed(input.client, issue.id, withinMs, input.pollMs ?? 500))) {
      done.push(`the aborted run ${issueWorkflowId(issue.id)} had not closed after ${seconds(withinMs)}: check conveyor status ${issue.key} and the worker log`);
    }
  } else {
    try {
      await input.tracker.removeLabel(issue.id, input.readyLabel);
      done.push(`removed the label ${input.readyLabel} from ${issue.key}, so nothing starts it later`);
    } catch (err) {
      done.push(`could not remove the label ${input.readyLabel} from ${issue.key}: ${messageOf(err)}`);
    }
  }
  const branch = branchForIssue(issue.key, issue.id);
  const closedNumbers = new Set<number>();
  // findPullRequest answers the open PR of the branch first; a handful of rounds covers a PR
  // opened by a late publish, and a forge that will not close one does not loop forever.
  for (let round = 0; round < 5; round++) {
    let pr: PullRequest | null;
    try {
      pr = await forge.findPullRequest(repo, branch);
    } catch (err) {
      done.push(`could not look for open PRs of ${repo}:${branch}: ${messageOf(err)}`);
      break;
    }
    if (!pr || pr.state !== 'open' || pr.merged || closedNumbers.has(pr.number)) break;
    closedNumbers.add(pr.number);
    try {
      await forge.closePullRequest(repo, pr.number);
      done.push(`closed ${pr.url} without merge`);
    } catch (err) {
      done.push(`could not close ${pr.url}: ${messageOf(err)}`);
      break;
    }
  }
  return done;
}

/** Whether the issue's run closed within `withinMs` (a run that is gone counts as closed; an unknown answer waits). */
async function runClosed(client: Client, issueId: string, withinMs: number, pollMs: number): Promise<boolean> {
  const { runStatus } = temporalOwners(client);
  const until = Date.now() + withinMs;
  while ((await runStatus(issueId)) !== 'closed') {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const ROUTES_METRIC = /^conveyor_gateway_routes_total\{ingress="([^"]*)",event="([^"]*)",outcome="([^"]*)"\} (\d+(?:\.\d+)?)$/;

/** The gateway's route counts, keyed as `routeKey` does. */
export function parseRouteCounts(metrics: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    const match = ROUTES_METRIC.exec(line);
    if (match) counts[`${match[1]} ${match[2]} → ${match[3]}`] = Number(match[4]);
  }
  return counts;
}

async function readRoutes(gatewayUrl: string): Promise<Record<string, number> | string> {
  try {
    const response = await fetch(new URL('/metrics', gatewayUrl), { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return `GET /metrics answered ${response.status}`;
    return parseRouteCounts(await response.text());
  } catch (err) {
    return `GET ${gatewayUrl}/metrics failed: ${messageOf(err)}`;
  }
}

/**
 * The routes counted since `before`. The last deliveries (the PR closed, the issue moved to Done)
 * reach the gateway a moment after the run ends, so the counts are read until they stop moving.
 */
async function settledRoutes(gatewayUrl: string, before: Record<string, number> | string): Promise<CanaryReport['routes']> {
  if (typeof before === 'string') return { gateway: gatewayUrl, error: before };
  let last = '';
  for (let i = 0; i < 10; i += 1) {
    const now = await readRoutes(gatewayUrl);
    if (typeof now === 'string') return { gateway: gatewayUrl, error: now };
    const exercised = Object.fromEntries(Object.entries(now).map(([key, n]) => [key, n - (before[key] ?? 0)]).filter(([, n]) => (n as number) > 0)) as Record<string, number>;
    const text = JSON.stringify(exercised);
    if (text === last) return { gateway: gatewayUrl, exercised };
    last = text;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { gateway: gatewayUrl, exercised: JSON.parse(last) as Record<string, number> };
}

export function lastCanaryPath(config: Config): string {
  return resolve(config.root, '.data/canary/last.json');
}

function writeLastCanary(config: Config, report: CanaryReport): void {
  const file = lastCanaryPath(config);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function formatCanary(report: CanaryReport): string {
  const failed = report.stations.find((s) => s.status === 'failed' || s.status === 'timed-out');
  return failed
    ? `canary FAILED at "${failed.station}" (${report.issue?.key ?? 'no issue'}): ${failed.detail}\ncheck: ${failed.check ?? ''}`
    : `canary passed: ${report.issue?.key} through all ${report.stations.length} stations in ${seconds(report.stations.at(-1)?.atMs ?? 0)}`;
}
