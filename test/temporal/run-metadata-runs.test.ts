// The user metadata as the server keeps it: what signal-with-start and the fleet's start set, and
// what `conveyor retry` reads back for an issue's next run. No worker: only starts and describes.
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId, fleetWorkflowId } from '../../src/domain/naming.js';
import { latestRunMetadata, signalWithStartIssue } from '../../src/temporal/issue-runs.js';
import { reviveFleet } from '../../src/temporal/runs.js';
import type { FleetCapacity } from '../../src/workflows/messages.js';
import { closeTestConnections, testClient, uniqueId, uniqueTaskQueue } from '../helpers/temporal.js';
import { testPolicy } from '../helpers/scripted-line.js';

afterAll(closeTestConnections);

const capacity: FleetCapacity = { globalSlots: 1, repoSlots: {}, agentNames: ['ada'], holderCheckInterval: '1m', maxLeaseAge: '2h' };

describe('run metadata on the server', () => {
  it('an issue run started by signal-with-start carries its summary and details, and its next run can take them over', async () => {
    const client = await testClient();
    const taskQueue = uniqueTaskQueue('metadata');
    const issue = { id: uniqueId('issue'), key: 'ENG-77', title: 'Cache the widget index', url: 'https://linear.example/eng/issue/ENG-77' };
    const target = { client, taskQueue, policy: testPolicy(fleetWorkflowId(taskQueue), {}) };
    const handle = client.workflow.getHandle(issueWorkflowId(issue.id));
    try {
      expect(await latestRunMetadata(client, issue.id)).toBeUndefined();
      await signalWithStartIssue(target, issue, { kind: 'issue-ready', deliveryId: 'd-1' });
      const description = await handle.describe();
      expect(await description.staticSummary()).toBe('ENG-77 · Cache the widget index');
      expect(await description.staticDetails()).toContain('[ENG-77 Cache the widget index](https://linear.example/eng/issue/ENG-77)');

      // A closed run's metadata is what `conveyor retry` gives the issue's next run.
      await handle.terminate('test: the run is over');
      const carried = await latestRunMetadata(client, issue.id);
      expect(carried?.staticSummary).toBe('ENG-77 · Cache the widget index');
      await signalWithStartIssue(target, { id: issue.id }, { command: 'retry', by: 'op', deliveryId: 'd-2' }, carried);
      expect(await (await handle.describe()).staticSummary()).toBe('ENG-77 · Cache the widget index');
    } finally {
      await handle.terminate('test finished').catch(() => undefined);
    }
  });

  it('the fleet says what it is', async () => {
    const client = await testClient();
    const taskQueue = uniqueTaskQueue('metadata-fleet');
    const workflowId = await reviveFleet(client, taskQueue, capacity);
    try {
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(await description.staticSummary()).toBe('Conveyor fleet: leases and queue');
      expect(await description.staticDetails()).toContain(`\`${taskQueue}\``);
    } finally {
      await client.workflow.getHandle(workflowId).terminate('test finished').catch(() => undefined);
    }
  });
});
