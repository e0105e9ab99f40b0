// The gateway benchmark: the real gateway against a baseline doing the bare minimum of the same
// job, side by side on this machine, alternating rounds, medians. Prints a table on stdout
// (progress goes to stderr). Not a test: nothing here asserts a speed, but a round whose
// answers are wrong (a refused delivery, a signal on the no-signal path, a start that did not
// land) stops the bench, since its figures would be about something else.
//
//   npx tsx bench/gateway/run.ts [--rounds 5] [--seconds 3] [--warmup-seconds 3] [--starts 800] [--only no-signal|starts]
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config/load.js';
import { linePolicyFromConfig } from '../../src/config/line-policy.js';
import { ensureTemporalCli } from '../../src/temporal/cli-binary.js';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { signalWithStartIssue } from '../../src/temporal/issue-runs.js';
import { notAllowlistedPullRequest, readyIssueDeliveries } from './deliveries.js';
import { closedLoop, httpPoster, summarize, type HttpDelivery, type RoundResult } from './load.js';
import type { TargetCommand, TargetReply } from './protocol.js';
import { formatTable } from './stats.js';
import { benchArgs, positiveInt, usageError } from '../options.js';

const HELP = `bench/gateway: the real gateway against a baseline doing the bare minimum of the same job,
side by side, alternating rounds, medians: the no-signal path (a signed delivery for a repo that is
not allowlisted, against a bare HTTP server that answers 202) and the signal-with-start path (a
ready issue per delivery, against calling signalWithStart directly). See bench/gateway/README.md.

  npm run bench:gateway -- [options]

  --rounds N               measured rounds per side (default 5)
  --seconds N              length of a no-signal round (default 3)
  --warmup-seconds N       unmeasured warm-up per side before the no-signal rounds (default 3)
  --starts N               ready-issue deliveries per start round (default 800)
  --http-concurrency N     deliveries in flight in a no-signal round (default 32)
  --start-concurrency N    deliveries in flight in a start round (default 16)
  --only no-signal|starts  one scenario only, e.g. to profile it
  -h, --help               this text`;

const { values: args } = benchArgs(
  {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    /**
     * Unmeasured warm-up per side before the no-signal rounds. As long as a round by default: the
     * gateway has far more code than the bare server for the JIT to settle, and with a 1 s
     * warm-up its first rounds measured the JIT (its CPU per request fell by a fifth from round
     * 1 to round 5 while the bare server's stayed flat).
     */
    'warmup-seconds': { type: 'string', default: '3' },
    starts: { type: 'string', default: '800' },
    'http-concurrency': { type: 'string', default: '32' },
    'start-concurrency': { type: 'string', default: '16' },
    /** One scenario only, e.g. to profile it. */
    only: { type: 'string' },
  },
  HELP,
);
const ROUNDS = positiveInt('rounds', args.rounds);
const ROUND_MS = positiveInt('seconds', args.seconds) * 1000;
const WARMUP_MS = positiveInt('warmup-seconds', args['warmup-seconds']) * 1000;
const STARTS = positiveInt('starts', args.starts);
const HTTP_CONCURRENCY = positiveInt('http-concurrency', args['http-concurrency']);
const START_CONCURRENCY = positiveInt('start-concurrency', args['start-concurrency']);
if (args.only !== undefined && args.only !== 'no-signal' && args.only !== 'starts') usageError(`--only takes no-signal or starts, not "${args.only}"`);
const RUN_NO_SIGNAL = args.only !== 'starts';
const RUN_STARTS = args.only !== 'no-signal';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The server under test lives in its own process; commands go one at a time. */
class Target {
  private pending: { resolve: (reply: TargetReply) => void; reject: (err: Error) => void } | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: TargetReply) => {
      const waiting = this.pending;
      this.pending = null;
      if (!waiting) return;
      if (reply.op === 'error') waiting.reject(new Error(`target: ${reply.message}`));
      else waiting.resolve(reply);
    });
    child.on('exit', (code) => {
      this.pending?.reject(new Error(`the target process exited (code ${code})`));
      this.pending = null;
    });
  }

  static async fork(env: NodeJS.ProcessEnv): Promise<Target> {
    // BENCH_TARGET_NODE_ARGS (e.g. "--cpu-prof") profiles the server process, not the load generator.
    const extra = (process.env.BENCH_TARGET_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = fork(fileURLToPath(new URL('./target.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx', ...extra], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const target = new Target(child);
    const ready = await target.next();
    if (ready.op !== 'ready') throw new Error(`target said ${ready.op} before ready`);
    return target;
  }

  private next(): Promise<TargetReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }

  async send(command: TargetCommand): Promise<TargetReply> {
    const reply = this.next();
    this.child.send(command);
    return reply;
  }

  async start(command: Extract<TargetCommand, { op: 'start' }>): Promise<string> {
    const reply = await this.send(command);
    if (reply.op !== 'started') throw new Error(`target said ${reply.op} instead of started`);
    return reply.url;
  }

  async stop(): Promise<{ signalCalls: number; cpuMicros: number }> {
    const reply = await this.send({ op: 'stop' });
    if (reply.op !== 'stopped') throw new Error(`target said ${reply.op} instead of stopped`);
    return { signalCalls: reply.signalCalls, cpuMicros: reply.cpuMicros };
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ op: 'exit' } satisfies TargetCommand);
    await exited;
  }
}

