// The factory under test, wired as src/sandbox/local-factory.ts wires `npm run dev` but with the
// worker in a process of its own: in the bench's process the Linear and GitHub emulators send
// signed webhooks to the real gateway, which starts runs by signal-with-start; the worker is a
// real `conveyor worker` child process (bench/worker-process.ts) on an installation root the
// bench writes, with the real activities over the real integrations against the emulators. An
// issue counts as escalated when the Linear emulator records its escalation comment (the comment's
// own creation time): the moment its run starts waiting. Nothing in the worker is wrapped.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { blockedIssuesOf } from '../../src/activities/judgement.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { startSandboxGateway } from '../../src/sandbox/local-factory.js';
import type { EntityWebhookPayload, WebhookDelivery } from '../../src/sandbox/linear/index.js';
import { SANDBOX_CREDENTIALS, startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { connectClient } from '../../src/temporal/connection.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { buildIntegrations } from '../../src/workers/integrations.js';
import { startWorkerProcess, unitAllocatorEnvironment, writeWorkerRoot, type WorkerProcess } from '../worker-process.js';

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
  /** The config the worker's root holds (the CLI the bench times reads the same root). */
  config: Config;
  /** The installation root the worker and the CLI run on. */
  root: string;
  sandbox: Sandbox;
  /** The bench's own client (nudges, histories, the sweep), not the worker's. */
  client: Client;
  worker: WorkerProcess;
  /** When each issue's escalation comment was posted, by issue id (read from the emulator on each access). */
  readonly escalatedAt: ReadonlyMap<string, number>;
  /** A thin issue, ready and labelled: the emulator's Issue create webhook starts its run. */
  createIssue(title: string): { issue: ScaleIssue; delivery: WebhookDelivery };
  stop(): Promise<void>;
}

/**
 * The factory.yaml the worker runs: the installation's policies with one team and one repo of
 * the bench's own, pointed at the emulators. Plain data, written to the worker's root.
 */
export function scaleFactoryInput(base: Config, options: { workspaceDir: string; linearUrl: string; githubUrl: string; gitUrl: string }): Record<string, unknown> {
  return {
    tracker: { kind: 'linear', apiUrl: options.linearUrl, teams: [{ key: SCALE_TEAM, defaultRepo: SCALE_REPO }], operators: [] },
    forge: { kind: 'github', apiUrl: options.githubUrl, gitUrl: options.gitUrl },
    repos: [{ name: SCALE_REPO, baseBranch: 'main', mergePolicy: 'never' }],
    fleet: { slots: base.factory.fleet.slots, agentNames: base.factory.fleet.agentNames, holderCheckInterval: base.factory.fleet.holderCheckInterval },
    agents: { default: 'demo', providers: { demo: { command: ['node', '{root}/scripts/demo-agent.mjs', '{promptFile}'] } } },
    policies: base.factory.policies,
    workspaceDir: options.workspaceDir,
  };
}

export async function startScaleFactory(options: { base: Config; root: string; address: string; namespace: string; taskQueue: string; workspaceDir: string; maxCachedWorkflows: number; logFile: string; logger: Logger; release?: boolean }): Promise<ScaleFactory> {
  const { base, logger } = options;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async () => {
    for (const step of cleanups.reverse()) await (async () => step())().catch(() => undefined);
  };
  try {
    const gatewayPort = await freePort();
    const sandbox = await startSandbox({ config: base, gatewayUrl: `http://127.0.0.1:${gatewayPort}`, logger });
    cleanups.push(() => sandbox.close());
    writeWorkerRoot({
      dir: options.root,
      address: options.address,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      metricsPort: await freePort(),
      // The cache sized on purpose (--cache); each workflow task in flight holds a cached run.
      worker: { maxCachedWorkflows: options.maxCachedWorkflows, maxConcurrentWorkflowTaskExecutions: Math.min(base.temporal.worker.maxConcurrentWorkflowTaskExecutions, options.maxCachedWorkflows) },
      factory: scaleFactoryInput(base, { workspaceDir: options.workspaceDir, linearUrl: sandbox.linear.url, githubUrl: sandbox.github.url, gitUrl: sandbox.github.webUrl }),
    });
    const env = { ...process.env, ...SANDBOX_CREDENTIALS };
    const config = loadConfig({ root: options.root, profile: 'sandbox', env });
    const client = await connectClient(config, env);
    cleanups.push(() => client.connection.close());
    // The gateway's blocked-by reads go through the bench's own tracker client, as in bench/churn.
    const integrations = buildIntegrations(config, env, logger);
    const gateway: StartedGateway = await startSandboxGateway({ config, client, logger, port: gatewayPort, blockedBy: blockedIssuesOf(integrations.tracker) });
    cleanups.push(() => gateway.close());

    // Triage asks the forge whether the issue already has a factory PR: the repo must exist.
    await sandbox.github.createRepo({ owner: SCALE_REPO.split('/')[0]!, name: SCALE_REPO.split('/')[1]!, defaultBranch: 'main', files: { 'README.md': '# scale\n' } });
    sandbox.linear.createTeam({ key: SCALE_TEAM, name: 'Scale' });
    sandbox.linear.createLabel({ name: config.factory.policies.readyLabel });

    // A release runs as its systemd unit runs it, with the unit's malloc settings.
    const worker = await startWorkerProcess({ root: options.root, logFile: options.logFile, release: options.release ?? false, ...(options.release ? { env: unitAllocatorEnvironment() } : {}) });
    cleanups.push(async () => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) await worker.stop(15_000);
    });

    // The emulator records every webhook it sends, synchronously as the store changes: a
    // Comment create is a comment posted. Read with a cursor, so each access scans only what is new.
    const escalatedAt = new Map<string, number>();
    const deliveries = sandbox.linear.deliveries;
    let cursor = 0;
    const scan = () => {
      for (; cursor < deliveries.length; cursor++) {
        const d = deliveries[cursor]!;
        if (d.event !== 'Comment' || d.action !== 'create') continue;
        const data = (d.payload as EntityWebhookPayload).data;
        const issueId = data.issueId as string;
        if (!escalatedAt.has(issueId)) escalatedAt.set(issueId, Date.parse(data.createdAt as string));
      }
      return escalatedAt;
    };
    const team = config.factory.tracker.teams[0]!;
    return {
      config,
      root: options.root,
      sandbox,
      client,
      worker,
      get escalatedAt() {
        return scan();
      },
      createIssue: (title) => {
        const createdAt = Date.now();
        const issue = sandbox.linear.createIssue({ teamKey: SCALE_TEAM, title, description: THIN_DESCRIPTION, priority: 3, stateName: team.readyState, labels: [config.factory.policies.readyLabel] });
        // The emulator records the delivery synchronously, so the newest one is this issue's.
        const delivery = sandbox.linear.deliveries.at(-1)!;
        return { issue: { id: issue.id, key: issue.key, createdAt }, delivery };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
