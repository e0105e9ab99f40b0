// The churn benchmark (issue 15, "Scale, measured"): a few issues re-cycled many times through
// the whole line (ready → triage → the demo agent commits → PR → CI → review → merge → close →
// release), with a real `conveyor worker` child process whose RSS and open descriptors are sampled
// as it goes. At the end: drift between the first and last third of the samples, and what is left
// (leases held, worktrees, agent processes, open runs). Progress on stderr; tables and, last, one
// JSON line on stdout. Not a test: it asserts nothing about memory or speed; a cycle that does not
// close in time stops the bench (its figures would describe something else), with what it has.
//
//   npx tsx bench/churn/run.ts [--issues 5] [--cycles 200] [--sample-every 1m] [--heap-snapshot]
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { fleetWorkflowId, ISSUE_WORKFLOW_PREFIX } from '../../src/domain/naming.js';
import { agentEnvPrefix, processesWithEnvPrefix } from '../../src/integrations/leftover-agents.js';
import { parseRunFileName } from '../../src/integrations/run-files.js';
import { createLogger } from '../../src/logging.js';
import { ensureTemporalCli } from '../../src/temporal/cli-binary.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { fleetStateQuery } from '../../src/workflows/messages.js';
import { formatTable, median, percentile } from '../gateway/stats.js';
import { startChurnLine, type ChurnIssue, type ChurnLine } from './line.js';
import { descriptorChange, descriptorKinds, drift, readProc, type Drift, type Sample } from './samples.js';
import { buildRelease, REPO_ROOT, startWorkerProcess, unitAllocatorEnvironment, type WorkerProcess } from '../worker-process.js';
import { benchArgs, duration, positiveInt, usageError } from '../options.js';

const HELP = `bench/churn: a few issues re-cycled many times through the whole line (triage, the demo
agent's commit, PR, CI, review, merge, close, release) on a real \`conveyor worker\` process,
sampling its RSS and open file descriptors; then drift and leftovers.

  npm run bench:churn -- [options]

  --issues N          issues cycling at once (default 5); the fleet gets one slot per issue
  --cycles N          cycles per issue (default 200)
  --sample-every D    how often the worker is sampled (default 1m; 10s for a short run)
  --cycle-timeout D   a cycle whose run has not closed by then stops the bench (default 5m)
  --heap-snapshot     the worker runs with heap-probe.mjs, which logs each thread's V8 heap
                      beside its RSS every --sample-every, and after the last cycle (no run open)
                      writes a heap snapshot of its main thread; both go to a folder the bench
                      prints. Compare a short run's snapshot with a long one's:
                      node --max-old-space-size=8192 --import tsx bench/churn/heap-diff.ts A B
  --unit-malloc       the worker gets its systemd unit's malloc settings (MALLOC_* and
                      LD_PRELOAD in deploy/systemd/conveyor-worker.service), as a deployed
                      worker runs; without it, glibc's defaults
  --release           the worker runs as a deployed host runs it: \`npm run build\` first (about
                      15 s), then node dist/cli/main.js with the prebuilt workflow bundle (no
                      tsx, no webpack at start) and the unit's malloc settings
  --worker-env K=V    added to the worker's environment (repeatable; after the unit's settings),
                      to try an allocator setting before the unit takes it
  Ctrl-C              stops early: cycles in flight finish, then the checks and the tables
  -h, --help          this text

On 2 cores shared with other work (load 10-20) 5 issues side by side finished about 9 cycles a
minute (a cycle 20-35 s): the default 5 x 200 takes close to 2 hours; --issues 5 --cycles 4
--sample-every 5s about 2 minutes. Run it under nice beside other work:
nice -n 10 npm run bench:churn.`;

const { values: args } = benchArgs(
  {
    issues: { type: 'string', default: '5' },
    cycles: { type: 'string', default: '200' },
    'sample-every': { type: 'string', default: '1m' },
    'cycle-timeout': { type: 'string', default: '5m' },
    'heap-snapshot': { type: 'boolean', default: false },
    'unit-malloc': { type: 'boolean', default: false },
    release: { type: 'boolean', default: false },
    'worker-env': { type: 'string', multiple: true, default: [] },
  },
  HELP,
);

