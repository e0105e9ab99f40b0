// `conveyor routes`: every route the installation serves, from the code, and which of them the
// last canary and the test suite exercised.
//   - Webhooks: the tables the Linear and GitHub mappers export (held to the mappers by tests).
//   - CLI and sweep: the operator commands the mapper accepts, and one route per field of the
//     sweep's summary (a new field does not compile until it has its route here).
//   - The line's endings: one per `Outcome` (likewise exhaustive), with what each means for
//     the issue (`endingKind` under the default policy).
// Exercised by the last canary: the gateway's route counts over the canary's run and its run's
// ending (.data/canary/last.json). Exercised by the test suite: the routes the gateway counted
// in the end-to-end and gateway tests (test/routes/*.json, written by `npm run record-routes`)
// and, for CLI, sweep and endings, the replay corpus (test/histories/scenarios: each recorded
// run's signals, by the delivery ids the CLI and the sweep give them, and its ending).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { GITHUB_ROUTES } from '../gateway/github-events.js';
import { LINEAR_ROUTES, OPERATOR_COMMANDS } from '../gateway/linear-events.js';
import { routeKey, type Route } from '../gateway/routes.js';
import { endingKind } from '../workflows/issue/endings.js';
import { DEFAULT_ENDINGS } from '../workflows/issue/settle.js';
import { EMPTY_LEDGER, OUTCOMES, type Outcome } from '../workflows/state.js';
import type { SweepSummary } from '../workflows/sweep-workflow.js';
import { lastCanaryPath, type CanaryReport } from './canary.js';

const SWEEP_ROUTES: Record<keyof SweepSummary, Omit<Route, 'ingress'>> = {
  started: { event: 'ready issue', when: 'labelled and ready, no open run (its webhook was lost)', outcome: 'start:issue-ready' },
  alreadyRunning: { event: 'ready issue', when: 'its run is already open', outcome: 'ignore:not-applicable' },
  unblocked: { event: 'ready issue', when: 'its run waits on blockers that have all finished (their webhook was lost)', outcome: 'signal:tracker:issue-updated' },
  prsSignalled: { event: 'open factory PR', when: 'its run is open (a lost forge webhook)', outcome: 'signal:forge:pull-request' },
  prsUnchanged: { event: 'open factory PR', when: 'unchanged since this worker last nudged its run', outcome: 'ignore:duplicate' },
  prsWithoutRun: { event: 'open factory PR', when: 'no open run', outcome: 'ignore:no-run' },
  gatesOnClosedPrs: { event: 'gate waiting on a PR', when: 'the PR was merged or closed meanwhile', outcome: 'signal:forge:pull-request' },
  compensated: { event: 'closed run', when: 'terminated or timed out before its release station', outcome: 'compensate' },
};


function cliRoutes(): Route[] {
  return [
    ...OPERATOR_COMMANDS.map((command) => ({ ingress: 'cli' as const, event: `${command} ISSUE`, when: 'the issue has an open run', outcome: `signal:operator:${command}` })),
    { ingress: 'cli', event: 'retry ISSUE', when: 'a blocked issue with no open run', outcome: 'start:operator-retry' },
    { ingress: 'cli', event: 'pause | resume', when: 'always', outcome: 'signal:fleet:pause' },
    { ingress: 'cli', event: 'fleet apply', when: 'always', outcome: 'signal:fleet:configure' },
    { ingress: 'cli', event: 'sweep', when: 'always', outcome: 'sweep' },
    { ingress: 'cli', event: 'canary', when: 'always', outcome: 'file a synthetic issue' },
  ];
}

/** Every route, from the code. */
export function allRoutes(): Route[] {
  const sweep = Object.values(SWEEP_ROUTES).map((r) => ({ ingress: 'sweep' as const, ...r }));
  return [...LINEAR_ROUTES, ...GITHUB_ROUTES, ...cliRoutes(), ...sweep];
}

export interface RouteRow extends Route {
  key: string;
  canary: number;
  suite: boolean;
}

export interface EndingRow {
  outcome: Outcome;
  kind: string;
  canary: boolean;
  suite: number;
}

export interface RoutesReport {
  routes: RouteRow[];
  endings: EndingRow[];
  canary: { file: string; ran: string; ok: boolean; issue: string | null; routesError: string | null } | null;
  suite: { records: string[]; histories: number };
}


/** The repository's test folder, found beside this module (src/cli or dist/cli); absent in a deployed release. */
function testDir(): string {
  return fileURLToPath(new URL('../../test/', import.meta.url));
}

/** Route keys the gateway counted in the tests (test/routes/*.json). */
export function suiteGatewayRoutes(dir = join(testDir(), 'routes')): { keys: Set<string>; records: string[] } {
  const keys = new Set<string>();
  if (!existsSync(dir)) return { keys, records: [] };
  const records = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  for (const file of records) {
    const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { routes: Record<string, number> };
    for (const key of Object.keys(record.routes)) keys.add(key);
  }
  return { keys, records };
}

