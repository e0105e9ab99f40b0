// Which Temporal failures mean "unreachable, retry later" (503) and which are real errors.
import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { isTemporalUnreachable } from '../../src/gateway/temporal-signals.js';

/** What @grpc/grpc-js rejects with: an Error with a code, details and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

describe('isTemporalUnreachable', () => {
  it('is true for UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED, also when wrapped by the client', () => {
    expect(isTemporalUnreachable(grpcError(14, 'No connection established'))).toBe(true);
    expect(isTemporalUnreachable(new ServiceError('Failed to signalWithStart Workflow', { cause: grpcError(4, 'Deadline exceeded') }))).toBe(true);
    expect(isTemporalUnreachable(new ServiceError('Failed', { cause: grpcError(1, 'Cancelled on client') }))).toBe(true);
    expect(isTemporalUnreachable(new Error('connect ECONNREFUSED 127.0.0.1:7233'))).toBe(true);
  });

  it('is false for answers from a reachable server and for other errors', () => {
    expect(isTemporalUnreachable(new ServiceError('Failed', { cause: grpcError(3, 'invalid search attribute') }))).toBe(false);
    expect(isTemporalUnreachable(grpcError(7, 'permission denied'))).toBe(false);
    expect(isTemporalUnreachable(new WorkflowNotFoundError('not found', 'wf', undefined))).toBe(false);
    expect(isTemporalUnreachable('a string')).toBe(false);
  });
});