function expectOnly(status: number, round: RoundResult, what: string): void {
  const wrong = Object.entries(round.statuses).filter(([s]) => Number(s) !== status);
  if (wrong.length > 0) {
    throw new Error(`${what}: expected every answer to be ${status}, got ${JSON.stringify(round.statuses)}${round.firstError ? ` (first error: ${round.firstError})` : ''}`);
  }
}

function describeRound(name: string, r: RoundResult): string {
  const cpu = r.cpuUsPerCall === undefined ? '' : `  cpu ${r.cpuUsPerCall.toFixed(0)} µs/call`;
  return `${name.padEnd(28)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  (${r.completed} in ${(r.elapsedMs / 1000).toFixed(1)} s)${cpu}`;
}

function withCpu(round: RoundResult, cpuMicros: number): RoundResult {
  return { ...round, cpuUsPerCall: round.completed > 0 ? cpuMicros / round.completed : Number.NaN };
}

// ── scenario 1: verified deliveries on the no-signal path ─────────────────────────────────
async function noSignalRound(target: Target, kind: 'gateway-no-signal' | 'bare', deliveries: (i: number) => HttpDelivery, durationMs: number): Promise<RoundResult> {
  const url = new URL('/webhooks/github', await target.start({ op: 'start', target: kind }));
  const poster = httpPoster(HTTP_CONCURRENCY);
  let round: RoundResult;
  let stopped: { signalCalls: number; cpuMicros: number };
  try {
    round = await closedLoop({ concurrency: HTTP_CONCURRENCY, durationMs, call: (i) => poster.post(url, deliveries(i)) });
  } finally {
    poster.close();
    stopped = await target.stop();
  }
  const { signalCalls } = stopped;
  round = withCpu(round, stopped.cpuMicros);
  if (signalCalls > 0) throw new Error(`the no-signal gateway asked for ${signalCalls} signals: the bench is not measuring the no-signal path`);
  expectOnly(202, round, kind);
  return round;
}

// ── scenario 2: verified Linear deliveries that end in a signal-with-start ────────────────
interface StartContext {
  config: Config;
  linearSecret: string;
  server: DevServer;
  client: Client;
}

