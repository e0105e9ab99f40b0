// Long-running processes: the worker and the gateway, each stopping cleanly on SIGINT/SIGTERM.
import { resolve } from 'node:path';
import { createLogger } from '../logging.js';
import type { Config } from '../config/load.js';
import { linePolicyFromConfig } from '../config/line-policy.js';
import { secretsFromEnv } from '../gateway/secrets.js';
import { DEFAULT_GATEWAY_PORT, startGateway } from '../gateway/server.js';
import { createTemporalSignals } from '../gateway/temporal-signals.js';
import { connectClient, connectNative, describeTarget } from '../temporal/connection.js';
import { cachedFailureReport, failureReport } from '../temporal/failure-report.js';
import { blockedIssuesOf } from '../activities/judgement.js';
import { createLinearTracker } from '../integrations/linear-tracker.js';
import { buildIntegrations } from '../workers/integrations.js';
import { durationMs } from '../domain/duration.js';
import { killOwnAgents } from '../integrations/leftover-agents.js';
import { freePort } from '../temporal/dev-server.js';
import { gracefulStop, signalExitCode } from '../workers/graceful-stop.js';
import { startMetricsServer } from '../workers/metrics-server.js';
import { createWorkerMetrics } from '../workers/worker-metrics.js';
import { createConveyorWorker, installRuntime } from '../workers/worker.js';
import { currentAllocator, missingPreload } from '../integrations/allocator.js';

/**
 * Resolves on the first SIGINT or SIGTERM. Later signals do not kill the process while it
 * drains (a Ctrl-C reaches npm, tsx and node at once, and npm passes it on again); a signal
 * more than 3 s after the first one forces the exit, for an operator who really means it.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | null = null;
    const on = (signal: NodeJS.Signals) => {
      if (first === null) {
        first = Date.now();
        resolve(signal);
      } else if (Date.now() - first > 3_000) {
        console.error(`[conveyor] ${signal} again: exiting without waiting for the drain`);
        process.exit(130);
      }
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** From a SIGTERM to the forced exit: `worker.shutdownDeadline`, else the grace time plus 10 s. */
export function shutdownDeadlineMs(config: Config): number {
  const { shutdownGraceTime, shutdownDeadline } = config.temporal.worker;
  return shutdownDeadline ? durationMs(shutdownDeadline) : durationMs(shutdownGraceTime) + 10_000;
}

/**
 * The worker process. The first SIGTERM (or Ctrl-C) stops polling and gives in-flight
 * activities `shutdownGraceTime` to finish; then the SDK cancels them, and a cancelled agent
 * activity kills its agent's process tree (its run retries it on another worker). The process
 * exits 0 once drained. A second signal exits at once, and `shutdownDeadline` exits whatever is
 * still running; both kill the agent trees this process started first, since no activity will.
 */
export async function runWorkerProcess(config: Config): Promise<void> {
  const logger = createLogger({ name: 'conveyor-worker' });
  // The SDK's exporter on an internal port; the configured one serves it and Conveyor's metrics together.
  const sdkMetricsPort = await freePort();
  installRuntime(config, { metrics: true, logger, sdkMetricsPort });
  const integrations = buildIntegrations(config, process.env, logger);
  const client = await connectClient(config);
  const connection = await connectNative(config);
  const metrics = createWorkerMetrics();
  const worker = await createConveyorWorker({ config, connection, client, integrations, logger, metrics });
  const metricsServer = await startMetricsServer({ port: config.temporal.worker.metricsPort, registry: metrics.registry, sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics` });
  const workspaceRoot = resolve(config.root, config.factory.workspaceDir);
  const deadlineMs = shutdownDeadlineMs(config);
  const allocator = currentAllocator();
  const preloadMissing = missingPreload(process.env.LD_PRELOAD, allocator);
  if (preloadMissing) logger.warn({ allocator: allocator.name }, preloadMissing);
  logger.info({ temporal: describeTarget(config), profile: config.profile, metrics: metricsServer.url, allocator: allocator.name }, 'worker running');
  const stop = gracefulStop({
    deadlineMs,
    drain: (signal) => {
      logger.info({ signal, graceTime: config.temporal.worker.shutdownGraceTime, deadlineMs }, 'shutting down: polling stopped; in-flight activities get the grace time, then agents are cancelled');
      worker.shutdown();
    },
    exitNow: async (reason, signal) => {
      const agents = await killOwnAgents(workspaceRoot).catch(() => []);
      logger.warn({ reason, signal, killedAgents: agents, afterMs: Date.now() - (stop.requestedAt ?? Date.now()) }, reason === 'deadline' ? 'shutdown deadline reached: exiting without waiting for the drain' : 'second signal: exiting without waiting for the drain');
      process.exit(reason === 'deadline' ? 1 : signalExitCode(signal));
    },
  });
  let drainedAt = 0;
  try {
    await worker.run();
  } finally {
    drainedAt = Date.now();
    await metricsServer.close();
    await connection.close();
    await client.connection.close();
  }
  // Where the stop's time went: the drain (polls ended, activities finished or cancelled after the
  // grace, agents killed), then closing the connections and the metrics server.
  if (stop.requestedAt !== null) logger.info({ stoppedInMs: Date.now() - stop.requestedAt, drainedInMs: drainedAt - stop.requestedAt, closedInMs: Date.now() - drainedAt }, 'worker stopped');
  stop.dispose();
  // Exit now: nothing of the worker is left to wait for, and the runtime's exporter would keep the process up.
  process.exit(0);
}

export async function runGatewayProcess(config: Config, port = DEFAULT_GATEWAY_PORT): Promise<void> {
  const logger = createLogger({ name: 'conveyor-gateway' });
  const secrets = secretsFromEnv(process.env);
  const client = await connectClient(config);
  const signals = createTemporalSignals({ client, taskQueue: config.taskQueue, policy: linePolicyFromConfig(config) });
  // With a Linear key the gateway tells blocked runs when their blocker finishes; without one
  // (a gateway host kept free of tracker credentials) the sweep does, a sweep interval later.
  const blockedBy = process.env.LINEAR_API_KEY ? blockedIssuesOf(createLinearTracker({ apiKey: process.env.LINEAR_API_KEY, apiUrl: config.factory.tracker.apiUrl, logger: logger.child({ integration: 'linear' }) })) : undefined;
  if (!blockedBy) logger.info({}, 'LINEAR_API_KEY is not set: runs blocked by an issue learn it finished from the sweep, not from its webhook');
  const failures = cachedFailureReport(() => failureReport(client, { taskQueue: config.taskQueue }));
  const gateway = await startGateway({ config, secrets, signals, logger, port, host: process.env.CONVEYOR_GATEWAY_HOST ?? '127.0.0.1', failures, ...(blockedBy ? { blockedBy } : {}) });
  logger.info({ url: gateway.url }, 'gateway listening');
  await untilSignal();
  await gateway.close();
  await client.connection.close();
}
