// Where the triage advisor runs: inside the triage activity, after the rules decided, and only
// when they escalate a thin or unroutable issue. The advice rides on the TriageResult into the
// escalation comment; the decision is never changed by it (still `escalate`, still only
// overridable when the rules said so), so a model's answer can never dispatch anything.
import type { Logger } from 'pino';
import { escalationMarker } from '../domain/naming.js';
import type { AdviceIssue, AdviceOutcome, AdviceRequest, TriageAdvisor } from '../integrations/triage-advisor/advisor.js';
import type { TriageResult } from '../workflows/activity-types.js';
import type { Redactor } from './redact.js';

export interface TriageAdviceDeps {
  advisor: TriageAdvisor;
  /** Whether the issue already has an escalation comment with this marker (from any run of the
   * issue): a re-read that finds the same reason posts nothing new, so the model is not asked
   * again. A later run escalating for the same reason therefore posts without a fresh suggestion;
   * the earlier comment still shows the one it had. */
  hasEscalationComment(issueId: string, marker: string): Promise<boolean>;
  logger: Logger;
  redact: Redactor;
}

/** What the advisor would be asked for this result; null when it is not asked. */
export function adviceRequestFor(result: TriageResult): AdviceRequest | null {
  if (result.decision !== 'escalate' || !result.issue) return null;
  const { issue } = result;
  const view: AdviceIssue = { key: issue.key, title: issue.title, description: issue.description, team: issue.team.key, project: issue.project, labels: issue.labels };
  if (result.category === 'thin') return { kind: 'criteria', issue: view, reason: result.reason };
  const candidates = result.route?.candidates ?? [];
  if (result.category === 'unroutable' && candidates.length > 0) return { kind: 'repo', issue: view, reason: result.reason, candidates };
  return null;
}

/** The result with the advisor's suggestion attached when there is one; the result unchanged otherwise. */
export async function withTriageAdvice(result: TriageResult, deps: TriageAdviceDeps): Promise<TriageResult> {
  const request = adviceRequestFor(result);
  if (!request || !result.issue) return result;
  const { advisor } = deps;
  const fields = { issue: result.issue.key, provider: advisor.provider, model: advisor.model, ask: request.kind };
  try {
    if (await deps.hasEscalationComment(result.issue.id, escalationMarker(result.reason))) {
      deps.logger.debug(fields, 'triage advisor not asked: this escalation was already commented');
      return result;
    }
  } catch (err) {
    // Not knowing costs one possibly unneeded question, never the triage.
    deps.logger.debug({ ...fields, err: deps.redact(err instanceof Error ? err.message : String(err)) }, 'could not check for an earlier escalation comment; asking the triage advisor anyway');
  }
  // The advisor reports its failures as outcomes; anything it throws is a bug, and still never
  // the reason a triage fails.
  const outcome = await advisor.advise(request).catch(
    (err: unknown): AdviceOutcome => ({ ok: false, failure: { failureClass: 'unknown', kind: 'network', message: `the triage advisor threw: ${err instanceof Error ? err.message : String(err)}` } }),
  );
  if (!outcome.ok) {
    const { failure, spend } = outcome;
    deps.logger.warn(
      { ...fields, failureClass: failure.failureClass, failureKind: failure.kind, ...(failure.nonsense ? { nonsense: failure.nonsense } : {}), ...(failure.status !== undefined ? { status: failure.status } : {}), ...spend, err: deps.redact(failure.message) },
      'triage advisor gave no suggestion; the escalation is posted without one',
    );
    return result;
  }
  const { advice } = outcome;
  deps.logger.info({ ...fields, ...(advice.repo ? { repo: advice.repo } : {}), costUsd: advice.costUsd ?? null, tokens: advice.tokens }, 'triage advisor drafted a suggestion');
  return { ...result, advice: { ...advice, text: deps.redact(advice.text) } };
}
