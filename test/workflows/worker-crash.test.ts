// Peers' users lost sessions on restart. Here the process running the workflows is killed
// with SIGKILL twice, mid-dispatch and mid-merge-gate, and a new one picks the run up.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { branchForIssue, fleetWorkflowId, issueWorkflowId } from '../../src/domain/naming.js';
import { signalWithStartIssue } from '../../src/temporal/issue-runs.js';
import { startFleet } from '../../src/temporal/runs.js';
import { forgeEventSignal, issueStateQuery } from '../../src/workflows/messages.js';
import { makeIssue, ScriptedWorld, testCapacity, testPolicy } from '../helpers/scripted-line.js';
import { closeTestConnections, eventually, nativeConnection, testClient, uniqueTaskQueue } from '../helpers/temporal.js';

afterAll(closeTestConnections);

async function startWorkflowWorker(taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/workflow-worker-process.ts', inject('temporalAddress'), inject('temporalNamespace'), taskQueue, inject('workflowBundlePath')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(chunk.toString()).toContain('ready');
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

describe('a worker killed with SIGKILL', () => {
  it('loses nothing: a new worker finishes the run', { timeout: 180_000 }, async () => {
    const client = await testClient();
    const taskQueue = uniqueTaskQueue('crash');
    const fleetId = fleetWorkflowId(taskQueue);
    const world = new ScriptedWorld();
    let agentStarted = false;
    let releaseAgent = false;
    world.agent = async (input, w) => {
      agentStarted = true;
      while (!releaseAgent) {
        Context.current().heartbeat();
        await Context.current().sleep(100);
      }
      w.pushHead(input.branch);
      return { commits: 1, summary: 'done', costUsd: 0 };
    };
    const capacity = testCapacity({ globalSlots: 2, agentNames: ['ada', 'grace'] });
    world.fleet = { taskQueue, capacity };
    // Activities live in this process; the workflows in the child that gets killed.
    const activityWorker = await Worker.create({ connection: await nativeConnection(), namespace: inject('temporalNamespace'), taskQueue, activities: world.activities(client) });
    const issue = world.addIssue(makeIssue());
    // The workflow worker runs no activities: the runs it serves take ordinary activity tasks
    // (temporal.worker.localActivities false), which this process runs.
    const policy = { ...testPolicy(fleetId), localActivities: false };
    let child = await startWorkflowWorker(taskQueue);
    try {
      await activityWorker.runUntil(async () => {
        await startFleet(client, taskQueue, capacity);
        await signalWithStartIssue({ client, taskQueue, policy }, issue, { deliveryId: 'start', kind: 'issue-ready' });
        await eventually('the agent running', () => agentStarted);

        await kill(child);
        releaseAgent = true;
        child = await startWorkflowWorker(taskQueue);
        const handle = client.workflow.getHandle(issueWorkflowId(issue.id));
        await eventually('the merge gate after the first restart', async () => (await handle.query(issueStateQuery)).phase === 'merge-gate');

        await kill(child);
        world.review(world.prFor(branchForIssue(issue.key, issue.id))!.pr.number, { state: 'APPROVED' });
        await handle.signal(forgeEventSignal, { deliveryId: 'approved', kind: 'review' });
        child = await startWorkflowWorker(taskQueue);

        const final = (await handle.result()) as { outcome: string; attempts: number };
        expect(final.outcome).toBe('merged');
        expect(final.attempts).toBe(1);
        expect(world.agentRuns).toHaveLength(1);
        expect(world.merges.filter((m) => m.result.merged)).toHaveLength(1);
        await client.workflow.getHandle(fleetId).terminate('test finished');
      });
    } finally {
      await kill(child);
    }
  });
});
