// Triage: read the issue fresh, decide, and when it is thin (or reserved, or unroutable)
// escalate to a human and wait for an edit or an operator's word.
import { durationMs } from '../../domain/duration.js';
import { branchForIssue, escalationMarker } from '../../domain/naming.js';
import type { TriageResult } from '../activity-types.js';
import { EMPTY_LEDGER, type Waits } from '../state.js';
import { goAhead } from './endings.js';
import type { Ending, Run } from './run.js';
import { endingsPolicy, publishLedger } from './settle.js';

export type TriageVerdict =
  | { kind: 'dispatch' }
  | { kind: 'ignore'; reason: string }
  | { kind: 'escalate'; reason: string; comment: string; marker: string };

/** What triage does with what the tracker says. Pure: the station does the waiting. */
export function triageVerdict(result: TriageResult, waits: Pick<Waits, 'approved'>): TriageVerdict {
  if (result.decision === 'dispatch') return { kind: 'dispatch' };
  if (result.decision === 'escalate' && waits.approved && result.overridable) return { kind: 'dispatch' };
  if (result.decision === 'ignore') return { kind: 'ignore', reason: result.reason };
  return {
    kind: 'escalate',
    reason: result.reason,
    // One comment per reason for the whole run chain: a re-read after an edit, or a
    // continuation, that finds the same problem says nothing new.
    // Blockers moving between unfinished states change the reason's text, not what it says.
    marker: waitsOnBlockers(result) ? `blocked-by:${(result.blockedBy ?? []).map((b) => b.key).join(',')}` : escalationMarker(result.reason),
    comment: waitsOnBlockers(result)
      ? `Conveyor is waiting before an agent can start: ${result.reason}.\n\nNothing is needed from you: the run starts on its own when the last blocker is done.`
      : `Conveyor needs a human before an agent can start: ${result.reason}\n\n` +
        `Edit the issue and it is triaged again${result.overridable ? ', or comment `/conveyor approve` to dispatch it as it is' : ''}.` +
        adviceSection(result.advice),
  };
}

/** Blocked by unfinished issues (not a cycle of them): a wait for the blockers, not for a human. */
export function waitsOnBlockers(result: TriageResult): boolean {
  return result.category === 'blocked' && !result.blockerCycle;
}

/** The triage advisor's suggestion, if any, said to be one: it never dispatches anything. */
function adviceSection(advice: TriageResult['advice']): string {
  if (!advice) return '';
  return `\n\n**Suggestion** from a model (${advice.provider} ${advice.model}), not acted on: only an edit of the issue${advice.kind === 'criteria' ? ' or `/conveyor approve`' : ''} starts an agent.\n\n${advice.text}`;
}

/** Returns an ending when the line stops here, null when the issue goes on to dispatch. */
export async function triage(run: Run): Promise<Ending | null> {
  const { state, policy, acts } = run;
  // A fresh run reads what earlier runs of the issue left in their ledger (beside its first read,
  // so dispatch waits for neither alone) and answers a `/conveyor retry` that started it.
  let firstRead = run.endingsFinal && !run.input.resume;
  if (firstRead) await unblockOnRetry(run);
  for (;;) {
    run.note('triage', 'reading the issue');
    // Counted before the read: an edit that lands while triage runs must trigger another read.
    const seen = run.heard.tracker;
    // In the run's own workflow task when it can: a ready issue goes on to claim its lease there too.
    const reads = run.dispatchInOneTask ? acts.local : { triageIssue: acts.tracker.triageIssue, readIssueLedger: acts.ledger.readIssueLedger };
    const read = reads.triageIssue({ issueId: state.issueId, workflowId: run.workflowId });
    if (firstRead) {
      firstRead = false;
      const [, ledger] = await Promise.all([read, reads.readIssueLedger({ workflowId: run.workflowId })]);
      // Every fresh run was started by a human act (the factory never re-adds its label, and tries
      // again only inside a run), so the issue's limits start over; its totals carry on.
      state.ledger = goAhead(ledger ?? { ...EMPTY_LEDGER });
      publishLedger(state);
    }
    const result = await read;
    state.issue = result.issue;
    state.issueKey = result.issue?.key ?? state.issueKey;
    state.routing = result.routing;
    state.reason = result.reason;
    if (result.issue && !state.branch) state.branch = branchForIssue(result.issue.key, result.issue.id);

    const verdict = triageVerdict(result, state.waits);
    if (verdict.kind === 'dispatch') {
      state.waits.escalationDeadlineAt = null;
      if (run.endingsFinal) await dispatchAfterGoAhead(run);
      return null;
    }
    if (verdict.kind === 'ignore') return { outcome: 'ignored', reason: verdict.reason };

    // An issue blocked by unfinished issues waits in a phase of its own: nothing is asked of a
    // human, the blockers' webhooks (or the sweep) wake it when they finish.
    run.note(waitsOnBlockers(result) ? 'waiting-on-blockers' : 'escalated', verdict.reason);
    // What the escalation answers to is set before the comment that asks for it: a command typed
    // as soon as the comment shows is judged by this escalation, not by the run's start.
    if (run.endingsFinal) {
      run.accept(result.overridable ? { approve: 'the issue is dispatched as it is', retry: 'the issue is triaged again' } : { retry: 'the issue is triaged again' });
    }
    // In the run's own workflow task when it can: the escalation then costs the run one task.
    await run.commentOnce(verdict.marker, verdict.comment, { local: run.escalateInOneTask });
    // Set once per escalation: a continuation keeps it; a human's edit or command starts a new one.
    state.waits.escalationDeadlineAt ??= Date.now() + durationMs(policy.timeouts.escalation);
    for (;;) {
      const answered = await run.waitUntil(() => run.heard.tracker > seen || state.operatorQueue.length > 0, state.waits.escalationDeadlineAt);
      if (!answered) return { outcome: 'escalation-timeout', reason: `nobody answered the escalation within ${policy.timeouts.escalation}: ${verdict.reason}` };
      const command = run.takeCommand();
      if (command && command.command !== 'approve' && command.command !== 'retry') continue;
      if (command) state.waits.approved = true;
      state.waits.escalationDeadlineAt = null;
      break;
    }
  }
}

/**
 * A run started by `/conveyor retry` on a blocked issue: the operator's word is the go-ahead, so
 * the blocked label goes and the ready label comes back before triage reads the issue.
 */
async function unblockOnRetry(run: Run): Promise<void> {
  const { state, acts } = run;
  const index = state.operatorQueue.findIndex((c) => c.command === 'retry');
  if (index < 0) return;
  // Used up here: it is not also an approval of a thin issue.
  const [retry] = state.operatorQueue.splice(index, 1);
  const policy = endingsPolicy(run);
  await acts.tracker.relabelIssue({ issueId: state.issueId, add: [policy.readyLabel], remove: [policy.blockedLabel] });
  run.remember('triage', `unblocked by /conveyor retry from ${retry!.by}`);
}

/**
 * Leaving triage for dispatch: a blocked label a human left beside the re-added ready label goes,
 * and commands meant for triage are not kept for later phases.
 */
async function dispatchAfterGoAhead(run: Run): Promise<void> {
  const { state, acts } = run;
  run.accept(null);
  const policy = endingsPolicy(run);
  if (state.issue?.labels.includes(policy.blockedLabel)) {
    await acts.tracker.relabelIssue({ issueId: state.issueId, add: [], remove: [policy.blockedLabel] });
  }
}
