// Records the histories that the replay test runs against the current workflow code, so a
// non-deterministic change fails CI. Re-record (npm run record-histories) only when a workflow
// changes on purpose before the first release; afterwards changes go behind patched().
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config/load.js';
import { branchForIssue, fleetWorkflowId, issueWorkflowId } from '../src/domain/naming.js';
import { ensureTemporalCli } from '../src/temporal/cli-binary.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { signalWithStartIssue } from '../src/temporal/issue-runs.js';
import { WORKFLOWS_PATH } from '../src/workers/workflow-bundle.js';
import { startFleet } from '../src/temporal/runs.js';
import { forgeEventSignal, operatorCommandSignal, pauseFleetSignal } from '../src/workflows/messages.js';
import { hangingAgent, makeIssue, ScriptedWorld, testCapacity, testPolicy } from '../test/helpers/scripted-line.js';

const OUT = join(import.meta.dirname, '..', 'test', 'histories');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const server = await startDevServer({ cli: ensureTemporalCli(), uiPort: null, searchAttributes: loadConfig({ profile: 'sandbox' }).temporal.searchAttributes });
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const taskQueue = 'record-histories';
    const fleetId = fleetWorkflowId(taskQueue);
    const policy = testPolicy(fleetId);
    const world = new ScriptedWorld();
    const capacity = testCapacity({ globalSlots: 2, agentNames: ['ada', 'grace'] });
    world.fleet = { taskQueue, capacity };
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH }),
      activities: world.activities(client),
    });
    const until = async (check: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 300 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
    };
    await worker.runUntil(async () => {
      await startFleet(client, taskQueue, capacity);

      // 1. merged after a CI failure and a re-dispatch
      const merged = world.addIssue(makeIssue({ id: 'history-merged' }));
      world.ciFor = (sha, attempt) => (attempt <= 1 ? { sha, state: 'failure', failures: [{ name: 'unit', summary: 'red' }] } : { sha, state: 'success', failures: [] });
      await signalWithStartIssue({ client, taskQueue, policy }, merged, { deliveryId: 'd-1', kind: 'issue-ready' });
      await until(() => world.agentRuns.length === 2 && !!world.prFor(branchForIssue(merged.key, merged.id)));
      await until(async () => (await client.workflow.getHandle(issueWorkflowId(merged.id)).query<{ phase: string; attempts: number }>('state')).attempts === 2);
      await new Promise((r) => setTimeout(r, 500));
      world.prFor(branchForIssue(merged.key, merged.id))!.review = { decision: 'APPROVED', requestedChanges: [] };
      await client.workflow.getHandle(issueWorkflowId(merged.id)).signal(forgeEventSignal, { deliveryId: 'review', kind: 'review' });
      await client.workflow.getHandle(issueWorkflowId(merged.id)).result();

      // 2. thin, escalated, approved by an operator, then aborted mid-dispatch
      world.ciFor = (sha) => ({ sha, state: 'success', failures: [] });
      world.agent = hangingAgent;
      const thin = world.addIssue(makeIssue({ id: 'history-thin', description: 'short' }));
      await signalWithStartIssue({ client, taskQueue, policy }, thin, { deliveryId: 'd-2', kind: 'issue-ready' });
      await until(() => world.comments.some((c) => c.issueId === thin.id));
      const thinHandle = client.workflow.getHandle(issueWorkflowId(thin.id));
      await thinHandle.signal(operatorCommandSignal, { deliveryId: 'op-1', command: 'approve', by: 'op@example.com' });
      await until(() => world.runningAgents === 1);
      // Long enough for the fleet's holder check (every 1s, of leases at least 1s old) to run.
      await new Promise((r) => setTimeout(r, 3_000));
      await thinHandle.signal(operatorCommandSignal, { deliveryId: 'op-2', command: 'abort', by: 'op@example.com' });
      await thinHandle.result();

      await client.workflow.getHandle(fleetId).signal(pauseFleetSignal, { paused: true, by: 'recorder' });
      await new Promise((r) => setTimeout(r, 1_500));
      mkdirSync(OUT, { recursive: true });
      for (const [name, workflowId] of [
        ['issue-merged-after-redispatch', issueWorkflowId(merged.id)],
        ['issue-thin-approved-then-aborted', issueWorkflowId(thin.id)],
        ['fleet', fleetId],
      ] as const) {
        const history = await client.workflow.getHandle(workflowId).fetchHistory();
        writeFileSync(join(OUT, `${name}.json`), historyToJSON(history));
        console.log(`recorded ${name}: ${history.events?.length} events`);
      }
      await client.workflow.getHandle(fleetId).terminate('recording finished');
    });
    await connection.close();
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
