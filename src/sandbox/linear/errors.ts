// Linear's error responses, reproduced so that @linear/sdk parses emulator errors into the
// same `LinearError` subclasses it builds from the real API. The SDK picks the class from
// `extensions.type` of the first error (see `parseLinearError` in @linear/sdk), and falls
// back to the HTTP status only when the body carries no GraphQL errors.

/** A request Linear would refuse as invalid input: unknown ids, bad arguments. */
export class LinearInputError extends Error {
  override readonly name = 'LinearInputError';
  constructor(
    message: string,
    /** What the Linear app would show a person; the SDK prefers it as the error message. */
    readonly userPresentableMessage: string = message,
  ) {
    super(message);
  }
}

/** A document or filter the emulator does not implement: loud, so a gap is never a silent wrong answer. */
export class EmulatorGapError extends Error {
  override readonly name = 'EmulatorGapError';
}

export interface LinearErrorBody {
  errors: Array<{
    message: string;
    path?: ReadonlyArray<string | number>;
    locations?: ReadonlyArray<{ line: number; column: number }>;
    extensions: Record<string, unknown>;
  }>;
  data?: null;
}

/** Linear's answer to a missing or unknown API key (HTTP 400; the body says 401). */
export function authenticationErrorBody(): LinearErrorBody {
  return {
    errors: [
      {
        message: 'Authentication required, not authenticated',
        extensions: {
          type: 'authentication error',
          code: 'AUTHENTICATION_ERROR',
          statusCode: 401,
          userError: true,
          userPresentableMessage: 'You need to authenticate to access this operation.',
        },
      },
    ],
  };
}

export function forbiddenErrorBody(): LinearErrorBody {
  return {
    errors: [
      {
        message: 'Forbidden',
        extensions: {
          type: 'forbidden',
          code: 'FORBIDDEN',
          statusCode: 403,
          userError: true,
          userPresentableMessage: 'You do not have access to this resource.',
        },
      },
    ],
  };
}

/** Linear answers an exhausted budget with HTTP 400 and a RATELIMITED GraphQL error. */
export function rateLimitedErrorBody(): LinearErrorBody {
  return {
    errors: [
      {
        message: 'Rate limit exceeded',
        extensions: {
          type: 'ratelimited',
          code: 'RATELIMITED',
          statusCode: 429,
          userError: true,
          userPresentableMessage: 'Rate limit exceeded. Please try again later.',
        },
      },
    ],
  };
}

export function internalErrorBody(): LinearErrorBody {
  return {
    errors: [
      {
        message: 'Internal server error',
        extensions: { type: 'internal error', code: 'INTERNAL_SERVER_ERROR', statusCode: 500, userError: false },
      },
    ],
  };
}

/** Extensions of an "Entity not found" / bad argument error, as Linear sends them (HTTP 200). */
export function inputErrorExtensions(userPresentableMessage: string): Record<string, unknown> {
  return { type: 'invalid input', code: 'INPUT_ERROR', statusCode: 400, userError: true, userPresentableMessage };
}

/** A document that does not validate against the schema (HTTP 400). */
export function validationErrorBody(
  errors: ReadonlyArray<{ message: string; locations?: ReadonlyArray<{ line: number; column: number }> }>,
): LinearErrorBody {
  return {
    errors: errors.map((error) => ({
      message: error.message,
      ...(error.locations ? { locations: error.locations } : {}),
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
    })),
  };
}
