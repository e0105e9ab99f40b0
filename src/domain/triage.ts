// Triage rules, as pure functions over a freshly read issue. No run trusts the event that
// started it: these decide from the tracker's current state alone.
import type { FactoryConfig } from '../config/factory-schema.js';
import type { TriageResult } from '../workflows/activity-types.js';
import type { Routing } from '../workflows/state.js';
import type { PullRequest, TrackerIssue } from './issue.js';

const ACCEPTANCE_SIGNAL = [/^#{1,6}\s*acceptance/im, /^\s*acceptance/im, /^\s*[-*]\s*\[[ xX]\]/m, /done when/i];

export function isThin(issue: TrackerIssue, minChars: number): string | null {
  const description = issue.description.trim();
  if (description.length < minChars) return `the description has ${description.length} characters; at least ${minChars} are needed`;
  if (!ACCEPTANCE_SIGNAL.some((p) => p.test(description))) return 'the description has no acceptance signal (an "Acceptance" heading or line, a checklist, or "done when")';
  return null;
}

/** What readiness is decided on: the fields a tracker read and a webhook payload both carry. */
export interface ReadinessView {
  team: { key: string };
  labels: readonly string[];
  state: { name: string; type: string };
}

/** DESIGN "Ready for the factory": allowlisted team, the ready label, and an unstarted or
 * ready-named state. The one rule the gateway, the sweep and triage all apply. Returns why
 * not, or null when ready. */
export function isReadyForFactory(issue: ReadinessView, config: FactoryConfig): string | null {
  const team = config.tracker.teams.find((t) => t.key === issue.team.key);
  if (!team) return `team ${issue.team.key} is not on the allowlist`;
  if (!issue.labels.includes(config.policies.readyLabel)) return `the issue is not labelled "${config.policies.readyLabel}"`;
  if (issue.state.type !== 'unstarted' && issue.state.name !== team.readyState) return `the issue is in "${issue.state.name}", not a ready state`;
  return null;
}

export function routeIssue(issue: TrackerIssue, config: FactoryConfig): Routing | null {
  const team = config.tracker.teams.find((t) => t.key === issue.team.key);
  if (!team) return null;
  const route = config.routing.find(
    (r) => (!r.team || r.team === issue.team.key) && (!r.project || r.project === issue.project) && (!r.label || issue.labels.includes(r.label)),
  );
  const repoName = route?.repo ?? team.repo;
  const repo = config.repos.find((r) => r.name === repoName);
  if (!repo) return null;
  return {
    repo: repo.name,
    baseBranch: repo.baseBranch,
    mergePolicy: repo.mergePolicy,
    agent: route?.agent ?? config.agents.default,
    synthetic: issue.labels.includes(config.policies.syntheticLabel),
    states: { ready: team.readyState, inProgress: team.inProgressState, inReview: team.inReviewState, done: team.doneState },
  };
}

export function triage(issue: TrackerIssue, config: FactoryConfig, existingPr: PullRequest | null): TriageResult {
  const notReady = isReadyForFactory(issue, config);
  if (notReady) return { decision: 'ignore', reason: notReady, issue, routing: null, overridable: false };
  const routing = routeIssue(issue, config);
  if (existingPr && (existingPr.state === 'open' || existingPr.merged)) {
    return { decision: 'ignore', reason: `the issue already has a factory PR: ${existingPr.url}`, issue, routing, overridable: false };
  }
  if (!routing) return { decision: 'escalate', reason: 'no configured repository matches this issue: add a routing rule or a team repo', issue, routing: null, overridable: false };
  const reserved = issue.labels.filter((l) => config.policies.reservedLabels.includes(l));
  if (reserved.length > 0) return { decision: 'escalate', reason: `the issue is reserved for humans (label ${reserved.map((l) => `"${l}"`).join(', ')})`, issue, routing, overridable: false };
  const thin = isThin(issue, config.policies.thinDescriptionChars);
  if (thin) return { decision: 'escalate', reason: `the issue is too thin to dispatch: ${thin}`, issue, routing, overridable: true };
  return { decision: 'dispatch', reason: `routed to ${routing.repo} (agent ${routing.agent})`, issue, routing, overridable: false };
}
