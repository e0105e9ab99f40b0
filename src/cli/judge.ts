// The factory's judgement as dry runs: what triage decides for one issue and why (every rule
// that fired), a classification of the whole labelled backlog, and where each repo stands on
// its way to autonomous merge. Nothing here starts, signals or writes anything.
import type { Logger } from 'pino';
import { pino } from 'pino';
import { createJudge, type Judge } from '../activities/judgement.js';
import { ConfigError, type Config } from '../config/load.js';
import type { GraduationEvidence } from '../domain/graduation.js';
import type { TrackerIssue } from '../domain/issue.js';
import type { TriageCategory } from '../domain/routing.js';
import type { Tracker } from '../integrations/tracker.js';
import { SANDBOX_CREDENTIALS } from '../sandbox/sandbox.js';
import { buildIntegrations } from '../workers/integrations.js';
import type { TriageResult } from '../workflows/activity-types.js';

export interface JudgeContext {
  judge: Judge;
  tracker: Tracker;
  config: Config;
}

type Env = Record<string, string | undefined>;

/**
 * Where the CLI finds the tracker and forge. On the sandbox profile, with no URLs configured,
 * they are the emulators `conveyor dev` runs on their default ports (CONVEYOR_LINEAR_PORT and
 * CONVEYOR_GITHUB_PORT move them), with the sandbox's credentials.
 */
export function cliEndpoints(config: Config, env: Env): { config: Config; env: Env } {
  if (config.profile !== 'sandbox' || config.factory.tracker.apiUrl) return { config, env };
  const linear = env.CONVEYOR_LINEAR_PORT ?? '8788';
  const github = env.CONVEYOR_GITHUB_PORT ?? '8789';
  const factory = structuredClone(config.factory);
  factory.tracker.apiUrl = `http://127.0.0.1:${linear}/graphql`;
  factory.forge.apiUrl = `http://127.0.0.1:${github}/api/v3`;
  factory.forge.gitUrl = `http://127.0.0.1:${github}`;
  return { config: { ...config, factory }, env: { ...SANDBOX_CREDENTIALS, ...env } };
}

/** The tracker and forge the CLI reads (see cliEndpoints). */
export function judgeContext(config: Config, env: Env = process.env, logger: Logger = pino({ level: 'silent' })): JudgeContext {
  const { config: cfg, env: useEnv } = cliEndpoints(config, env);
  const { tracker, forge } = buildIntegrations(cfg, useEnv, logger);
  return { judge: createJudge({ tracker, forge, factory: cfg.factory, graduationTtlMs: Number.POSITIVE_INFINITY }), tracker, config: cfg };
}

/** Triage as it would decide were the issue in its team's ready state (a backlog dry run). */
async function triageAsReady(ctx: JudgeContext, issue: TrackerIssue): Promise<{ result: TriageResult; ready: boolean }> {
  const team = ctx.config.factory.tracker.teams.find((t) => t.key === issue.team.key);
  const ready = issue.state.type === 'unstarted' || issue.state.name === team?.readyState;
  const asReady = ready || !team ? issue : { ...issue, state: { name: team.readyState, type: 'unstarted' as const } };
  return { result: await ctx.judge.triageRead(asReady), ready };
}

export interface TriageReport {
  issue: { id: string; key: string; title: string; state: string; team: string };
  /** Whether the issue is in a ready state now; if not, the decision is what readiness would bring. */
  ready: boolean;
  result: TriageResult;
}

export async function triageOne(ctx: JudgeContext, issueRef: string): Promise<TriageReport> {
  const issue = await ctx.tracker.getIssue(issueRef);
  const { result, ready } = await triageAsReady(ctx, issue);
  return { issue: { id: issue.id, key: issue.key, title: issue.title, state: issue.state.name, team: issue.team.key }, ready, result };
}

export async function triageAll(ctx: JudgeContext, options: { team?: string }): Promise<TriageReport[]> {
  const teams = ctx.config.factory.tracker.teams.map((t) => t.key);
  if (options.team && !teams.includes(options.team)) throw new ConfigError(`Team ${options.team} is not listed under tracker.teams (${teams.join(', ')}).`);
  const issues = await ctx.tracker.listIssues({ teamKeys: options.team ? [options.team] : teams, label: ctx.config.factory.policies.readyLabel });
  const reports: TriageReport[] = [];
  // One at a time: a backlog of hundreds must not burst the tracker's or forge's rate limits.
  for (const issue of issues) {
    const { result, ready } = await triageAsReady(ctx, issue);
    reports.push({ issue: { id: issue.id, key: issue.key, title: issue.title, state: issue.state.name, team: issue.team.key }, ready, result });
  }
  return reports.sort((a, b) => a.issue.key.localeCompare(b.issue.key, 'en', { numeric: true }));
}

