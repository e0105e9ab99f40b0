// The whole factory in one process, on the sandbox: emulators, gateway, worker and the demo
// reviewer around a Temporal server that is already running. `conveyor dev` puts a dev
// server under it; the end-to-end tests put the test run's dev server under it.
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config/load.js';
import { linePolicyFromConfig } from '../config/line-policy.js';
import { startGateway, type GatewayOptions, type StartedGateway } from '../gateway/server.js';
import { createTemporalSignals } from '../gateway/temporal-signals.js';
import { connectClient, connectNative } from '../temporal/connection.js';
import { cachedFailureReport, failureReport } from '../temporal/failure-report.js';
import { blockedIssuesOf } from '../activities/judgement.js';
import { buildIntegrations, type Integrations } from '../workers/integrations.js';
import { createConveyorWorker, type ConveyorWorker } from '../workers/worker.js';
import type { WorkerMetrics } from '../workers/worker-metrics.js';
import { seedDemo, startDemoReviewer } from './demo.js';
import { SANDBOX_CREDENTIALS, startSandbox, withSandboxAdvisor, type Sandbox } from './sandbox.js';

export interface LocalFactory {
  config: Config;
  sandbox: Sandbox;
  gateway: StartedGateway;
  client: Client;
  integrations: Integrations;
  /** The worker's connection: another worker (a benchmark's baseline) may share it. */
  connection: NativeConnection;
  worker: ConveyorWorker;
  /** Settles when the worker stops. */
  running: Promise<void>;
  seeded: boolean;
  stop(): Promise<void>;
}

/**
 * The gateway as the sandbox runs it: the sandbox's webhook secrets, signals to `config`'s task
 * queue with the line policy from `config`, on loopback. `npm run dev`, the benches and the tests
 * that run the line end to end start it the same way.
 */
export function startSandboxGateway(options: { config: Config; client: Client; logger: Logger; port: number } & Pick<GatewayOptions, 'blockedBy' | 'failures'>): Promise<StartedGateway> {
  const { config, client } = options;
  return startGateway({
    config,
    secrets: { linear: [SANDBOX_CREDENTIALS.LINEAR_WEBHOOK_SECRETS], github: [SANDBOX_CREDENTIALS.GITHUB_WEBHOOK_SECRETS] },
    signals: createTemporalSignals({ client, taskQueue: config.taskQueue, policy: linePolicyFromConfig(config) }),
    logger: options.logger,
    port: options.port,
    host: '127.0.0.1',
    ...(options.blockedBy ? { blockedBy: options.blockedBy } : {}),
    ...(options.failures ? { failures: options.failures } : {}),
  });
}

/** The config with `agent` as agents.default; an unknown name stops start-up with the names there are. */
export function withAgent(config: Config, agent: string | undefined): Config {
  if (agent === undefined || agent === '' || agent === config.factory.agents.default) return config;
  const known = Object.keys(config.factory.agents.providers);
  if (!known.includes(agent)) throw new ConfigError(`CONVEYOR_AGENT=${agent} is not an agent of ${config.files.factory}: use one of ${known.join(', ')}.`);
  return { ...config, factory: { ...config.factory, agents: { ...config.factory.agents, default: agent } } };
}

export async function startLocalFactory(options: {
  config: Config;
  logger: Logger;
  dataDir?: string;
  ports?: { gateway?: number; linear?: number; github?: number; models?: number };
  /** The agent provider issues go to (agents.default), e.g. `claude` for the real Claude Code CLI
   * against the model emulator; absent: the configured default (the demo agent). */
  agent?: string;
  /** Seed the three demo issues (and start the demo reviewer). */
  demo?: boolean;
  /** Seed the backlog for `conveyor triage --all` too (conveyor dev; the e2e tests do not). */
  backlog?: boolean;
  ciDelayMs?: number;
  /** Change a running fleet's configuration to this one instead of refusing (conveyor dev). */
  applyFleetConfig?: { by: string };
  /** Conveyor's worker metrics (the caller serves their registry). */
  metrics?: WorkerMetrics;
  /** Wraps the integrations the worker gets (a benchmark times the calls on a dispatch's path). */
  instrument?: (integrations: Integrations) => Integrations;
}): Promise<LocalFactory> {
  const { logger } = options;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async () => {
    for (const step of cleanups.reverse()) await (async () => step())().catch(() => undefined);
  };
  try {
    const gatewayPort = options.ports?.gateway ?? (await (await import('../temporal/dev-server.js')).freePort());
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const sandbox = await startSandbox({ config: withAgent(options.config, options.agent), dataDir: options.dataDir, linearPort: options.ports?.linear, githubPort: options.ports?.github, modelsPort: options.ports?.models, gatewayUrl, ciDelayMs: options.ciDelayMs, logger });
    cleanups.push(() => sandbox.close());
    const env = { ...process.env, ...SANDBOX_CREDENTIALS };
    const config = withSandboxAdvisor(sandbox.config, env, sandbox.models);

    const client = await connectClient(config, env);
    cleanups.push(() => client.connection.close());
    const built = buildIntegrations(config, env, logger);
    const integrations = options.instrument ? options.instrument(built) : built;
    const gateway = await startSandboxGateway({
      config,
      client,
      logger,
      port: gatewayPort,
      blockedBy: blockedIssuesOf(integrations.tracker),
      failures: cachedFailureReport(() => failureReport(client, { taskQueue: config.taskQueue })),
    });
    cleanups.push(() => gateway.close());

    const connection = await connectNative(config, env);
    cleanups.push(() => connection.close());
    const worker = await createConveyorWorker({ config, connection, client, integrations, logger, applyFleetConfig: options.applyFleetConfig, metrics: options.metrics });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running.catch(() => undefined);
    });

    let seeded = false;
    if (options.demo !== false) {
      const reviewer = startDemoReviewer({ sandbox, forge: integrations.forge, logger, intervalMs: 1_000 });
      cleanups.push(() => reviewer.stop());
      seeded = await seedDemo(sandbox, logger, { backlog: options.backlog ?? false });
    }
    return { config, sandbox, gateway, client, integrations, connection, worker, running, seeded, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
