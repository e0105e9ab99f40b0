// Triage rules, as pure functions over a freshly read issue. No run trusts the event that
// started it: these decide from the tracker's current state alone.
import type { FactoryConfig, RouteConfig } from '../config/factory-schema.js';
import type { TriageResult } from '../workflows/activity-types.js';
import type { MergePolicy, Routing } from '../workflows/state.js';
import type { PullRequest, TrackerIssue } from './issue.js';
import type { BlockingIssue, Graduation, RouteTrace, RuleMatch } from './routing.js';

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

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The conditions of rule `route` that hold for `issue`, readable; null when one does not. */
function ruleConditions(route: RouteConfig, issue: TrackerIssue): string[] | null {
  const held: string[] = [];
  if (route.team !== undefined) {
    if (route.team !== issue.team.key) return null;
    held.push(`team ${route.team}`);
  }
  if (route.project !== undefined) {
    if (issue.project === null || !sameText(route.project, issue.project)) return null;
    held.push(`project "${route.project}"`);
  }
  for (const label of [...(route.label !== undefined ? [route.label] : []), ...(route.labels ?? [])]) {
    if (!issue.labels.some((l) => sameText(l, label))) return null;
    held.push(`label "${label}"`);
  }
  if (route.titlePattern !== undefined) {
    if (!new RegExp(route.titlePattern, 'i').test(issue.title)) return null;
    held.push(`title /${route.titlePattern}/`);
  }
  if (route.descriptionPattern !== undefined) {
    if (!new RegExp(route.descriptionPattern, 'i').test(issue.description)) return null;
    held.push(`description /${route.descriptionPattern}/`);
  }
  return held;
}

/**
 * Which repo an issue goes to, and why. Every rule is tried (not the first match): when the
 * rules that fire name one repo the issue goes there; when none fires the team's opt-in
 * `defaultRepo` is used; otherwise (nothing fired and no default, or fired rules disagree)
 * there is no repo and triage escalates with the candidates named.
 */
export function explainRoute(issue: TrackerIssue, config: FactoryConfig): RouteTrace {
  const fired: RuleMatch[] = [];
  config.routing.forEach((route, rule) => {
    const conditions = ruleConditions(route, issue);
    if (conditions) fired.push({ rule, repo: route.repo, agent: route.agent ?? null, conditions });
  });
  const firedRepos = [...new Set(fired.map((m) => m.repo))];
  const team = config.tracker.teams.find((t) => t.key === issue.team.key);
  const known = (repo: string) => config.repos.some((r) => r.name === repo);
  if (firedRepos.length > 1) return { repo: null, fired, defaultUsed: false, candidates: firedRepos, problem: 'ambiguous' };
  const repo = firedRepos[0] ?? team?.defaultRepo ?? null;
  const defaultUsed = firedRepos.length === 0 && repo !== null;
  if (repo === null) {
    const teamRules = [...new Set(config.routing.filter((r) => r.team === issue.team.key).map((r) => r.repo))];
    return { repo: null, fired, defaultUsed: false, candidates: teamRules.length > 0 ? teamRules : config.repos.map((r) => r.name), problem: 'no-match' };
  }
  if (!known(repo)) return { repo: null, fired, defaultUsed, candidates: config.repos.map((r) => r.name), problem: 'unknown-repo' };
  return { repo, fired, defaultUsed, candidates: [], problem: null };
}

/** One line a human reads: why the issue goes where it goes, or why it goes nowhere. */
export function describeRoute(trace: RouteTrace): string {
  const rules = trace.fired.map((m) => `rule ${m.rule} (${m.conditions.join(', ')} → ${m.repo})`).join('; ');
  const candidates = trace.candidates.join(', ');
  switch (trace.problem) {
    case 'ambiguous':
      return `routing rules disagree: ${rules}; candidates: ${candidates}. Make the rules exclusive (add a condition) or edit the issue so one applies`;
    case 'no-match':
      return `no routing rule matches this issue and its team has no defaultRepo; candidates: ${candidates}. Add a routing rule (team, project, labels, titlePattern, descriptionPattern), set defaultRepo on the team, or edit the issue (a label or project) so a rule applies`;
    case 'unknown-repo':
      return `routing chose ${trace.repo ?? 'a repo'} which is not under repos; candidates: ${candidates}`;
    case null:
      return trace.defaultUsed ? `no routing rule fired; the team's defaultRepo ${trace.repo} was used` : `routed to ${trace.repo} by ${rules}`;
  }
}

