// What the reaper asks Temporal, against the shared dev server and a real issue run whose agent
// activity is in flight: the activity that owns an agent runs, a later attempt or another
// activity does not, a closed run owns nothing, and a Temporal that cannot answer says "unknown".
import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import type { AgentOwner } from '../../src/integrations/agent-records.js';
import { temporalOwners } from '../../src/temporal/agent-owners.js';
import { createLine } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections, testClient } from '../helpers/temporal.js';

afterAll(closeTestConnections);

describe('the agent owners Temporal knows', () => {
  it('tells a running agent activity from a later attempt, another activity and a closed run', async () => {
    const line = await createLine({ name: 'agent-owners' });
    let owner: AgentOwner | undefined;
    line.world.agent = async () => {
      const ctx = Context.current();
      const execution = ctx.info.workflowExecution;
      owner = { workflowId: execution?.workflowId ?? '', runId: execution?.runId ?? '', activityId: ctx.info.activityId, attempt: ctx.info.attempt };
      for (;;) {
        ctx.heartbeat();
        await ctx.sleep(100);
      }
    };
    const issue = line.world.addIssue(makeIssue());
    const owners = temporalOwners(line.client);
    try {
      await line.worker.runUntil(async () => {
        await line.start(issue);
        const running = await line.until('the agent activity to start', () => owner);
        expect(running.workflowId).toBe(issueWorkflowId(issue.id));

        expect(await owners.ownerStatus(running)).toBe('running');
        expect(await owners.ownerStatus({ ...running, attempt: running.attempt + 1 })).toBe('gone');
        expect(await owners.ownerStatus({ ...running, activityId: 'not-this-one' })).toBe('gone');
        expect(await owners.runStatus(issue.id)).toBe('open');
        expect(await owners.runStatus('no-such-issue')).toBe('closed');

        await line.client.workflow.getHandle(running.workflowId, running.runId).terminate('test: the run ends under its agent');
        expect(await owners.ownerStatus(running)).toBe('gone');
        expect(await owners.runStatus(issue.id)).toBe('closed');
      });
    } finally {
      await line.client.workflow.getHandle(line.fleetId).terminate('test finished').catch(() => undefined);
    }
  });

  it('answers unknown when Temporal cannot be asked, so the reaper removes nothing', async () => {
    const client = await testClient();
    const elsewhere = temporalOwners(new Client({ connection: client.connection, namespace: 'no-such-namespace' }));
    expect(await elsewhere.ownerStatus({ workflowId: 'conveyor-issue-x', runId: 'r', activityId: '1', attempt: 1 })).toBe('unknown');
    expect(await elsewhere.runStatus('x')).toBe('unknown');
  });
});
