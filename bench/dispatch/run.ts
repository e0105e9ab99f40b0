// The dispatch-latency benchmark (issue 11): ready webhook → agent process started, through
// the real factory, beside a one-hop baseline (a signal that starts a bare activity) on the same
// dev server, alternating rounds, medians. Prints a table and where each dispatch's time went on
// stdout, then one JSON line with every figure (progress goes to stderr). Not a test: nothing
// here asserts a speed, but a dispatch that ends otherwise than expected stops the bench.
//
//   npx tsx bench/dispatch/run.ts [--dispatches 100] [--concurrency 1,20] [--rounds 4] [--load]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config/load.js';
import { issueWorkflowId, fleetWorkflowId } from '../../src/domain/naming.js';
import { createLogger } from '../../src/logging.js';
import { ensureTemporalCli } from '../../src/temporal/cli-binary.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { installRuntime } from '../../src/workers/worker.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import type { IssueRunState } from '../../src/workflows/state.js';
import { formatTable, median, percentile } from '../gateway/stats.js';
import { cpuNow, cpuPerCycle, type CpuSplit } from './cpu.js';
import type { AgentStart } from './agent-reports.js';
import { startBaseline, type Baseline } from './baseline.js';
import { startBenchFactory, type BenchFactory, type BenchIssue } from './factory.js';
import { breakdown, indexFleet, ONE_HOP_SEGMENTS, oneHopBreakdown, SEGMENTS, type Breakdown, type History, type SegmentDef } from './segments.js';
import { benchArgs, positiveInt } from '../options.js';

const HELP = `bench/dispatch: ready webhook → agent process started, through the real factory, beside a
one-hop baseline (signal → workflow task → activity task) on the same dev server.

  npm run bench:dispatch -- [options]

  --dispatches N      dispatches per side at each concurrency, split over the rounds (default
                      100; the issue's 200 per side takes about 10 minutes on 2 busy cores)
  --concurrency L     comma-separated dispatches in flight (default 1,20)
  --rounds R          alternating rounds per side at each concurrency (default 4); each round
                      measures N/R dispatches, then runs concurrency-1 more unmeasured so that
                      every measured one had the full concurrency beside it
  --warmup N          unmeasured dispatches per side before each concurrency (default: the
                      concurrency, at least 3)
  --load              run busy-looping node processes beside the bench (one per core, or
                      --load-processes N)
  -h, --help          this text

Wall time on 2 cores shared with other work: the defaults take about 5 minutes (a dispatch at 1 in
flight waits for the previous run to close, about 1.2 s each); --dispatches 40 --rounds 2 about
2.5 minutes. Keep N/R at least the largest concurrency, or every measured dispatch of that level
starts in one burst.`;

const { values: args } = benchArgs(
  {
    dispatches: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '1,20' },
    rounds: { type: 'string', default: '4' },
    warmup: { type: 'string' },
    load: { type: 'boolean', default: false },
    'load-processes': { type: 'string' },
  },
  HELP,
);

const DISPATCHES = positiveInt('dispatches', args.dispatches);
const ROUNDS = positiveInt('rounds', args.rounds);
const CONCURRENCY = args.concurrency.split(',').map((c) => positiveInt('concurrency', c.trim()));
const PER_ROUND = Math.ceil(DISPATCHES / ROUNDS);
const BURNERS = args.load ? positiveInt('load-processes', args['load-processes'] ?? String(cpus().length)) : 0;
/** A dispatch slower than this stops the bench with what its run was doing. */
const DISPATCH_TIMEOUT_MS = 180_000;
const TARGET_P99_AT_1_MS = 500;
const TARGET_RATIO = 2.5;

const log = (line: string) => process.stderr.write(`${line}\n`);
const load1 = () => loadavg()[0]!;

/**
 * `concurrency` callers, each taking the next index when its last call has finished. The first
 * `count` indexes are measured; `concurrency - 1` more follow unmeasured, so that every measured
 * call has the full number of others in flight beside it, to its end (the loop never drains
 * while a measured call is still running).
 */
async function inFlight(concurrency: number, count: number, call: (index: number, measured: boolean) => Promise<void>): Promise<void> {
  await pool(concurrency, count + concurrency - 1, (index) => call(index, index < count));
}

/** `concurrency` callers over indexes 0 … total-1. */
async function pool(concurrency: number, total: number, call: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const caller = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, caller));
}