const ISSUES = positiveInt('issues', args.issues);
const CYCLES = positiveInt('cycles', args.cycles);
const SAMPLE_EVERY_MS = duration('sample-every', args['sample-every']);
const CYCLE_TIMEOUT_MS = duration('cycle-timeout', args['cycle-timeout']);
const HEAP_SNAPSHOT = args['heap-snapshot'];
const UNIT_MALLOC = args['unit-malloc'] || args.release ? unitAllocatorEnvironment() : {};
const WORKER_ENV: Record<string, string> = {
  ...UNIT_MALLOC,
  ...Object.fromEntries(
    args['worker-env'].map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) usageError(`--worker-env takes NAME=value, not "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  ),
};
/** The worker's allocator settings as a line of the report: what the figures were measured with. */
const WORKER_ENV_TEXT = Object.keys(WORKER_ENV).length ? Object.entries(WORKER_ENV).map(([k, v]) => `${k}=${v}`).join(' ') : "glibc's default malloc settings";
const TARGET_RSS_DRIFT_MB = 8;
const TARGET_FD_DRIFT = 2;
/** How long the worker is left alone before "idle again" is read: past the emulators' 5 s keep-alive. */
const IDLE_SETTLE_MS = 10_000;

const log = (line: string) => process.stderr.write(`${line}\n`);
const load1 = () => loadavg()[0]!;
const mb = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(1));

interface Leftovers {
  leases: number;
  waiting: number;
  worktrees: string[];
  agents: number[];
  openRuns: number;
  /** Files the agent runner keeps per run on purpose (log, prompt, result), within agents.runFiles: counted, not leftovers. */
  kept: { logs: number; prompts: number; results: number; mostRunsOfOneIssue: number };
}

/** What the line left once every cycle closed: the fleet's ledger, the host's folders and processes, Temporal's open runs. */
async function leftovers(line: ChurnLine, workspaceRoot: string): Promise<Leftovers> {
  const fleet = await line.client.workflow.getHandle(fleetWorkflowId(line.config.taskQueue)).query(fleetStateQuery);
  const worktreeDir = join(workspaceRoot, 'worktrees');
  const worktrees = existsSync(worktreeDir) ? readdirSync(worktreeDir) : [];
  const agents = await processesWithEnvPrefix(agentEnvPrefix(workspaceRoot));
  const { count } = await line.client.workflow.count(`WorkflowId STARTS_WITH '${ISSUE_WORKFLOW_PREFIX}' AND ExecutionStatus = 'Running' AND TaskQueue = '${line.config.taskQueue}'`);
  const names = (dir: string) => (existsSync(join(workspaceRoot, dir)) ? readdirSync(join(workspaceRoot, dir)) : []);
  const runsPerIssue = new Map<string, number>();
  for (const name of names('logs')) {
    const run = parseRunFileName(name, '.log');
    if (run) runsPerIssue.set(run.key, (runsPerIssue.get(run.key) ?? 0) + 1);
  }
  const kept = { logs: names('logs').length, prompts: names('prompts').length, results: names('results').length, mostRunsOfOneIssue: Math.max(0, ...runsPerIssue.values()) };
  return { leases: fleet.leases.length, waiting: fleet.waiting.length, worktrees, agents, openRuns: count, kept };
}

/** Asks the worker's heap probe for a snapshot of its main thread and waits until it is written (2 min at most). */
async function heapSnapshot(pid: number, dir: string, cycles: number): Promise<{ cycles: number; rssMb: number | null; seconds: number; file: string } | null> {
  const before = readProc(pid);
  const at = Date.now();
  log(`heap snapshot of the worker after cycle ${cycles} (RSS ${before ? mb(before.rssMb) : '–'} MB)`);
  process.kill(pid, 'SIGUSR2');
  const memoryLog = join(dir, 'memory.jsonl');
  while (Date.now() - at < 120_000) {
    const line = readFileSync(memoryLog, 'utf8').split('\n').find((l) => l.includes('"snapshot":'));
    if (line) return { cycles, rssMb: before?.rssMb ?? null, seconds: (Date.now() - at) / 1000, file: (JSON.parse(line) as { file: string }).file };
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

async function main(): Promise<number> {
  const base = loadConfig({ profile: 'sandbox' });
  // The worker's installation is written from the same instance.example, so the same retention.
  const runFiles = base.factory.agents.runFiles;
  const logger = createLogger({ name: 'bench-churn', level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
  const cores = cpus();
  const machine = `${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${process.platform}/${process.arch}`;
  const loadAtStart = loadavg();
  log(`bench/churn: ${machine}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  log(`${ISSUES} issues x ${CYCLES} cycles through the whole line; the worker sampled every ${args['sample-every']}`);

  const workDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-churn-'));
  const root = join(workDir, 'root');
  mkdirSync(root);
  let server: DevServer | undefined;
  let line: ChurnLine | undefined;
  let worker: WorkerProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const samples: Sample[] = [];
  const outcomes = new Map<string, number>();
  const cycleSeconds: number[] = [];
  const unexpected: string[] = [];
  let idle: { rssMb: number; fds: number } | null = null;
  let idleAfter: { rssMb: number; fds: number } | null = null;
  // What the idle worker's descriptors are, before and after: the drift by name, not by count.
  let idleKinds = new Map<string, number>();
  let idleAfterKinds = new Map<string, number>();
  let peers = new Map<number, string>();
  let stopped: string | null = null;
  let left: Leftovers | null = null;
  let stop: { ms: number; code: number | null; signal: NodeJS.Signals | null } | null = null;
  let cyclingSeconds = 0;
  let snapshotDir: string | undefined;
  let snapshot: { cycles: number; rssMb: number | null; seconds: number; file: string } | null = null;
  let keepLogs = false;
  try {
    server = await startDevServer({ cli: ensureTemporalCli({ root: base.root, log }), uiPort: null, dbFile: join(workDir, 'temporal.sqlite'), searchAttributes: base.temporal.searchAttributes });
    const taskQueue = `bench-churn-${randomUUID().slice(0, 8)}`;
    log(`dev server on ${server.address}; starting the emulators, the gateway and the demo reviewer`);
    line = await startChurnLine({ base, root, address: server.address, namespace: server.namespace, taskQueue, slots: ISSUES, logger });
    const workspaceRoot = resolve(root, line.config.factory.workspaceDir);
    // Outside workDir, which is removed at the end of a clean run: the snapshots are what the run is for.
    if (HEAP_SNAPSHOT) snapshotDir = mkdtempSync(join(tmpdir(), 'conveyor-churn-heap-'));
    if (args.release) {
      log('building the release the worker runs (npm run build)');
      await buildRelease();
    }
    worker = await startWorkerProcess({
      root,
      logFile: join(workDir, 'worker.log'),
      release: args.release,
      ...(snapshotDir ? { nodeArgs: ['--import', join(REPO_ROOT, 'bench/churn/heap-probe.mjs')] } : {}),
      env: { ...WORKER_ENV, ...(snapshotDir ? { CONVEYOR_HEAP_PROBE_DIR: snapshotDir, CONVEYOR_HEAP_PROBE_EVERY_MS: String(SAMPLE_EVERY_MS) } : {}) },
    });
    log(`the worker runs ${args.release ? 'as a release (node dist/cli/main.js)' : 'from the checkout (src through tsx)'} with ${WORKER_ENV_TEXT}`);
    if (snapshotDir) log(`the worker's heap figures, and its heap snapshot after the last cycle, go to ${snapshotDir}`);
    log(`conveyor worker running as pid ${worker.pid} (log: ${worker.logFile}); task queue ${taskQueue}`);
    idle = readProc(worker.pid);
    peers = new Map([
      [Number(server.address.split(':').pop()), 'Temporal'],
      [Number(new URL(line.sandbox.linear.url).port), 'Linear emulator'],
      [Number(new URL(line.sandbox.github.url).port), 'GitHub emulator'],
    ]);
    idleKinds = descriptorKinds(worker.pid, peers);
    let workerGone: string | null = null;
    void worker.exited.then(({ code, signal }) => {
      if (stop === null) workerGone = `the worker exited (${code ?? signal}) while cycling; its log ends:\n${worker!.tail()}`;
    });

    const issues: ChurnIssue[] = Array.from({ length: ISSUES }, (_, i) => line!.createIssue(i));
    await line.sandbox.linear.webhooksSettled();
    const startedAt = Date.now();
    let done = 0;
    const sample = () => {
      const w = readProc(worker!.pid);
      if (!w) return;
      const fdKinds = Object.fromEntries(descriptorKinds(worker!.pid, peers));
      samples.push({ t: (Date.now() - startedAt) / 1000, cycles: done, rssMb: w.rssMb, fds: w.fds, benchRssMb: process.memoryUsage.rss() / 1024 / 1024, load1: load1(), fdKinds });
    };
    sample();
    sampler = setInterval(sample, SAMPLE_EVERY_MS);
    // Ctrl-C ends the run early but still reports: the cycles in flight finish, then the checks.
    process.once('SIGINT', () => {
      stopped ??= 'interrupted (SIGINT): the cycles in flight finished, no new ones started';
      log('SIGINT: finishing the cycles in flight, then the checks and the report (Ctrl-C again to abort)');
      process.once('SIGINT', () => process.exit(130));
    });
    let lastProgress = 0;
    const progress = () => {
      const s = samples.at(-1);
      const merged = outcomes.get('merged') ?? 0;
      log(`cycles ${done}/${ISSUES * CYCLES} (merged ${merged}${done > merged ? `, other ${done - merged}` : ''}), ${((Date.now() - startedAt) / 60_000).toFixed(1)} min; worker ${s ? `${mb(s.rssMb)} MB, ${s.fds} fds` : '–'}; load ${load1().toFixed(2)}`);
    };

    const cycleIssue = async (issue: ChurnIssue) => {
      for (let c = 0; c < CYCLES && stopped === null; c++) {
        if (workerGone) throw new Error(workerGone);
        const result = await line!.cycle(issue, c === 0, CYCLE_TIMEOUT_MS);
        done++;
        cycleSeconds.push(result.seconds);
        outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
        if (result.outcome !== 'merged') {
          unexpected.push(`${issue.key} cycle ${c + 1}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}`);
          log(`  ${unexpected.at(-1)}`);
        }
        if (Date.now() - lastProgress > 15_000) {
          lastProgress = Date.now();
          progress();
        }
      }
    };
    await Promise.all(
      issues.map((issue) =>
        cycleIssue(issue).catch((err: unknown) => {
          // The other issues stop after their current cycle: the figures so far are still reported.
          stopped ??= (err as Error).message;
        }),
      ),
    );
    clearInterval(sampler);
    sample();
    cyclingSeconds = (Date.now() - startedAt) / 1000;
    progress();
    if (stopped) log(`stopped early: ${stopped}`);

    // Webhooks and CI still in flight finish first; the worker's reaper gets one interval.
    await line.sandbox.linear.webhooksSettled();
    await line.sandbox.github.idle();
    left = await leftovers(line, workspaceRoot);
    // Idle means past keep-alive too: the HTTP clients keep a connection to each emulator open
    // for reuse until its server's 5 s keep-alive closes it; read at once, they look like a leak.
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    idleAfter = readProc(worker.pid);
    idleAfterKinds = descriptorKinds(worker.pid, peers);
    log(`left: ${left.leases} leases, ${left.waiting} waiting, ${left.worktrees.length} worktrees, ${left.agents.length} agent processes, ${left.openRuns} open issue runs`);
    // Last, when nothing else needs the worker. A snapshot holds its main thread for 10-15 s on a
    // loaded host; taken mid-run (three tries, with runs in flight or none), the worker stopped
    // polling its task queue for good once and exited silently seconds later twice, and so did it
    // after the snapshot taken here (nodejs/node#43122 reports SIGSEGV from main-thread snapshots
    // beside worker threads; the SDK runs workflows in one). The stop figure then shows that exit.
    if (snapshotDir) snapshot = await heapSnapshot(worker.pid, snapshotDir, done);
    stop = await worker.stop();
    log(`the worker stopped on SIGTERM in ${stop.ms} ms (exit ${stop.code ?? stop.signal})`);
    if (stop.code !== 0 || stopped) keepLogs = true;
  } catch (err) {
    keepLogs = true;
    stopped ??= err instanceof Error ? err.message : String(err);
    log(`bench/churn failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    clearInterval(sampler);
    if (worker && stop === null) worker.child.kill('SIGKILL');
    await line?.stop();
    await server?.stop();
    if (keepLogs) log(`kept ${workDir} (the worker's log is worker.log)`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  const d: Drift | null = drift(samples);
  const idleChange = descriptorChange(idleKinds, idleAfterKinds);
  const sorted = [...cycleSeconds].sort((a, b) => a - b);
  const loadAtEnd = loadavg();
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows: string[][] = [
    ['cycles (issues x cycles)', `${cycleSeconds.length} of ${ISSUES * CYCLES} (${ISSUES} x ${CYCLES}) in ${(cyclingSeconds / 60).toFixed(1)} min`, 'all', verdict(cycleSeconds.length === ISSUES * CYCLES)],
    ['outcomes', [...outcomes].map(([k, v]) => `${k} ${v}`).join(', ') || '–', 'merged every cycle', verdict((outcomes.get('merged') ?? 0) === ISSUES * CYCLES)],
    ['cycle time (ready webhook → run closed) p50 / p99 / max', `${mb(median(sorted))} / ${mb(percentile(sorted, 99))} / ${mb(sorted.at(-1) ?? Number.NaN)} s`, '', ''],
    ['worker RSS idle (before the first cycle)', idle ? `${mb(idle.rssMb)} MB, ${idle.fds} fds` : '–', '', ''],
    [`worker RSS, first / last third (${d?.perThird ?? 0} samples each)`, d ? `${mb(d.first.rssMb)} / ${mb(d.last.rssMb)} MB` : 'too few samples', '', ''],
    ['worker RSS drift (last third − first third)', d ? `${d.rssMb >= 0 ? '+' : ''}${mb(d.rssMb)} MB` : '–', `< ${TARGET_RSS_DRIFT_MB} MB`, d ? verdict(d.rssMb < TARGET_RSS_DRIFT_MB) : '–'],
    ['worker open fds, first / last third: mean (max)', d ? `${d.first.fds.toFixed(1)} (${d.first.fdsMax}) / ${d.last.fds.toFixed(1)} (${d.last.fdsMax})` : '–', '', ''],
    // Agents in flight hold pipes and sockets, so a sample moves by a few either way.
    ['worker fd drift (last third − first third)', d ? `${d.fds >= 0 ? '+' : ''}${d.fds.toFixed(1)}` : '–', `flat (< ${TARGET_FD_DRIFT})`, d ? verdict(d.fds < TARGET_FD_DRIFT) : '–'],
    ['worker fd drift by kind (mean first → last third)', d ? d.fdsByKind.slice(0, 4).map((k) => `${k.kind} ${k.first.toFixed(1)} → ${k.last.toFixed(1)}`).join('; ') || 'no kind moved by 0.5' : '–', '', ''],
    [`worker idle again after the last cycle (${IDLE_SETTLE_MS / 1000} s on)`, idleAfter ? `${mb(idleAfter.rssMb)} MB, ${idleAfter.fds} fds` : '–', '', ''],
    // A leak is a kind that grew; one that shrank closed something the idle worker held at start
    // (a startup thread's loop and pipes, a second Temporal connection), which is no leak.
    ['idle descriptors, after − before, by kind', idleAfter ? idleChange.join('; ') || 'none' : '–', 'none grown', idleAfter ? verdict(!idleChange.some((change) => change.startsWith('+'))) : '–'],
    ['leases held at the end (fleet query)', left ? `${left.leases} (waiting ${left.waiting})` : '–', '0', left ? verdict(left.leases === 0 && left.waiting === 0) : '–'],
    ['worktrees left', left ? `${left.worktrees.length}${left.worktrees.length ? ` (${left.worktrees.join(', ')})` : ''}` : '–', '0', left ? verdict(left.worktrees.length === 0) : '–'],
    ['agent processes left', left ? `${left.agents.length}${left.agents.length ? ` (pids ${left.agents.join(', ')})` : ''}` : '–', '0', left ? verdict(left.agents.length === 0) : '–'],
    ['issue runs still open', left ? String(left.openRuns) : '–', '0', left ? verdict(left.openRuns === 0) : '–'],
    // Kept on purpose (a human reads an attempt's log and prompt), within agents.runFiles: the worker
    // prunes at start and after runs at most every 10 min, so runs since its last prune are on top.
    ['agent files kept: logs / prompts / results (most runs of one issue)', left ? `${left.kept.logs} / ${left.kept.prompts} / ${left.kept.results} (${left.kept.mostRunsOfOneIssue})` : '–', `${runFiles.maxPerIssue} runs per issue, ${runFiles.maxAge} (agents.runFiles), + runs of the last 10 min`, ''],
    ['worker SIGTERM → exit (grace 2 s, nothing in flight)', stop ? `${stop.ms} ms, exit ${stop.code ?? stop.signal}` : '–', 'exit 0', stop ? verdict(stop.code === 0) : '–'],
  ];
  out(`\n${formatTable(['churn', 'figure', 'target', ''], rows)}`);
  out(
    `\n${formatTable(
      ['minute', 'cycles done', 'worker RSS MB', 'worker fds', 'bench process RSS MB', 'load (1 min)'],
      samples.map((s) => [(s.t / 60).toFixed(1), String(s.cycles), mb(s.rssMb), String(s.fds), mb(s.benchRssMb), s.load1.toFixed(2)]),
    )}`,
  );
  if (unexpected.length) out(`\nruns that did not end merged:\n${unexpected.map((u) => `  ${u}`).join('\n')}`);
  if (stopped) out(`\nstopped early: ${stopped}`);
  if (snapshotDir) out(`\nthe worker's heap figures (memory.jsonl: each thread's V8 heap beside the RSS) in ${snapshotDir}; ${snapshot ? `heap snapshot ${snapshot.file} after cycle ${snapshot.cycles} (worker RSS before it ${snapshot.rssMb === null ? '–' : mb(snapshot.rssMb)} MB), written in ${snapshot.seconds.toFixed(1)} s` : 'no heap snapshot'}`);
  out(
    `\nmachine: ${machine}; load average (1/5/15 min) ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} before, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} after\n` +
      `The worker is a \`conveyor worker\` child process (${args.release ? 'a release: node dist/cli/main.js, the workflow bundle prebuilt' : 'the checkout: src through tsx, the workflow bundled at start'}; ${WORKER_ENV_TEXT}): its RSS (VmRSS) and /proc/<pid>/fd count are its own; the emulators, gateway and reviewer run in the bench's process (its RSS shown for context).`,
  );
  out(
    JSON.stringify({
      bench: 'churn',
      machine,
      options: { issues: ISSUES, cycles: CYCLES, sampleEveryMs: SAMPLE_EVERY_MS, cycleTimeoutMs: CYCLE_TIMEOUT_MS, release: args.release, workerEnv: WORKER_ENV },
      loadavg: { before: loadAtStart, after: loadAtEnd },
      cycles: { done: cycleSeconds.length, planned: ISSUES * CYCLES, minutes: cyclingSeconds / 60, outcomes: Object.fromEntries(outcomes), p50s: median(sorted), p99s: percentile(sorted, 99), maxS: sorted.at(-1) ?? null, unexpected },
      idle,
      idleAfter,
      idleDescriptors: { before: Object.fromEntries(idleKinds), after: Object.fromEntries(idleAfterKinds), change: idleChange },
      drift: d,
      targets: { rssDriftMb: TARGET_RSS_DRIFT_MB, fdDrift: TARGET_FD_DRIFT },
      leftovers: left,
      stop,
      stopped,
      heap: snapshotDir ? { dir: snapshotDir, snapshot } : null,
      samples,
    }),
  );
  return stopped ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench/churn failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