/** The label `triage --all` shows: `already has a PR` spelled out. */
export function categoryLabel(category: TriageCategory | undefined): string {
  return category === 'has-pr' ? 'already has a PR' : (category ?? 'unknown');
}

function routeText(result: TriageResult): string {
  const route = result.route;
  if (!route) return '';
  if (route.problem === 'ambiguous') return `ambiguous: ${route.candidates.join(' | ')}`;
  if (route.problem) return `no match (candidates: ${route.candidates.join(', ')})`;
  if (route.defaultUsed) return `${route.repo} (team default)`;
  return `${route.repo} (rule ${route.fired.map((m) => m.rule).join(', ')})`;
}

export function formatTriage(report: TriageReport): string {
  const { issue, result } = report;
  const route = result.route;
  const lines = [
    `${issue.key} "${issue.title}" (${issue.state}${report.ready ? '' : ', not in a ready state: decided as if it were'})`,
    `decision: ${result.decision} (${categoryLabel(result.category)})`,
    `reason:   ${result.reason}`,
  ];
  if (result.routing) {
    const merge = result.graduating ? `${result.routing.mergePolicy} (graduating ${result.graduating.merged}/${result.graduating.needed}; configured on-green-with-review)` : result.routing.mergePolicy;
    lines.push(`repo:     ${result.routing.repo}  agent: ${result.routing.agent}  merge: ${merge}`);
  }
  if (route) {
    lines.push(`rules that fired:${route.fired.length === 0 ? ' none' : ''}`);
    for (const m of route.fired) lines.push(`  rule ${m.rule}: ${m.conditions.join(', ')} → ${m.repo}${m.agent ? ` (agent ${m.agent})` : ''}`);
    lines.push(`team defaultRepo used: ${route.defaultUsed ? `yes (${route.repo})` : 'no'}`);
    if (route.candidates.length > 0) lines.push(`candidates: ${route.candidates.join(', ')}`);
  }
  if (result.blockedBy && result.blockedBy.length > 0) lines.push(`blocked by: ${result.blockedBy.map((b) => `${b.key} (${b.state})`).join(', ')}`);
  if (result.blockerCycle) lines.push(`blocker cycle: ${result.blockerCycle.join(' blocks ')}`);
  return lines.join('\n');
}

const CATEGORY_ORDER: readonly TriageCategory[] = ['dispatchable', 'thin', 'reserved', 'unroutable', 'blocked', 'has-pr', 'not-ready'];

export function formatTriageAll(reports: readonly TriageReport[], table: (rows: Array<Record<string, string>>) => string): string {
  const rows = reports.map((r) => ({
    issue: r.issue.key,
    state: r.issue.state,
    class: categoryLabel(r.result.category),
    repo: routeText(r.result),
    why: shorten(r.result.category === 'dispatchable' ? (r.result.graduating ? `merges as never until graduated ${r.result.graduating.merged}/${r.result.graduating.needed}` : '') : r.result.reason, 90),
    title: shorten(r.issue.title, 40),
  }));
  const counts = CATEGORY_ORDER.map((c) => [c, reports.filter((r) => r.result.category === c).length] as const).filter(([, n]) => n > 0);
  return `${table(rows)}\n\n${reports.length} open labelled issues: ${counts.map(([c, n]) => `${n} ${categoryLabel(c)}`).join(', ') || 'none'}. Nothing was started.`;
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Each repo whose policy is on-green-with-review, with the PRs that count and those that do not. */
export async function graduationOf(ctx: JudgeContext): Promise<GraduationEvidence[]> {
  const repos = ctx.config.factory.repos.filter((r) => r.mergePolicy === 'on-green-with-review');
  return Promise.all(repos.map((r) => ctx.judge.graduation(r.name)));
}

export function formatGraduation(evidence: readonly GraduationEvidence[]): string {
  if (evidence.length === 0) return 'No repo is configured for on-green-with-review: every PR waits for a human to merge it.';
  return evidence
    .map((g) => {
      const state = g.needed === 0 ? 'merges on green with review (graduation off: cleanMerges 0)' : g.graduated ? `graduated ${g.merged}/${g.needed}: merges on green with review` : `graduating ${g.merged}/${g.needed}: merges as never until then`;
      const counted = g.counted.length > 0 ? g.counted.map((c) => `#${c.number} by ${c.mergedBy}`).join(', ') : 'none yet';
      const lines = [`${g.repo}: ${state}`];
      if (g.needed > 0) {
        lines.push(`  counted (factory PRs merged by a human, no revert or fix after): ${counted}`);
        for (const e of g.excluded) lines.push(`  not counted: #${e.number} (${e.why})`);
      }
      return lines.join('\n');
    })
    .join('\n');
}