/** How many runs or issues a round needs: the measured ones and the trailing unmeasured ones. */
const needed = (count: number, concurrency: number) => count + concurrency - 1;

interface Round {
  latencies: number[];
  p50: number;
  p99: number;
  /** 1-minute load average when the round began and ended. */
  load: [number, number];
  seconds: number;
  /** CPU per dispatch cycle (measured and unmeasured alike: each runs to its end in the round). */
  cpu: CpuSplit & { total: number };
}

/** The dev server's pid, for its CPU time. */
let serverPid: number | undefined;

function round(latencies: number[], start: { load: number; at: number; cpu: CpuSplit }, cycles: number): Round {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { latencies: sorted, p50: percentile(sorted, 50), p99: percentile(sorted, 99), load: [start.load, load1()], seconds: (Date.now() - start.at) / 1000, cpu: cpuPerCycle(start.cpu, cpuNow(serverPid), cycles) };
}

const roundStart = () => ({ load: load1(), at: Date.now(), cpu: cpuNow(serverPid) });

// ── the baseline side ─────────────────────────────────────────────────────────────────────
async function baselineRound(baseline: Baseline, client: Client, count: number, concurrency: number): Promise<{ round: Round; breakdowns: Breakdown[] }> {
  const ids = await baseline.prepare(needed(count, concurrency));
  const start = roundStart();
  const hops: Array<{ workflowId: string; t0: number; startedAt: number }> = [];
  await inFlight(concurrency, count, async (i, measured) => {
    const workflowId = ids[i]!;
    const t0 = Date.now();
    const startedAt = await baseline.hop(workflowId, DISPATCH_TIMEOUT_MS);
    if (measured) hops.push({ workflowId, t0, startedAt });
    await baseline.finished(workflowId);
  });
  const result = round(hops.map((h) => h.startedAt - h.t0), start, ids.length);
  const breakdowns: Breakdown[] = new Array(hops.length);
  await pool(8, hops.length, async (i) => {
    const hop = hops[i]!;
    breakdowns[i] = oneHopBreakdown({ ...hop, history: await client.workflow.getHandle(hop.workflowId).fetchHistory() });
  });
  return { round: result, breakdowns };
}

// ── the factory side ──────────────────────────────────────────────────────────────────────
interface Dispatch {
  issue: BenchIssue;
  t0: number;
  agent: AgentStart;
}

async function explainStuck(factory: BenchFactory, issue: BenchIssue): Promise<string> {
  try {
    const state = await factory.client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery);
    return `its run is in phase ${state.phase}${state.reason ? ` (${state.reason})` : ''}`;
  } catch (err) {
    return `its run cannot be queried: ${(err as Error).message}`;
  }
}

