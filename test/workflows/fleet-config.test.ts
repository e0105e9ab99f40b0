// One fleet configuration per task queue (issue 11): each worker start used to overwrite the
// fleet's caps with its own, so two hosts with different factory.yaml fought silently. Now a
// worker with another configuration refuses to start, and `conveyor fleet apply` changes it.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyFleet } from '../../src/cli/operate.js';
import { fleetCapacity } from '../../src/config/fleet-capacity.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { fleetWorkflowId } from '../../src/domain/naming.js';
import { FleetConfigMismatchError, fleetFingerprint } from '../../src/temporal/fleet-config.js';
import { ensureFleet } from '../../src/workers/worker.js';
import { fleetStateQuery } from '../../src/workflows/messages.js';
import { ScriptedWorld } from '../helpers/scripted-line.js';
import { closeTestConnections, createTestWorker, eventually, testClient, uniqueTaskQueue } from '../helpers/temporal.js';

afterAll(closeTestConnections);

const repoRoot = join(import.meta.dirname, '..', '..');

/** This installation's config on a test's own task queue, with these fleet keys. */
function hostConfig(taskQueue: string, fleet: Partial<Config['factory']['fleet']>): Config {
  const base = loadConfig({ root: repoRoot, profile: 'sandbox', env: {} });
  return { ...base, taskQueue, factory: { ...base.factory, fleet: { ...base.factory.fleet, holderCheckInterval: '1s', ...fleet } } };
}

async function refusal(start: Promise<unknown>): Promise<FleetConfigMismatchError> {
  const err = await start.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FleetConfigMismatchError);
  return err as FleetConfigMismatchError;
}

describe('the fleet configuration', () => {
  it('fingerprints the caps, not the order their keys were written in', () => {
    const caps = fleetCapacity(hostConfig('q', {}));
    const reordered = Object.fromEntries(Object.entries(caps).reverse()) as typeof caps;
    expect(fleetFingerprint(reordered)).toBe(fleetFingerprint(caps));
    expect(fleetFingerprint({ ...caps, globalSlots: caps.globalSlots + 1 })).not.toBe(fleetFingerprint(caps));
  });

  it('derives maxLeaseAge from the agent deadline when factory.yaml leaves it out', () => {
    expect(fleetCapacity(hostConfig('q', {})).maxLeaseAge).toBe('130m');
    expect(fleetCapacity(hostConfig('q', { maxLeaseAge: '3h' })).maxLeaseAge).toBe('3h');
  });

  it('refuses a second worker whose fleet configuration differs, naming each key, until fleet apply changes it', async () => {
    const client = await testClient();
    const taskQueue = uniqueTaskQueue('config');
    const hostA = hostConfig(taskQueue, { slots: 3 });
    const hostB = hostConfig(taskQueue, { slots: 5, maxLeaseAge: '3h' });
    const fleet = client.workflow.getHandle(fleetWorkflowId(taskQueue));
    const world = new ScriptedWorld();
    world.fleet = { taskQueue, capacity: fleetCapacity(hostA) };
    const worker = await createTestWorker({ taskQueue, activities: world.activities(client) });
    try {
      await worker.runUntil(async () => {
        expect(await ensureFleet(client, hostA)).toMatchObject({ outcome: 'running', changes: [] });
        expect((await ensureFleet(client, hostA)).outcome).toBe('running');

        const refused = await refusal(ensureFleet(client, hostB));
        expect(refused.message).toContain('fleet.slots: 3 → 5');
        expect(refused.message).toContain('fleet.maxLeaseAge: 130m → 3h');
        expect(refused.message).toContain('conveyor fleet apply');
        expect(refused.changes.map((c) => c.key)).toEqual(['fleet.slots', 'fleet.maxLeaseAge']);
        expect((await fleet.query(fleetStateQuery)).capacity.globalSlots).toBe(3);

        const applied = await applyFleet(client, hostB, 20_000);
        expect(applied).toMatchObject({ outcome: 'applied', taken: true });
        expect(await fleet.query(fleetStateQuery)).toMatchObject({ fingerprint: applied.fingerprint, configuredBy: expect.any(String), capacity: { globalSlots: 5, maxLeaseAge: '3h' } });
        expect((await ensureFleet(client, hostB)).outcome).toBe('running');
        expect((await refusal(ensureFleet(client, hostA))).message).toContain('fleet.slots: 5 → 3');
      });
    } finally {
      await fleet.terminate('test finished').catch(() => undefined);
    }
  });

  it('lets a worker with the configuration fleet apply sent start while no worker runs the fleet (one host, worker stopped)', async () => {
    const client = await testClient();
    const taskQueue = uniqueTaskQueue('config-pending');
    const before = hostConfig(taskQueue, { slots: 2 });
    const after = hostConfig(taskQueue, { slots: 4 });
    const fleet = client.workflow.getHandle(fleetWorkflowId(taskQueue));
    try {
      expect((await ensureFleet(client, before)).outcome).toBe('running');
      const sent = await applyFleet(client, after, 500);
      expect(sent).toMatchObject({ outcome: 'applied', taken: false });
      expect((await ensureFleet(client, after)).outcome).toBe('pending');
      expect((await refusal(ensureFleet(client, before))).message).toContain('fleet.slots: 4 → 2');

      const world = new ScriptedWorld();
      world.fleet = { taskQueue, capacity: fleetCapacity(after) };
      const worker = await createTestWorker({ taskQueue, activities: world.activities(client) });
      await worker.runUntil(async () => {
        await eventually('the fleet took the configuration', async () => (await fleet.query(fleetStateQuery)).fingerprint === sent.fingerprint);
        expect((await ensureFleet(client, after)).outcome).toBe('running');
      });
    } finally {
      await fleet.terminate('test finished').catch(() => undefined);
    }
  });
});
