// `conveyor doctor` against the test run's real dev server: a healthy runtime installation
// passes; each broken precondition fails with a message that says what to do; --fix registers
// a missing namespace and its search attributes through the operator service.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runDoctor, type Check, type DoctorReport } from '../../src/cli/doctor.js';
import { fleetWorkflowId } from '../../src/domain/naming.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { startFleet } from '../../src/temporal/runs.js';
import { makeTestRoot, runConveyor, type TestRoot } from '../helpers/conveyor-root.js';
import { closeTestConnections, testClient, uniqueTaskQueue } from '../helpers/temporal.js';

const roots: TestRoot[] = [];
const fleets: string[] = [];

afterAll(async () => {
  const client = await testClient();
  await Promise.all(fleets.map((id) => client.workflow.getHandle(id).terminate('test over').catch(() => undefined)));
  await closeTestConnections();
  for (const root of roots) root.cleanup();
});

const SECRETS = {
  LINEAR_API_KEY: 'lin_api_doctor_value_never_printed',
  GITHUB_TOKEN: 'ghp_doctor_value_never_printed',
  LINEAR_WEBHOOK_SECRETS: 'linear-hook-old,linear-hook-new',
  GITHUB_WEBHOOK_SECRETS: 'github-hook-value',
};

async function installation(options: { namespace?: string; address?: string; factory?: Record<string, unknown> } = {}) {
  const taskQueue = uniqueTaskQueue('doctor');
  const ports = { gateway: await freePort(), metrics: await freePort() };
  const root = makeTestRoot('doctor', {
    temporal: {
      connection: { address: options.address ?? inject('temporalAddress'), namespace: options.namespace ?? inject('temporalNamespace') },
      taskQueues: { runtime: taskQueue },
      worker: { metricsPort: ports.metrics },
    },
    factory: { agents: { default: 'demo', providers: { demo: { command: ['node', '{root}/scripts/demo-agent.mjs', '{promptFile}'] } } }, ...options.factory },
  });
  roots.push(root);
  const env = { PATH: process.env.PATH, ...SECRETS, CONVEYOR_GATEWAY_PORT: String(ports.gateway) };
  return { root: root.dir, taskQueue, ports, env };
}

const check = (report: DoctorReport, name: string): Check => report.checks.find((c) => c.name === name)!;

