import { execute, GraphQLError, Kind, parse, validate, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import {
  authenticationErrorBody,
  EmulatorGapError,
  inputErrorExtensions,
  LinearInputError,
  validationErrorBody,
  type LinearErrorBody,
} from './errors.js';
import type { FaultInjector } from './faults.js';
import type { ResolverContext } from './nodes.js';
import { mutationRoot, queryRoot } from './resolvers.js';
import { fieldResolver, linearSchema } from './schema.js';

// One POST /graphql, from raw body to response: faults, authentication, parse, validation
// against Linear's schema, execution, and Linear-shaped errors. No stack trace or internal
// message ever reaches the client; unexpected errors are logged here.

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A document the schema refused: recorded so a test can fail on SDK/emulator drift. */
export interface InvalidDocument {
  at: string;
  operationName: string | null;
  query: string;
  errors: string[];
}

/** A request that reached a part of Linear the emulator does not implement. */
export interface UnsupportedRequest {
  at: string;
  operationName: string | null;
  message: string;
}

export interface GraphqlHandlerOptions {
  context: ResolverContext;
  apiKeys: ReadonlySet<string>;
  faults: FaultInjector;
  logger: Logger;
  invalidDocuments: InvalidDocument[];
  unsupported: UnsupportedRequest[];
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

function reply(status: number, body: unknown, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

interface GraphqlRequest {
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
}

function readRequest(raw: string): GraphqlRequest | string {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return 'The request body is not valid JSON.';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body must be a JSON object with a "query".';
  const { query, variables, operationName } = body as Record<string, unknown>;
  if (typeof query !== 'string' || query.trim() === '') return 'The request body has no "query" string.';
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return '"variables" must be an object.';
  }
  return {
    query,
    variables: (variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: typeof operationName === 'string' ? operationName : undefined,
  };
}

function operationNameOf(document: DocumentNode, requested: string | undefined): string | undefined {
  if (requested) return requested;
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const only = operations.length === 1 ? operations[0] : undefined;
  return only && only.kind === Kind.OPERATION_DEFINITION ? only.name?.value : undefined;
}

function apiKeyFrom(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  // API keys are sent bare; OAuth tokens as "Bearer <token>". Accept a key either way.
  return authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : authorization;
}

export function createGraphqlHandler(options: GraphqlHandlerOptions): (raw: string, authorization: string | undefined) => HttpReply {
  const { context, apiKeys, faults, logger, invalidDocuments, unsupported } = options;
  const schema = linearSchema();

  function formatErrors(errors: readonly GraphQLError[], operationName: string | undefined): LinearErrorBody['errors'] {
    return errors.map((error) => {
      const location = {
        ...(error.path ? { path: error.path } : {}),
        ...(error.locations ? { locations: error.locations } : {}),
      };
      const original = error.originalError;
      if (original instanceof LinearInputError) {
        return { message: original.message, ...location, extensions: inputErrorExtensions(original.userPresentableMessage) };
      }
      if (original instanceof EmulatorGapError) {
        unsupported.push({ at: new Date().toISOString(), operationName: operationName ?? null, message: original.message });
        logger.warn({ operationName, message: original.message }, 'linear emulator: request reached an unimplemented part of Linear');
        return { message: original.message, ...location, extensions: { type: 'graphql error', code: 'EMULATOR_UNSUPPORTED', userError: false } };
      }
      if (original === undefined || original instanceof GraphQLError) {
        // graphql-js's own errors (variable coercion, bad enum values): the caller's input.
        return { message: error.message, ...location, extensions: inputErrorExtensions(error.message) };
      }
      logger.error({ err: original, operationName }, 'linear emulator: resolver failed');
      return { message: 'Internal server error', ...location, extensions: { type: 'internal error', code: 'INTERNAL_SERVER_ERROR', userError: false } };
    });
  }

  return (raw, authorization) => {
    const request = readRequest(raw);
    let document: DocumentNode | undefined;
    let syntaxError: GraphQLError | undefined;
    if (typeof request !== 'string') {
      try {
        document = parse(request.query);
      } catch (error) {
        syntaxError = error instanceof GraphQLError ? error : new GraphQLError(String(error));
      }
    }
    const operationName = document && typeof request !== 'string' ? operationNameOf(document, request.operationName) : undefined;

    const fault = faults.take(operationName);
    if (fault) return fault;

    const key = apiKeyFrom(authorization);
    if (!key || !apiKeys.has(key)) return reply(400, authenticationErrorBody());

    if (typeof request === 'string') return reply(400, { errors: [{ message: request, extensions: { code: 'BAD_REQUEST' } }] });
    if (!document) {
      const message = syntaxError?.message ?? 'Syntax error';
      invalidDocuments.push({ at: new Date().toISOString(), operationName: request.operationName ?? null, query: request.query, errors: [message] });
      return reply(400, validationErrorBody([{ message, ...(syntaxError?.locations ? { locations: syntaxError.locations } : {}) }]));
    }

    const validationErrors = validate(schema, document);
    if (validationErrors.length > 0) {
      invalidDocuments.push({
        at: new Date().toISOString(),
        operationName: operationName ?? null,
        query: request.query,
        errors: validationErrors.map((e) => e.message),
      });
      logger.warn({ operationName, errors: validationErrors.map((e) => e.message) }, 'linear emulator: document does not validate against the schema');
      return reply(400, validationErrorBody(validationErrors.map((e) => ({ message: e.message, ...(e.locations ? { locations: e.locations } : {}) }))));
    }

    const result = execute({
      schema,
      document,
      rootValue: { ...queryRoot(context), ...mutationRoot(context) },
      contextValue: context,
      variableValues: request.variables,
      operationName: request.operationName,
      fieldResolver,
    }) as ExecutionResult;
    if (result instanceof Promise) throw new Error('The Linear emulator resolvers must be synchronous.');

    const body: Record<string, unknown> = { data: result.data ?? null };
    if (result.errors && result.errors.length > 0) body['errors'] = formatErrors(result.errors, operationName);
    return reply(200, body);
  };
}
