// What a namespace needs before Conveyor can run in it: the namespace itself and Conveyor's
// custom search attributes. The dev server gets both at start (`--search-attribute`); a
// self-hosted cluster or Temporal Cloud needs them registered once, through the operator API.
// `ensure*` is idempotent (safe on every deploy, or from `conveyor doctor --fix`); `check*`
// only reads, for a doctor that explains without changing anything.
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { defineSearchAttributeKey, msToTs, SearchAttributeType } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { Agent, FailureClassKey, IssueKey, LeaseKey, PhaseKey, PR, Repo } from '../workflows/search-attributes.js';

/** A typed search attribute key, as `defineSearchAttributeKey` makes them. */
export type SearchAttributeKey = ReturnType<typeof defineSearchAttributeKey<SearchAttributeType>>;

/** Every search attribute the workflows write, from their one definition. */
export const CONVEYOR_SEARCH_ATTRIBUTES: readonly SearchAttributeKey[] = [IssueKey, Repo, PhaseKey, Agent, PR, FailureClassKey, LeaseKey];

// gRPC status codes (the SDK exposes the numbers, not names).
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

// The operator API speaks IndexedValueType; the SDK's keys speak SearchAttributeType.
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: 1,
  [SearchAttributeType.KEYWORD]: 2,
  [SearchAttributeType.INT]: 3,
  [SearchAttributeType.DOUBLE]: 4,
  [SearchAttributeType.BOOL]: 5,
  [SearchAttributeType.DATETIME]: 6,
  [SearchAttributeType.KEYWORD_LIST]: 7,
};

function typeName(indexed: temporal.api.enums.v1.IndexedValueType): string {
  const entry = Object.entries(INDEXED_VALUE_TYPE).find(([, value]) => value === indexed);
  return entry ? entry[0] : `type ${indexed}`;
}

/** A search attribute is registered with another type: Conveyor cannot fix that by itself. */
export class SearchAttributeConflictError extends Error {
  override readonly name = 'SearchAttributeConflictError';
}

export interface SearchAttributeCheck {
  namespace: string;
  present: string[];
  missing: Array<{ name: string; type: SearchAttributeType }>;
  /** Registered under the name with another type. */
  conflicting: Array<{ name: string; expected: SearchAttributeType; registered: string }>;
}

export async function checkSearchAttributes(connection: Connection, namespace: string, keys: readonly SearchAttributeKey[] = CONVEYOR_SEARCH_ATTRIBUTES): Promise<SearchAttributeCheck> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const registered = listed.customAttributes ?? {};
  const check: SearchAttributeCheck = { namespace, present: [], missing: [], conflicting: [] };
  for (const key of keys) {
    const found = registered[key.name];
    if (found === undefined) check.missing.push({ name: key.name, type: key.type });
    else if (found !== INDEXED_VALUE_TYPE[key.type]) check.conflicting.push({ name: key.name, expected: key.type, registered: typeName(found) });
    else check.present.push(key.name);
  }
  return check;
}

export interface SearchAttributeRegistration {
  namespace: string;
  present: string[];
  added: string[];
}

/**
 * Registers whichever of Conveyor's search attributes the namespace lacks, and returns once
 * the operator API lists them all. Throws SearchAttributeConflictError, naming each one, when
 * a name is taken with another type (rename or remove it on the cluster: a run would fail to
 * write it).
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  options: { keys?: readonly SearchAttributeKey[]; timeoutMs?: number } = {},
): Promise<SearchAttributeRegistration> {
  const keys = options.keys ?? CONVEYOR_SEARCH_ATTRIBUTES;
  const before = await checkSearchAttributes(connection, namespace, keys);
  if (before.conflicting.length > 0) {
    const names = before.conflicting.map((c) => `${c.name} is ${c.registered}, Conveyor writes ${c.expected}`).join('; ');
    throw new SearchAttributeConflictError(`Search attributes in namespace ${namespace} have the wrong type: ${names}. Remove or rename them on the cluster (temporal operator search-attribute remove), then run this again.`);
  }
  if (before.missing.length === 0) return { namespace, present: before.present, added: [] };
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(before.missing.map((m) => [m.name, INDEXED_VALUE_TYPE[m.type]])),
  });
  // Elasticsearch-backed clusters add them in a system workflow: wait until they are listed.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const after = await checkSearchAttributes(connection, namespace, keys);
    if (after.missing.length === 0 && after.conflicting.length === 0) {
      return { namespace, present: before.present, added: before.missing.map((m) => m.name) };
    }
    if (Date.now() > deadline) {
      throw new Error(`Registered ${before.missing.map((m) => m.name).join(', ')} in namespace ${namespace}, but the cluster still lists ${after.missing.map((m) => m.name).join(', ') || 'a conflict'} as missing. Check the server's log for the visibility store's error.`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function isGrpcCode(err: unknown, code: number): boolean {
  return isGrpcServiceError(err) && err.code === code;
}

/** Whether the namespace exists (false on NOT_FOUND; other errors are thrown). */
export async function namespaceExists(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if (isGrpcCode(err, NOT_FOUND)) return false;
    throw err;
  }
}

/**
 * Registers the namespace when it does not exist (a self-hosted cluster starts with none; the
 * dev server and Temporal Cloud namespaces already exist), and returns once it serves calls.
 * Retention is how long closed runs stay readable: the sweep and `conveyor status` read them.
 */
export async function ensureNamespace(connection: Connection, namespace: string, options: { retention?: string; timeoutMs?: number } = {}): Promise<{ namespace: string; created: boolean }> {
  let created = false;
  if (!(await namespaceExists(connection, namespace))) {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(options.retention ?? '7 days') });
      created = true;
    } catch (err) {
      // Registered by someone else in between: that is what we wanted.
      if (!isGrpcCode(err, ALREADY_EXISTS)) throw err;
    }
  }
  // A new namespace reaches the other services' caches a little later: wait until a call
  // that goes through them succeeds.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return { namespace, created };
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Namespace ${namespace} was ${created ? 'registered' : 'found'} but does not serve calls yet: ${(err as Error).message}. Check the Temporal server's log.`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
