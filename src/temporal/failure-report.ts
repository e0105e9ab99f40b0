// What failed, where and when, read from Temporal visibility: every issue run that failed
// records its class as the ConveyorFailureClass search attribute, so the breakdown needs no
// store of its own and covers every worker host. When more than a fifth of the failures in a
// window are `unknown`, the rules no longer describe what goes wrong: that is an alert.
import type { Client } from '@temporalio/client';
import { durationMs } from '../domain/duration.js';
import { FAILURE_CLASSES, type FailureClass } from '../domain/failure.js';
import { FailureClassKey, IssueKey, PhaseKey, Repo } from '../workflows/search-attributes.js';
import { ISSUE_WORKFLOW_TYPE } from '../workflows/workflow-types.js';

/** Above this share of `unknown` among a window's failures the rules need attention. */
export const UNKNOWN_ALERT_SHARE = 0.2;
/** The window `conveyor status`, /readyz and the gauge look at. */
export const DEFAULT_FAILURE_WINDOW = '7d';
/** Runs read per report: a backlog failing more than this in a window has a bigger problem. */
const MAX_ROWS = 5_000;

export interface FailureRow {
  issueKey: string;
  repo: string;
  failureClass: FailureClass;
  /** When the run closed, or when it started if it is still open (ms since the epoch). */
  at: number;
  phase: string;
}

export type ClassCounts = Record<FailureClass, number>;

export interface FailureSummary {
  since: string;
  until: string;
  total: number;
  byClass: ClassCounts;
  byRepo: Array<{ repo: string; total: number; byClass: ClassCounts }>;
  /** One entry per UTC day of the window, oldest first, days without failures included. */
  timeline: Array<{ day: string; total: number; byClass: ClassCounts }>;
  /** `unknown` failures over all failures in the window; 0 when there were none. */
  unknownShare: number;
  /** Set when unknownShare is above UNKNOWN_ALERT_SHARE: what to say and what to do. */
  alert: string | null;
}

const zero = (): ClassCounts => Object.fromEntries(FAILURE_CLASSES.map((c) => [c, 0])) as ClassCounts;
const isClass = (value: string): value is FailureClass => (FAILURE_CLASSES as readonly string[]).includes(value);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The breakdown of `rows` within [since, until). Pure: the report's tests feed it rows. */
export function summarizeFailures(rows: readonly FailureRow[], window: { since: number; until: number }): FailureSummary {
  const inWindow = rows.filter((r) => r.at >= window.since && r.at < window.until);
  const byClass = zero();
  const repos = new Map<string, ClassCounts>();
  const days = new Map<string, ClassCounts>();
  for (let at = Date.parse(`${day(window.since)}T00:00:00Z`); at < window.until; at += 86_400_000) days.set(day(at), zero());
  for (const row of inWindow) {
    byClass[row.failureClass] += 1;
    const repo = repos.get(row.repo) ?? zero();
    repo[row.failureClass] += 1;
    repos.set(row.repo, repo);
    const counts = days.get(day(row.at)) ?? zero();
    counts[row.failureClass] += 1;
    days.set(day(row.at), counts);
  }
  const total = inWindow.length;
  const sum = (counts: ClassCounts) => Object.values(counts).reduce((a, b) => a + b, 0);
  const unknownShare = total === 0 ? 0 : byClass.unknown / total;
  const percent = (share: number) => `${Math.round(share * 100)}%`;
  return {
    since: new Date(window.since).toISOString(),
    until: new Date(window.until).toISOString(),
    total,
    byClass,
    byRepo: [...repos.entries()].map(([repo, counts]) => ({ repo, total: sum(counts), byClass: counts })).sort((a, b) => b.total - a.total || a.repo.localeCompare(b.repo)),
    timeline: [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([d, counts]) => ({ day: d, total: sum(counts), byClass: counts })),
    unknownShare,
    alert:
      unknownShare > UNKNOWN_ALERT_SHARE
        ? `${percent(unknownShare)} of the ${total} failures since ${new Date(window.since).toISOString().slice(0, 16)}Z are unknown (over ${percent(UNKNOWN_ALERT_SHARE)}): the failure rules need attention. See which with \`conveyor failures\`, read those runs' reasons (conveyor status ISSUE), and add a rule to src/activities/failure-classifier.ts`
        : null,
  };
}

