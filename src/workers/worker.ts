// The worker process: one Temporal worker running both workflows and every activity, wired
// to the real integrations. At start-up it makes sure the fleet runs with this config's caps,
// and refuses to start beside a fleet that runs another configuration.
import { DefaultLogger, Runtime, Worker, type LogEntry, type NativeConnection } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createFleetActivities } from '../activities/fleet-activities.js';
import { createLedgerActivities } from '../activities/ledger-activities.js';
import { createLineActivities } from '../activities/line-activities.js';
import { createSweepActivities } from '../activities/sweep-activities.js';
import { linePolicyFromConfig } from '../config/line-policy.js';
import { ensureSweepSchedule } from '../temporal/sweep-schedule.js';
import type { Config } from '../config/load.js';
import { fleetCapacity } from '../config/fleet-capacity.js';
import { durationMs } from '../domain/duration.js';
import { fleetWorkflowId, hostTaskQueue } from '../domain/naming.js';
import { thisHost } from '../integrations/agent-records.js';
import { configurer, startFleet, type FleetStart } from '../temporal/runs.js';
import { startHostReaper } from './host-reaper.js';
import type { Integrations } from './integrations.js';
import { loadWorkflowBundle } from './workflow-bundle.js';
import { instrumentLineActivities, instrumentTriageAdvisor, registerFleetCollectors, type WorkerMetrics } from './worker-metrics.js';

/**
 * Start the fleet with this config's caps if it is not running. A running fleet with another
 * configuration is changed only with `apply` (conveyor dev, the only worker of its sandbox);
 * otherwise this throws FleetConfigMismatchError, naming each differing key.
 */
export async function ensureFleet(client: Client, config: Config, options: { apply?: boolean; by?: string } = {}): Promise<FleetStart> {
  return startFleet(client, config.taskQueue, fleetCapacity(config), { apply: options.apply, by: options.by ?? configurer('worker') });
}

let runtimeInstalled = false;

/** How long a stopping worker waits for a reaper pass in flight (its work is redone at the next start). */
const REAPER_STOP_WAIT_MS = 500;

/** The SDK's own log lines go to our logger, one line each: a failed activity's message and
 * class, not its stack (the stack is in the run's history, where engineers look). */
function sdkLogger(logger: Logger): DefaultLogger {
  return new DefaultLogger('WARN', (entry: LogEntry) => {
    const { error, ...meta } = entry.meta ?? {};
    const fields = { ...meta, ...(error instanceof Error ? { error: error.message, errorType: (error as { type?: string }).type } : {}) };
    const level = entry.level === 'ERROR' ? 'error' : entry.level === 'WARN' ? 'warn' : 'info';
    logger[level](fields, entry.message);
  });
}

/**
 * Installs the Temporal runtime once per process, with the SDK's Prometheus exporter on the
 * worker's metrics port, or on `sdkMetricsPort` when Conveyor's metrics server serves that port
 * (it then shows the SDK's metrics first, its own after).
 */
export function installRuntime(config: Config, options: { metrics: boolean; logger: Logger; sdkMetricsPort?: number }): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const port = options.sdkMetricsPort ?? config.temporal.worker.metricsPort;
  Runtime.install({
    logger: sdkLogger(options.logger),
    telemetryOptions: options.metrics ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } } : undefined,
  });
}

