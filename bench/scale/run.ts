// The scale benchmark (issue 15, "Scale, measured"): N open issues brought to a waiting state
// (escalated: thin issues, started by their ready webhook through the real gateway) on one
// worker wired like `npm run dev` but in a process of its own (a `conveyor worker` child), beside
// a raw signal-with-start baseline (its worker a child too) in the same run, alternating rounds.
// Prints throughput, the worker's RSS (peak and settled, with the workflow cache sized by --cache), what a cache miss costs, history events per issue per day of waiting,
// and the time of `conveyor status`, `conveyor status --all` and one reconcile sweep over the N
// runs; tables on stdout, then one JSON line (progress goes to stderr). Not a test: nothing here
// asserts a speed, but an issue that never escalates stops the bench.
//
//   npx tsx bench/scale/run.ts [--issues 10000] [--rounds 4] [--concurrency 32] [--cache N]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, getPriority, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { linePolicyFromConfig } from '../../src/config/line-policy.js';
import { loadConfig } from '../../src/config/load.js';
import { durationMs } from '../../src/domain/duration.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { createLogger } from '../../src/logging.js';
import { ensureTemporalCli } from '../../src/temporal/cli-binary.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/sandbox.js';
import { signalIssue } from '../../src/temporal/issue-runs.js';
import { runSweepNow } from '../../src/temporal/sweep-schedule.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { SWEEP_WORKFLOW_TYPE } from '../../src/workflows/workflow-types.js';
import type { History } from '../dispatch/segments.js';
import { formatTable, median } from '../gateway/stats.js';
import { startBaseline, type Baseline } from './baseline.js';
import { startScaleFactory, type ScaleFactory, type ScaleIssue } from './factory.js';
import { cpuSecondsOf, MemorySampler, mib, procMemory, resetPeak } from './memory.js';
import { benchArgs, positiveInt } from '../options.js';
import { buildRelease, unitAllocatorEnvironment } from '../worker-process.js';

const HELP = `bench/scale: N issues brought to a waiting state (escalated) through the real gateway and
a real \`conveyor worker\` child process, beside raw signal-with-start in the same run; the worker's
memory, cache-miss cost, history growth and the operator's CLI at that size.

  npm run bench:scale -- [options]

  --issues N        issues brought to escalated (default 10000), split over the rounds
  --rounds R        alternating rounds, raw then factory (default 4)
  --concurrency K   ingress calls in flight on each side: raw signal-with-starts, or the
                    emulator's ready webhooks not yet answered by the gateway (default 32)
  --minutes M       stop starting issues M minutes into the rounds; the round in progress ends
                    with the issues it started and the measurements follow (default: no limit)
  --window W        at most W issues started and not yet escalated (default 128; keep it under
                    the cache size, or a run's next task replays its history)
  --raw-per-round M raw starts per round (default: the round's issues, at most 300)
  --cache C         the worker's temporal.worker.maxCachedWorkflows (default: temporal.yaml's)
  --release         run the worker as a deployed host does: \`npm run build\` first (about 15 s),
                    then \`node dist/cli/main.js worker\` (compiled, the workflow bundle prebuilt)
                    with the systemd unit's malloc settings (MALLOC_* in
                    deploy/systemd/conveyor-worker.service), rather than the checkout's
                    TypeScript through tsx, bundled at start, with glibc's defaults
  --nudges S        runs nudged twice to time a signal to an evicted and to a cached run (default 20)
  --history H       runs whose history events are counted (default 50)
  --settle SEC      quiet time after the last round before the settled RSS is read (default 30)
  -h, --help        this text

Wall time on 2 shared cores: --issues 400 about 4 minutes; the default 10,000 from 20 minutes to an
hour, with the load (run it under nice). Progress goes to stderr; stdout gets the tables and one JSON line.`;

const { values: args } = benchArgs(
  {
    issues: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '32' },
    cache: { type: 'string' },
    release: { type: 'boolean', default: false },
    'raw-per-round': { type: 'string' },
    window: { type: 'string' },
    minutes: { type: 'string' },
    nudges: { type: 'string', default: '20' },
    history: { type: 'string', default: '50' },
    settle: { type: 'string', default: '30' },
  },
  HELP,
);

