// What the Web UI shows as a run's "current details": the issue, where the run stands and what it
// waits for, kept current at every station. A continued run has no static summary (continue-as-
// new carries no user metadata), so this is where it says which issue it belongs to.
import { markdownText as escape } from '../../domain/markdown.js';
import type { IssueRunState } from '../state.js';

const WAITS: Array<[keyof IssueRunState['waits'], string]> = [
  ['escalationDeadlineAt', 'escalation times out'],
  ['holdDeadlineAt', 'hold times out'],
  ['queueDeadlineAt', 'queue wait times out'],
  ['ciDeadlineAt', 'CI times out'],
  ['reviewDeadlineAt', 'review times out'],
];

/** Markdown: issue, phase and note, agent and repo, PR, and the deadlines set. Pure. */
export function currentDetails(state: IssueRunState, note: string): string {
  const issue = state.issue;
  const name = issue ? `${issue.key} · ${issue.title}` : (state.issueKey ?? state.issueId);
  const lines = [issue?.url ? `**Issue:** [${escape(name)}](${issue.url})` : `**Issue:** ${escape(name)}`, `**Phase:** ${state.phase}: ${escape(note)}`];
  if (state.routing) lines.push(`**Repo:** ${state.routing.repo}${state.agentName ? `, agent ${state.agentName}` : ''}, attempt ${state.attempts}, re-dispatches ${state.redispatches}`);
  if (state.pr) lines.push(`**PR:** [${state.pr.repo}#${state.pr.number}](${state.pr.url}) at ${state.pr.headSha.slice(0, 7)}`);
  if (state.hold) lines.push(`**Held** by ${escape(state.hold.by)} since ${state.hold.at}`);
  for (const [key, what] of WAITS) {
    const at = state.waits[key];
    if (typeof at === 'number') lines.push(`**${what}** at ${new Date(at).toISOString()}`);
  }
  return lines.join('\n\n');
}
