import {
  getNullableType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLOutputType,
} from 'graphql';
import { linearSchema } from './schema.js';

// Linear's schema describes its webhook payloads as object types (`AgentSessionEventWebhookPayload`
// and the child types it holds). A payload the emulator sends is held to that type here, as the
// GraphQL documents it receives are held to the schema: every non-null field present with a value
// of its type, nothing the type does not have. So a payload cannot drift into fiction either.

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function scalarError(name: string, value: unknown, path: string): string | null {
  switch (name) {
    case 'String':
    case 'ID':
      return typeof value === 'string' ? null : `${path}: expected a string`;
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value) ? null : `${path}: expected a number`;
    case 'Int':
      return Number.isInteger(value) ? null : `${path}: expected an integer`;
    case 'Boolean':
      return typeof value === 'boolean' ? null : `${path}: expected a boolean`;
    case 'DateTime':
      return typeof value === 'string' && ISO_DATE.test(value) ? null : `${path}: expected an ISO 8601 date-time`;
    case 'JSONObject':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? null : `${path}: expected a JSON object`;
    default:
      return null; // JSON and other custom scalars take any value
  }
}

function check(type: GraphQLOutputType, value: unknown, path: string, errors: string[]): void {
  if (value === undefined || value === null) {
    if (isNonNullType(type)) errors.push(`${path}: required (${String(type)}) but ${value === null ? 'null' : 'absent'}`);
    return;
  }
  const inner = getNullableType(type);
  if (isListType(inner)) {
    if (!Array.isArray(value)) errors.push(`${path}: expected a list`);
    else value.forEach((item, index) => check(inner.ofType, item, `${path}[${index}]`, errors));
    return;
  }
  if (isScalarType(inner)) {
    const error = scalarError(inner.name, value, path);
    if (error) errors.push(error);
    return;
  }
  if (isEnumType(inner)) {
    if (!inner.getValues().some((v) => v.value === value)) errors.push(`${path}: ${JSON.stringify(value)} is not a ${inner.name}`);
    return;
  }
  if (isObjectType(inner)) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push(`${path}: expected a ${inner.name} object`);
      return;
    }
    const fields = inner.getFields();
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!(key in fields)) errors.push(`${path}.${key}: ${inner.name} has no such field`);
    for (const [name, field] of Object.entries(fields)) check(field.type, record[name], `${path}.${name}`, errors);
    return;
  }
  errors.push(`${path}: ${String(inner)} cannot be checked`);
}

/** What is wrong with `payload` as the schema's object type `typeName` (empty when it conforms). */
export function webhookShapeErrors(typeName: string, payload: unknown): string[] {
  const type = linearSchema().getType(typeName);
  if (!type || !isObjectType(type)) return [`the schema has no object type ${typeName}`];
  const errors: string[] = [];
  check(type, payload, typeName, errors);
  return errors;
}
