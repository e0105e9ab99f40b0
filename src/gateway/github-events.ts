// GitHub deliveries → gateway actions. The issue is found from the PR's head branch alone
// (`issueIdFromBranch`), with no lookup, so an event that arrives before the run has recorded
// its PR still lands. The run re-reads the PR's status, so the event is only a nudge.
import { z } from 'zod';
import type { FactoryConfig } from '../config/factory-schema.js';
import { issueIdFromBranch } from '../domain/naming.js';
import type { ForgeEvent } from '../workflows/messages.js';
import { describePayloadError, ignore, type GatewayAction } from './actions.js';
import type { Route } from './routes.js';

const repoSchema = z.looseObject({ id: z.number(), full_name: z.string() });
const headSchema = z.looseObject({ ref: z.string(), sha: z.string(), repo: repoSchema.nullish() });
const pullSchema = z.looseObject({ number: z.number(), head: headSchema });
// Pull requests linked from checks carry a reduced repository object; only the ref is read.
const linkedPullSchema = z.looseObject({ number: z.number(), head: z.looseObject({ ref: z.string() }) });

const envelopeSchema = z.looseObject({ repository: repoSchema });

const pullRequestEventSchema = z.looseObject({ action: z.string(), pull_request: pullSchema });
const reviewEventSchema = z.looseObject({ action: z.string(), pull_request: pullSchema, review: z.looseObject({ state: z.string() }) });
const checkSuiteEventSchema = z.looseObject({
  action: z.string(),
  check_suite: z.looseObject({
    head_branch: z.string().nullish(),
    head_sha: z.string(),
    conclusion: z.string().nullish(),
    pull_requests: z.array(linkedPullSchema).default([]),
  }),
});
const checkRunEventSchema = z.looseObject({
  action: z.string(),
  check_run: z.looseObject({
    head_sha: z.string(),
    conclusion: z.string().nullish(),
    check_suite: z.looseObject({ head_branch: z.string().nullish() }).nullish(),
    pull_requests: z.array(linkedPullSchema).default([]),
  }),
});
const statusEventSchema = z.looseObject({ sha: z.string(), state: z.string(), branches: z.array(z.looseObject({ name: z.string() })) });

/** The events and actions the mapper acts on; any other is `ignore:unhandled`. */
export const PULL_REQUEST_ACTIONS = ['opened', 'synchronize', 'closed', 'reopened', 'ready_for_review'] as const;
export const REVIEW_ACTIONS = ['submitted', 'dismissed'] as const;
/** check_suite and check_run: only a finished one says anything about CI. */
export const CHECK_ACTIONS = ['completed'] as const;
export const GITHUB_EVENTS = ['pull_request', 'pull_request_review', 'check_suite', 'check_run', 'status'] as const;
const PULL_REQUEST_ACTION_SET = new Set<string>(PULL_REQUEST_ACTIONS);
const REVIEW_ACTION_SET = new Set<string>(REVIEW_ACTIONS);
const HANDLED_EVENTS = new Set<string>(GITHUB_EVENTS);

/** Each handled GitHub event as the gateway counts it (`event.action`; `status` has no action), with its signal. */
const GITHUB_EVENT_SIGNALS: ReadonlyArray<{ event: string; outcome: string }> = [
  ...PULL_REQUEST_ACTIONS.map((a) => ({ event: `pull_request.${a}`, outcome: 'signal:forge:pull-request' })),
  ...REVIEW_ACTIONS.map((a) => ({ event: `pull_request_review.${a}`, outcome: 'signal:forge:review' })),
  ...CHECK_ACTIONS.flatMap((a) => [`check_suite.${a}`, `check_run.${a}`]).map((event) => ({ event, outcome: 'signal:forge:checks' })),
  { event: 'status', outcome: 'signal:forge:checks' },
];

/**
 * Every route a GitHub delivery of an allowlisted repo can take, from the constants above;
 * `github-events.test.ts` holds it to `mapGithubEvent` over every real example payload. Not
 * listed: other repos (`ignore:not-allowlisted`), other events and actions (`ignore:unhandled`),
 * malformed payloads (`invalid`).
 */
export const GITHUB_ROUTES: readonly Route[] = GITHUB_EVENT_SIGNALS.flatMap(({ event, outcome }) => [
  { ingress: 'github' as const, event, when: "a factory branch (conveyor/…) of the repo's own", outcome },
  { ingress: 'github' as const, event, when: 'any other branch, or a fork', outcome: 'ignore:not-applicable' },
]);

export interface GithubContext {
  factory: FactoryConfig;
  deliveryId: string;
}

type Repo = z.infer<typeof repoSchema>;

export function mapGithubEvent(eventName: string, payload: unknown, ctx: GithubContext): GatewayAction {
  if (eventName === 'ping') return ignore('unhandled', 'ping: the webhook is set up');
  if (!HANDLED_EVENTS.has(eventName)) return ignore('unhandled', `GitHub ${eventName} events are not handled`);
  let repo = repositoryOf(payload);
  if (!repo) {
    // Whatever `repositoryOf` refuses goes through the schema, which has the last word and the
    // error message.
    const envelope = envelopeSchema.safeParse(payload);
    if (!envelope.success) return { kind: 'invalid', reason: `GitHub ${eventName} payload: ${describePayloadError(envelope.error)}` };
    repo = envelope.data.repository;
  }
  // GitHub owner and repository names are case-insensitive.
  if (!ctx.factory.repos.some((r) => r.name.toLowerCase() === repo.full_name.toLowerCase())) {
    return ignore('not-allowlisted', `repository ${repo.full_name} is not listed under repos`);
  }
  switch (eventName) {
    case 'pull_request':
      return mapPullRequest(payload, repo, ctx.deliveryId);
    case 'pull_request_review':
      return mapReview(payload, repo, ctx.deliveryId);
    case 'check_suite':
      return mapCheckSuite(payload, ctx.deliveryId);
    case 'check_run':
      return mapCheckRun(payload, ctx.deliveryId);
    default:
      return mapStatus(payload, ctx.deliveryId);
  }
}