interface HistoryEvent {
  workflowExecutionSignaledEventAttributes?: { signalName: string; input?: { payloads?: Array<{ data?: string }> } };
  workflowExecutionCompletedEventAttributes?: { result?: { payloads?: Array<{ data?: string }> } };
}

function decode<T>(payloads: Array<{ data?: string }> | undefined): T | null {
  const data = payloads?.[0]?.data;
  if (!data) return null;
  try {
    return JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as T;
  } catch {
    return null;
  }
}

/** What the recorded runs of the workflow tests show: CLI and sweep signals by delivery id, and endings. */
export function suiteHistoryRoutes(dir = join(testDir(), 'histories/scenarios')): { keys: Set<string>; endings: Map<string, number>; histories: number } {
  const keys = new Set<string>();
  const endings = new Map<string, number>();
  let histories = 0;
  const walk = (folder: string): void => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.json')) read(path);
    }
  };
  const read = (path: string): void => {
    histories += 1;
    const { events } = JSON.parse(readFileSync(path, 'utf8')) as { events: HistoryEvent[] };
    for (const event of events) {
      const signal = event.workflowExecutionSignaledEventAttributes;
      if (signal) {
        const input = decode<{ deliveryId?: string; command?: string }>(signal.input?.payloads);
        const id = input?.deliveryId ?? '';
        if (signal.signalName === 'trackerEvent' && id.startsWith('sweep:')) keys.add(routeKey({ ingress: 'sweep', ...SWEEP_ROUTES.started }));
        if (signal.signalName === 'forgeEvent' && id.startsWith('sweep:pr-gone:')) keys.add(routeKey({ ingress: 'sweep', ...SWEEP_ROUTES.gatesOnClosedPrs }));
        else if (signal.signalName === 'forgeEvent' && id.startsWith('sweep:')) keys.add(routeKey({ ingress: 'sweep', ...SWEEP_ROUTES.prsSignalled }));
        if (signal.signalName === 'operatorCommand' && id.startsWith('cli:') && input?.command) {
          keys.add(routeKey({ ingress: 'cli', event: `${input.command} ISSUE`, outcome: `signal:operator:${input.command}` }));
        }
      }
      const done = decode<{ outcome?: string }>(event.workflowExecutionCompletedEventAttributes?.result?.payloads);
      if (done?.outcome) endings.set(done.outcome, (endings.get(done.outcome) ?? 0) + 1);
    }
  };
  walk(dir);
  return { keys, endings, histories };
}

function readLastCanary(config: Config): CanaryReport | null {
  const file = lastCanaryPath(config);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as CanaryReport;
}

export function routesReport(config: Config): RoutesReport {
  const canary = readLastCanary(config);
  const exercised = canary && 'exercised' in canary.routes ? canary.routes.exercised : {};
  const gateway = suiteGatewayRoutes();
  const history = suiteHistoryRoutes();
  const routes = allRoutes().map((route) => {
    const key = routeKey(route);
    return { ...route, key, canary: exercised[key] ?? 0, suite: gateway.keys.has(key) || history.keys.has(key) };
  });
  const endings = OUTCOMES.map((outcome) => ({
    outcome,
    kind: endingKind(outcome, null, EMPTY_LEDGER, DEFAULT_ENDINGS).kind,
    canary: canary?.outcome === outcome,
    suite: history.endings.get(outcome) ?? 0,
  }));
  return {
    routes,
    endings,
    canary: canary
      ? { file: lastCanaryPath(config), ran: canary.startedAt, ok: canary.ok, issue: canary.issue?.key ?? null, routesError: 'error' in canary.routes ? canary.routes.error : null }
      : null,
    suite: { records: gateway.records, histories: history.histories },
  };
}

export function formatRoutes(report: RoutesReport, table: (rows: Array<Record<string, string>>) => string): string {
  const canaryLine = report.canary
    ? `last canary: ${report.canary.ran} ${report.canary.ok ? 'passed' : 'FAILED'} (${report.canary.issue ?? 'no issue'}; ${report.canary.file})${report.canary.routesError ? `; its routes are unknown: ${report.canary.routesError}` : ''}`
    : 'last canary: none recorded here (run conveyor canary)';
  const suiteLine = `test suite: gateway routes from ${report.suite.records.length} record(s) in test/routes/ (npm run record-routes), CLI, sweep and endings from ${report.suite.histories} recorded histories in test/histories/scenarios`;
  return [
    table(report.routes.map((r) => ({ ingress: r.ingress, event: r.event, when: r.when, outcome: r.outcome, canary: r.canary > 0 ? `yes (${r.canary})` : '-', suite: r.suite ? 'yes' : '-' }))),
    '',
    'line endings',
    table(report.endings.map((e) => ({ outcome: e.outcome, kind: e.kind, canary: e.canary ? 'yes' : '-', suite: e.suite > 0 ? `yes (${e.suite} runs)` : '-' }))),
    '',
    canaryLine,
    suiteLine,
    `${report.routes.filter((r) => r.canary > 0 || r.suite).length} of ${report.routes.length} routes and ${report.endings.filter((e) => e.canary || e.suite > 0).length} of ${report.endings.length} endings exercised`,
  ].join('\n');
}