const ISSUES = positiveInt('issues', args.issues);
const ROUNDS = positiveInt('rounds', args.rounds);
const CONCURRENCY = positiveInt('concurrency', args.concurrency);
const NUDGES = positiveInt('nudges', args.nudges);
const HISTORY_SAMPLE = positiveInt('history', args.history);
const SETTLE_S = positiveInt('settle', args.settle);
const PER_ROUND = Math.ceil(ISSUES / ROUNDS);
/** A raw start is cheap and its rate steady: a few hundred per round measure it. */
/**
 * At most this many issues started and not yet escalated. Unbounded, a round of thousands would
 * be thousands of runs at once, more than the workflow cache holds, and each run's next task
 * would replay its history (a burst's cost, not the line's steady rate).
 */
const WINDOW = args.window !== undefined ? positiveInt('window', args.window) : 128;
/** Past this, no new issue is started: the round in progress finishes and the measurements follow. */
const BUDGET_MS = args.minutes !== undefined ? positiveInt('minutes', args.minutes) * 60_000 : Number.POSITIVE_INFINITY;
let roundsStartedAt = Number.POSITIVE_INFINITY;
const outOfTime = () => Date.now() - roundsStartedAt > BUDGET_MS;
const RAW_PER_ROUND = args['raw-per-round'] !== undefined ? positiveInt('raw-per-round', args['raw-per-round']) : Math.min(PER_ROUND, 300);
/** No issue escalating for this long stops the bench with what a waiting one was doing. */
const STALL_MS = 180_000;
const TARGET_RATIO = 0.5;
const TARGET_RSS = 1_073_741_824;

const log = (line: string) => process.stderr.write(`${line}\n`);
const load1 = () => loadavg()[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => (ms / 1000).toFixed(1);

// ── the raw side ──────────────────────────────────────────────────────────────────────────
interface Round {
  count: number;
  seconds: number;
  perSecond: number;
  load: [number, number];
  /**
   * CPU milliseconds per issue (or raw start): the side's worker child (the `conveyor worker`, or
   * the baseline's), this process (the ingress calls; the emulators and the gateway on the
   * factory side) and the Temporal dev server.
   */
  cpuMsPer?: { worker: number | null; bench: number; server: number | null };
}

/** What a round cost in CPU: the side's worker child and the dev server (from /proc), this process (all its threads). */
async function withCpu(pids: { worker: number; server: number | undefined }, round: () => Promise<Round>): Promise<Round> {
  const cpuOf = (pid: number | undefined) => (pid === undefined ? null : cpuSecondsOf(pid));
  const perCount = (a: number | null, b: number | null, count: number) => (a === null || b === null ? null : ((b - a) * 1000) / count);
  const bench0 = process.cpuUsage();
  const worker0 = cpuOf(pids.worker);
  const server0 = cpuOf(pids.server);
  const result = await round();
  const bench = process.cpuUsage(bench0);
  return { ...result, cpuMsPer: { worker: perCount(worker0, cpuOf(pids.worker), result.count), bench: (bench.user + bench.system) / 1000 / result.count, server: perCount(server0, cpuOf(pids.server), result.count) } };
}

async function rawRound(baseline: Baseline, count: number): Promise<Round> {
  const loadBefore = load1();
  const { firstAt, lastAt } = await baseline.round(count, CONCURRENCY, STALL_MS);
  const s = (lastAt - firstAt) / 1000;
  return { count, seconds: s, perSecond: count / s, load: [loadBefore, load1()] };
}

// ── the factory side ──────────────────────────────────────────────────────────────────────
let issueSeq = 0;
const issues: ScaleIssue[] = [];

/** Throws with the end of its log if the worker child has exited: no issue would escalate again. */
function checkWorker(factory: ScaleFactory): void {
  const { child } = factory.worker;
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the conveyor worker exited (${child.exitCode ?? child.signalCode}); its log (${factory.worker.logFile}) ends:\n${factory.worker.tail()}`);
}

async function explainStuck(factory: ScaleFactory, issue: ScaleIssue): Promise<string> {
  try {
    const state = await factory.client.workflow.getHandle(issueWorkflowId(issue.id)).query(issueStateQuery);
    return `${issue.key}'s run is in phase ${state.phase}${state.reason ? ` (${state.reason})` : ''}`;
  } catch (err) {
    return `${issue.key}'s run cannot be queried: ${(err as Error).message}`;
  }
}

/**
 * Creates `count` thin ready issues, at most CONCURRENCY of whose create webhooks are unanswered
 * by the gateway at a time (the emulator would otherwise send them all at once), and waits until
 * each has been escalated (its comment posted).
 */
