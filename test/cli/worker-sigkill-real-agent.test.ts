// A `conveyor worker` killed with SIGKILL while the real Claude Code CLI works for it (the
// peers' "sessions orphaned on restart", and this project's own sighting: an agent that went on
// and committed after its worker was gone). The agent leads its own process group, so a SIGKILL
// of the worker's whole group leaves it running with nobody watching. The next worker on the
// same root must kill it before it takes any work (its reaper's first pass), keep the agent it
// starts itself alive through later passes, and the issue must go on to its merge.
//
// The real `claude` (node_modules/.bin) talks to the model emulator; the issue's
// `[model:silent-once]` holds its first model call open, so the first agent is busy (waiting on
// the model) when the worker dies, and the retried agent gets normal answers.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import type { StartedGateway } from '../../src/gateway/server.js';
import { startSandboxGateway } from '../../src/sandbox/local-factory.js';
import { AgentRecord } from '../../src/integrations/agent-records.js';
import { agentEnvPrefix, processesWithEnvPrefix } from '../../src/integrations/leftover-agents.js';
import { isRunning } from '../../src/integrations/process-tree.js';
import { DEMO_REPO, DEMO_TEAM, seedDemoRepo, startDemoReviewer } from '../../src/sandbox/demo.js';
import { SANDBOX_CREDENTIALS, startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { buildIntegrations } from '../../src/workers/integrations.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { makeTestRoot, runConveyor, type ConveyorProcess, type TestRoot } from '../helpers/conveyor-root.js';
import { closeTestConnections, eventually, testClient, uniqueTaskQueue } from '../helpers/temporal.js';

const silent = pino({ level: 'silent' });
let sandbox: Sandbox;
let gateway: StartedGateway;
let reviewer: { stop(): void };
let root: TestRoot;
let config: Config;
let client: Client;
const workers: ConveyorProcess[] = [];
const runs: string[] = [];

beforeAll(async () => {
  const gatewayPort = await freePort();
  sandbox = await startSandbox({ config: loadConfig({ profile: 'sandbox' }), gatewayUrl: `http://127.0.0.1:${gatewayPort}`, ciDelayMs: 50, logger: silent });
  await seedDemoRepo(sandbox);
  root = makeTestRoot('sigkill-real-agent', {
    temporal: {
      connection: { address: inject('temporalAddress'), namespace: inject('temporalNamespace') },
      taskQueues: { sandbox: uniqueTaskQueue('sigkill-real-agent') },
      worker: { metricsPort: await freePort() },
    },
    factory: {
      tracker: { apiUrl: sandbox.linear.url },
      forge: { apiUrl: sandbox.github.url, gitUrl: sandbox.github.webUrl },
      agents: { default: 'claude', providers: { claude: { provider: 'claude', baseUrl: sandbox.models.url, maxRetries: 2 } } },
      policies: {
        // A dead worker's agent activity times out after three missed beats (15 s). Not less: a
        // retry handed to one of the killed worker's long polls still standing on the server is
        // lost, and the agent activity has two attempts (see dev-restart.test.ts).
        timeouts: { heartbeat: '5s' },
        // Short, so reaper passes run while the second agent works: they must leave it alone.
        reapInterval: '2s',
      },
    },
  });
  config = loadConfig({ root: root.dir, profile: 'sandbox', env: { ...process.env, ...SANDBOX_CREDENTIALS } });
  client = await testClient();
  gateway = await startSandboxGateway({ config, client, logger: silent, port: gatewayPort });
  reviewer = startDemoReviewer({ sandbox, forge: buildIntegrations(config, SANDBOX_CREDENTIALS, silent).forge, logger: silent, intervalMs: 500 });
});

afterAll(async () => {
  reviewer?.stop();
  for (const worker of workers) {
    try {
      process.kill(-worker.child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  // Whatever agent the test may have left (a failed assertion before the reaper ran).
  for (const pid of root ? await processesWithEnvPrefix(agentEnvPrefix(join(root.dir, '.data/workspaces'))) : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Ended meanwhile.
    }
  }
  await Promise.all(runs.map((id) => client?.workflow.getHandle(id).terminate('test over').catch(() => undefined)));
  await gateway?.close();
  await closeTestConnections();
  await sandbox?.close();
  root?.cleanup();
});

function startWorker(): ConveyorProcess {
  const worker = runConveyor(['worker', '--root', root.dir, '--profile', 'sandbox'], { ...SANDBOX_CREDENTIALS, CONVEYOR_LOG_LEVEL: 'info' });
  workers.push(worker);
  return worker;
}

async function allGone(pids: number[]): Promise<boolean> {
  return (await Promise.all(pids.map(isRunning))).every((running) => !running);
}

describe('a worker killed with SIGKILL while the real claude CLI runs', () => {
  it('leaves an orphan that the next worker kills before it takes work, and the issue is merged', async () => {
    const workspaceRoot = join(root.dir, '.data/workspaces');
    const first = startWorker();
    await first.waitFor(/worker running/);

    const issue = sandbox.linear.createIssue({
      teamKey: DEMO_TEAM,
      title: 'Document the widget registry',
      description: 'Write a page about the widget registry so that contributors know how widgets are found at start-up. [model:silent-once]\n\nAcceptance: a registry page exists under docs/.',
      labels: ['conveyor'],
      stateName: 'Todo',
    });
    runs.push(issueWorkflowId(issue.id));

    // The real claude is running for the first worker, and waiting on its first model call.
    await eventually('the first model call held open', () => sandbox.models.requests.some((r) => r.marker === 'silent-once' && r.answer === 'silent'), 120_000, 200);
    const recordFile = readdirSync(join(workspaceRoot, 'pids')).find((name) => name.endsWith('.json'))!;
    const record = AgentRecord.parse(JSON.parse(readFileSync(join(workspaceRoot, 'pids', recordFile), 'utf8')));
    expect(record.supervisor.pid).toBe(first.child.pid);
    // Its own group, not the worker's: killing the worker's group cannot reach it.
    expect(record.pgid).not.toBe(first.child.pid);

    // The whole process group of the worker, as a closed terminal or the OOM killer would.
    process.kill(-first.child.pid!, 'SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The orphan lives on: without a reaper it would wait for its model and then commit. (Its
    // tree is every process carrying the run's environment marker; claude's short-lived
    // helpers come and go, the leader is the CLI itself.)
    const orphans = await processesWithEnvPrefix(agentEnvPrefix(workspaceRoot));
    expect(orphans).toContain(record.leader.pid);
    expect(await isRunning(record.leader.pid)).toBe(true);

    const killedAt = Date.now();
    const second = startWorker();
    const output = await second.waitFor(/worker running/, 180_000);
    const runningAfterMs = Date.now() - killedAt;
    // The reaper's first pass runs before the worker polls: the orphan was gone before this
    // worker could take the retried agent activity (one reap interval at most, here zero).
    const reaped = output.split('\n').filter((line) => line.includes('reaped an unsupervised agent'));
    expect(reaped).toHaveLength(1);
    expect(reaped[0]).toContain(`its worker process (pid ${first.child.pid}) is gone`);
    expect(output.indexOf('reaped an unsupervised agent')).toBeLessThan(output.indexOf('worker running'));
    expect(await allGone(orphans)).toBe(true);

    // The retried agent activity runs the real claude again on the new worker, to the merge.
    const run = client.workflow.getHandle(issueWorkflowId(issue.id));
    const state = await eventually('the issue merged', async () => {
      const s = await run.query(issueStateQuery).catch(() => null);
      return s !== null && s.outcome !== null && s;
    }, 240_000, 1_000);
    console.log(`[measured] SIGKILL → next worker running (orphan already reaped): ${runningAfterMs} ms; → issue merged: ${Date.now() - killedAt} ms`);
    expect(state).toMatchObject({ outcome: 'merged', attempts: 1 });
    expect(state.costUsd).toBeGreaterThan(0);
    const pr = await sandbox.github.getPull(DEMO_REPO, state.pr!.number);
    expect(pr).toMatchObject({ merged: true, state: 'closed' });
    const subjects = (await sandbox.github.listCommits(DEMO_REPO, 'main')).map((c) => c.message.split('\n')[0]);
    expect(subjects).toContain(`${state.issue!.key}: ${issue.title}`);
    expect(sandbox.linear.getIssue(issue.id)!.state.name).toBe('Done');
    // Two agent runs: the orphan's (held silent, then killed) and the retry's, which the
    // reaper's later passes (every 2 s) left alone.
    expect(sandbox.models.requests.filter((r) => r.marker === 'silent-once').map((r) => r.answer)[0]).toBe('silent');
    expect(sandbox.models.requests.filter((r) => r.marker === 'silent-once' && r.answer === 'stream').length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(join(workspaceRoot, 'logs')).filter((name) => name.endsWith('.log'))).toHaveLength(2);
    expect(second.output()).not.toMatch(/reaped an unsupervised agent[\s\S]*reaped an unsupervised agent/);
  }, 420_000);
});
