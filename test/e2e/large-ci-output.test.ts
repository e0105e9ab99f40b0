// 5 MB of CI output through the whole line (issue 11, problem 6): a CI app reports 80 failing
// jobs, each with as long a summary as GitHub accepts. Unbounded, that text would travel into
// the run's state, the agent's input and the continue-as-new input, and past Temporal's blob
// limit the server would end the run before its release station. Bounded, the run carries on:
// it re-dispatches the agent with the cut feedback and waits for CI on the new head.
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PAYLOAD_LIMIT, utf8Length } from '../../src/domain/bounded-text.js';
import { issueWorkflowId } from '../../src/domain/naming.js';
import { DEMO_OPERATOR, DEMO_REPO, DEMO_TEAM } from '../../src/sandbox/demo.js';
import { SANDBOX_CREDENTIALS } from '../../src/sandbox/sandbox.js';
import { signalWithStartIssue } from '../../src/temporal/issue-runs.js';
import { linePolicyFromConfig } from '../../src/config/line-policy.js';
import { forgeEventSignal, issueStateQuery } from '../../src/workflows/messages.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

const JOBS = Array.from({ length: 80 }, (_, n) => `test (shard ${n + 1}/80)`);
const MATRIX_GATE = 'matrix (not reported yet)';

let factory: E2eFactory;

beforeAll(async () => {
  factory = await startE2eFactory('e2e-large', { demo: false });
  const { github, linear } = factory.sandbox;
  await github.createRepo({ owner: 'demo', name: 'widgets', defaultBranch: 'main', files: { 'README.md': '# widgets\n' } });
  // Until the CI app has reported every job, protection requires a check nobody reports, so
  // the gate waits (pending) instead of acting on the first few jobs of the matrix.
  await github.setBranchProtection(DEMO_REPO, 'main', { requiredChecks: [MATRIX_GATE] });
  linear.createTeam({ key: DEMO_TEAM, name: 'Demo' });
  linear.createUser(DEMO_OPERATOR);
  linear.createLabel({ name: 'conveyor' });
}, 120_000);

afterAll(async () => {
  await factory?.cleanup();
});

describe('5 MB of CI output', () => {
  it('is cut to the payload limit and the run re-dispatches and carries on', async () => {
    const issue = factory.sandbox.linear.createIssue({
      teamKey: DEMO_TEAM,
      title: 'Serve /healthz',
      priority: 2,
      labels: ['conveyor'],
      stateName: 'Todo',
      description: 'Add a /healthz endpoint that answers 200 with a small JSON body so that the load balancer can probe the service every few seconds.\n\n## Acceptance\n- [ ] GET /healthz answers 200',
    });
    await signalWithStartIssue({ client: factory.client, taskQueue: factory.config.taskQueue, policy: linePolicyFromConfig(factory.config) }, { id: issue.id, key: issue.key }, { kind: 'issue-ready', deliveryId: 'e2e-large-start' });
    const run = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
    const waiting = await eventually('the merge gate waiting for the matrix', async () => {
      const state = await run.query(issueStateQuery);
      return state.phase === 'merge-gate' && state.pr !== null && state;
    }, 90_000, 250);

    const octokit = new Octokit({ auth: SANDBOX_CREDENTIALS.GITHUB_TOKEN, baseUrl: factory.sandbox.github.url });
    const line = (n: number) => `✗ shard test ${n} failed: expected 200, got 500 at src/server.ts:${n}\n`;
    const summary = Array.from({ length: 2_000 }, (_, n) => line(n)).join('').slice(0, 65_535);
    for (const name of JOBS) {
      await octokit.rest.checks.create({ owner: 'demo', repo: 'widgets', name, head_sha: waiting.pr!.headSha, conclusion: 'failure', output: { title: `${name}: 1,500 tests failed`, summary } });
    }
    expect(JOBS.length * summary.length).toBeGreaterThan(5_000_000);
    // All 80 reported: now they are what protection requires, in one switch, so the gate's next
    // read sees the whole 5 MB at once.
    await factory.sandbox.github.setBranchProtection(DEMO_REPO, 'main', { requiredChecks: JOBS });
    // Check runs created by an app send no webhook from the emulator: nudge as the sweep would.
    await run.signal(forgeEventSignal, { deliveryId: 'e2e-large-checks', kind: 'checks', headSha: waiting.pr!.headSha });

    const redispatched = await eventually('the re-dispatched agent pushing a new head', async () => {
      const state = await run.query(issueStateQuery);
      return state.attempts === 2 && state.phase === 'merge-gate' && state.pr!.headSha !== waiting.pr!.headSha && state;
    }, 90_000, 250);
    expect(redispatched.outcome).toBeNull();
    expect(utf8Length(redispatched.feedback!)).toBeLessThanOrEqual(DEFAULT_PAYLOAD_LIMIT);
    expect(redispatched.feedback).toMatch(/^CI failed on /);
    // Each summary was cut where it entered the run (the activity), with a note saying where the rest is.
    expect(redispatched.feedback).toMatch(/\[cut: [\d,]+ KiB more; the full text is in the worker log and the checks of demo\/widgets#\d+\]/);
    const description = await run.describe();
    expect(description.status.name).toBe('RUNNING');
  }, 180_000);
});