async function expectRuns(ctx: StartContext, taskQueue: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { count: found } = await ctx.client.workflow.count(`TaskQueue = '${taskQueue}'`);
    if (found === count) return;
    if (Date.now() > deadline) throw new Error(`${taskQueue}: expected ${count} runs to have been started, visibility shows ${found}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function gatewayStartRound(ctx: StartContext, target: Target, starts: number): Promise<RoundResult> {
  // A fresh queue per round: the runs of one round are countable, and no round inherits a backlog.
  const taskQueue = `bench-gateway-${randomUUID().slice(0, 8)}`;
  const deliveries = readyIssueDeliveries(ctx.config.factory, ctx.linearSecret, starts);
  const url = new URL('/webhooks/linear', await target.start({ op: 'start', target: 'gateway-temporal', temporal: { address: ctx.server.address, namespace: ctx.server.namespace }, taskQueue }));
  const poster = httpPoster(START_CONCURRENCY);
  let round: RoundResult;
  let cpuMicros: number;
  try {
    round = await closedLoop({ concurrency: START_CONCURRENCY, total: starts, call: (i) => poster.post(url, deliveries[i]!) });
  } finally {
    poster.close();
    ({ cpuMicros } = await target.stop());
  }
  round = withCpu(round, cpuMicros);
  expectOnly(200, round, 'gateway → signal-with-start');
  await expectRuns(ctx, taskQueue, starts);
  return round;
}

async function directStartRound(ctx: StartContext, starts: number): Promise<RoundResult> {
  const taskQueue = `bench-direct-${randomUUID().slice(0, 8)}`;
  // The same issues and delivery ids the gateway would have been sent, minus HTTP.
  const deliveries = readyIssueDeliveries(ctx.config.factory, ctx.linearSecret, starts);
  const runTarget = { client: ctx.client, taskQueue, policy: linePolicyFromConfig(ctx.config) };
  // The driver is the serving side here: its CPU per call is what the Temporal client costs.
  const cpuBefore = process.cpuUsage();
  const measured = await closedLoop({
    concurrency: START_CONCURRENCY,
    total: starts,
    call: async (i) => {
      const { issue, deliveryId } = deliveries[i]!;
      await signalWithStartIssue(runTarget, issue, { kind: 'issue-ready', deliveryId });
      return 200;
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  const round = withCpu(measured, cpu.user + cpu.system);
  expectOnly(200, round, 'direct signal-with-start');
  await expectRuns(ctx, taskQueue, starts);
  return round;
}

// ── the run ───────────────────────────────────────────────────────────────────────────────
interface Row {
  scenario: string;
  gateway: RoundResult[];
  baseline: RoundResult[];
  target: number;
}

/** The ratio of the latest pair of rounds: adjacent in time, so it shows how much the machine drifts. */
function pairRatio(row: Row): string {
  return `${''.padEnd(28)} this pair's ratio ${(row.gateway.at(-1)!.rps / row.baseline.at(-1)!.rps).toFixed(3)}`;
}

function table(rows: Row[]): string {
  const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  return formatTable(
    ['scenario', 'gateway rps', 'baseline rps', 'ratio', 'target', 'gateway p50/p99 ms', 'baseline p50/p99 ms', 'CPU µs/call gateway / baseline'],
    rows.map((row) => {
      const g = summarize(row.gateway);
      const b = summarize(row.baseline);
      const ratio = g.rps / b.rps;
      return [
        row.scenario,
        g.rps.toFixed(0),
        b.rps.toFixed(0),
        ratio.toFixed(3),
        `≥ ${row.target} ${ratio >= row.target ? 'met' : 'MISSED'}`,
        `${ms(g.p50Ms)} / ${ms(g.p99Ms)}`,
        `${ms(b.p50Ms)} / ${ms(b.p99Ms)}`,
        `${g.cpuUsPerCall.toFixed(0)} / ${b.cpuUsPerCall.toFixed(0)}`,
      ];
    }),
  );
}

async function main(): Promise<void> {
  const config = loadConfig({ profile: 'sandbox' });
  const githubSecret = randomBytes(24).toString('hex');
  const linearSecret = randomBytes(24).toString('hex');
  const cores = cpus();
  const loadBefore = loadavg()[0]!;
  log(`bench/gateway: ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${ROUNDS} rounds per side`);

  const target = await Target.fork({ ...process.env, GITHUB_WEBHOOK_SECRETS: githubSecret, LINEAR_WEBHOOK_SECRETS: linearSecret });
  let server: DevServer | undefined;
  let connection: Connection | undefined;
  const rows: Row[] = [];
  try {
    if (RUN_NO_SIGNAL) {
      const pullRequest = notAllowlistedPullRequest(config.factory, githubSecret);
      log(`\nno-signal path: ${ROUND_MS / 1000} s per round, ${HTTP_CONCURRENCY} in flight`);
      await noSignalRound(target, 'gateway-no-signal', pullRequest, WARMUP_MS);
      await noSignalRound(target, 'bare', pullRequest, WARMUP_MS);
      const noSignal: Row = { scenario: `GitHub PR, repo not allowlisted → 202 (${HTTP_CONCURRENCY} in flight)`, gateway: [], baseline: [], target: 0.5 };
      for (let i = 1; i <= ROUNDS; i++) {
        noSignal.gateway.push(await noSignalRound(target, 'gateway-no-signal', pullRequest, ROUND_MS));
        log(describeRound(`round ${i} gateway`, noSignal.gateway.at(-1)!));
        noSignal.baseline.push(await noSignalRound(target, 'bare', pullRequest, ROUND_MS));
        log(describeRound(`round ${i} bare node:http`, noSignal.baseline.at(-1)!));
        log(pairRatio(noSignal));
      }
      rows.push(noSignal);
    }
    if (RUN_STARTS) {
      log('\nstarting a Temporal dev server for the signal-with-start path');
      server = await startDevServer({ cli: ensureTemporalCli(), uiPort: null, searchAttributes: config.temporal.searchAttributes });
      connection = await Connection.connect({ address: server.address });
      const ctx: StartContext = { config, linearSecret, server, client: new Client({ connection, namespace: server.namespace }) };
      log(`signal-with-start path: ${STARTS} distinct ready issues per round, ${START_CONCURRENCY} in flight, no worker`);
      await gatewayStartRound(ctx, target, Math.min(STARTS, 100));
      await directStartRound(ctx, Math.min(STARTS, 100));
      const starts: Row = { scenario: `Linear ready issue → signal-with-start (${START_CONCURRENCY} in flight)`, gateway: [], baseline: [], target: 0.9 };
      for (let i = 1; i <= ROUNDS; i++) {
        starts.gateway.push(await gatewayStartRound(ctx, target, STARTS));
        log(describeRound(`round ${i} gateway`, starts.gateway.at(-1)!));
        starts.baseline.push(await directStartRound(ctx, STARTS));
        log(describeRound(`round ${i} direct signalWithStart`, starts.baseline.at(-1)!));
        log(pairRatio(starts));
      }
      rows.push(starts);
    }
  } finally {
    await target.exit();
    await connection?.close();
    await server?.stop();
  }

  process.stdout.write(`\n${table(rows)}\n`);
  process.stdout.write(
    `\nmachine: ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${process.platform}/${process.arch}; ` +
      `load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after\n` +
      `medians over ${ROUNDS} alternating rounds per side; ratio = gateway rps / baseline rps; the load generator runs in its own process\n` +
      `CPU µs/call: CPU time of the serving process per answered call (the target process for servers, the driver for the direct signalWithStart loop)\n`,
  );
}

main().catch((err: unknown) => {
  log(`bench/gateway failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