describe('conveyor doctor', () => {
  it('passes a healthy runtime installation, naming credentials without their values', async () => {
    const { root, env } = await installation();
    const report = await runDoctor({ root, profile: 'runtime', env });
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(['configuration', 'credentials', 'webhook secrets', 'temporal', 'namespace', 'search attributes', 'fleet', 'git', 'agent demo', 'ports', 'disk']);
    expect(check(report, 'credentials').detail).toBe('set: LINEAR_API_KEY, GITHUB_TOKEN');
    expect(check(report, 'webhook secrets').detail).toBe('set: LINEAR_WEBHOOK_SECRETS (2 secrets), GITHUB_WEBHOOK_SECRETS (1 secret)');
    expect(check(report, 'temporal').detail).toMatch(/^reachable at .*, server \d+\.\d+/);
    expect(check(report, 'search attributes').detail).toMatch(/^all 7 registered/);
    expect(check(report, 'fleet').detail).toMatch(/no fleet on task queue .* yet/);
    expect(check(report, 'git').detail).toMatch(/^git version \d/);
    expect(check(report, 'agent demo').detail).toMatch(/^v\d+\.\d+/);
    const text = JSON.stringify(report);
    for (const value of Object.values(SECRETS)) for (const part of value.split(',')) expect(text).not.toContain(part);
  });

  it('fails on missing credentials and webhook secrets, a busy port, a missing agent CLI and a full disk', async () => {
    const { root, ports } = await installation({ factory: { agents: { default: 'demo', providers: { demo: { command: ['no-such-agent-cli', '-p', '{promptFile}'] } } } } });
    const holder: Server = createServer();
    await new Promise<void>((ok) => holder.listen(ports.metrics, '127.0.0.1', () => ok()));
    try {
      const report = await runDoctor({ root, profile: 'runtime', env: { PATH: process.env.PATH, CONVEYOR_GATEWAY_PORT: String(ports.gateway) }, minFreeBytes: Number.MAX_SAFE_INTEGER });
      expect(report.ok).toBe(false);
      expect(check(report, 'credentials')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^not set: LINEAR_API_KEY, GITHUB_TOKEN \(or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID\)\. Put them in the service's environment/) });
      expect(check(report, 'webhook secrets')).toMatchObject({ status: 'fail', detail: expect.stringContaining('not set: LINEAR_WEBHOOK_SECRETS, GITHUB_WEBHOOK_SECRETS.') });
      expect(check(report, 'agent demo')).toMatchObject({ status: 'fail', detail: expect.stringContaining('no-such-agent-cli (agents.providers.demo.command) is not on PATH') });
      expect(check(report, 'ports')).toMatchObject({ status: 'fail', detail: expect.stringContaining(`in use: ${ports.metrics} (worker metrics)`) });
      expect(check(report, 'disk')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/GiB free under .* \(workspaceDir\), below/) });
      expect(check(report, 'temporal').status).toBe('ok');
    } finally {
      holder.close();
    }
  });

  it('fails when Temporal is unreachable, and skips what needs it', async () => {
    const { root, env } = await installation({ address: `127.0.0.1:${await freePort()}` });
    const report = await runDoctor({ root, profile: 'runtime', env });
    expect(check(report, 'temporal')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^Cannot reach Temporal at 127\.0\.0\.1:\d+ \(namespace default\)/) });
    expect(['namespace', 'search attributes', 'fleet'].map((name) => check(report, name).status)).toEqual(['skip', 'skip', 'skip']);
    expect(report.ok).toBe(false);
  });

  it("fails when the fleet runs another configuration than this host's, naming the keys", async () => {
    const { root, env, taskQueue } = await installation();
    fleets.push(fleetWorkflowId(taskQueue));
    await startFleet(await testClient(), taskQueue, { globalSlots: 5, repoSlots: { 'demo/widgets': 2 }, agentNames: ['ada'], holderCheckInterval: '1m', maxLeaseAge: '130m' });
    const report = await runDoctor({ root, profile: 'runtime', env });
    const fleet = check(report, 'fleet');
    expect(fleet.status).toBe('fail');
    expect(fleet.detail).toContain(`the fleet of ${taskQueue} runs another configuration`);
    expect(fleet.detail).toContain('fleet.slots: 5 → 3');
    expect(fleet.detail).toContain('conveyor fleet apply');
  });

  it('registers a missing namespace and its search attributes with --fix', async () => {
    const namespace = `doctor-${randomUUID().slice(0, 8)}`;
    const { root, env } = await installation({ namespace });
    const before = await runDoctor({ root, profile: 'runtime', env });
    expect(check(before, 'namespace')).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${namespace} does not exist. Run conveyor doctor --fix`) });
    expect(before.ok).toBe(false);

    const fixed = await runDoctor({ root, profile: 'runtime', env, fix: true });
    expect(check(fixed, 'namespace')).toEqual({ name: 'namespace', status: 'fixed', detail: `registered ${namespace}` });
    expect(check(fixed, 'search attributes')).toMatchObject({ status: 'fixed', detail: expect.stringContaining('registered ConveyorIssueKey, ConveyorRepo') });
    expect(fixed.ok).toBe(true);

    const after = await runDoctor({ root, profile: 'runtime', env });
    expect(check(after, 'search attributes')).toMatchObject({ status: 'ok' });
    expect(after.ok).toBe(true);
  }, 90_000);

  it('exits non-zero with --json on an invalid configuration', async () => {
    const { root } = await installation({ factory: { fleet: { slots: 'many' } } });
    const doctor = runConveyor(['doctor', '--json', '--root', root, '--profile', 'runtime'], {});
    const exit = await doctor.exited;
    expect(exit.code).toBe(1);
    const report = JSON.parse(doctor.output()) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'configuration', status: 'fail', detail: expect.stringContaining('fleet.slots') });
  }, 60_000);
});