async function factoryRound(factory: ScaleFactory, count: number): Promise<Round> {
  const loadBefore = load1();
  const mine: ScaleIssue[] = [];
  const pending = new Set<{ status: string }>();
  const firstAt = Date.now();
  // Issues started and not yet escalated stay under the window: see WINDOW.
  const open = new Set<string>();
  let movedAt = Date.now();
  while ((mine.length < count && !outOfTime()) || pending.size > 0) {
    for (const d of pending) if (d.status !== 'pending') pending.delete(d);
    checkWorker(factory);
    for (const id of open) if (factory.escalatedAt.has(id) && open.delete(id)) movedAt = Date.now();
    if (Date.now() - movedAt > STALL_MS) {
      const stuck = mine.find((i) => !factory.escalatedAt.has(i.id))!;
      throw new Error(`no issue escalated for ${STALL_MS / 1000} s (${open.size} open): ${await explainStuck(factory, stuck)}`);
    }
    while (pending.size < CONCURRENCY && mine.length < count && open.size < WINDOW && !outOfTime()) {
      const { issue, delivery } = factory.createIssue(`Scale bench issue ${++issueSeq}`);
      mine.push(issue);
      issues.push(issue);
      open.add(issue.id);
      pending.add(delivery);
    }
    await sleep(5);
  }
  const failed = factory.sandbox.linear.deliveries.filter((d) => d.status === 'failed');
  if (failed.length > 0) throw new Error(`${failed.length} webhooks were not accepted by the gateway (last: ${failed.at(-1)!.error ?? 'no error'}): the figures would not describe the factory`);
  let done = 0;
  let lastProgressAt = Date.now();
  for (;;) {
    checkWorker(factory);
    const now = mine.filter((i) => factory.escalatedAt.has(i.id)).length;
    if (now === mine.length) break;
    if (now > done) {
      done = now;
      lastProgressAt = Date.now();
    }
    if (Date.now() - lastProgressAt > STALL_MS) {
      const stuck = mine.find((i) => !factory.escalatedAt.has(i.id))!;
      throw new Error(`no issue escalated for ${STALL_MS / 1000} s (${now} of ${mine.length} this round): ${await explainStuck(factory, stuck)}`);
    }
    await sleep(250);
  }
  const lastAt = Math.max(...mine.map((i) => factory.escalatedAt.get(i.id)!));
  const s = (lastAt - firstAt) / 1000;
  // Fewer than asked when the time budget ran out during the round.
  return { count: mine.length, seconds: s, perSecond: mine.length / s, load: [loadBefore, load1()] };
}

// ── history ───────────────────────────────────────────────────────────────────────────────
type HistoryEvent = NonNullable<History['events']>[number];
const eventMs = (event: HistoryEvent): number => Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
const historyOf = async (client: Client, issue: ScaleIssue) => (await client.workflow.getHandle(issueWorkflowId(issue.id)).fetchHistory()).events ?? [];

/** Every `step`-th issue, `count` of them, spread over the whole run. */
function spread<T>(items: readonly T[], count: number): T[] {
  const n = Math.min(count, items.length);
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

interface Nudge {
  /** Signal recorded → the workflow task that handled it completed (server clock). */
  ms: number;
  eventsAdded: number;
  /** The workflow task's queue: sticky (the worker had the run cached) or normal. */
  sticky: boolean;
}

/**
 * The sweep's PR nudge (a forge event) sent to a waiting run, timed from the server recording
 * the signal to the worker completing the workflow task that handled it. The same delivery id
 * twice: the second is a redelivery, which is what a sweep repeats every interval.
 */
async function nudge(client: Client, issue: ScaleIssue, deliveryId: string): Promise<Nudge> {
  const before = (await historyOf(client, issue)).length;
  await signalIssue(client, issue.id, { name: 'forge', event: { deliveryId, kind: 'pull-request' } });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const events = await historyOf(client, issue);
    const fresh = events.slice(before);
    const signalled = fresh.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
    const completed = signalled < 0 ? -1 : fresh.findIndex((e, i) => i > signalled && e.workflowTaskCompletedEventAttributes);
    if (completed >= 0) {
      const scheduled = fresh.slice(signalled, completed).find((e) => e.workflowTaskScheduledEventAttributes);
      // TASK_QUEUE_KIND_STICKY = 2
      const sticky = Number(scheduled?.workflowTaskScheduledEventAttributes?.taskQueue?.kind ?? 0) === 2;
      // Wait a moment for anything the task added after completing (nothing, for a dropped nudge).
      await sleep(200);
      return { ms: eventMs(fresh[completed]!) - eventMs(fresh[signalled]!), eventsAdded: (await historyOf(client, issue)).length - before, sticky };
    }
    if (Date.now() > deadline) throw new Error(`a nudge to ${issue.key} was not handled within 60 s`);
    await sleep(10);
  }
}

