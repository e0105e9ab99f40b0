// The `IssueSignals` port over Temporal, through `src/temporal/issue-runs.ts` (the one way any
// part of Conveyor starts or signals a run). Its job beyond delegating: tell "Temporal is
// unreachable" apart from every other failure, so the sender is asked to retry (503).
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { signalIssue, signalWithStartIssue, type IssueRunTarget } from '../temporal/issue-runs.js';
import { TemporalUnavailableError, type IssueSignals } from './issue-signals.js';

export interface TemporalSignalsOptions extends IssueRunTarget {
  /**
   * Deadline of each call. The client retries UNAVAILABLE on its own for a long while; a
   * webhook sender waits about 10 s for an answer, so give up sooner and answer 503.
   */
  callTimeoutMs?: number;
  /** Deadline of the /readyz probe. */
  readyTimeoutMs?: number;
}

// gRPC status codes (from @grpc/grpc-js, which is not a direct dependency): CANCELLED,
// DEADLINE_EXCEEDED, UNAVAILABLE. CANCELLED is what an expired client deadline can surface as.
const UNREACHABLE_CODES: ReadonlySet<number> = new Set([1, 4, 14]);

export function createTemporalSignals(options: TemporalSignalsOptions): IssueSignals {
  const { client } = options;
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await client.withDeadline(Date.now() + callTimeoutMs, fn);
    } catch (err) {
      if (isTemporalUnreachable(err)) {
        throw new TemporalUnavailableError(`Temporal did not answer ${what} within ${callTimeoutMs} ms: ${messageOf(err)}`, { cause: err });
      }
      throw err;
    }
  };

  return {
    startOrSignal: (issue, event) => call('signal-with-start', () => signalWithStartIssue(options, issue, event)),
    signal: (issueId, signal) => call('signal', () => signalIssue(client, issueId, signal)),
    ready: () => probe(client, readyTimeoutMs),
  };
}

async function probe(client: Client, timeoutMs: number): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () => client.connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}

/** gRPC UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED anywhere in the cause chain, or a failed connect. */
export function isTemporalUnreachable(err: unknown): boolean {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth++) {
    if (isGrpcServiceError(current) && UNREACHABLE_CODES.has(current.code)) return true;
    if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Failed to connect|No connection established/i.test(current.message)) return true;
  }
  return false;
}

function messageOf(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
