// The line on the Temporal an operator runs: a self-hosted temporal-server 1.29.1 on
// PostgreSQL (its own databases, its own config on free ports), the namespace and search
// attributes registered by Conveyor's own ensureNamespace/ensureSearchAttributes through the
// operator API, two `conveyor worker` processes (two hosts, each with its own workspace folder)
// on one task queue, and the gateway, the emulators and the demo reviewer in this process.
// Each pass files 10 issues and restarts the server while agents run: first with SIGTERM, then
// with SIGKILL. Every issue must reach its outcome (merged), each issue's agent must have run
// exactly once (counted from the agent logs on both hosts), and the fleet must hold no lease.
// Opt-in: `npm run test:cluster` (and .ci/run); it builds the server on first use.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig, type Config } from '../../src/config/load.js';
import { fleetWorkflowId, issueWorkflowId } from '../../src/domain/naming.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { startSandboxGateway } from '../../src/sandbox/local-factory.js';
import { DEMO_REPO, DEMO_TEAM, seedDemoRepo, startDemoReviewer } from '../../src/sandbox/demo.js';
import { SANDBOX_CREDENTIALS, startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { CONVEYOR_SEARCH_ATTRIBUTES, checkSearchAttributes, ensureNamespace, ensureSearchAttributes, namespaceExists } from '../../src/temporal/namespace-setup.js';
import { ensureServerBinaries } from '../../src/temporal/server-binary.js';
import { buildIntegrations } from '../../src/workers/integrations.js';
import { fleetStateQuery, issueStateQuery } from '../../src/workflows/messages.js';
import type { IssueRunState } from '../../src/workflows/state.js';
import { startTemporalCluster, type TemporalCluster } from '../helpers/temporal-cluster.js';
import { eventually } from '../helpers/temporal.js';
import { startWorkerHost, type WorkerHost } from '../helpers/worker-host.js';

const NAMESPACE = 'conveyor';
const ISSUES_PER_PASS = 10;
/** How long the wrapped demo agent waits before it works: long enough to be mid-run at a restart. */
const AGENT_DELAY_MS = 3_000;
const HOSTS = ['host-a', 'host-b'] as const;
/** The restart comes once this many agents of the pass started, while one runs. */
const RESTART_AFTER_AGENTS = 3;

const say = (line: string) => console.log(`[cluster] ${line}`);

let workDir: string;
let cluster: TemporalCluster | undefined;
let sandbox: Sandbox | undefined;
let gateway: StartedGateway | undefined;
let client: Client | undefined;
let operator: Connection | undefined;
let reviewer: { stop(): void } | undefined;
let config: Config;
const hosts: WorkerHost[] = [];
const started = Date.now();
let failed = false;

interface PassFigures {
  signal: 'SIGTERM' | 'SIGKILL';
  issues: number;
  restart: { agentsStarted: number; agentsRunning: number; outcomesBefore: number; stoppedMs: number; downMs: number };
  outcomes: Record<string, number>;
  agentRunsPerHost: Record<string, number>;
  durationMs: number;
}
const passes: PassFigures[] = [];
let registration: { namespaceCreated: boolean; added: string[]; secondAdded: string[] } | undefined;

/** The instance.example factory file, pointed at the emulators, for one host. */
function writeFactoryFile(name: string, urls: { linear: string; github: string; git: string }): string {
  const factory = parse(readFileSync('instance.example/factory.yaml', 'utf8')) as Record<string, unknown> & { tracker: Record<string, unknown>; forge: Record<string, unknown>; policies: Record<string, unknown> };
  factory.tracker.apiUrl = urls.linear;
  factory.forge = { ...factory.forge, apiUrl: urls.github, gitUrl: urls.git };
  factory.workspaceDir = join(workDir, name, 'workspaces');
  factory.agents = {
    default: 'demo',
    providers: { demo: { command: ['node', '{root}/test/cluster/slow-demo-agent.mjs', String(AGENT_DELAY_MS), '{root}/scripts/demo-agent.mjs', '{promptFile}'] } },
    // The runtime profile refuses a root worker whose agents would run as root (they could read
    // its credentials): agents run as the unprivileged `nobody` here, as an operator's would.
    ...(process.getuid?.() === 0 ? { runAs: 'nobody' } : {}),
  };
  // Webhooks sent while the server is down are lost after the emulators' few retries; the sweep
  // is what recovers them, so it runs often here (5 min in production).
  factory.policies = { ...factory.policies, sweepInterval: '15s' };
  const file = join(workDir, `${name}-factory.yaml`);
  writeFileSync(file, stringify(factory));
  return file;
}

function writeTemporalFile(name: string, metricsPort: number): string {
  const temporal = parse(readFileSync('temporal.yaml', 'utf8')) as Record<string, Record<string, unknown>>;
  temporal.worker = { ...temporal.worker, metricsPort };
  const file = join(workDir, `${name}-temporal.yaml`);
  writeFileSync(file, stringify(temporal));
  return file;
}

/** Agent runs per issue key and per host, read from the agent logs each host wrote. */
function agentRuns(): { byIssue: Map<string, number>; byHost: Record<string, number> } {
  const byIssue = new Map<string, number>();
  const byHost: Record<string, number> = {};
  for (const host of HOSTS) {
    byHost[host] = 0;
    const dir = join(workDir, host, 'workspaces', 'logs');
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      const match = /^(.+)-\d+\.log$/.exec(file);
      if (!match) continue;
      // The runner writes this line once it has spawned the agent.
      if (!readFileSync(join(dir, file), 'utf8').includes(' started pid ')) continue;
      byIssue.set(match[1]!, (byIssue.get(match[1]!) ?? 0) + 1);
      byHost[host] += 1;
    }
  }
  return { byIssue, byHost };
}

