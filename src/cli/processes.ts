// Long-running processes: the worker and the gateway, each stopping cleanly on SIGINT/SIGTERM.
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
import { createConveyorWorker, installRuntime } from '../workers/worker.js';

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

export async function runWorkerProcess(config: Config): Promise<void> {
  const logger = createLogger({ name: 'conveyor-worker' });
  installRuntime(config, { metrics: true, logger });
  const integrations = buildIntegrations(config, process.env, logger);
  const client = await connectClient(config);
  const connection = await connectNative(config);
  const worker = await createConveyorWorker({ config, connection, client, integrations, logger });
  logger.info({ temporal: describeTarget(config), profile: config.profile, metrics: `http://127.0.0.1:${config.temporal.worker.metricsPort}/metrics` }, 'worker running');
  void untilSignal().then((signal) => {
    logger.info({ signal }, 'shutting down: in-flight activities get the grace time, agents are cancelled');
    worker.shutdown();
  });
  try {
    await worker.run();
  } finally {
    await connection.close();
    await client.connection.close();
  }
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
