// What a verified delivery asks the gateway to do. The mappers (`linear-events.ts`,
// `github-events.ts`) return one of these; `receive.ts` carries it out.
import type { z } from 'zod';
import type { TrackerEvent } from '../workflows/messages.js';
import type { IssueRef, IssueSignal } from './issue-signals.js';

/**
 * Why a delivery is acknowledged without effect. `unhandled`: an event type or action the
 * factory does not listen to (logged at debug). `not-allowlisted`: a team, repo or user the
 * factory must not act for (logged at info). `not-applicable`: a handled event that concerns
 * no factory issue (e.g. a branch that is not a factory branch).
 */
export type IgnoreWhy = 'unhandled' | 'not-allowlisted' | 'not-applicable';

export type GatewayAction =
  | { kind: 'start'; issue: IssueRef; event: TrackerEvent }
  /** `issue`: what the delivery says of the issue, for a run it starts (`/conveyor retry` with no open run). */
  | { kind: 'signal'; issueId: string; signal: IssueSignal; issue?: IssueRef }
  /** One forge event about a commit that several factory branches share (a `status` event). */
  | { kind: 'signal-each'; issueIds: string[]; signal: IssueSignal }
  | { kind: 'ignore'; why: IgnoreWhy; reason: string }
  /** A verified delivery of a handled type whose shape is not what the sender documents. */
  | { kind: 'invalid'; reason: string };

export function ignore(why: IgnoreWhy, reason: string): GatewayAction {
  return { kind: 'ignore', why, reason };
}

/** The first problem zod found, as `path: message`, for an `invalid` reason. */
export function describePayloadError(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'unexpected shape';
  return `${first.path.length > 0 ? first.path.join('.') : '(top level)'}: ${first.message}`;
}
