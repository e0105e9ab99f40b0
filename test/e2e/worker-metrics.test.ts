// Operators' questions answered by the worker's /metrics after the demo ran on the sandbox:
// the SDK's metrics and Conveyor's on one port, with dispatches, agent runs and cost, what the
// merge gate read, merges, outcomes, open runs by phase, the fleet's leases and queue, and the
// progress window (which must not call a finished demo wedged).
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linePolicyFromConfig } from '../../src/config/line-policy.js';
import { loadConfig } from '../../src/config/load.js';
import { runSweepNow } from '../../src/temporal/sweep-schedule.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { startMetricsServer, type MetricsServer } from '../../src/workers/metrics-server.js';
import { installRuntime } from '../../src/workers/worker.js';
import { createWorkerMetrics } from '../../src/workers/worker-metrics.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

let factory: E2eFactory;
let server: MetricsServer;

beforeAll(async () => {
  // First in this process: the runtime the worker will use, with the SDK's exporter on a port of its own.
  const sdkMetricsPort = await freePort();
  installRuntime(loadConfig({ profile: 'sandbox' }), { metrics: true, logger: pino({ level: 'silent' }), sdkMetricsPort });
  const metrics = createWorkerMetrics();
  factory = await startE2eFactory('metrics', { demo: false, metrics });
  server = await startMetricsServer({ port: await freePort(), registry: metrics.registry, sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics` });
});

afterAll(async () => {
  await server?.close();
  await factory?.cleanup();
});

/** Sum of the samples of `name` whose labels include `labels`. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      sum += Number(match[3]);
      seen = true;
    }
  }
  return seen ? sum : Number.NaN;
}

const scrape = async () => (await fetch(server.url)).text();

describe("the worker's /metrics after the demo", () => {
  it('counts what happened, from the activities and from Temporal', async () => {
    // A first scrape before any dispatch: the progress window starts here.
    const before = await scrape();
    expect(value(before, 'conveyor_dispatches_total')).toBeNaN();
    const { seedDemo, startDemoReviewer } = await import('../../src/sandbox/demo.js');
    const reviewer = startDemoReviewer({ sandbox: factory.sandbox, forge: factory.integrations.forge, logger: pino({ level: 'silent' }), intervalMs: 500 });
    try {
      await seedDemo(factory.sandbox, pino({ level: 'silent' }));
      // Issues created through the emulator's admin API send no webhook: the sweep starts them, as `conveyor sweep` would.
      await runSweepNow(factory.client, { taskQueue: factory.config.taskQueue, policy: linePolicyFromConfig(factory.config) });
      const issues = factory.sandbox.linear.state().data.issues;
      const id = (title: RegExp) => issues.find((i) => title.test(i.title))!.id;
      const run = (title: RegExp) => factory.client.workflow.getHandle(issueWorkflowId(id(title)));
      await Promise.all([/greeting/, /changelog/].map((title) => eventually(`${title} merged`, async () => (await run(title).query(issueStateQuery)).outcome === 'merged', 120_000, 500)));
      await eventually('the thin issue escalated', async () => (await run(/Make it better/).query(issueStateQuery)).phase === 'escalated');
    } finally {
      reviewer.stop();
    }

    const text = await eventually('the finished runs visible', async () => {
      await new Promise((r) => setTimeout(r, 5_100)); // past the collectors' cache
      const text = await scrape();
      return value(text, 'conveyor_run_outcomes', { outcome: 'merged' }) === 2 && text;
    }, 60_000, 0);

    // The SDK's own metrics, on the same port.
    expect(text).toMatch(/^temporal_\w+/m);
    // From the activities: three agent runs (the changelog went back once for red CI), a cent each.
    expect(value(text, 'conveyor_dispatches_total', { repo: 'demo/widgets' })).toBe(3);
    expect(value(text, 'conveyor_agent_runs_total', { result: 'finished' })).toBe(3);
    expect(value(text, 'conveyor_agent_cost_usd_total', { repo: 'demo/widgets' })).toBeCloseTo(0.03, 6);
    expect(value(text, 'conveyor_gate_reads_total', { verdict: 'ci-red' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'conveyor_gate_reads_total', { verdict: 'approved' })).toBeGreaterThanOrEqual(2);
    expect(value(text, 'conveyor_merges_total', { result: 'merged' })).toBe(2);
    // Each agent run's wait for its lease, from the `queuedAt` its run passes to the agent activity.
    expect(value(text, 'conveyor_lease_wait_seconds_count', { repo: 'demo/widgets' })).toBe(3);
    // From Temporal: outcomes and phases (visibility), the fleet's ledger.
    expect(value(text, 'conveyor_runs_open', { phase: 'escalated' })).toBe(1);
    expect(value(text, 'conveyor_runs_open', { phase: 'dispatched' })).toBe(0);
    expect(value(text, 'conveyor_metrics_source_up', { source: 'fleet' })).toBe(1);
    expect(value(text, 'conveyor_metrics_source_up', { source: 'visibility' })).toBe(1);
    expect(value(text, 'conveyor_leases_held')).toBe(0);
    expect(value(text, 'conveyor_queue_depth')).toBe(0);
    const grants = value(text, 'conveyor_fleet_grants');
    expect(grants).toBeGreaterThanOrEqual(2);
    // Progress over the window: every grant and both completions came after the first scrape.
    expect(value(text, 'conveyor_progress_dispatches')).toBe(grants);
    expect(value(text, 'conveyor_progress_completions')).toBe(2);
    expect(value(text, 'conveyor_wedged')).toBe(0);
  }, 180_000);
});
