// Host affinity (issue 13): the agent's commits live in the worktree of the host that ran it, so
// the steps that touch that worktree (publish, cleanup) go to the task queue only that host
// polls. When that host is gone past policies.timeouts.hostGone, the agent runs again elsewhere
// from the branch as it was pushed. Today the publish step goes to whichever worker polls first,
// which on another host finds no worktree ("a logic error").
import type { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { hostTaskQueue, issueWorkflowId } from '../../src/domain/naming.js';
import { operatorCommandSignal } from '../../src/workflows/messages.js';
import type { AgentHost } from '../../src/workflows/activity-types.js';
import { createLine, withLine, type Line } from '../helpers/line-harness.js';
import { makeIssue } from '../helpers/scripted-line.js';
import { closeTestConnections, createTestWorker } from '../helpers/temporal.js';

afterAll(closeTestConnections);

const hostOf = (id: string) => (taskQueue: string): AgentHost => ({ id, taskQueue: hostTaskQueue(taskQueue, id) });

/** A worker polling only `host`'s own queue, with the world's activities as that host runs them. */
async function hostWorker(line: Line, id: string): Promise<Worker> {
  const host = hostOf(id)(line.taskQueue);
  return createTestWorker({ taskQueue: host.taskQueue, activities: line.world.activities(line.client, { host: () => host }) });
}

describe('host affinity', () => {
  it('publishes from the host that ran the agent, not from whichever worker polls first; the worktree is removed there too', { timeout: 120_000 }, async () => {
    const line = await createLine({ name: 'host-publish', host: hostOf('alpha') });
    const { world } = line;
    world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const [alpha, beta] = [await hostWorker(line, 'alpha'), await hostWorker(line, 'beta')];
    const issue = world.addIssue(makeIssue());
    await withLine(line, () =>
      alpha.runUntil(
        beta.runUntil(async () => {
          await line.start(issue);
          await line.until('the PR', () => world.prs.get(1));
          expect(world.publishedOn).toEqual([hostTaskQueue(line.taskQueue, 'alpha')]);
          expect((await line.state(issue)).host).toEqual({ id: 'alpha', taskQueue: hostTaskQueue(line.taskQueue, 'alpha') });
          // An abort ends the run; its release removes the worktree where it is.
          await line.client.workflow.getHandle(issueWorkflowId(issue.id)).signal(operatorCommandSignal, { deliveryId: 'abort-1', command: 'abort', by: 'op@example.com' });
          expect((await line.result(issue)).outcome).toBe('aborted');
          expect(world.cleanedOn).toEqual([hostTaskQueue(line.taskQueue, 'alpha')]);
        }),
      ),
    );
  });

  it('a host gone with the unpushed commits: the agent runs again on another host from the pushed branch, and publishes there', { timeout: 120_000 }, async () => {
    let hostNow = 'alpha';
    const line = await createLine({ name: 'host-gone', host: (taskQueue) => hostOf(hostNow)(taskQueue), policy: { hostGone: '2s' } });
    const { world } = line;
    world.ciFor = (sha) => ({ sha, state: 'pending', failures: [] });
    const scripted = world.agent;
    world.agent = async (input, w) => {
      const result = await scripted(input, w);
      // Alpha finished its agent, then went away before publishing: no worker polls its queue,
      // and beta takes the shared queue.
      hostNow = 'beta';
      return result;
    };
    const beta = await hostWorker(line, 'beta');
    const issue = world.addIssue(makeIssue());
    await withLine(line, () =>
      beta.runUntil(async () => {
        await line.start(issue);
        await line.until('the PR', () => world.prs.get(1), 40_000);
        expect(world.agentRuns).toHaveLength(2);
        expect(world.agentRuns[1]!.feedback).toMatch(/lost with its host \(alpha\)/);
        expect(world.publishedOn).toEqual([hostTaskQueue(line.taskQueue, 'beta')]);
        const state = await line.state(issue);
        expect(state.host?.id).toBe('beta');
        expect(state.history.some((h) => /host alpha did not take the publish step/.test(h.note))).toBe(true);
      }),
    );
  });
});