// ── the CLI ───────────────────────────────────────────────────────────────────────────────
/** Runs bin/conveyor.js on the worker's installation root (its temporal.yaml names the dev server): wall time and output lines. */
function timeCli(repoRoot: string, root: string, cliArgs: string[]): Promise<{ ms: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'conveyor.js'), ...cliArgs, '--profile', 'sandbox', '--root', root], {
      // The operator's CLI has the installation's credentials: status reads the forge (graduation) too.
      env: { ...process.env, ...SANDBOX_CREDENTIALS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines += 1;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`conveyor ${cliArgs.join(' ')} exited ${code}: ${stderr.trim().slice(0, 500)}`));
      else resolve({ ms: Date.now() - startedAt, lines });
    });
  });
}

// ── report ────────────────────────────────────────────────────────────────────────────────
const verdict = (ok: boolean) => (ok ? 'pass' : 'MISS');
const mb = (bytes: number) => `${mib(bytes).toFixed(0)} MiB`;
const cpuText = (r: Round) => `worker ${r.cpuMsPer?.worker?.toFixed(1) ?? '–'}, bench ${r.cpuMsPer?.bench.toFixed(1) ?? '–'}, server ${r.cpuMsPer?.server?.toFixed(1) ?? '–'}`;
const cpuMedian = (rounds: Round[], side: 'worker' | 'bench' | 'server') => ms(median(rounds.map((r) => r.cpuMsPer?.[side] ?? Number.NaN).filter((v) => !Number.isNaN(v))));
const ms = (v: number) => (Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(1) : v.toFixed(0));

