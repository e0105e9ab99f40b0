import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { EmulatorGapError } from './errors.js';
import type { ResolverContext } from './nodes.js';

/**
 * Linear's schema as @linear/sdk 88.3.0 knows it; every document is validated against it.
 * It sits beside this module in src/; `tsc` does not copy it to dist/, so a build run from
 * dist/ reads it from src/ (dist/sandbox/linear -> src/sandbox/linear).
 */
export const SCHEMA_PATH = [
  fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  fileURLToPath(new URL('../../../src/sandbox/linear/schema.graphql', import.meta.url)),
].find((path) => existsSync(path)) ?? fileURLToPath(new URL('./schema.graphql', import.meta.url));

let cached: GraphQLSchema | undefined;

/** Built once per process: the SDL is about 50,000 lines and takes a moment to build. */
export function linearSchema(): GraphQLSchema {
  cached ??= buildSchema(readFileSync(SCHEMA_PATH, 'utf8'));
  return cached;
}

const EPOCH = '1970-01-01T00:00:00.000Z';

function scalarDefault(name: string, source: Record<string, unknown>): unknown {
  switch (name) {
    case 'Boolean':
      return false;
    case 'Int':
    case 'Float':
      return 0;
    case 'DateTime':
    case 'DateTimeOrDuration':
      return typeof source['createdAt'] === 'string' ? source['createdAt'] : EPOCH;
    case 'TimelessDate':
    case 'TimelessDateOrDuration':
      return (typeof source['createdAt'] === 'string' ? source['createdAt'] : EPOCH).slice(0, 10);
    case 'JSON':
    case 'JSONObject':
      return {};
    case 'Duration':
      return 'PT0S';
    default:
      return '';
  }
}

/**
 * What a field the emulator keeps no data for resolves to: null where the schema allows it,
 * else the neutral value of its type (false, 0, "", an empty list or connection, an object of
 * neutral values). An entity (an object type with an id) is never invented: selecting one the
 * emulator does not model is an error that names the field, so the gap gets fixed, not hidden.
 */
function fallback(type: GraphQLOutputType, source: Record<string, unknown>, info: GraphQLResolveInfo): unknown {
  if (!isNonNullType(type)) return null;
  const inner = type.ofType;
  if (isListType(inner)) return [];
  if (isScalarType(inner)) return scalarDefault(inner.name, source);
  if (isEnumType(inner)) return inner.getValues()[0]?.value ?? null;
  if (isObjectType(inner)) {
    if (inner.name.endsWith('Connection')) {
      return { nodes: [], edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } };
    }
    if (!('id' in inner.getFields())) return { createdAt: source['createdAt'] };
  }
  const owner = info.parentType.name;
  const named = getNamedType(inner);
  const kind = isInterfaceType(named) ? 'interface ' : isUnionType(named) ? 'union ' : '';
  throw new EmulatorGapError(`The Linear emulator does not model ${owner}.${info.fieldName} (${kind}${named.name}).`);
}

/** Reads the source's property (calling it with the arguments when it is a function), else the fallback. */
export const fieldResolver: GraphQLFieldResolver<unknown, ResolverContext> = (source, args, _context, info) => {
  const record = (typeof source === 'object' && source !== null ? source : {}) as Record<string, unknown>;
  const value = record[info.fieldName];
  if (typeof value === 'function') return (value as (args: Record<string, unknown>) => unknown).call(record, args);
  if (value !== undefined) return value;
  return fallback(info.returnType, record, info);
};
