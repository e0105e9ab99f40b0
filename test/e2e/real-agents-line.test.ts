// The demo issues through the whole line with the real agent CLIs (installed from npm) instead
// of the demo agent: the gateway, both emulators, the model emulator scripting the CLIs' tool
// calls, real git, and the real Temporal dev server. Issue → real claude/codex → commits → PR
// → CI → review → merged, with the cost and the session recorded on the run.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { DEMO_REPO } from '../../src/sandbox/demo.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

for (const agent of ['claude', 'codex'] as const) {
  describe(`the demo line with the real ${agent} CLI`, () => {
    let factory: E2eFactory;
    beforeAll(async () => {
      factory = await startE2eFactory(`e2e-${agent}`, { demo: true, agent });
    });
    afterAll(async () => {
      await factory?.cleanup();
    });

    it('merges the greeting issue from the commits the agent made, with its cost recorded', async () => {
      expect(factory.seeded).toBe(true);
      expect(factory.config.factory.agents.default).toBe(agent);
      const issue = factory.sandbox.linear.state().data.issues.find((i) => /greeting/.test(i.title))!;
      const run = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
      const state = await eventually(`${issue.title} merged by ${agent}`, async () => {
        const s = await run.query(issueStateQuery);
        return s.outcome === 'merged' && s;
      }, 240_000, 1_000);

      expect(state).toMatchObject({ attempts: 1, agentName: expect.any(String) });
      expect(state.costUsd).toBeGreaterThan(0);
      const pr = await factory.sandbox.github.getPull(DEMO_REPO, state.pr!.number);
      expect(pr).toMatchObject({ merged: true, state: 'closed' });
      const commits = await factory.sandbox.github.listCommits(DEMO_REPO, 'main');
      const subjects = commits.map((c) => c.message.split('\n')[0]);
      expect(subjects).toContain(`${state.issue!.key}: ${issue.title}`);
      // The CLI talked to the model emulator, and every request it sent had the provider's shape.
      const requests = factory.sandbox.models.requests.filter((r) => r.provider === (agent === 'claude' ? 'anthropic' : 'openai'));
      expect(requests.filter((r) => r.tool !== null).length).toBeGreaterThanOrEqual(2);
      expect(factory.sandbox.models.invalidRequests).toEqual([]);
      expect(factory.sandbox.linear.getIssue(issue.id)!.state.name).toBe('Done');
      // The CLI's session folder was kept while the issue could be re-dispatched, and goes with the worktree.
      const agentState = resolve(factory.config.root, factory.config.factory.workspaceDir, 'agent-state');
      expect(existsSync(agentState)).toBe(true);
      await eventually('the agent state removed by release', () => !existsSync(join(agentState, state.issue!.key.toLowerCase())) || undefined, 60_000, 500);
    }, 300_000);

    it('a model that refuses the key (401) ends the run as an auth failure, never retried by Temporal', async () => {
      const description = 'Document the widget lifecycle in docs/ so that new contributors can follow it end to end. [model:auth-fail]\n\nAcceptance: a lifecycle page exists and is linked.';
      const created = factory.sandbox.linear.createIssue({ teamKey: 'DEMO', title: 'Document the widget lifecycle', description, priority: 2, labels: ['conveyor'], stateName: 'Todo' });
      const state = await eventually('the 401 run ended', async () => {
        const s = await factory.client.workflow.getHandle(issueWorkflowId(created.id)).query(issueStateQuery).catch(() => null);
        return s !== null && s.outcome !== null ? s : false;
      }, 240_000, 1_000);
      expect(state).toMatchObject({ outcome: 'agent-failed', failureClass: 'auth' });
      // One activity attempt: the CLI's own tries (1 + sandbox maxRetries 2), nothing more.
      const refused = factory.sandbox.models.requests.filter((r) => r.marker === 'auth-fail');
      expect(refused.map((r) => r.answer)).toEqual(['401', '401', '401']);
    }, 300_000);
  });
}
