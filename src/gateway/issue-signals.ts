// The gateway's one port to the workflows. The gateway never talks to Temporal directly, so
// its tests can record what would have been signalled, and the Temporal implementation
// (`temporal-signals.ts`) is the only place that knows about gRPC.
import type { IssueSignal } from '../temporal/issue-runs.js';
import type { OperatorCommand, TrackerEvent } from '../workflows/messages.js';

/** What one delivery asks of one issue's run: a tracker, forge or operator event. */
export type { IssueSignal };

export interface IssueRef {
  /** The tracker's stable id: the run's workflow id is derived from it. */
  id: string;
  /** The human key, shown in the Web UI before triage reads the issue. */
  key?: string;
  /** The title and the issue's page, as the delivery gives them: only for the Web UI's summary
   * and details of a run it starts (the run reads the issue fresh). */
  title?: string;
  url?: string;
}

export interface IssueSignals {
  /** Start the issue's run if none is open, and deliver the event to it either way (a tracker
   * event, or `/conveyor retry` for an issue with no open run). */
  startOrSignal(issue: IssueRef, event: TrackerEvent | OperatorCommand): Promise<{ workflowId: string; runId: string }>;
  /** Signal the issue's open run; false when there is none (the event then has no effect). */
  signal(issueId: string, signal: IssueSignal): Promise<boolean>;
  /** Whether the workflows can be reached right now (drives /readyz). */
  ready(): Promise<boolean>;
}

/**
 * Temporal could not be reached (down, unreachable, or too slow). The delivery was not
 * handed on, so the gateway answers 503 and the sender retries it later.
 */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
