// The factory under test, wired as src/sandbox/local-factory.ts wires `npm run dev`: the Linear
// and GitHub emulators sending signed webhooks to the real gateway, which starts runs by
// signal-with-start, and the real worker (createConveyorWorker) with the real activities over
// the real integrations, only timed (probes.ts). The agent is bench/dispatch/agent.mjs, run by
// the real agent runner in a real worktree of a repo the GitHub emulator serves over git.
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { factorySchema } from '../../src/config/factory-schema.js';
import { validate, type Config } from '../../src/config/load.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { startLocalFactory } from '../../src/sandbox/local-factory.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import type { ConveyorWorker } from '../../src/workers/worker.js';
import { startAgentReports, type AgentReports } from './agent-reports.js';
import { Probes } from './probes.js';

export const BENCH_TEAM = 'BENCH';
export const BENCH_REPO = 'bench/dispatch';

/** Long and specific enough that triage dispatches it (DESIGN: not thin). */
const DESCRIPTION = `Measure how long Conveyor takes from the ready webhook to the agent process started, so that dispatch latency is known and kept low.

## Acceptance
- [ ] the agent starts
- [ ] nothing is committed`;

export interface BenchIssue {
  id: string;
  key: string;
}

export interface BenchFactory {
  config: Config;
  sandbox: Sandbox;
  gateway: StartedGateway;
  client: Client;
  connection: NativeConnection;
  worker: ConveyorWorker;
  probes: Probes;
  reports: AgentReports;
  /** An issue in the ready state without the ready label: its create webhook starts nothing. */
  createIssue(title: string): BenchIssue;
  /** Adds the ready label: the emulator sends the Issue update webhook that starts the run. */
  makeReady(issue: BenchIssue): void;
  stop(): Promise<void>;
}

/**
 * The installation's policies (instance/ or instance.example/) with one team and repo of the
 * bench's own, fleet caps that admit `slots` agents at once, and the bench's agent.
 */
export function benchFactoryConfig(base: Config, options: { address: string; namespace: string; taskQueue: string; workspaceDir: string; reportUrl: string; slots: number }): Config {
  const factory = validate(
    factorySchema,
    {
      tracker: { kind: 'linear', teams: [{ key: BENCH_TEAM, defaultRepo: BENCH_REPO }], operators: [] },
      repos: [{ name: BENCH_REPO, baseBranch: 'main', mergePolicy: 'never' }],
      fleet: {
        slots: options.slots,
        agentNames: Array.from({ length: options.slots }, (_, i) => `bench-${String(i + 1).padStart(2, '0')}`),
        holderCheckInterval: base.factory.fleet.holderCheckInterval,
      },
      agents: { default: 'bench', providers: { bench: { command: ['node', '{root}/bench/dispatch/agent.mjs'], env: { BENCH_DISPATCH_REPORT_URL: options.reportUrl } } } },
      policies: base.factory.policies,
      workspaceDir: options.workspaceDir,
    },
    'bench/dispatch (the bench factory config)',
  );
  return {
    ...base,
    factory,
    taskQueue: options.taskQueue,
    temporal: { ...base.temporal, connection: { ...base.temporal.connection, address: options.address, namespace: options.namespace } },
  };
}

export async function startBenchFactory(options: { base: Config; address: string; namespace: string; taskQueue: string; workspaceDir: string; slots: number; logger: Logger }): Promise<BenchFactory> {
  const { logger } = options;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async () => {
    for (const step of cleanups.reverse()) await (async () => step())().catch(() => undefined);
  };
  try {
    // The agent is answered only once its issue has lost the ready label: the run's release
    // moves the issue back to its ready state, and a ready issue whose run has closed would be
    // started again by its webhook. The listener's URL goes into the config the sandbox needs.
    const started: { sandbox?: Sandbox } = {};
    const reports = await startAgentReports(async (start) => {
      const linear = started.sandbox?.linear;
      const issue = linear?.getIssue(start.key.toUpperCase());
      if (linear && issue) linear.updateIssue(issue.id, { labels: [] });
    });
    cleanups.push(() => reports.close());
    const config0 = benchFactoryConfig(options.base, { ...options, reportUrl: reports.url });
    // Wired as `npm run dev` wires the factory, with the dispatch path's calls timed.
    const probes = new Probes();
    const local = await startLocalFactory({ config: config0, logger, demo: false, instrument: (integrations) => probes.instrument(integrations) });
    cleanups.push(() => local.stop());
    const { sandbox, config } = local;
    started.sandbox = sandbox;
    await sandbox.github.createRepo({ owner: BENCH_REPO.split('/')[0]!, name: BENCH_REPO.split('/')[1]!, defaultBranch: 'main', files: { 'README.md': '# dispatch\n\nThe repo bench/dispatch sends agents to.\n' } });
    sandbox.linear.createTeam({ key: BENCH_TEAM, name: 'Bench' });
    sandbox.linear.createLabel({ name: config.factory.policies.readyLabel });
    // Each dispatch ends no-pr, which blocks its issue (the ready label swapped for this one).
    sandbox.linear.createLabel({ name: config.factory.policies.blockedLabel });
    // A worker that dies mid-bench must stop the bench, not leave it waiting for agents.
    local.running.catch((err: unknown) => logger.error({ err: (err as Error).message }, 'the factory worker stopped'));

    const linear = sandbox.linear;
    return {
      config,
      sandbox,
      gateway: local.gateway,
      client: local.client,
      connection: local.connection,
      worker: local.worker,
      probes,
      reports,
      createIssue: (title) => {
        const issue = linear.createIssue({ teamKey: BENCH_TEAM, title, description: DESCRIPTION, priority: 2, stateName: config.factory.tracker.teams[0]!.readyState });
        return { id: issue.id, key: issue.key };
      },
      makeReady: (issue) => {
        linear.updateIssue(issue.id, { labels: [config.factory.policies.readyLabel] });
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