let issueSeq = 0;
async function factoryRound(factory: BenchFactory, count: number, concurrency: number): Promise<{ round: Round; dispatches: Dispatch[] }> {
  // Issues exist before the round, not ready: each dispatch starts with the webhook that makes
  // its issue ready. Their create webhooks reach the gateway, which starts nothing for them.
  const issues = Array.from({ length: needed(count, concurrency) }, () => factory.createIssue(`Bench dispatch ${++issueSeq}`));
  await factory.sandbox.linear.webhooksSettled();
  const start = roundStart();
  const dispatches: Dispatch[] = [];
  await inFlight(concurrency, count, async (i, measured) => {
    const issue = issues[i]!;
    const agentStarted = factory.reports.expect(issue.key.toLowerCase(), DISPATCH_TIMEOUT_MS);
    const t0 = Date.now();
    factory.makeReady(issue);
    let agent: AgentStart;
    try {
      agent = await agentStarted;
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${await explainStuck(factory, issue)}`);
    }
    if (measured) dispatches.push({ issue, t0, agent });
    // The next dispatch of this caller starts once this run has released everything: at most
    // `concurrency` runs are open, within the fleet's caps.
    const state = (await factory.client.workflow.getHandle(issueWorkflowId(issue.id)).result()) as IssueRunState;
    if (state.outcome !== 'no-pr') throw new Error(`${issue.key}: expected the run to end no-pr (the agent commits nothing), it ended ${state.outcome}: ${state.reason}`);
  });
  if (factory.reports.unexpected.length > 0) throw new Error(`agents started that no dispatch was waiting for: ${factory.reports.unexpected.map((s) => s.key).join(', ')}`);
  return { round: round(dispatches.map((d) => d.agent.processStartedAt - d.t0), start, issues.length), dispatches };
}

/** Every run of the fleet (it continues as new); closed runs' histories are kept. */
const fleetHistoryCache = new Map<string, History>();
async function fleetHistories(factory: BenchFactory): Promise<History[]> {
  const workflowId = fleetWorkflowId(factory.config.taskQueue);
  const histories: History[] = [];
  for await (const run of factory.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const cached = fleetHistoryCache.get(run.runId);
    if (cached) {
      histories.push(cached);
      continue;
    }
    const history = await factory.client.workflow.getHandle(workflowId, run.runId).fetchHistory();
    if (run.status.name !== 'RUNNING') fleetHistoryCache.set(run.runId, history);
    histories.push(history);
  }
  return histories;
}

async function breakdowns(factory: BenchFactory, dispatches: Dispatch[]): Promise<Breakdown[]> {
  const fleet = indexFleet(await fleetHistories(factory));
  const result: Breakdown[] = new Array(dispatches.length);
  await pool(8, dispatches.length, async (i) => {
    const d = dispatches[i]!;
    const history = await factory.client.workflow.getHandle(issueWorkflowId(d.issue.id)).fetchHistory();
    result[i] = breakdown({ t0: d.t0, agent: d.agent, issueId: d.issue.id, history, fleet, probes: factory.probes });
  });
  return result;
}

// ── CPU load ──────────────────────────────────────────────────────────────────────────────
function startBurners(count: number): ChildProcess[] {
  const burners = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const kill = () => burners.forEach((b) => b.kill('SIGKILL'));
  process.once('exit', kill);
  return burners;
}

// ── report ────────────────────────────────────────────────────────────────────────────────
interface Level {
  concurrency: number;
  factory: Round[];
  baseline: Round[];
  breakdowns: Breakdown[];
  oneHop: Breakdown[];
}

const ms = (v: number) => (Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const pooled = (rounds: Round[]) => rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);

function summarize(level: Level) {
  const f = pooled(level.factory);
  const b = pooled(level.baseline);
  const factoryP50 = median(level.factory.map((r) => r.p50));
  const baselineP50 = median(level.baseline.map((r) => r.p50));
  return {
    concurrency: level.concurrency,
    dispatches: f.length,
    factory: { p50: percentile(f, 50), p99: percentile(f, 99), max: f.at(-1) ?? Number.NaN, roundP50Median: factoryP50, roundP99Median: median(level.factory.map((r) => r.p99)) },
    baseline: { p50: percentile(b, 50), p99: percentile(b, 99), max: b.at(-1) ?? Number.NaN, roundP50Median: baselineP50, roundP99Median: median(level.baseline.map((r) => r.p99)) },
    ratioP50: factoryP50 / baselineP50,
    pairRatiosP50: level.factory.map((r, i) => r.p50 / level.baseline[i]!.p50),
    load: [Math.min(...level.factory.map((r) => r.load[0]), ...level.baseline.map((r) => r.load[0])), Math.max(...level.factory.map((r) => r.load[1]), ...level.baseline.map((r) => r.load[1]))],
  };
}

function mainTable(levels: Level[]): string {
  return formatTable(
    ['in flight', 'dispatches', 'factory p50 / p99 ms', 'one-hop p50 / p99 ms', 'ratio p50', `target p50 ≤ ${TARGET_RATIO}×`, `target p99 < ${TARGET_P99_AT_1_MS} ms`, 'round p50s factory / one-hop', 'load avg (1 min)'],
    levels.map((level) => {
      const s = summarize(level);
      return [
        String(s.concurrency),
        `${s.dispatches} + ${pooled(level.baseline).length}`,
        `${ms(s.factory.p50)} / ${ms(s.factory.p99)}`,
        `${ms(s.baseline.p50)} / ${ms(s.baseline.p99)}`,
        s.ratioP50.toFixed(2),
        s.ratioP50 <= TARGET_RATIO ? 'met' : 'MISSED',
        s.concurrency === 1 ? (s.factory.p99 < TARGET_P99_AT_1_MS ? 'met' : 'MISSED') : 'n/a',
        `${level.factory.map((r) => ms(r.p50)).join(' ')} / ${level.baseline.map((r) => ms(r.p50)).join(' ')}`,
        `${s.load[0]!.toFixed(2)} – ${s.load[1]!.toFixed(2)}`,
      ];
    }),
  );
}

/**
 * The work behind the latencies: CPU per dispatch cycle on each side (median over rounds), and
 * the least a cycle can take at that many in flight once every core is busy (in flight × CPU ÷
 * cores). The floor bounds a whole cycle, not its latency; but at saturation a dispatch's wait
 * stretches with the work beside it, so the latency ratio follows the CPU ratio (README).
 */
function cpuTable(levels: Level[], cores: number): string {
  const cpuOf = (rounds: Round[]) => ({
    bench: median(rounds.map((r) => r.cpu.bench)),
    children: median(rounds.map((r) => r.cpu.children)),
    server: median(rounds.map((r) => r.cpu.server)),
    total: median(rounds.map((r) => r.cpu.total)),
  });
  return formatTable(
    ['in flight', 'CPU ms per cycle: factory (bench + children + server)', 'one-hop (same)', 'CPU ratio', `floor at this many in flight, factory / one-hop (÷ ${cores} cores)`],
    levels.map((level) => {
      const f = cpuOf(level.factory);
      const b = cpuOf(level.baseline);
      const floor = (cpu: number) => (level.concurrency * cpu) / cores;
      return [
        String(level.concurrency),
        `${ms(f.total)} (${ms(f.bench)} + ${ms(f.children)} + ${ms(f.server)})`,
        `${ms(b.total)} (${ms(b.bench)} + ${ms(b.children)} + ${ms(b.server)})`,
        (f.total / b.total).toFixed(1),
        `${ms(floor(f.total))} / ${ms(floor(b.total))} ms`,
      ];
    }),
  );
}

interface SegmentStats {
  id: string;
  median: number;
  p99: number;
  max: number;
  /** Of the summed time of all dispatches, the part spent here. */
  share: number;
  /** Mean over the slowest 5% of dispatches (by total): where a slow dispatch's time went. */
  tailMean: number;
}

function segmentStats(breakdowns: Breakdown[], defs: readonly SegmentDef[] = SEGMENTS): { segments: SegmentStats[]; total: SegmentStats; nodeBoot: { median: number; p99: number } } {
  const totals = breakdowns.map((b) => b.total);
  const sumTotal = totals.reduce((a, v) => a + v, 0);
  const tailCut = percentile([...totals].sort((a, b) => a - b), 95);
  const tail = breakdowns.filter((b) => b.total >= tailCut);
  const stats = (id: string, pick: (b: Breakdown) => number | undefined): SegmentStats => {
    const values = breakdowns.map(pick).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
    const tailValues = tail.map(pick).filter((v): v is number => v !== undefined);
    return {
      id,
      median: median(values),
      p99: percentile(values, 99),
      max: values.at(-1) ?? Number.NaN,
      share: values.reduce((a, v) => a + v, 0) / sumTotal,
      tailMean: tailValues.reduce((a, v) => a + v, 0) / Math.max(1, tailValues.length),
    };
  };
  const boots = breakdowns.map((b) => b.nodeBootMs).sort((a, b) => a - b);
  return {
    segments: defs.map((s) => stats(s.id, (b) => b.segments[s.id])),
    total: stats('total', (b) => b.total),
    nodeBoot: { median: median(boots), p99: percentile(boots, 99) },
  };
}

function segmentTable(title: string, breakdowns: Breakdown[], defs: readonly SegmentDef[], totalLabel: string, nodeBootRow: boolean): string {
  const { segments, total, nodeBoot } = segmentStats(breakdowns, defs);
  const labels = new Map(defs.map((s) => [s.id, s.sub ? `  · ${s.label}` : s.label]));
  const rows = segments.map((s) => [labels.get(s.id)!, ms(s.median), ms(s.p99), ms(s.max), `${(s.share * 100).toFixed(1)}%`, ms(s.tailMean)]);
  rows.push([`${totalLabel} (n = ${breakdowns.length})`, ms(total.median), ms(total.p99), ms(total.max), '100%', ms(total.tailMean)]);
  if (nodeBootRow) rows.push([`(after the end: the agent's Node boot, process start → script)`, ms(nodeBoot.median), ms(nodeBoot.p99), '', '', '']);
  return formatTable([title, 'median ms', 'p99 ms', 'max ms', 'share of time', 'slowest 5%: mean ms'], rows);
}

/** The top-level segments that hold most of the time, overall and in the slowest dispatches. */
function slowest(level: Level): { overall: string[]; tail: string[]; worst: { total: number; top: Array<[string, number]> } | null } {
  const { segments } = segmentStats(level.breakdowns);
  const top = SEGMENTS.filter((s) => !s.sub).map((s) => segments.find((x) => x.id === s.id)!);
  const overall = [...top].sort((a, b) => b.share - a.share).slice(0, 3).map((s) => s.id);
  const tail = [...top].sort((a, b) => b.tailMean - a.tailMean).slice(0, 3).map((s) => s.id);
  const worstDispatch = [...level.breakdowns].sort((a, b) => b.total - a.total)[0];
  const worst = worstDispatch
    ? {
        total: worstDispatch.total,
        top: Object.entries(worstDispatch.segments)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5) as Array<[string, number]>,
      }
    : null;
  return { overall, tail, worst };
}

function flagSummary(level: Level): string {
  const b = level.breakdowns;
  const count = (f: (x: Breakdown) => boolean) => b.filter(f).length;
  const grants = b.map((x) => x.flags.grantsAhead).sort((x, y) => x - y);
  return (
    `workflow task timeouts ${b.reduce((a, x) => a + x.flags.workflowTaskTimeouts, 0)}, failures ${b.reduce((a, x) => a + x.flags.workflowTaskFailures, 0)}; ` +
    `activity retries ${b.reduce((a, x) => a + x.flags.activityRetries, 0)}; ` +
    `lease claimed at once (in the run's workflow task): ${count((x) => x.flags.claimedAtOnce)} of ${b.length}; ` +
    `fleet holder check during a lease: ${count((x) => x.flags.holderCheckDuringLease)} of ${b.length}; ` +
    `grants the fleet sent ahead of a request: median ${median(grants)}, max ${grants.at(-1) ?? 0}`
  );
}

// ── the run ───────────────────────────────────────────────────────────────────────────────
async function main(): Promise<void> {
  const base = loadConfig({ profile: 'sandbox' });
  const logger = createLogger({ name: 'bench-dispatch', level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
  const cores = cpus();
  const machine = `${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${process.platform}/${process.arch}`;
  const loadAtStart = loadavg();
  log(`bench/dispatch: ${machine}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  log(`${DISPATCHES} dispatches per side at ${CONCURRENCY.join(' and ')} in flight, over ${ROUNDS} alternating rounds of ${PER_ROUND}${BURNERS ? `; ${BURNERS} CPU burners` : ''}`);

  const workDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-dispatch-'));
  let server: DevServer | undefined;
  let factory: BenchFactory | undefined;
  let baseline: Baseline | undefined;
  let burners: ChildProcess[] = [];
  const levels: Level[] = [];
  try {
    // File-backed, as `npm run dev` runs it: the store's writes are part of every hop.
    server = await startDevServer({ cli: ensureTemporalCli({ root: base.root, log }), uiPort: null, dbFile: join(workDir, 'temporal.sqlite'), searchAttributes: base.temporal.searchAttributes });
    serverPid = server.process.pid;
    installRuntime(base, { metrics: false, logger });
    const slots = Math.max(20, ...CONCURRENCY);
    log(`dev server on ${server.address}; starting the sandbox, the gateway and the worker (fleet: ${slots} slots, ${slots} names)`);
    factory = await startBenchFactory({ base, address: server.address, namespace: server.namespace, taskQueue: `bench-dispatch-${randomUUID().slice(0, 8)}`, workspaceDir: join(workDir, 'workspaces'), slots, logger });
    baseline = await startBaseline({ client: factory.client, connection: factory.connection, namespace: server.namespace });
    if (BURNERS > 0) {
      burners = startBurners(BURNERS);
      log(`started ${BURNERS} busy-looping node processes (pids ${burners.map((b) => b.pid).join(', ')})`);
    }

    for (const concurrency of CONCURRENCY) {
      const warmup = args.warmup !== undefined ? positiveInt('warmup', args.warmup) : Math.max(3, concurrency);
      log(`\n${concurrency} in flight: warm-up, ${warmup} dispatches per side`);
      await baselineRound(baseline, factory.client, warmup, concurrency);
      await factoryRound(factory, warmup, concurrency);
      factory.probes.clear();
      const level: Level = { concurrency, factory: [], baseline: [], breakdowns: [], oneHop: [] };
      for (let r = 1; r <= ROUNDS; r++) {
        const { round: b, breakdowns: hops } = await baselineRound(baseline, factory.client, PER_ROUND, concurrency);
        level.baseline.push(b);
        level.oneHop.push(...hops);
        log(`round ${r} one-hop   p50 ${ms(b.p50).padStart(6)} ms  p99 ${ms(b.p99).padStart(6)} ms  (load ${b.load[0].toFixed(2)} → ${b.load[1].toFixed(2)}, ${b.seconds.toFixed(0)} s)`);
        const { round: f, dispatches } = await factoryRound(factory, PER_ROUND, concurrency);
        level.factory.push(f);
        log(`round ${r} factory   p50 ${ms(f.p50).padStart(6)} ms  p99 ${ms(f.p99).padStart(6)} ms  (load ${f.load[0].toFixed(2)} → ${f.load[1].toFixed(2)}, ${f.seconds.toFixed(0)} s)  this pair's p50 ratio ${(f.p50 / b.p50).toFixed(2)}`);
        level.breakdowns.push(...(await breakdowns(factory, dispatches)));
        factory.probes.clear();
      }
      levels.push(level);
    }
  } finally {
    burners.forEach((b) => b.kill('SIGKILL'));
    await baseline?.stop();
    await factory?.stop();
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(`\n${mainTable(levels)}`);
  out(`\n${cpuTable(levels, cores.length)}`);
  for (const level of levels) {
    const s = slowest(level);
    out(`\n${segmentTable(`factory, ${level.concurrency} in flight`, level.breakdowns, SEGMENTS, 'total: ready webhook → agent process started', true)}`);
    out(`most time overall: ${s.overall.join(', ')}; in the slowest 5%: ${s.tail.join(', ')}`);
    if (s.worst) out(`slowest dispatch ${ms(s.worst.total)} ms: ${s.worst.top.map(([id, v]) => `${id} ${ms(v)}`).join(', ')}`);
    out(flagSummary(level));
    out(`\n${segmentTable(`one-hop baseline, ${level.concurrency} in flight`, level.oneHop, ONE_HOP_SEGMENTS, 'total: signal sent → activity running', false)}`);
  }
  const loadAtEnd = loadavg();
  out(
    `\nmachine: ${machine}; load average (1/5/15 min) ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} before, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} after${BURNERS ? `; ${BURNERS} CPU burners ran beside the bench` : ''}\n` +
      `factory: ready webhook (the Linear emulator's Issue update) → the agent's process start (its performance.timeOrigin); one-hop: signal sent → bare activity started.\n` +
      `p50/p99 over all measured dispatches of a side; ratio = median over rounds of the factory's p50 / the same of the one-hop's; rounds alternate one-hop, factory.`,
  );
  out(
    JSON.stringify({
      bench: 'dispatch',
      machine,
      options: { dispatches: DISPATCHES, concurrency: CONCURRENCY, rounds: ROUNDS, perRound: PER_ROUND, burners: BURNERS },
      loadavg: { before: loadAtStart, after: loadAtEnd },
      levels: levels.map((level) => {
        const st = segmentStats(level.breakdowns);
        const hop = segmentStats(level.oneHop, ONE_HOP_SEGMENTS);
        return {
          ...summarize(level),
          rounds: { factory: level.factory.map(({ latencies: _, ...r }) => r), baseline: level.baseline.map(({ latencies: _, ...r }) => r) },
          segments: Object.fromEntries(st.segments.map(({ id, ...rest }) => [id, rest])),
          total: st.total,
          nodeBoot: st.nodeBoot,
          oneHopSegments: Object.fromEntries(hop.segments.map(({ id, ...rest }) => [id, rest])),
          slowest: slowest(level),
          flags: {
            workflowTaskTimeouts: level.breakdowns.reduce((a, x) => a + x.flags.workflowTaskTimeouts, 0),
            workflowTaskFailures: level.breakdowns.reduce((a, x) => a + x.flags.workflowTaskFailures, 0),
            activityRetries: level.breakdowns.reduce((a, x) => a + x.flags.activityRetries, 0),
            claimedAtOnce: level.breakdowns.filter((x) => x.flags.claimedAtOnce).length,
            holderCheckDuringLease: level.breakdowns.filter((x) => x.flags.holderCheckDuringLease).length,
            grantsAheadMax: Math.max(0, ...level.breakdowns.map((x) => x.flags.grantsAhead)),
          },
        };
      }),
    }),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`bench/dispatch failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
