// The sandbox factory as an end-to-end test runs it: the run's shared dev server, a task queue
// and a data folder of its own, CI that answers quickly, and nothing logged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import type { FactoryConfig } from '../../src/config/factory-schema.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { startLocalFactory, type LocalFactory } from '../../src/sandbox/local-factory.js';
import type { WorkerMetrics } from '../../src/workers/worker-metrics.js';
import { recordGatewayRoutes } from './route-record.js';
import { uniqueTaskQueue } from './temporal.js';

export type E2eFactory = LocalFactory & { cleanup(): Promise<void> };

export async function startE2eFactory(
  name: string,
  options: {
    demo: boolean;
    metrics?: WorkerMetrics;
    agent?: string;
    triageAdvisor?: 'anthropic' | 'openai';
    /** Changes to the sandbox's factory config (agents, switches). */
    factory?: (factory: FactoryConfig) => FactoryConfig;
    /** What an earlier worker left in the workspace folder, written before this worker starts. */
    workspace?: (workspaceDir: string) => void;
  },
): Promise<E2eFactory> {
  const dataDir = mkdtempSync(join(tmpdir(), `conveyor-${name}-`));
  const base = loadConfig({ profile: 'sandbox' });
  const shaped = options.factory ? { ...base, factory: options.factory(base.factory) } : base;
  const config: Config = {
    ...shaped,
    taskQueue: uniqueTaskQueue(name),
    temporal: { ...shaped.temporal, connection: { ...shaped.temporal.connection, address: inject('temporalAddress'), namespace: inject('temporalNamespace') } },
    factory: {
      ...shaped.factory,
      workspaceDir: join(dataDir, 'workspaces'),
      // The LLM triage tier, on against the sandbox's model emulator (see withSandboxAdvisor).
      ...(options.triageAdvisor ? { triageAdvisor: { ...shaped.factory.triageAdvisor, provider: options.triageAdvisor } } : {}),
    },
  };
  options.workspace?.(config.factory.workspaceDir);
  const factory = await startLocalFactory({ config, logger: pino({ level: 'silent' }), dataDir, ciDelayMs: 50, demo: options.demo, metrics: options.metrics, agent: options.agent });
  return {
    ...factory,
    async cleanup() {
      await recordGatewayRoutes(factory.gateway.url).catch(() => undefined);
      await factory.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
