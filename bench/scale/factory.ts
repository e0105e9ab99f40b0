// The factory under test, wired as src/sandbox/local-factory.ts wires `npm run dev`: the Linear
// and GitHub emulators sending signed webhooks to the real gateway, which starts runs by
// signal-with-start, and the real worker (createConveyorWorker) with the real activities over the
// real integrations. The only wrap (through startLocalFactory's `instrument`) notes when each
// issue's escalation comment was posted: the moment its run starts waiting.
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { factorySchema } from '../../src/config/factory-schema.js';
import { validate, type Config } from '../../src/config/load.js';
import { startLocalFactory } from '../../src/sandbox/local-factory.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import type { WebhookDelivery } from '../../src/sandbox/linear/webhooks.js';

export const SCALE_TEAM = 'SCALE';
export const SCALE_REPO = 'bench/scale';

/** Under 140 characters and no acceptance signal: triage finds it thin and escalates (DESIGN). */
const THIN_DESCRIPTION = 'Make the widgets faster.';

export interface ScaleIssue {
  id: string;
  key: string;
  /** When the bench created it (its create webhook starts the run). */
  createdAt: number;
}

export interface ScaleFactory {
  config: Config;
  sandbox: Sandbox;
  client: Client;
  connection: NativeConnection;
  /** When each issue's escalation comment was posted, by issue id. */
  escalatedAt: Map<string, number>;
  /** A thin issue, ready and labelled: the emulator's Issue create webhook starts its run. */
  createIssue(title: string): { issue: ScaleIssue; delivery: WebhookDelivery };
  stop(): Promise<void>;
}

/**
 * The factory.yaml the bench runs: the installation's policies with one team and one repo of
 * the bench's own. Returned as written (plain data), so the CLI the bench times can read the
 * same file.
 */
export function scaleFactoryInput(base: Config, workspaceDir: string): Record<string, unknown> {
  return {
    tracker: { kind: 'linear', teams: [{ key: SCALE_TEAM, defaultRepo: SCALE_REPO }], operators: [] },
    repos: [{ name: SCALE_REPO, baseBranch: 'main', mergePolicy: 'never' }],
    fleet: { slots: base.factory.fleet.slots, agentNames: base.factory.fleet.agentNames, holderCheckInterval: base.factory.fleet.holderCheckInterval },
    agents: { default: 'demo', providers: { demo: { command: ['node', '{root}/scripts/demo-agent.mjs', '{promptFile}'] } } },
    policies: base.factory.policies,
    workspaceDir,
  };
}

export async function startScaleFactory(options: { base: Config; address: string; namespace: string; taskQueue: string; workspaceDir: string; maxCachedWorkflows: number; logger: Logger }): Promise<ScaleFactory> {
  const { base, logger } = options;
  const factory = validate(factorySchema, scaleFactoryInput(base, options.workspaceDir), 'bench/scale (the bench factory config)');
  const config: Config = {
    ...base,
    factory,
    taskQueue: options.taskQueue,
    temporal: {
      ...base.temporal,
      connection: { ...base.temporal.connection, address: options.address, namespace: options.namespace },
      worker: { ...base.temporal.worker, maxCachedWorkflows: options.maxCachedWorkflows, maxConcurrentWorkflowTaskExecutions: Math.min(base.temporal.worker.maxConcurrentWorkflowTaskExecutions, options.maxCachedWorkflows) },
    },
  };
  const escalatedAt = new Map<string, number>();
  const local = await startLocalFactory({
    config,
    logger,
    demo: false,
    instrument: (integrations) => ({
      ...integrations,
      tracker: {
        ...integrations.tracker,
        comment: async (issueId, body) => {
          await integrations.tracker.comment(issueId, body);
          if (!escalatedAt.has(issueId)) escalatedAt.set(issueId, Date.now());
        },
      },
    }),
  });
  try {
    const { sandbox } = local;
    // Triage asks the forge whether the issue already has a factory PR: the repo must exist.
    await sandbox.github.createRepo({ owner: SCALE_REPO.split('/')[0]!, name: SCALE_REPO.split('/')[1]!, defaultBranch: 'main', files: { 'README.md': '# scale\n' } });
    sandbox.linear.createTeam({ key: SCALE_TEAM, name: 'Scale' });
    sandbox.linear.createLabel({ name: factory.policies.readyLabel });
    local.running.catch((err: unknown) => logger.error({ err: (err as Error).message }, 'the factory worker stopped'));
    const team = local.config.factory.tracker.teams[0]!;
    return {
      config: local.config,
      sandbox,
      client: local.client,
      connection: local.connection,
      escalatedAt,
      createIssue: (title) => {
        const createdAt = Date.now();
        const issue = sandbox.linear.createIssue({ teamKey: SCALE_TEAM, title, description: THIN_DESCRIPTION, priority: 3, stateName: team.readyState, labels: [factory.policies.readyLabel] });
        // The emulator records the delivery synchronously, so the newest one is this issue's.
        const delivery = sandbox.linear.deliveries.at(-1)!;
        return { issue: { id: issue.id, key: issue.key, createdAt }, delivery };
      },
      stop: () => local.stop(),
    };
  } catch (err) {
    await local.stop();
    throw err;
  }
}
