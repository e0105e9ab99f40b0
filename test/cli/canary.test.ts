// `conveyor canary` as an operator runs it after a deploy, against a whole factory on the
// sandbox (the test run's dev server, the gateway, both emulators, a worker, the demo agent as a
// real child process): the command files a synthetic issue through the real @linear/sdk and
// follows it through the real line. One canary passes every station; one whose agent is
// scripted to break CI ([demo:fail-ci-once]) exits non-zero naming the CI station, and leaves
// nothing working on its issue. Then `conveyor routes` shows what the canary exercised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { cleanUpCanary, type CanaryReport } from '../../src/cli/canary.js';
import type { RoutesReport } from '../../src/cli/routes.js';
import { branchForIssue, issueWorkflowId } from '../../src/domain/naming.js';
import type { Forge } from '../../src/integrations/forge.js';
import { DEMO_REPO, seedDemoRepo } from '../../src/sandbox/demo.js';
import { makeTestRoot, runConveyor, type TestRoot } from '../helpers/conveyor-root.js';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';
import { eventually } from '../helpers/temporal.js';

let factory: E2eFactory;
let root: TestRoot;

beforeAll(async () => {
  factory = await startE2eFactory('canary', { demo: false });
  await seedDemoRepo(factory.sandbox);
  root = makeTestRoot('canary');
});

afterAll(async () => {
  await factory?.cleanup();
  root?.cleanup();
});

function canaryEnv(): Record<string, string> {
  return {
    CONVEYOR_PROFILE: 'sandbox',
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    CONVEYOR_LINEAR_PORT: String(factory.sandbox.linear.port),
    CONVEYOR_GITHUB_PORT: String(factory.sandbox.github.port),
    CONVEYOR_GATEWAY_URL: factory.gateway.url,
  };
}

async function canary(...args: string[]): Promise<{ code: number | null; output: string }> {
  const run = runConveyor(['canary', '--root', root.dir, ...(args.includes('--timeout') ? [] : ['--timeout', '150s']), ...args], canaryEnv());
  const { code } = await run.exited;
  return { code, output: run.output() };
}

const lastReport = () => JSON.parse(readFileSync(join(root.dir, '.data/canary/last.json'), 'utf8')) as CanaryReport;