/** The merge policy a repo runs under now: `on-green-with-review` only once it graduated. */
export function effectiveMergePolicy(configured: MergePolicy, graduation: Graduation | null): MergePolicy {
  if (configured !== 'on-green-with-review' || graduation === null) return configured;
  return graduation.merged >= graduation.needed ? configured : 'never';
}

export function routeIssue(issue: TrackerIssue, config: FactoryConfig, trace: RouteTrace = explainRoute(issue, config)): Routing | null {
  const team = config.tracker.teams.find((t) => t.key === issue.team.key);
  if (!team || trace.repo === null) return null;
  const repo = config.repos.find((r) => r.name === trace.repo);
  if (!repo) return null;
  return {
    repo: repo.name,
    baseBranch: repo.baseBranch,
    mergePolicy: repo.mergePolicy,
    agent: trace.fired.find((m) => m.agent !== null)?.agent ?? config.agents.default,
    synthetic: issue.labels.includes(config.policies.syntheticLabel),
    states: { ready: team.readyState, inProgress: team.inProgressState, inReview: team.inReviewState, done: team.doneState },
  };
}

/** What triage knows beside the issue: read from the tracker and the forge by the activity. */
export interface TriageContext {
  /** The issue's factory PR, open or newest closed; null when none. */
  existingPr: PullRequest | null;
  /** Unfinished blockers; empty when none (or not read). */
  blockedBy?: BlockingIssue[];
  /** The routed repo's graduation when its configured policy is on-green-with-review. */
  graduation?: Graduation | null;
}

export function triage(issue: TrackerIssue, config: FactoryConfig, context: TriageContext | PullRequest | null): TriageResult {
  const ctx: TriageContext = context === null || 'number' in context ? { existingPr: context } : context;
  const notReady = isReadyForFactory(issue, config);
  if (notReady) return { decision: 'ignore', reason: notReady, issue, routing: null, overridable: false, category: 'not-ready' };
  const route = explainRoute(issue, config);
  const graduation = ctx.graduation ?? null;
  const routed = routeIssue(issue, config, route);
  const routing = routed && { ...routed, mergePolicy: effectiveMergePolicy(routed.mergePolicy, graduation) };
  const graduating = routing && graduation && routed.mergePolicy !== routing.mergePolicy ? { graduating: graduation } : {};
  const base = { issue, route, ...graduating };
  const existingPr = ctx.existingPr;
  if (existingPr && (existingPr.state === 'open' || existingPr.merged)) {
    return { ...base, decision: 'ignore', reason: `the issue already has a factory PR: ${existingPr.url}`, routing, overridable: false, category: 'has-pr' };
  }
  const reserved = issue.labels.filter((l) => config.policies.reservedLabels.includes(l));
  if (reserved.length > 0) {
    return { ...base, decision: 'escalate', reason: `the issue is reserved for humans (label ${reserved.map((l) => `"${l}"`).join(', ')})`, routing, overridable: false, category: 'reserved' };
  }
  if (!routing) return { ...base, decision: 'escalate', reason: describeRoute(route), routing: null, overridable: false, category: 'unroutable' };
  // Before thin: an approval may dispatch a thin issue as it is, never one that must wait.
  const blockedBy = ctx.blockedBy ?? [];
  if (blockedBy.length > 0) {
    const list = blockedBy.map((b) => `${b.key} (${b.state})`).join(', ');
    return { ...base, blockedBy, decision: 'escalate', reason: `the issue is blocked by ${list}; it starts when ${blockedBy.length > 1 ? 'they are' : 'it is'} done`, routing, overridable: false, category: 'blocked' };
  }
  const thin = isThin(issue, config.policies.thinDescriptionChars);
  if (thin) return { ...base, decision: 'escalate', reason: `the issue is too thin to dispatch: ${thin}`, routing, overridable: true, category: 'thin' };
  const merge = graduation && routing.mergePolicy === 'never' && routed.mergePolicy === 'on-green-with-review' ? `; merges as never while graduating ${graduation.merged}/${graduation.needed}` : '';
  return { ...base, decision: 'dispatch', reason: `routed to ${routing.repo} (agent ${routing.agent}): ${describeRoute(route)}${merge}`, routing, overridable: false, category: 'dispatchable' };
}