/** Agents running now: the runner keeps a pid file per agent while it runs. */
function agentsRunning(): number {
  return HOSTS.map((host) => {
    try {
      return readdirSync(join(workDir, host, 'workspaces', 'pids')).filter((f) => f.endsWith('.pid')).length;
    } catch {
      return 0;
    }
  }).reduce((a, b) => a + b, 0);
}

async function runState(issueId: string): Promise<IssueRunState> {
  return client!.workflow.getHandle(issueWorkflowId(issueId)).query(issueStateQuery);
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'conveyor-cluster-'));
  // mkdtemp makes it 0700: the agents' user must be able to reach the worktrees and prompts in it,
  // as under an installation's root.
  chmodSync(workDir, 0o755);
  try {
    await setUp();
  } catch (err) {
    failed = true;
    throw err;
  }
}, 600_000);

async function setUp(): Promise<void> {
  say(`work folder ${workDir}`);
  const binaries = ensureServerBinaries({ log: say });
  cluster = await startTemporalCluster({ binaries, workDir, log: say });
  say(`temporal-server ${cluster.address} (pid ${cluster.pid()}) on PostgreSQL databases ${cluster.databases.main}, ${cluster.databases.visibility}`);

  // The product registers what it needs, through the operator API.
  operator = await Connection.connect({ address: cluster.address });
  const existedBefore = await namespaceExists(operator, NAMESPACE);
  const ns = await ensureNamespace(operator, NAMESPACE);
  const first = await ensureSearchAttributes(operator, NAMESPACE);
  const second = await ensureSearchAttributes(operator, NAMESPACE);
  registration = { namespaceCreated: ns.created && !existedBefore, added: first.added, secondAdded: second.added };

  const silent = pino({ level: 'silent' });
  const gatewayPort = await freePort();
  const base = loadConfig({ profile: 'sandbox' });
  sandbox = await startSandbox({ config: base, gatewayUrl: `http://127.0.0.1:${gatewayPort}`, ciDelayMs: 100, logger: silent });
  const urls = { linear: sandbox.config.factory.tracker.apiUrl!, github: sandbox.config.factory.forge.apiUrl!, git: sandbox.config.factory.forge.gitUrl! };
  const env = (name: string, metricsPort: number) => ({
    CONVEYOR_PROFILE: 'runtime',
    // Two hosts on one machine: each names itself, so each polls its own host queue.
    CONVEYOR_HOST_ID: name,
    CONVEYOR_FACTORY_CONFIG: writeFactoryFile(name, urls),
    CONVEYOR_TEMPORAL_CONFIG: writeTemporalFile(name, metricsPort),
    TEMPORAL_ADDRESS: cluster!.address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    ...SANDBOX_CREDENTIALS,
  });
  const gatewayEnv = env('gateway', await freePort());
  config = loadConfig({ profile: 'runtime', env: { ...process.env, ...gatewayEnv } });
  await seedDemoRepo(sandbox);

  const connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection, namespace: NAMESPACE });
  gateway = await startSandboxGateway({ config, client, logger: silent, port: gatewayPort });
  reviewer = startDemoReviewer({ sandbox, forge: buildIntegrations(config, SANDBOX_CREDENTIALS, silent).forge, logger: silent, intervalMs: 1_000 });

  // Two hosts: both start together, as after a deploy.
  const launched = await Promise.allSettled(HOSTS.map(async (name) => startWorkerHost({ name, env: env(name, await freePort()), logFile: join(workDir, `${name}.log`) })));
  for (const result of launched) if (result.status === 'fulfilled') hosts.push(result.value);
  const failures = launched.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) throw failures[0]!.reason;
  say(`worker hosts ${hosts.map((h) => `${h.name} (pid ${h.pid})`).join(', ')} on task queue ${config.taskQueue}`);
}