export interface ConveyorWorker {
  worker: Worker;
  /** How the fleet was found at start-up (started, matching, or changed by `applyFleetConfig`). */
  fleet: FleetStart;
  /** Runs until shutdown() or a fatal error. */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createConveyorWorker(options: {
  config: Config;
  connection: NativeConnection;
  client: Client;
  integrations: Integrations;
  logger: Logger;
  /** Change a running fleet's configuration to this one instead of refusing to start (conveyor dev). */
  applyFleetConfig?: { by: string };
  /** Conveyor's own metrics: the activities count into it, and Temporal is read on scrape. */
  metrics?: WorkerMetrics;
}): Promise<ConveyorWorker> {
  const { config, connection, client, integrations, logger } = options;
  // Before the worker exists: a worker that must not run never polls.
  const fleet = await ensureFleet(client, config, { apply: options.applyFleetConfig !== undefined, by: options.applyFleetConfig?.by });
  // What a killed predecessor on this host left (agents nobody supervises, worktrees of closed
  // runs) goes before this worker takes new work; then on every policies.reapInterval.
  const reaper = startHostReaper({ config, client, workspaces: integrations.workspaces, logger: logger.child({ part: 'reaper' }) });
  await reaper.first;
  // Then what earlier workers' agent runs left beyond agents.runFiles; the runner prunes again
  // after runs, at most every 10 minutes.
  await integrations.agents.pruneRunFiles?.();
  const workflowBundle = await loadWorkflowBundle((line) => logger.info(line));
  // This host's own queue: the worktree steps of runs whose agent ran here come to it alone.
  const host = { id: thisHost(), taskQueue: hostTaskQueue(config.taskQueue, thisHost()) };
  const advisor = integrations.advisor && options.metrics ? instrumentTriageAdvisor(integrations.advisor, options.metrics) : integrations.advisor;
  const line = createLineActivities({ factory: config.factory, root: config.root, ...integrations, host, ...(advisor ? { advisor } : {}), logger: logger.child({ part: 'activities' }) });
  const lineActivities = options.metrics ? instrumentLineActivities(line, options.metrics) : line;
  if (options.metrics) registerFleetCollectors(options.metrics, { client, taskQueue: config.taskQueue, windowMs: durationMs(config.temporal.worker.progressWindow) });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.connection.namespace,
    taskQueue: config.taskQueue,
    workflowBundle,
    activities: {
      ...lineActivities,
      ...createFleetActivities({ client, taskQueue: config.taskQueue, capacity: fleetCapacity(config) }),
      ...createLedgerActivities({ client }),
      ...createSweepActivities({ client, ...integrations, config, taskQueue: config.taskQueue, logger: logger.child({ part: 'sweep' }) }),
    },
    maxConcurrentActivityTaskExecutions: config.temporal.worker.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: config.temporal.worker.maxConcurrentWorkflowTaskExecutions,
    // Waiting runs are evicted beyond this many and replay when woken (temporal-schema.ts says why).
    maxCachedWorkflows: config.temporal.worker.maxCachedWorkflows,
    // In-flight activities get this long to finish (agents are cancelled and their trees killed).
    shutdownGraceTime: durationMs(config.temporal.worker.shutdownGraceTime),
  });
  const hostWorker = await Worker.create({
    connection,
    namespace: config.temporal.connection.namespace,
    taskQueue: host.taskQueue,
    activities: lineActivities,
    maxConcurrentActivityTaskExecutions: config.temporal.worker.maxConcurrentActivityTaskExecutions,
    shutdownGraceTime: durationMs(config.temporal.worker.shutdownGraceTime),
  });
  // The reconcile sweep makes a lost webhook harmless: every few minutes it starts ready issues
  // that have no run and nudges the runs of open factory PRs. It also compensates runs that were
  // terminated or timed out before their release station.
  const { scheduleId } = await ensureSweepSchedule(client, { taskQueue: config.taskQueue, policy: linePolicyFromConfig(config), every: config.factory.policies.sweepInterval });
  logger.info({ taskQueue: config.taskQueue, hostTaskQueue: host.taskQueue, fleet: fleetWorkflowId(config.taskQueue), fleetFingerprint: fleet.fingerprint.slice(0, 12), sweepSchedule: scheduleId }, 'worker ready');
  // Idempotent: a second Ctrl-C, or a cleanup after a signal, must not throw mid-drain.
  const stop = () => {
    for (const w of [worker, hostWorker]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    worker,
    fleet,
    run: async () => {
      try {
        // Both queues or neither: a worker whose host queue failed must not go on taking agents.
        await Promise.all([worker.run(), hostWorker.run()].map((running) => running.catch((err: unknown) => {
          stop();
          throw err;
        })));
      } finally {
        // A pass in flight gets a moment, not the whole of a slow pass: the worker is stopping.
        await reaper.stop(REAPER_STOP_WAIT_MS);
      }
    },
    shutdown: stop,
  };
}
