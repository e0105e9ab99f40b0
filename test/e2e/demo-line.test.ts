// The three demo issues through the whole line: the real dev server, the gateway, both
// emulators (driven by the real @linear/sdk and @octokit/rest clients), the scripted demo
// agent as a real child process, and real git. Final states are read from both services.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import { DEMO_REPO } from '../../src/sandbox/demo.js';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/sandbox.js';
import { issueStateQuery } from '../../src/workflows/messages.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

let factory: E2eFactory;

beforeAll(async () => {
  factory = await startE2eFactory('e2e', { demo: true });
});

afterAll(async () => {
  await factory?.cleanup();
});

const issueByTitle = (title: RegExp) => factory.sandbox.linear.getIssue(factory.sandbox.linear.state().data.issues.find((i) => title.test(i.title))!.id)!;

describe('the demo, end to end on the sandbox', () => {
  it('merges the well-specified issue, escalates the thin one, and fixes the CI failure by feedback', async () => {
    expect(factory.seeded).toBe(true);
    const greeting = issueByTitle(/greeting/);
    const thin = issueByTitle(/Make it better/);
    const changelog = issueByTitle(/changelog/);
    const run = (id: string) => factory.client.workflow.getHandle(issueWorkflowId(id));

    const [greetingRun, changelogRun] = await Promise.all(
      [greeting, changelog].map((issue) => eventually(`${issue.title} merged`, async () => {
        const state = await run(issue.id).query(issueStateQuery);
        return state.outcome === 'merged' && state;
      }, 120_000, 500)),
    );
    const thinRun = await eventually('the thin issue escalated', async () => {
      const state = await run(thin.id).query(issueStateQuery);
      // The phase is recorded before the escalation comment lands: wait for both.
      return state.phase === 'escalated' && factory.sandbox.linear.listComments(thin.id).length > 0 && state;
    });

    // The tracker, as Linear would show it.
    expect(issueByTitle(/greeting/).state.name).toBe('Done');
    expect(issueByTitle(/changelog/).state.name).toBe('Done');
    expect(issueByTitle(/Make it better/).state.name).toBe('Todo');
    const comments = (id: string) => factory.sandbox.linear.listComments(id).map((c) => c.body);
    expect(comments(greeting.id).at(-1)).toMatch(/^Merged in .*pull\/\d+/);
    expect(comments(thin.id)[0]).toMatch(/too thin to dispatch/);
    expect(thinRun.attempts).toBe(0);

    // The forge: PRs merged into real merge commits, branches deleted.
    expect(changelogRun!.attempts).toBe(2);
    expect(changelogRun!.redispatches).toBe(1);
    expect(greetingRun!.attempts).toBe(1);
    for (const state of [greetingRun!, changelogRun!]) {
      const pr = await factory.sandbox.github.getPull(DEMO_REPO, state.pr!.number);
      expect(pr).toMatchObject({ merged: true, state: 'closed' });
      const branch = await factory.integrations.forge.findPullRequest(DEMO_REPO, branchForIssue(state.issue!.key, state.issue!.id));
      expect(branch?.merged).toBe(true);
    }
    const main = await factory.sandbox.github.listCommits(DEMO_REPO, 'main');
    expect(main.filter((c) => c.parents.length === 2)).toHaveLength(2);
    const open = await factory.integrations.forge.listOpenPullRequests(DEMO_REPO, 'conveyor/');
    expect(open).toEqual([]);
    for (const issue of [greeting, changelog]) {
      const branch = await fetch(`${factory.sandbox.github.url}/repos/${DEMO_REPO}/branches/${encodeURIComponent(branchForIssue(issue.key, issue.id))}`, { headers: { authorization: `token ${SANDBOX_CREDENTIALS.GITHUB_TOKEN}` } });
      expect(branch.status).toBe(404);
    }
    const kept = await fetch(`${factory.sandbox.github.url}/repos/${DEMO_REPO}/branches/main`, { headers: { authorization: `token ${SANDBOX_CREDENTIALS.GITHUB_TOKEN}` } });
    expect(kept.status).toBe(200);

    // Nothing either client sent fell outside the real schemas.
    expect(factory.sandbox.linear.invalidDocuments).toEqual([]);
    expect(factory.sandbox.linear.unsupportedRequests).toEqual([]);
    const fleet = await factory.client.workflow.getHandle(`conveyor-fleet-${factory.config.taskQueue}`).query<{ leases: unknown[] }>('fleetState');
    expect(fleet.leases).toEqual([]);
  }, 180_000);
});
