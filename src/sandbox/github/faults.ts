// Scripted failures for tests: the next N requests matching a method and path get a canned
// answer instead of reaching the emulator, e.g. a rate-limit 403 or a 500 before success.

export interface FaultSpec {
  method?: string;
  /** Matched against the request path (REST paths without the `/api/v3` base). A string must match exactly. */
  pathPattern: RegExp | string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface InjectedFault extends FaultSpec {
  remaining: number;
  hits: number;
}

const DEFAULT_MESSAGES: Record<number, string> = {
  401: 'Bad credentials',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  422: 'Validation Failed',
  429: 'Too Many Requests',
  500: 'Server Error',
  502: 'Server Error',
  503: 'Service Unavailable',
};

export class FaultInjector {
  private faults: InjectedFault[] = [];

  add(spec: FaultSpec): InjectedFault {
    const fault: InjectedFault = { ...spec, remaining: spec.times ?? 1, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }

  /** Takes one use of the first live fault matching the request, if any. */
  take(method: string, path: string): InjectedFault | null {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (typeof f.pathPattern === 'string' ? f.pathPattern === path : f.pathPattern.test(path)),
    );
    if (!fault) return null;
    fault.remaining -= 1;
    fault.hits += 1;
    return fault;
  }
}

/** The body GitHub would send with this status when the test gave none. */
export function defaultFaultBody(fault: FaultSpec): unknown {
  if (fault.body !== undefined) return fault.body;
  const limited = fault.headers?.['x-ratelimit-remaining'] === '0';
  const message = limited
    ? 'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.'
    : fault.status === 403 && fault.headers?.['retry-after']
      ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
      : (DEFAULT_MESSAGES[fault.status] ?? 'Error');
  return {
    message,
    documentation_url: limited ? 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' : 'https://docs.github.com/rest',
    status: String(fault.status),
  };
}
