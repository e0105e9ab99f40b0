// Conveyor registers what a namespace needs by itself, through the operator API: the namespace
// and its search attributes. Here on the shared dev server, in fresh namespaces (its default
// namespace got them at start); the cluster group does it on a self-hosted PostgreSQL server.
import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CONVEYOR_SEARCH_ATTRIBUTES,
  SearchAttributeConflictError,
  checkSearchAttributes,
  ensureNamespace,
  ensureSearchAttributes,
  namespaceExists,
} from '../../src/temporal/namespace-setup.js';
import { IssueKey, PhaseKey } from '../../src/workflows/search-attributes.js';
import { temporalAddress, uniqueId } from '../helpers/temporal.js';
import { inject } from 'vitest';

const connections: Connection[] = [];
afterAll(async () => {
  for (const c of connections) await c.close();
});

async function operator(): Promise<Connection> {
  const connection = await Connection.connect({ address: temporalAddress() });
  connections.push(connection);
  return connection;
}

const ALL = CONVEYOR_SEARCH_ATTRIBUTES.map((k) => k.name).sort();

describe('ensureNamespace and ensureSearchAttributes', () => {
  it('registers a missing namespace and every search attribute once; a second call changes nothing', async () => {
    const connection = await operator();
    const namespace = uniqueId('ns');
    expect(await namespaceExists(connection, namespace)).toBe(false);

    expect(await ensureNamespace(connection, namespace)).toEqual({ namespace, created: true });
    expect(await ensureNamespace(connection, namespace)).toEqual({ namespace, created: false });
    const before = await checkSearchAttributes(connection, namespace);
    expect(before.missing.map((m) => m.name).sort()).toEqual(ALL);

    const first = await ensureSearchAttributes(connection, namespace);
    expect([...first.added].sort()).toEqual(ALL);
    const second = await ensureSearchAttributes(connection, namespace);
    expect(second.added).toEqual([]);
    expect([...second.present].sort()).toEqual(ALL);
  });

  it('adds only what is missing', async () => {
    const connection = await operator();
    const namespace = uniqueId('ns');
    await ensureNamespace(connection, namespace);
    await ensureSearchAttributes(connection, namespace, { keys: [IssueKey] });
    const result = await ensureSearchAttributes(connection, namespace);
    expect(result.present).toEqual([IssueKey.name]);
    expect([...result.added].sort()).toEqual(ALL.filter((n) => n !== IssueKey.name));
  });

  it('refuses, naming it, a search attribute registered with another type', async () => {
    const connection = await operator();
    const namespace = uniqueId('ns');
    await ensureNamespace(connection, namespace);
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [PhaseKey.name]: 1 /* Text */ } });
    const check = await checkSearchAttributes(connection, namespace);
    expect(check.conflicting).toEqual([{ name: PhaseKey.name, expected: 'KEYWORD', registered: 'TEXT' }]);
    await expect(ensureSearchAttributes(connection, namespace)).rejects.toThrow(SearchAttributeConflictError);
    await expect(ensureSearchAttributes(connection, namespace)).rejects.toThrow(/ConveyorPhase is TEXT, Conveyor writes KEYWORD/);
  });

  it("finds everything present on the test server's namespace, started with --search-attribute", async () => {
    const result = await ensureSearchAttributes(await operator(), inject('temporalNamespace'));
    expect(result.added).toEqual([]);
    expect([...result.present].sort()).toEqual(ALL);
  });
});
