// The demo issues through the whole line with the real agent CLIs (installed from npm) instead
// of the demo agent: the gateway, both emulators, the model emulator scripting the CLIs' tool
// calls, real git, and the real Temporal dev server. Issue → real claude/codex → commits → PR
// → CI → review → merged, with the cost and the session recorded on the run.
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
    }, 300_000);
  });
}