/**
 * `envelopeSchema`'s repository, read without zod. The allowlist check runs on every handled
 * delivery and, for a repository the factory does not serve, is all that is read of a payload
 * of tens of kB; a loose zod object copies every key of the objects it parses. Accepts only
 * what `envelopeSchema` accepts (an object whose `repository` is an object with a finite number
 * `id` and a string `full_name`) and returns undefined otherwise, leaving the verdict to zod.
 */
function repositoryOf(payload: unknown): Repo | undefined {
  if (!isPlainRecord(payload)) return undefined;
  const repository = payload.repository;
  if (!isPlainRecord(repository)) return undefined;
  const { id, full_name: fullName } = repository;
  return typeof id === 'number' && Number.isFinite(id) && typeof fullName === 'string' ? (repository as Repo) : undefined;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapPullRequest(payload: unknown, repo: Repo, deliveryId: string): GatewayAction {
  const parsed = pullRequestEventSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: `GitHub pull_request payload: ${describePayloadError(parsed.error)}` };
  const { action, pull_request: pr } = parsed.data;
  if (!PULL_REQUEST_ACTION_SET.has(action)) return ignore('unhandled', `pull_request action "${action}" is not handled`);
  return toPullRequestIssue(pr, repo, { kind: 'pull-request', action, prNumber: pr.number, headSha: pr.head.sha, deliveryId });
}

function mapReview(payload: unknown, repo: Repo, deliveryId: string): GatewayAction {
  const parsed = reviewEventSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: `GitHub pull_request_review payload: ${describePayloadError(parsed.error)}` };
  const { action, pull_request: pr } = parsed.data;
  if (!REVIEW_ACTION_SET.has(action)) return ignore('unhandled', `pull_request_review action "${action}" is not handled`);
  return toPullRequestIssue(pr, repo, { kind: 'review', action, prNumber: pr.number, headSha: pr.head.sha, deliveryId });
}

function toPullRequestIssue(pr: z.infer<typeof pullSchema>, repo: Repo, event: ForgeEvent): GatewayAction {
  // A fork can name its branch like a factory branch; only the factory pushes real ones.
  if (pr.head.repo?.id !== repo.id) return ignore('not-applicable', `PR #${pr.number} comes from another repository, not a factory branch`);
  const issueId = issueIdFromBranch(pr.head.ref);
  if (!issueId) return ignore('not-applicable', `branch ${pr.head.ref} is not a factory branch`);
  return { kind: 'signal', issueId, signal: { name: 'forge', event } };
}

function mapCheckSuite(payload: unknown, deliveryId: string): GatewayAction {
  const parsed = checkSuiteEventSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: `GitHub check_suite payload: ${describePayloadError(parsed.error)}` };
  const { action, check_suite: suite } = parsed.data;
  if (!(CHECK_ACTIONS as readonly string[]).includes(action)) return ignore('unhandled', `check_suite action "${action}" is not handled`);
  const branches = [suite.head_branch, ...suite.pull_requests.map((pr) => pr.head.ref)];
  return toChecksIssues(branches, suite.pull_requests, { kind: 'checks', action: suite.conclusion ?? action, headSha: suite.head_sha, deliveryId });
}

function mapCheckRun(payload: unknown, deliveryId: string): GatewayAction {
  const parsed = checkRunEventSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: `GitHub check_run payload: ${describePayloadError(parsed.error)}` };
  const { action, check_run: run } = parsed.data;
  if (!(CHECK_ACTIONS as readonly string[]).includes(action)) return ignore('unhandled', `check_run action "${action}" is not handled`);
  const branches = [run.check_suite?.head_branch, ...run.pull_requests.map((pr) => pr.head.ref)];
  return toChecksIssues(branches, run.pull_requests, { kind: 'checks', action: run.conclusion ?? action, headSha: run.head_sha, deliveryId });
}

function mapStatus(payload: unknown, deliveryId: string): GatewayAction {
  const parsed = statusEventSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: `GitHub status payload: ${describePayloadError(parsed.error)}` };
  const { sha, state, branches } = parsed.data;
  return toChecksIssues(
    branches.map((b) => b.name),
    [],
    { kind: 'checks', action: state, headSha: sha, deliveryId },
  );
}

/** Checks belong to a commit, which several branches may share: tell every factory issue among them. */
function toChecksIssues(branches: Array<string | null | undefined>, pulls: Array<z.infer<typeof linkedPullSchema>>, event: ForgeEvent): GatewayAction {
  const issueIds = [...new Set(branches.flatMap((b) => (b ? [issueIdFromBranch(b)] : [])).filter((id): id is string => id !== null))];
  if (issueIds.length === 0) {
    const named = branches.filter(Boolean);
    return ignore('not-applicable', named.length > 0 ? `no factory branch among ${named.join(', ')}` : 'the checks name no branch');
  }
  // The PR number is only meaningful when the checks concern exactly one PR.
  const prNumber = pulls.length === 1 ? pulls[0]!.number : undefined;
  const signal = { name: 'forge' as const, event: prNumber === undefined ? event : { ...event, prNumber } };
  if (issueIds.length === 1) return { kind: 'signal', issueId: issueIds[0]!, signal };
  return { kind: 'signal-each', issueIds, signal };
}
