// Triage: read the issue fresh, decide, and when it is thin (or reserved, or unroutable)
// escalate to a human and wait for an edit or an operator's word.
import { durationMs } from '../../domain/duration.js';
import { branchForIssue } from '../../domain/naming.js';
import type { TriageResult } from '../activity-types.js';
import type { Waits } from '../state.js';
import type { Ending, Run } from './run.js';

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
    marker: `escalation:${result.reason}`,
    comment:
      `Conveyor needs a human before an agent can start: ${result.reason}\n\n` +
      `Edit the issue and it is triaged again${result.overridable ? ', or comment `/conveyor approve` to dispatch it as it is' : ''}.`,
  };
}

/** Returns an ending when the line stops here, null when the issue goes on to dispatch. */
export async function triage(run: Run): Promise<Ending | null> {
  const { state, policy, acts } = run;
  for (;;) {
    run.note('triage', 'reading the issue');
    // Counted before the read: an edit that lands while triage runs must trigger another read.
    const seen = run.heard.tracker;
    const result = await acts.tracker.triageIssue({ issueId: state.issueId, workflowId: run.workflowId });
    state.issue = result.issue;
    state.issueKey = result.issue?.key ?? state.issueKey;
    state.routing = result.routing;
    state.reason = result.reason;
    if (result.issue && !state.branch) state.branch = branchForIssue(result.issue.key, result.issue.id);

    const verdict = triageVerdict(result, state.waits);
    if (verdict.kind === 'dispatch') {
      state.waits.escalationDeadlineAt = null;
      return null;
    }
    if (verdict.kind === 'ignore') return { outcome: 'ignored', reason: verdict.reason };

    run.note('escalated', verdict.reason);
    await run.commentOnce(verdict.marker, verdict.comment);
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