describe('conveyor canary on the sandbox', () => {
  it('follows a synthetic issue through every station and exits 0; the PR is closed, never merged', async () => {
    const { code, output } = await canary();
    expect(output, output).toMatch(/canary passed/);
    expect(code).toBe(0);
    for (const station of ['webhook received', 'triaged', 'agent ran', 'PR opened', 'CI green', 'PR closed without merge', 'issue done']) {
      expect(output).toMatch(new RegExp(`^ok +${station} +\\d+\\.\\ds \\(at \\d+\\.\\ds\\)`, 'm'));
    }

    const report = lastReport();
    expect(report).toMatchObject({ ok: true, team: 'DEMO', repo: DEMO_REPO, outcome: 'closed-synthetic', cleanup: [] });
    expect(report.stations.every((s) => s.status === 'ok')).toBe(true);
    // What the two services say, read from the emulators themselves.
    const issue = factory.sandbox.linear.getIssue(report.issue!.id)!;
    expect(issue.state.name).toBe('Done');
    expect([...issue.labels].sort()).toEqual(['conveyor', 'conveyor-e2e']);
    const pr = await factory.integrations.forge.findPullRequest(DEMO_REPO, `conveyor/${report.issue!.key.toLowerCase()}-${report.issue!.id}`);
    expect(pr).toMatchObject({ state: 'closed', merged: false });
    // The webhook routes the gateway counted while it ran.
    expect('exercised' in report.routes && report.routes.exercised).toMatchObject({
      'linear Issue.create → start:issue-ready': 1,
      'github pull_request.opened → signal:forge:pull-request': 1,
      'github check_suite.completed → signal:forge:checks': expect.any(Number),
    });
  }, 240_000);

  it('conveyor routes marks what the last canary exercised', async () => {
    const run = runConveyor(['routes', '--json', '--root', root.dir], canaryEnv());
    expect((await run.exited).code).toBe(0);
    const report = JSON.parse(run.output()) as RoutesReport;
    const route = (key: string) => report.routes.find((r) => r.key === key);
    expect(route('linear Issue.create → start:issue-ready')?.canary).toBe(1);
    expect(route('linear Comment.create → signal:operator:abort')?.canary).toBe(0);
    expect(report.endings.find((e) => e.outcome === 'closed-synthetic')).toMatchObject({ canary: true, kind: 'success' });
    expect(report.endings.find((e) => e.outcome === 'merged')?.canary).toBe(false);
    expect(report.canary).toMatchObject({ ok: true, issue: lastReport().issue!.key });

    const table = runConveyor(['routes', '--root', root.dir], canaryEnv());
    await table.exited;
    expect(table.output()).toMatch(/^linear +Issue\.create +the issue is ready for the factory +start:issue-ready +yes \(1\)/m);
    expect(table.output()).toMatch(/^last canary: .* passed \(DEMO-\d+;/m);
  }, 60_000);

  it('fails at "CI green" when the agent breaks CI, exits non-zero, and leaves nothing working on the issue', async () => {
    const { code, output } = await canary('--append', '[demo:fail-ci-once]');
    expect(code, output).toBe(1);
    expect(output).toMatch(/^FAIL +CI green .*CI failed/m);
    expect(output).toMatch(/^ +check: .*checks/m);
    expect(output).toMatch(/canary FAILED at "CI green"/);
    expect(output).not.toMatch(/^ok +PR closed without merge/m);

    const report = lastReport();
    expect(report.ok).toBe(false);
    expect(report.stations.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'failed', 'not-reached', 'not-reached']);
    expect(report.cleanup.join('\n')).toMatch(/aborted run/);
    // The run was aborted and released; its PR is closed, not merged.
    const handle = factory.client.workflow.getHandle(issueWorkflowId(report.issue!.id));
    await eventually('the aborted run closed', async () => (await handle.describe()).status.name !== 'RUNNING', 60_000, 500);
    const pr = await factory.integrations.forge.findPullRequest(DEMO_REPO, `conveyor/${report.issue!.key.toLowerCase()}-${report.issue!.id}`);
    expect(pr).toMatchObject({ state: 'closed', merged: false });
    // Blocked by the abort, with the one comment saying so: a human sees why it stopped.
    const issue = factory.sandbox.linear.getIssue(report.issue!.id)!;
    expect(issue.labels).toContain('conveyor-blocked');
    expect(factory.sandbox.linear.listComments(issue.id).map((c) => c.body).join('\n')).toMatch(/aborted by conveyor canary/);
    const fleet = await factory.client.workflow.getHandle(`conveyor-fleet-${factory.config.taskQueue}`).query<{ leases: unknown[] }>('fleetState');
    expect(fleet.leases).toEqual([]);
  }, 240_000);

  it('times out at the first station it does not reach, names it, and leaves nothing to start the issue later', async () => {
    // No time at all: the first station that is not already there when it is read times out.
    const { code, output } = await canary('--timeout', '0s');
    expect(code, output).toBe(1);
    expect(output).toMatch(/^FAIL +(webhook received|triaged|agent ran) .*timed out: no sign of it within 0s/m);
    expect(output).toMatch(/canary FAILED at "(webhook received|triaged|agent ran)"/);
    const report = lastReport();
    expect(report.stations.find((s) => s.status === 'timed-out')?.check).toBeTruthy();
    // Whether its run had started (aborted, the issue blocked) or not (the ready label removed),
    // the issue ends without the ready label, and no run of it stays open.
    await eventually('the canary issue without its ready label', () => !factory.sandbox.linear.getIssue(report.issue!.id)!.labels.includes('conveyor'), 60_000, 500);
    const handle = factory.client.workflow.getHandle(issueWorkflowId(report.issue!.id));
    await eventually('no open run for the canary issue', async () => {
      try {
        return (await handle.describe()).status.name !== 'RUNNING';
      } catch {
        return true;
      }
    }, 60_000, 500);
  }, 120_000);

  it('after a failure closes every open PR of the branch once the aborted run has closed, including one a late publish opened', async () => {
    // A thin issue: its run escalates and stays open, like a canary's run stopped mid-line.
    const issue = factory.sandbox.linear.createIssue({ teamKey: 'DEMO', title: 'Canary stand-in', description: 'make it nicer', priority: 2, labels: ['conveyor'], stateName: 'Todo' });
    const handle = factory.client.workflow.getHandle(issueWorkflowId(issue.id));
    await eventually('the stand-in run open', async () => (await handle.describe().catch(() => null))?.status.name === 'RUNNING', 60_000, 250);
    const branch = branchForIssue(issue.key, issue.id);
    await factory.sandbox.github.commitFiles(DEMO_REPO, { branch, files: { 'CHANGELOG.md': '# stand-in\n' }, message: `${issue.key}: stand-in` });
    const seen = await factory.integrations.forge.openPullRequest({ repo: DEMO_REPO, head: branch, base: 'main', title: `${issue.key}: stand-in`, body: '' });

    // The abort does not wait for an activity in flight: a publish that was running when it
    // arrived finds no open PR once the seen one is closed, and opens another. The forge the
    // cleanup is given plays that publish right after the first close.
    const forge = factory.integrations.forge;
    const late: number[] = [];
    const racing: Forge = {
      ...forge,
      async closePullRequest(repo, number) {
        await forge.closePullRequest(repo, number);
        if (late.length === 0) late.push((await forge.openPullRequest({ repo, head: branch, base: 'main', title: `${issue.key}: stand-in`, body: '' })).number);
      },
    };
    const done = await cleanUpCanary({ client: factory.client, forge: racing, tracker: factory.integrations.tracker, readyLabel: 'conveyor', repo: DEMO_REPO, issue, pollMs: 250 });

    expect(late).toHaveLength(1);
    expect(late[0]).not.toBe(seen.number);
    expect(done.join('\n')).toMatch(/aborted run/);
    expect(done.filter((line) => /^closed .* without merge$/.test(line))).toHaveLength(2);
    expect((await handle.describe()).status.name).not.toBe('RUNNING');
    for (const number of [seen.number, late[0]!]) expect(await forge.getPullRequest(DEMO_REPO, number)).toMatchObject({ state: 'closed', merged: false });
  }, 120_000);
});