async function main(): Promise<void> {
  const wallStart = Date.now();
  const base = loadConfig({ profile: 'sandbox' });
  const cacheSize = args.cache !== undefined ? positiveInt('cache', args.cache) : base.temporal.worker.maxCachedWorkflows;
  const logger = createLogger({ name: 'bench-scale', level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
  const cores = cpus();
  const machine = `${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${process.platform}/${process.arch}, nice ${getPriority()}`;
  const loadAtStart = loadavg();
  log(`bench/scale: ${machine}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  log(`${ISSUES} issues over ${ROUNDS} rounds of ${PER_ROUND}, each after ${RAW_PER_ROUND} raw starts, ${CONCURRENCY} in flight; workflow cache ${cacheSize} runs`);

  const workDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-scale-'));
  let memory: MemorySampler | undefined;
  let server: DevServer | undefined;
  let factory: ScaleFactory | undefined;
  let baseline: Baseline | undefined;
  let keepWorkDir = false;
  const raw: Round[] = [];
  const line: Round[] = [];
  try {
    if (args.release) {
      log('building the release the worker runs (npm run build)');
      await buildRelease();
    }
    // File-backed, as `npm run dev` runs it: the store's writes are part of every start.
    server = await startDevServer({ cli: ensureTemporalCli({ root: base.root, log }), uiPort: null, dbFile: join(workDir, 'temporal.sqlite'), searchAttributes: base.temporal.searchAttributes });
    log(`dev server on ${server.address}; starting the sandbox, the gateway, the conveyor worker and the baseline's worker`);
    const root = join(workDir, 'root');
    mkdirSync(root);
    // The sandbox profile's own task queue: the CLI the bench runs (--profile sandbox) reads it from the same root.
    factory = await startScaleFactory({ base, root, address: server.address, namespace: server.namespace, taskQueue: base.taskQueue, workspaceDir: join(workDir, 'workspaces'), maxCachedWorkflows: cacheSize, logFile: join(workDir, 'worker.log'), logger, release: args.release });
    log(`conveyor worker running as pid ${factory.worker.pid} (log: ${factory.worker.logFile})`);
    baseline = await startBaseline({ client: factory.client, address: server.address, namespace: server.namespace });
    memory = new MemorySampler(factory.worker.pid);
    const workerPid = factory.worker.pid;

    const warmup = Math.max(10, CONCURRENCY);
    log(`warm-up: ${warmup} per side`);
    await rawRound(baseline, warmup);
    await factoryRound(factory, warmup);
    await sleep(5_000);
    const idle = memory.sample();
    // From here the kernel's high-water mark covers the rounds, not the start-up's bundling.
    const peakReset = resetPeak(workerPid);
    log(`idle: worker RSS ${mb(idle.rss)} (high-water mark so far ${mb(idle.hwm)}${peakReset ? ', reset now' : ', could not reset'}), bench process ${mb(idle.benchRss)}, with ${issues.length} issues waiting`);

    // Worker RSS against issues waiting: growth while the cache fills, and after it is full.
    const byWaiting: Array<[number, number]> = [];
    const tracking = setInterval(() => byWaiting.push([factory!.escalatedAt.size, memory!.samples.at(-1)!.rss]), 5_000);
    const progress = setInterval(() => {
      const s = memory!.samples.at(-1)!;
      log(`  … ${factory!.escalatedAt.size} escalated, worker RSS ${mb(s.rss)} (bench process ${mb(s.benchRss)}), load ${load1().toFixed(2)}`);
    }, 30_000);
    roundsStartedAt = Date.now();
    try {
      for (let r = 1; r <= ROUNDS; r++) {
        const count = Math.min(PER_ROUND, ISSUES - (r - 1) * PER_ROUND);
        if (count <= 0 || outOfTime()) break;
        const rawCount = Math.min(count, RAW_PER_ROUND);
        const b = await withCpu({ worker: baseline.pid, server: server.process.pid }, () => rawRound(baseline!, rawCount));
        raw.push(b);
        log(`round ${r} raw       ${b.perSecond.toFixed(1).padStart(6)} /s  (${rawCount} in ${b.seconds.toFixed(1)} s, load ${b.load[0].toFixed(2)} → ${b.load[1].toFixed(2)}; CPU ms per start: ${cpuText(b)})`);
        const f = await withCpu({ worker: workerPid, server: server.process.pid }, () => factoryRound(factory!, count));
        line.push(f);
        log(`round ${r} factory   ${f.perSecond.toFixed(1).padStart(6)} /s  (${f.count} in ${f.seconds.toFixed(1)} s, load ${f.load[0].toFixed(2)} → ${f.load[1].toFixed(2)})  ratio ${(f.perSecond / b.perSecond).toFixed(2)}; CPU ms per issue: ${cpuText(f)}; ${issues.length} waiting, worker RSS ${mb(memory.samples.at(-1)!.rss)}`);
      }
    } finally {
      clearInterval(progress);
      clearInterval(tracking);
    }
    const roundsEndedAt = Date.now();

    log(`settling ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000);
    const settledSamples = memory.samples.slice(-5);
    const settled = { rss: median(settledSamples.map((s) => s.rss)), benchRss: median(settledSamples.map((s) => s.benchRss)) };
    const peak = { sampled: memory.peak(roundsStartedAt), kernel: peakReset ? (procMemory(workerPid)?.hwm ?? null) : null, bench: memory.benchPeak(roundsStartedAt) };
    const linearState = factory.sandbox.linear.state();
    const emulator = { dataBytes: JSON.stringify(linearState.data).length, deliveryBytes: linearState.deliveries.reduce((a, d) => a + d.body.length, 0), deliveries: linearState.deliveries.length };
    // The scheduled sweeps (every sweepInterval) that ran during the rounds: each lists every
    // ready issue through the tracker in the worker, so its peak is told apart from the rest.
    const scheduledSweeps: Array<[number, number]> = [];
    for await (const run of factory.client.workflow.list({ query: `WorkflowType = '${SWEEP_WORKFLOW_TYPE}' AND TaskQueue = '${factory.config.taskQueue}'` })) {
      const from = run.startTime.getTime();
      const to = run.closeTime?.getTime() ?? roundsEndedAt;
      if (to >= roundsStartedAt && from <= roundsEndedAt) scheduledSweeps.push([from, to]);
    }
    const inSweep = (at: number) => scheduledSweeps.some(([from, to]) => at >= from && at <= to + 1_000);
    const during = memory.samples.filter((x) => x.at >= roundsStartedAt && x.at <= roundsEndedAt && !Number.isNaN(x.rss));
    const peakBySweep = { inside: Math.max(0, ...during.filter((x) => inSweep(x.at)).map((x) => x.rss)), outside: Math.max(0, ...during.filter((x) => !inSweep(x.at)).map((x) => x.rss)), sweeps: scheduledSweeps.map(([from, to]) => [from - wallStart, to - from]) };
    log(`settled: worker RSS ${mb(settled.rss)}; bench process ${mb(settled.benchRss)} (Linear emulator data ${mb(emulator.dataBytes)}, its ${emulator.deliveries} recorded webhooks ${mb(emulator.deliveryBytes)})`);

    // History at escalation, before anything below adds to it.
    const client = factory.client;
    const nudged = issues.slice(0, Math.min(NUDGES, issues.length));
    const counted = spread(issues.slice(nudged.length), HISTORY_SAMPLE);
    const eventsAtEscalation = await Promise.all(counted.map(async (i) => (await historyOf(client, i)).length));
    log(`history at escalation: median ${median(eventsAtEscalation)} events (${counted.length} runs)`);

    // A signal to an evicted run (the oldest: the cache keeps the latest), then at once to the same run, now cached.
    log(`nudging ${nudged.length} of the oldest runs twice`);
    const evicted: Nudge[] = [];
    const cached: Nudge[] = [];
    for (const issue of nudged) {
      const deliveryId = `bench:scale:nudge:${issue.id}`;
      evicted.push(await nudge(client, issue, deliveryId));
      cached.push(await nudge(client, issue, deliveryId));
    }

    // One reconcile sweep over the N ready (escalated) issues, and what it added to their histories.
    log('running one reconcile sweep');
    const sweepPeakReset = resetPeak(workerPid);
    const sweepStartedAt = Date.now();
    const sweep = await runSweepNow(client, { taskQueue: factory.config.taskQueue, policy: linePolicyFromConfig(factory.config) });
    const sweepMs = Date.now() - sweepStartedAt;
    // A sweep shorter than the sampling interval still has one sample of its own.
    memory.sample();
    const sweepPeak = { sampled: memory.peak(sweepStartedAt), kernel: sweepPeakReset ? (procMemory(workerPid)?.hwm ?? null) : null, bench: memory.benchPeak(sweepStartedAt) };
    const eventsAfterSweep = await Promise.all(counted.map(async (i) => (await historyOf(client, i)).length));
    const sweepAdded = eventsAfterSweep.map((n, i) => n - eventsAtEscalation[i]!);

    log('timing conveyor status and conveyor status --all (3 each)');
    const status: Array<{ ms: number; lines: number }> = [];
    const statusAll: Array<{ ms: number; lines: number }> = [];
    for (let i = 0; i < 3; i++) {
      status.push(await timeCli(base.root, factory.root, ['status']));
      statusAll.push(await timeCli(base.root, factory.root, ['status', '--all']));
    }
    const help = await timeCli(base.root, factory.root, ['--help']);

    // ── figures ──
    const rawTotal = raw.reduce((a, r) => a + r.count, 0) / raw.reduce((a, r) => a + r.seconds, 0);
    const lineTotal = line.reduce((a, r) => a + r.count, 0) / line.reduce((a, r) => a + r.seconds, 0);
    const ratios = line.map((f, i) => f.perSecond / raw[i]!.perSecond);
    const ratio = median(ratios);
    const waiting = issues.length;
    const sweepsPerDay = 86_400_000 / durationMs(factory.config.factory.policies.sweepInterval);
    const threshold = linePolicyFromConfig(factory.config).continueAsNewAfterEvents;
    const e0 = median(eventsAtEscalation);
    const perNudge = median(cached.map((n) => n.eventsAdded));
    const sweepPerRun = Math.max(0, ...sweepAdded);
    const escalatedPerDay = sweepPerRun * sweepsPerDay;
    // The sweep nudges a run in review only when its PR's head, checks or review changed since the
    // last nudge: a PR that changes every interval is the most a run can gain; an unchanged one gains nothing.
    const inReviewPerDay = perNudge * sweepsPerDay;
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const evictedMs = sorted(evicted.map((n) => n.ms));
    const cachedMs = sorted(cached.map((n) => n.ms));
    const statusMs = median(status.map((s) => s.ms));
    const statusAllMs = median(statusAll.map((s) => s.ms));
    // Rough (garbage collection moves RSS by tens of MiB): the first sample with the cache full.
    const full = byWaiting.find(([n]) => n >= cacheSize);
    const perCachedRun = full ? (full[1] - idle.rss) / (full[0] - warmup) : (settled.rss - idle.rss) / (waiting - warmup);
    const perWaitingBeyond = full && waiting > full[0] ? (settled.rss - full[1]) / (waiting - full[0]) : null;
    const loadAtEnd = loadavg();
    const wallMs = Date.now() - wallStart;

    const out = (text: string) => process.stdout.write(`${text}\n`);
    out('');
    out(
      formatTable(
        ['figure', 'measured', 'target', 'verdict'],
        [
          ['raw signal-with-start → signal handled (bare workflow)', `${rawTotal.toFixed(1)} /s (rounds ${raw.map((r) => r.perSecond.toFixed(1)).join(' ')})`, 'baseline', ''],
          ['factory: ready webhook → escalated (comment posted)', `${lineTotal.toFixed(1)} /s (rounds ${line.map((r) => r.perSecond.toFixed(1)).join(' ')})`, `≥ ${TARGET_RATIO} × raw`, ''],
          ['  throughput ratio factory / raw (median of rounds)', `${ratio.toFixed(2)} (rounds ${ratios.map((r) => r.toFixed(2)).join(' ')})`, `≥ ${TARGET_RATIO.toFixed(2)}`, verdict(ratio >= TARGET_RATIO)],
          ['  CPU ms per raw start: baseline worker / bench process / dev server (median of rounds)', `${cpuMedian(raw, 'worker')} / ${cpuMedian(raw, 'bench')} / ${cpuMedian(raw, 'server')}`, '', ''],
          ['  CPU ms per issue: conveyor worker / bench process / dev server (median of rounds)', `${cpuMedian(line, 'worker')} / ${cpuMedian(line, 'bench')} / ${cpuMedian(line, 'server')}`, '', ''],
          [`worker RSS, peak during the rounds (kernel high-water mark)`, `${mb(peak.sampled)} (${peak.kernel === null ? '–' : mb(peak.kernel)})`, '< 1 GiB', verdict(Math.max(peak.sampled, peak.kernel ?? 0) < TARGET_RSS)],
          [`  peak during the rounds inside / outside the ${peakBySweep.sweeps.length} scheduled sweeps (sampled)`, `${peakBySweep.sweeps.length === 0 ? '–' : mb(peakBySweep.inside)} / ${mb(peakBySweep.outside)}`, '', ''],
          [`worker RSS, settled with ${waiting} issues waiting`, mb(settled.rss), '< 1 GiB', verdict(settled.rss < TARGET_RSS)],
          [`worker RSS, peak during the explicit sweep over ${waiting} (kernel high-water mark)`, `${mb(sweepPeak.sampled)} (${sweepPeak.kernel === null ? '–' : mb(sweepPeak.kernel)})`, '< 1 GiB', verdict(Math.max(sweepPeak.sampled, sweepPeak.kernel ?? 0) < TARGET_RSS)],
          ['  worker idle RSS before the rounds (high-water mark through start-up)', `${mb(idle.rss)} (${mb(idle.hwm)})`, '', ''],
          ['  bench process RSS (emulators, gateway): idle / peak in rounds / settled / peak in sweep', `${mb(idle.benchRss)} / ${mb(peak.bench)} / ${mb(settled.benchRss)} / ${mb(sweepPeak.bench)}`, 'context', ''],
          ['  Linear emulator in the bench process: data / recorded webhooks', `${mb(emulator.dataBytes)} / ${mb(emulator.deliveryBytes)} (${emulator.deliveries})`, '', ''],
          [`  worker RSS growth per waiting run while the cache fills (cache ${cacheSize}), rough`, `${(perCachedRun / 1024).toFixed(0)} KiB${full ? ` (${mb(full[1])} at ${full[0]} waiting)` : ' (the cache never filled)'}`, '', ''],
          ['  worker RSS growth per waiting run once the cache is full, rough', perWaitingBeyond === null ? '–' : `${(perWaitingBeyond / 1024).toFixed(0)} KiB`, '', ''],
          [`signal to an evicted run (replays its history) p50 / max`, `${ms(median(evictedMs))} / ${ms(evictedMs.at(-1) ?? Number.NaN)} ms (${evicted.filter((n) => n.sticky).length}/${evicted.length} on the sticky queue)`, 'the cost of a miss', ''],
          [`signal to a cached run p50 / max`, `${ms(median(cachedMs))} / ${ms(cachedMs.at(-1) ?? Number.NaN)} ms (${cached.filter((n) => n.sticky).length}/${cached.length} sticky)`, '', ''],
          ['history events at escalation, median / max', `${e0} / ${Math.max(...eventsAtEscalation)}`, '', ''],
          ['events one sweep added to an escalated run (max of sample)', `${sweepPerRun}`, '', ''],
          [`events per sweep nudge (a run in review is nudged when its PR changed, at most every sweep: ${sweepsPerDay}/day)`, `${perNudge}`, '', ''],
          ['history events / issue / day waiting: escalated', `${escalatedPerDay}`, '', ''],
          ['history events / issue / day waiting: in review, at most (its PR changing every sweep; unchanged: 0)', `${inReviewPerDay}`, '', ''],
          [`days until continue-as-new (${threshold} events): escalated / in review, at least`, `${escalatedPerDay === 0 ? 'never' : ((threshold - e0) / escalatedPerDay).toFixed(1)} / ${((threshold - e0) / inReviewPerDay).toFixed(1)} (from ${e0})`, '', ''],
          [`conveyor status (50 rows), median of 3`, `${seconds(statusMs)} s`, '', ''],
          [`conveyor status --all (${Math.max(...statusAll.map((s) => s.lines))} lines), median of 3`, `${seconds(statusAllMs)} s`, '', ''],
          ['  conveyor help (the CLI\'s own start-up)', `${seconds(help.ms)} s`, '', ''],
          [`one reconcile sweep over ${waiting} ready issues`, `${seconds(sweepMs)} s (${sweep.alreadyRunning} already running, ${sweep.started} started)`, `< sweepInterval ${factory.config.factory.policies.sweepInterval}`, verdict(sweepMs < durationMs(factory.config.factory.policies.sweepInterval))],
        ],
      ),
    );
    out(
      `\nmachine: ${machine}; load average (1/5/15 min) ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} before, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} after; wall time ${(wallMs / 60_000).toFixed(1)} min (rounds ${((roundsEndedAt - roundsStartedAt) / 60_000).toFixed(1)} min)\n` +
        `worker: a \`conveyor worker\` child process (${args.release ? `a release: node dist/cli/main.js, the workflow bundle prebuilt, ${Object.entries(unitAllocatorEnvironment()).map(([k, v]) => `${k}=${v}`).join(' ')}` : 'the checkout: src through tsx, the workflow bundled at start'}; workflow cache ${cacheSize}), its RSS from /proc; the raw baseline's worker a child of its own; the bench process holds the Linear and GitHub emulators, the gateway and the ingress calls; the Temporal dev server is a child too; ${CONCURRENCY} ingress calls in flight per side; rounds alternate raw, factory.\n` +
        `evicted: the ${nudged.length} oldest runs, each nudged (the sweep's PR nudge) once and then at once again with the same delivery id (cached, a redelivery).`,
    );
    out(
      JSON.stringify({
        bench: 'scale',
        machine,
        options: { issues: ISSUES, minutes: BUDGET_MS / 60_000, window: WINDOW, rawPerRound: RAW_PER_ROUND, rounds: ROUNDS, concurrency: CONCURRENCY, cache: cacheSize, release: args.release, nudges: NUDGES, history: HISTORY_SAMPLE, settle: SETTLE_S },
        loadavg: { before: loadAtStart, after: loadAtEnd },
        wallSeconds: wallMs / 1000,
        throughput: { raw: rawTotal, factory: lineTotal, ratio, rounds: { raw, factory: line } },
        memory: { worker: { idleRss: idle.rss, startupHwm: idle.hwm, peakRss: peak.sampled, kernelPeakRss: peak.kernel, settledRss: settled.rss, sweepPeakRss: sweepPeak.sampled, sweepKernelPeakRss: sweepPeak.kernel, peakBySweep }, bench: { idleRss: idle.benchRss, peakRss: peak.bench, settledRss: settled.benchRss, sweepPeakRss: sweepPeak.bench }, emulator, perCachedRun, perWaitingBeyond, waiting, byWaiting: byWaiting.filter((_, i) => i % 6 === 0).map(([n, r]) => [n, Math.round(mib(r))]) },
        cacheMiss: { evictedMs, cachedMs, evictedSticky: evicted.filter((n) => n.sticky).length, cachedSticky: cached.filter((n) => n.sticky).length },
        history: { atEscalation: eventsAtEscalation, sweepAdded, perNudge, sweepsPerDay, escalatedPerDay, inReviewPerDay, threshold },
        cli: { status, statusAll, help },
        sweep: { ms: sweepMs, summary: sweep },
        // Every 10th sample: [ms since start, worker RSS MiB, bench process RSS MiB].
        rss: memory.samples.filter((_, i) => i % 10 === 0).map((s) => [s.at - wallStart, Math.round(mib(s.rss)), Math.round(mib(s.benchRss))]),
      }),
    );
  } catch (err) {
    keepWorkDir = true;
    throw err;
  } finally {
    memory?.stop();
    await baseline?.stop();
    await factory?.stop();
    await server?.stop();
    if (keepWorkDir) log(`kept ${workDir} (the worker's log is worker.log)`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`bench/scale failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