/** The failed issue runs of `taskQueue` that closed (or started, if open) since `since`. */
export async function readFailures(client: Client, options: { taskQueue: string; since: number }): Promise<FailureRow[]> {
  const since = new Date(options.since).toISOString();
  const query =
    `WorkflowType = '${ISSUE_WORKFLOW_TYPE}' AND TaskQueue = '${options.taskQueue}' AND ${FailureClassKey.name} IS NOT NULL ` +
    `AND (CloseTime >= '${since}' OR ExecutionStatus = 'Running')`;
  const rows: FailureRow[] = [];
  for await (const run of client.workflow.list({ query, pageSize: 500 })) {
    const attrs = run.typedSearchAttributes;
    const failureClass = attrs.get(FailureClassKey) ?? 'unknown';
    rows.push({
      issueKey: attrs.get(IssueKey) ?? run.workflowId,
      repo: attrs.get(Repo) ?? '(no repo)',
      failureClass: isClass(failureClass) ? failureClass : 'unknown',
      at: (run.closeTime ?? run.startTime).getTime(),
      phase: attrs.get(PhaseKey) ?? '',
    });
    if (rows.length >= MAX_ROWS) break;
  }
  return rows;
}

/** The report over the last `window` (a duration such as 7d), read now. */
export async function failureReport(client: Client, options: { taskQueue: string; window?: string; now?: number }): Promise<FailureSummary> {
  const until = options.now ?? Date.now();
  const since = until - durationMs(options.window ?? DEFAULT_FAILURE_WINDOW);
  return summarizeFailures(await readFailures(client, { taskQueue: options.taskQueue, since }), { since, until: until + 1 });
}

/** The report as a human reads it: by class, by repo, a day-by-day timeline, the alert. */
export function formatFailures(summary: FailureSummary): string {
  const classes = FAILURE_CLASSES;
  const pad = (text: string, width: number) => text.padEnd(width);
  const header = (first: string, width: number) => `${pad(first, width)}  ${classes.map((c) => pad(c, 9)).join(' ')}  total`;
  const row = (label: string, width: number, counts: ClassCounts, total: number) => `${pad(label, width)}  ${classes.map((c) => pad(String(counts[c]), 9)).join(' ')}  ${total}`;
  const repoWidth = Math.max(4, ...summary.byRepo.map((r) => r.repo.length));
  const bar = (n: number, max: number) => (max === 0 ? '' : '#'.repeat(Math.max(n > 0 ? 1 : 0, Math.round((n / max) * 30))));
  const maxDay = Math.max(0, ...summary.timeline.map((d) => d.total));
  const lines = [
    `Failures from ${summary.since.slice(0, 16)}Z to ${summary.until.slice(0, 16)}Z: ${summary.total} (unknown ${Math.round(summary.unknownShare * 100)}%)`,
    '',
    'By class',
    ...classes.map((c) => `  ${pad(c, 9)} ${summary.byClass[c]}`),
    '',
    'By repo',
    `  ${header('repo', repoWidth)}`,
    ...(summary.byRepo.length > 0 ? summary.byRepo.map((r) => `  ${row(r.repo, repoWidth, r.byClass, r.total)}`) : ['  (none)']),
    '',
    'Timeline (UTC days)',
    ...summary.timeline.map((d) => `  ${d.day}  ${pad(String(d.total), 4)} ${bar(d.total, maxDay)}${d.byClass.unknown > 0 ? `  (${d.byClass.unknown} unknown)` : ''}`),
  ];
  if (summary.alert) lines.push('', `ALERT: ${summary.alert}`);
  return lines.join('\n');
}

/** The report for health checks: read at most once per `maxAgeMs` (default a minute), so a
 * scrape every few seconds costs one visibility query a minute; a failed read keeps the last. */
export function cachedFailureReport(read: () => Promise<FailureSummary>, maxAgeMs = 60_000): () => Promise<FailureSummary | null> {
  let last: { at: number; summary: FailureSummary } | null = null;
  let pending: Promise<FailureSummary | null> | null = null;
  return async () => {
    if (last && Date.now() - last.at < maxAgeMs) return last.summary;
    pending ??= read()
      .then((summary) => {
        last = { at: Date.now(), summary };
        return summary;
      })
      .catch(() => last?.summary ?? null)
      .finally(() => {
        pending = null;
      });
    return pending;
  };
}
