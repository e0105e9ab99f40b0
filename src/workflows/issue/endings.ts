// Every ending is final and honest (DESIGN "An ending is final"): an ending either tries again
// on its own later (infrastructure, bounded) or blocks the issue until a human acts. These are
// the pure rules; `settle.ts` carries them out.
import type { FailureClass } from '../../domain/failure.js';
import type { EndingsPolicy } from '../input.js';
import { EMPTY_LEDGER, type EndingKind, type IssueLedger, type IssueRunState, type Outcome } from '../state.js';

const ENDINGS_KEPT = 10;

/** Outcomes that come from the infrastructure, not from the work: worth another run later. */
const INFRASTRUCTURE: readonly Outcome[] = ['worker-lost', 'queue-timeout'];

/**
 * What `outcome` means for the issue. `failed` (activities out of retries) is infrastructure
 * unless its class says retrying cannot help (auth, logic). A stalled agent gets one more run;
 * a second stall since the last go-ahead blocks. Retry-later past its bound blocks.
 */
export function endingKind(outcome: Outcome, failureClass: FailureClass | null, ledger: IssueLedger, policy: EndingsPolicy): { kind: EndingKind; why: string | null } {
  if (outcome === 'merged' || outcome === 'closed-synthetic') return { kind: 'success', why: null };
  if (outcome === 'ignored') return { kind: 'ignored', why: null };
  const retryable =
    INFRASTRUCTURE.includes(outcome) ||
    (outcome === 'failed' && failureClass !== 'auth' && failureClass !== 'logic') ||
    (outcome === 'agent-stalled' && ledger.sinceGoAhead.stalls + 1 < policy.maxStalls);
  if (!retryable) return { kind: 'blocked', why: null };
  if (ledger.sinceGoAhead.retries >= policy.retryLaterRuns) {
    return { kind: 'blocked', why: `it was already tried ${ledger.sinceGoAhead.retries} more time${ledger.sinceGoAhead.retries === 1 ? '' : 's'} (policies.retryLater.runs)` };
  }
  return { kind: 'retry-later', why: null };
}

/** The ledger with this run's ending counted. */
export function recordEnding(ledger: IssueLedger, ending: { outcome: Outcome; kind: EndingKind; reason: string; at: number }): IssueLedger {
  return {
    ...ledger,
    runs: ledger.runs + 1,
    sinceGoAhead: {
      ...ledger.sinceGoAhead,
      stalls: ledger.sinceGoAhead.stalls + (ending.outcome === 'agent-stalled' ? 1 : 0),
    },
    endings: [...ledger.endings, ending].slice(-ENDINGS_KEPT),
  };
}

/** An agent run started: counted for the issue, whatever becomes of it. */
export function countAgentRun(ledger: IssueLedger): IssueLedger {
  return { ...ledger, agentRuns: ledger.agentRuns + 1, sinceGoAhead: { ...ledger.sinceGoAhead, agentRuns: ledger.sinceGoAhead.agentRuns + 1 } };
}

/** Spend reported by an agent attempt, failed attempts included. */
export function countCost(ledger: IssueLedger, costUsd: number): IssueLedger {
  if (!(costUsd > 0)) return ledger;
  return { ...ledger, costUsd: ledger.costUsd + costUsd, sinceGoAhead: { ...ledger.sinceGoAhead, costUsd: ledger.sinceGoAhead.costUsd + costUsd } };
}

/** A human started the issue again (label re-added, `/conveyor retry`): the limits start over. */
export function goAhead(ledger: IssueLedger): IssueLedger {
  return { ...ledger, sinceGoAhead: { ...EMPTY_LEDGER.sinceGoAhead } };
}

/** The ledger's counters, as a human reads them in a comment. */
export function describeLedger(ledger: IssueLedger): string {
  return `runs ${ledger.runs}, agent runs ${ledger.agentRuns}, cost $${ledger.costUsd.toFixed(2)}`;
}

/** Whether the issue had been moved off its ready state by this run chain (so blocking moves it back). */
export function wasClaimed(state: Pick<IssueRunState, 'attempts' | 'pr'>, ledger: IssueLedger): boolean {
  return state.attempts > 0 || state.pr !== null || ledger.sinceGoAhead.agentRuns > 0;
}

/** The one comment a blocked issue gets. */
export function blockedComment(input: { outcome: Outcome; reason: string; why: string | null; ledger: IssueLedger; prUrl: string | null; prOpen: boolean; branch: string | null; policy: EndingsPolicy }): string {
  const { outcome, reason, why, ledger, prUrl, prOpen, branch, policy } = input;
  const kept = prUrl ? (prOpen ? ` ${prUrl} stays open for a human.` : ` The branch \`${branch}\` of ${prUrl} is kept for a human.`) : '';
  return [
    `Conveyor stopped and blocked this issue (${outcome}): ${reason}${why ? `; blocked because ${why}` : ''}.${kept}`,
    '',
    `So far: ${describeLedger(ledger)}.`,
    '',
    `Nothing restarts it on its own. To go again, re-add the \`${policy.readyLabel}\` label (the factory swapped it for \`${policy.blockedLabel}\`) or comment \`/conveyor retry\`.`,
  ].join('\n');
}

/** The comment of a retry-later ending. */
export function retryComment(input: { outcome: Outcome; reason: string; at: number; retry: number; of: number }): string {
  return `Conveyor will try this issue again at ${new Date(input.at).toISOString()} (retry ${input.retry} of ${input.of}) after ${input.outcome}: ${input.reason}. Comment \`/conveyor retry\` to try now, or \`/conveyor abort\` to stop.`;
}
