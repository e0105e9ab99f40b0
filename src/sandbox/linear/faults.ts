import { authenticationErrorBody, forbiddenErrorBody, internalErrorBody, rateLimitedErrorBody } from './errors.js';

// Fault injection at the HTTP layer: the next matching request gets the given status, headers
// and body instead of being served, so a client's handling of Linear's refusals can be tested.

export interface FaultSpec {
  /** Only requests for this GraphQL operation (as named in the document); absent: any request. */
  operationName?: string;
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as text/html (as a proxy would); anything else as JSON. Absent: Linear's body for the status. */
  body?: unknown;
  /** How many requests it applies to (default 1). */
  times?: number;
}

export interface FaultResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function defaultBody(status: number): unknown {
  if (status === 401) return authenticationErrorBody();
  if (status === 403) return forbiddenErrorBody();
  // Linear answers an exhausted budget with HTTP 400 (and sometimes 429) and a RATELIMITED error.
  if (status === 400 || status === 429) return rateLimitedErrorBody();
  if (status === 500) return internalErrorBody();
  // What a proxy in front of the API answers when the API is down: not JSON at all.
  if (status >= 502) return `<html><body><h1>${status}</h1>upstream unavailable</body></html>`;
  return { errors: [{ message: `HTTP ${status}`, extensions: {} }] };
}

function defaultHeaders(status: number): Record<string, string> {
  if (status !== 400 && status !== 429) return {};
  // Linear's rate-limit headers: the budget, what is left, and when it refills (epoch ms).
  return {
    'X-RateLimit-Requests-Limit': '1500',
    'X-RateLimit-Requests-Remaining': '0',
    'X-RateLimit-Requests-Reset': String(Date.now() + 60_000),
  };
}

export class FaultInjector {
  private faults: Array<FaultSpec & { remaining: number }> = [];

  inject(spec: FaultSpec): void {
    if (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599) {
      throw new Error(`Fault status ${spec.status} is not an HTTP status code.`);
    }
    this.faults.push({ ...spec, remaining: spec.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** The response for this request if a fault matches it (and uses one of its times). */
  take(operationName: string | undefined): FaultResponse | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (f.operationName === undefined || f.operationName === operationName));
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    const body = fault.body === undefined ? defaultBody(fault.status) : fault.body;
    const text = typeof body === 'string';
    return {
      status: fault.status,
      headers: {
        'Content-Type': text ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
        ...(fault.body === undefined ? defaultHeaders(fault.status) : {}),
        ...(fault.headers ?? {}),
      },
      body: text ? body : JSON.stringify(body),
    };
  }
}
