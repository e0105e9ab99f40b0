// What a Temporal cluster needs before Conveyor can start a run on it: the namespace, and the
// custom search attributes every run publishes (a start with an unregistered one fails). The
// dev server registers them at start (`--search-attribute`); a real cluster gets them here,
// through the operator service, from `conveyor doctor --fix` (or any code that sets one up).
import type { ConnectionLike } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import type { SEARCH_ATTRIBUTE_TYPES } from '../config/temporal-schema.js';

/** gRPC status codes the answers carry (grpc.status): NOT_FOUND and ALREADY_EXISTS. */
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;

/** A client's connection (`client.connection`) or a Connection: both services are all it needs. */
type Services = Pick<ConnectionLike, 'workflowService' | 'operatorService'>;

type AttributeType = (typeof SEARCH_ATTRIBUTE_TYPES)[number];

/** temporal.api.enums.v1.IndexedValueType: protocol numbers, stable across server versions. */
const INDEXED_VALUE_TYPES: Record<AttributeType, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };
const TYPE_NAMES = Object.fromEntries(Object.entries(INDEXED_VALUE_TYPES).map(([name, value]) => [value, name])) as Record<number, AttributeType>;

/** How long closed runs stay visible in a namespace created here: runs live 7-21 days, and their history is the audit trail. */
export const DEFAULT_RETENTION_DAYS = 30;

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === GRPC_NOT_FOUND || (err as Error).name === 'NamespaceNotFoundError';
}

export async function namespaceExists(connection: Services, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Registers the namespace unless it exists; waits until the frontend answers for it (its cache refreshes every few seconds). */
export async function ensureNamespace(connection: Services, namespace: string, options: { retentionDays?: number; timeoutMs?: number } = {}): Promise<'exists' | 'registered'> {
  if (await namespaceExists(connection, namespace)) return 'exists';
  const days = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${days}d`), description: 'Conveyor: one run per tracker issue' });
  } catch (err) {
    // Registered by someone else meanwhile: as good.
    if ((err as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw err;
  }
  // describeNamespace reads the database; other calls go through the frontend's namespace
  // cache, which learns of the new one on its next refresh (seconds): wait for both.
  const served = async () =>
    (await namespaceExists(connection, namespace)) &&
    (await connection.operatorService.listSearchAttributes({ namespace }).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    ));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await served())) {
    if (Date.now() > deadline) throw new Error(`Namespace ${namespace} was registered but the frontend does not serve it yet; run doctor again in a minute.`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return 'registered';
}

export interface SearchAttributeReport {
  present: string[];
  missing: Array<{ name: string; type: AttributeType }>;
  /** Registered under the name with another type: cannot be changed, only replaced by another name. */
  wrongType: Array<{ name: string; want: AttributeType; have: string }>;
}

export async function checkSearchAttributes(connection: Services, namespace: string, wanted: Record<string, AttributeType>): Promise<SearchAttributeReport> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const have = (customAttributes ?? {}) as Record<string, number>;
  const report: SearchAttributeReport = { present: [], missing: [], wrongType: [] };
  for (const [name, type] of Object.entries(wanted)) {
    const registered = have[name];
    if (registered === undefined) report.missing.push({ name, type });
    else if (registered !== INDEXED_VALUE_TYPES[type]) report.wrongType.push({ name, want: type, have: TYPE_NAMES[registered] ?? `type ${registered}` });
    else report.present.push(name);
  }
  return report;
}

/** Registers the missing ones; returns their names. Those with another type are left for the operator (see checkSearchAttributes). */
export async function ensureSearchAttributes(connection: Services, namespace: string, wanted: Record<string, AttributeType>): Promise<string[]> {
  const { missing } = await checkSearchAttributes(connection, namespace, wanted);
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map(({ name, type }) => [name, INDEXED_VALUE_TYPES[type]])) });
  return missing.map(({ name }) => name);
}
