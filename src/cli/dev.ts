// `conveyor dev` (what `npm run dev` runs): the whole factory on this machine. The Temporal dev
// server with its Web UI and a persistent SQLite file, the Linear and GitHub emulators with a
// seeded demo, the gateway and the worker. Ctrl-C stops everything; the next start finds the
// earlier runs (and the sandbox's issues and repos) still there.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type Config } from '../config/load.js';
import { DEFAULT_GATEWAY_PORT } from '../gateway/server.js';
import { createLogger } from '../logging.js';
import { DEMO_REPO } from '../sandbox/demo.js';
import { startLocalFactory, type LocalFactory } from '../sandbox/local-factory.js';
import { reapLeftoverAgents } from '../integrations/leftover-agents.js';
import { ensureTemporalCli } from '../temporal/cli-binary.js';
import { freePort, startDevServer } from '../temporal/dev-server.js';
import { startMetricsServer, type MetricsServer } from '../workers/metrics-server.js';
import { installRuntime } from '../workers/worker.js';
import { createWorkerMetrics } from '../workers/worker-metrics.js';
import { clearDevRecord, readDevRecord, recordProcess, stillRunning, stopProcess, writeDevRecord, type DevRecord } from './dev-record.js';
import { untilSignal } from './processes.js';

/** The emulators' state, beside the dev server's history under the gitignored .data/. */
const SANDBOX_DATA_DIR = '.data/sandbox';

const say = (line: string) => console.log(`[conveyor] ${line}`);

function port(env: string | undefined, fallback: number): number {
  return env ? Number(env) : fallback;
}

async function ensureFree(name: string, value: number, variable: string): Promise<void> {
  const { createServer } = await import('node:net');
  await new Promise<void>((ok, fail) => {
    const server = createServer();
    server.once('error', () => fail(new ConfigError(`Port ${value} (${name}) is in use. Stop what holds it (another npm run dev?) or set ${variable} to another port.`)));
    server.listen(value, '127.0.0.1', () => server.close(() => ok()));
  });
}

async function portIsFree(value: number): Promise<boolean> {
  return ensureFree('Temporal', value, 'CONVEYOR_TEMPORAL_PORT').then(
    () => true,
    () => false,
  );
}

/**
 * Before anything binds a port: the earlier `conveyor dev` of this root, if its record says one
 * ran. A live one is refused with its pid; a killed one (terminal closed, out of memory) left
 * its dev server (its own process group, so the kill missed it) and its agents (their own groups
 * too) running: the server is stopped, since its output pipes led to the dead process and it
 * would die on its next log line, and the agents are killed, so none goes on and commits with
 * no worker watching. Their runs retry them once the new worker polls.
 */
async function recoverFromEarlierRun(config: Config): Promise<void> {
  const earlier = readDevRecord(config.root);
  if (earlier && earlier.dev.pid !== process.pid && (await stillRunning(earlier.dev))) {
    throw new ConfigError(
      `Another conveyor dev is running in ${config.root} (pid ${earlier.dev.pid}, since ${earlier.startedAt}; Temporal at ${earlier.temporal?.address ?? 'starting'}). Use that one, or stop it (Ctrl-C in its terminal, or kill ${earlier.dev.pid}) and start again.`,
    );
  }
  if (earlier?.temporal && (await stillRunning(earlier.temporal))) {
    say(`an earlier npm run dev was killed; stopping the Temporal dev server it left running (pid ${earlier.temporal.pid}, ${earlier.temporal.address})`);
    await stopProcess(earlier.temporal);
    // Gone is not yet free: the port check that follows would fail on a socket still closing.
    const heldPort = Number(earlier.temporal.address.split(':').pop());
    const until = Date.now() + 15_000;
    while (Number.isInteger(heldPort) && Date.now() < until && !(await portIsFree(heldPort))) await new Promise((r) => setTimeout(r, 200));
  }
  const reaped = await reapLeftoverAgents(resolve(config.root, config.factory.workspaceDir));
  const killed = reaped.groups.length + reaped.strays.length;
  if (killed > 0) say(`stopped ${reaped.groups.length} agent${reaped.groups.length === 1 ? '' : 's'} left running by an earlier npm run dev (pids ${[...reaped.groups, ...reaped.strays].join(', ')}); their runs retry them`);
  if (earlier) clearDevRecord(config.root);
}