afterAll(async () => {
  reviewer?.stop();
  const stops = await Promise.all(hosts.map(async (h) => ({ name: h.name, ...(await h.stop()) })));
  await gateway?.close();
  await client?.connection.close();
  await operator?.close();
  await sandbox?.close();
  await cluster?.destroy();

  const issues = passes.reduce((n, p) => n + p.issues, 0);
  const outcomes: Record<string, number> = {};
  for (const p of passes) for (const [k, v] of Object.entries(p.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  say('figures:');
  say(`  issues ${issues} in ${passes.length} passes, ${passes.length} server restarts, total ${Math.round((Date.now() - started) / 1000)} s (setup included)`);
  if (registration) say(`  namespace ${NAMESPACE} ${registration.namespaceCreated ? 'created' : 'found'}; search attributes added ${registration.added.length} (${registration.added.join(', ')}), then ${registration.secondAdded.length} on a second call`);
  for (const p of passes) {
    say(
      `  ${p.signal}: ${p.issues} issues, restart after ${p.restart.agentsStarted} agents started (${p.restart.agentsRunning} running, ${p.restart.outcomesBefore} outcomes reached), ` +
        `server stopped in ${(p.restart.stoppedMs / 1000).toFixed(1)} s and answered again after ${(p.restart.downMs / 1000).toFixed(1)} s; ` +
        `outcomes ${JSON.stringify(p.outcomes)}; agent runs per host ${JSON.stringify(p.agentRunsPerHost)}; pass took ${Math.round(p.durationMs / 1000)} s`,
    );
  }
  say(`  outcomes ${JSON.stringify(outcomes)}; workers stopped ${JSON.stringify(stops)}`);
  if (failed) say(`kept ${workDir} (server, worker and agent logs) for the failure above`);
  else rmSync(workDir, { recursive: true, force: true });
}, 180_000);

describe('the line on a self-hosted Temporal cluster (PostgreSQL), two worker hosts, server restarts', () => {
  it('registers the namespace and every search attribute through the operator API, once', async () => {
    expect(registration).toBeDefined();
    expect(registration!.namespaceCreated).toBe(true);
    expect([...registration!.added].sort()).toEqual(CONVEYOR_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    expect(registration!.secondAdded).toEqual([]);
    const check = await checkSearchAttributes(operator!, NAMESPACE);
    expect(check.missing).toEqual([]);
    expect(check.conflicting).toEqual([]);
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`takes ${ISSUES_PER_PASS} issues to their outcome through a server restart by ${signal}, each agent once, no lease left`, async () => {
      const passStarted = Date.now();
      const before = agentRuns();
      try {
        const issues = Array.from({ length: ISSUES_PER_PASS }, (_, i) =>
          sandbox!.linear.createIssue({
            teamKey: DEMO_TEAM,
            title: `Document widget ${signal.toLowerCase()} ${i + 1}`,
            description: `Write a short page about widget ${i + 1} so that users know what it does and how to configure it.\n\n## Acceptance\n- [ ] docs page for widget ${i + 1}\n- [ ] CI green`,
            priority: (i % 4) + 1,
            labels: ['conveyor'],
            stateName: 'Todo',
          }),
        );
        const outcomeOf = async (id: string) => (await runState(id).catch(() => null))?.outcome ?? null;
        const outcomesReached = async () => (await Promise.all(issues.map((i) => outcomeOf(i.id)))).filter((o) => o !== null).length;

        // Mid-run: issues at every station at once. Agents are running; earlier ones have
        // finished (their issues wait on the PR, CI, review or merge); later ones still queue
        // for a slot.
        const dispatched = () => issues.filter((i) => (agentRuns().byIssue.get(i.key.toLowerCase()) ?? 0) > 0).length;
        const midRun = await eventually(
          'agents running on the worker hosts, with earlier ones finished, before the restart',
          async () => {
            const running = agentsRunning();
            const agentsStarted = dispatched();
            if (running === 0 || agentsStarted < RESTART_AFTER_AGENTS) return false;
            return { running, agentsStarted, reached: await outcomesReached() };
          },
          240_000,
          200,
        );
        say(`${signal}: restarting temporal-server (pid ${cluster!.pid()}): ${midRun.agentsStarted} of ${ISSUES_PER_PASS} agents started, ${midRun.running} running, ${midRun.reached} outcomes reached`);
        const restart = await cluster!.restart(signal);
        say(`${signal}: temporal-server back (pid ${cluster!.pid()}) after ${(restart.downMs / 1000).toFixed(1)} s`);

        // Every issue reaches its outcome; a run that needs the sweep (a webhook lost while the
        // server was down) gets there on the sweep's next tick.
        const finals = await eventually(
          `all ${ISSUES_PER_PASS} issues at an outcome after the ${signal} restart`,
          async () => {
            const states = await Promise.all(issues.map((i) => runState(i.id).catch(() => null)));
            return states.every((s) => s?.outcome) && (states as IssueRunState[]);
          },
          600_000,
          1_000,
        ).catch(async (err: unknown) => {
          const states = await Promise.all(issues.map(async (i) => `${i.key}: ${await runState(i.id).then((s) => `${s.phase}/${s.outcome ?? '-'} (attempts ${s.attempts})`, (e: Error) => `no answer: ${e.message}`)}`));
          throw new Error(`${(err as Error).message}\nRuns:\n${states.join('\n')}\nhost-a log:\n${hosts[0]?.tail(10)}\nhost-b log:\n${hosts[1]?.tail(10)}`);
        });

        const outcomes: Record<string, number> = {};
        for (const s of finals) outcomes[s.outcome!] = (outcomes[s.outcome!] ?? 0) + 1;
        const after = agentRuns();
        passes.push({
          signal,
          issues: issues.length,
          restart: { agentsStarted: midRun.agentsStarted, agentsRunning: midRun.running, outcomesBefore: midRun.reached, ...restart },
          outcomes,
          agentRunsPerHost: Object.fromEntries(HOSTS.map((h) => [h, after.byHost[h]! - before.byHost[h]!])),
          durationMs: Date.now() - passStarted,
        });

        // Every issue merged, Done in the tracker, with its PR merged on the forge.
        expect(outcomes).toEqual({ merged: ISSUES_PER_PASS });
        for (const issue of issues) {
          expect(sandbox!.linear.getIssue(issue.id)!.state.name, issue.key).toBe('Done');
        }
        for (const state of finals) {
          expect(await sandbox!.github.getPull(DEMO_REPO, state.pr!.number)).toMatchObject({ merged: true });
        }
        // No duplicate dispatch: each issue's agent ran exactly once, on one host or the other.
        const runsPerIssue = Object.fromEntries(issues.map((i) => [i.key, after.byIssue.get(i.key.toLowerCase()) ?? 0]));
        expect(runsPerIssue).toEqual(Object.fromEntries(issues.map((i) => [i.key, 1])));
        for (const state of finals) expect(state.attempts, state.issue?.key).toBe(1);

        // No lease left, nobody waiting.
        const fleet = await eventually('the fleet with no lease and no waiting request', async () => {
          const state = await client!.workflow.getHandle(fleetWorkflowId(config.taskQueue)).query(fleetStateQuery);
          return state.leases.length === 0 && state.waiting.length === 0 && state;
        }, 60_000, 500);
        expect(fleet.leases).toEqual([]);
        expect(sandbox!.linear.invalidDocuments).toEqual([]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }, 1_200_000);
  }

  it('both worker hosts took part and survived both restarts', () => {
    const totals = agentRuns().byHost;
    for (const host of HOSTS) expect(totals[host], `agent runs on ${host}`).toBeGreaterThan(0);
    for (const host of hosts) expect(() => process.kill(host.pid, 0), `${host.name} still running`).not.toThrow();
  });
});