export async function runDev(options: { config: Config }): Promise<void> {
  const base = options.config;
  if (base.profile === 'runtime') throw new ConfigError('conveyor dev runs the sandbox or dev profile; use conveyor worker and conveyor gateway on a runtime host.');
  const env = process.env;
  const logger = createLogger({ name: 'conveyor-dev', level: env.CONVEYOR_LOG_LEVEL ?? 'warn' });
  const { devServer } = base.temporal;
  const ports = {
    temporal: port(env.CONVEYOR_TEMPORAL_PORT, devServer.port),
    ui: port(env.CONVEYOR_UI_PORT, devServer.uiPort),
    gateway: port(env.CONVEYOR_GATEWAY_PORT, DEFAULT_GATEWAY_PORT),
    linear: port(env.CONVEYOR_LINEAR_PORT, 8788),
    github: port(env.CONVEYOR_GITHUB_PORT, 8789),
    models: port(env.CONVEYOR_MODELS_PORT, 8790),
    metrics: port(env.CONVEYOR_METRICS_PORT, base.temporal.worker.metricsPort),
  };
  await recoverFromEarlierRun(base);
  await ensureFree('Temporal', ports.temporal, 'CONVEYOR_TEMPORAL_PORT');
  await ensureFree('Temporal Web UI', ports.ui, 'CONVEYOR_UI_PORT');
  await ensureFree('gateway', ports.gateway, 'CONVEYOR_GATEWAY_PORT');
  await ensureFree('Linear emulator', ports.linear, 'CONVEYOR_LINEAR_PORT');
  await ensureFree('GitHub emulator', ports.github, 'CONVEYOR_GITHUB_PORT');
  await ensureFree('model emulator', ports.models, 'CONVEYOR_MODELS_PORT');
  if (!(await ensureFree('worker metrics', ports.metrics, 'CONVEYOR_METRICS_PORT').then(() => true, () => false))) ports.metrics = await freePort();

  const cli = ensureTemporalCli({ root: base.root, log: say });
  const dbFile = resolve(base.root, devServer.dbFile);
  say(`starting the Temporal dev server (history kept in ${dbFile})`);
  const record: DevRecord = { dev: await recordProcess(process.pid), startedAt: new Date().toISOString(), ports, temporal: null };
  writeDevRecord(base.root, record);
  const server = await startDevServer({ cli, ip: devServer.ip, port: ports.temporal, uiPort: ports.ui, dbFile, namespace: devServer.namespace, searchAttributes: base.temporal.searchAttributes }).catch((err: unknown) => {
    clearDevRecord(base.root);
    throw err;
  });
  writeDevRecord(base.root, { ...record, temporal: { ...(await recordProcess(server.process.pid!)), address: server.address, dbFile } });
  let factory: LocalFactory | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    const temporal = { ...base.temporal, connection: { ...base.temporal.connection, address: server.address, namespace: devServer.namespace }, worker: { ...base.temporal.worker, metricsPort: ports.metrics } };
    const sdkMetricsPort = await freePort();
    installRuntime({ ...base, temporal }, { metrics: true, logger, sdkMetricsPort });
    const metrics = createWorkerMetrics();
    say('bundling the workflow code and starting the worker, the gateway and the sandbox');
    factory = await startLocalFactory({
      config: { ...base, temporal },
      logger,
      dataDir: resolve(base.root, SANDBOX_DATA_DIR),
      ports: { gateway: ports.gateway, linear: ports.linear, github: ports.github, models: ports.models },
      // CONVEYOR_AGENT=claude (or codex) sends the demo issues to the real CLI against the model emulator.
      agent: env.CONVEYOR_AGENT,
      // The only worker of its sandbox: a changed fleet section in factory.yaml is applied, not refused.
      applyFleetConfig: { by: 'conveyor dev' },
      // A backlog of every kind of issue for `conveyor triage --all`; it sits in Backlog, so it starts nothing.
      backlog: true,
      metrics,
    });
    metricsServer = await startMetricsServer({ port: ports.metrics, registry: metrics.registry, sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics` });
    const { sandbox, config, running, worker } = factory;
    const gatewayUrl = factory.gateway.url;
    if (factory.seeded) say(`seeded the demo: repo ${DEMO_REPO} and three issues in team DEMO, and a backlog in DEMO and OPS for \`conveyor triage --all\``);
    else say('the sandbox already has its demo (conveyor sandbox reset starts it over)');
    if (worker.fleet.outcome === 'applied') {
      say('the fleet ran another configuration; applied this one:');
      for (const change of worker.fleet.changes) say(`  ${change.key}: ${change.from} → ${change.to}`);
    }

    const ui = `${server.uiUrl}/namespaces/${devServer.namespace}/workflows`;
    say('');
    say(`Temporal Web UI   ${ui}`);
    say(`Temporal          ${server.address} (task queue ${config.taskQueue})`);
    say(`gateway           ${gatewayUrl}/webhooks/linear, ${gatewayUrl}/webhooks/github, /healthz, /readyz, /metrics`);
    say(`Linear emulator   ${sandbox.linear.url} (admin: ${sandbox.linear.baseUrl}/_sandbox/state)`);
    say(`GitHub emulator   ${sandbox.github.url} (git: ${sandbox.github.webUrl}/${DEMO_REPO}.git)`);
    say(`model emulator    ${sandbox.models.url} (Anthropic /v1/messages, OpenAI /v1/responses; log: /_sandbox/requests)`);
    say(`agent             ${config.factory.agents.default}${env.CONVEYOR_AGENT ? ' (CONVEYOR_AGENT)' : ' (set CONVEYOR_AGENT=claude or codex for a real CLI)'}`);
    const advisor = factory.integrations.advisor;
    say(`triage advisor    ${advisor ? `${advisor.provider} ${advisor.model}, against the model emulator` : 'off (CONVEYOR_TRIAGE_MODEL_PROVIDER=anthropic or openai turns it on, against the model emulator)'}`);
    say(`worker metrics    http://127.0.0.1:${ports.metrics}/metrics`);
    say('');
    say('Find an issue in the Web UI with a query such as: ConveyorIssueKey = "DEMO-1"');
    say('Ctrl-C stops everything; the next npm run dev finds these runs again.');

    const stopped = await Promise.race([untilSignal().then(() => 'signal' as const), running.then(() => 'worker' as const)]);
    say(stopped === 'signal' ? 'stopping: the worker drains, then everything else' : 'the worker stopped; shutting down');
    worker.shutdown();
    await running.catch((err: unknown) => logger.error({ err: (err as Error).message }, 'worker ended with an error'));
  } finally {
    // The factory first (the worker drains against a live server), then the server.
    await metricsServer?.close();
    await factory?.stop();
    await server.stop();
    clearDevRecord(base.root);
    say('stopped');
  }
}

export async function resetSandbox(config: Config): Promise<void> {
  await recoverFromEarlierRun(config);
  const paths = [resolve(config.root, SANDBOX_DATA_DIR), resolve(config.root, config.temporal.devServer.dbFile), resolve(config.root, config.factory.workspaceDir)];
  try {
    await ensureFree('Temporal', config.temporal.devServer.port, 'CONVEYOR_TEMPORAL_PORT');
  } catch {
    throw new ConfigError('A dev server is running on the configured port: stop npm run dev before resetting the sandbox.');
  }
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  say(`removed ${paths.join(', ')}`);
}
