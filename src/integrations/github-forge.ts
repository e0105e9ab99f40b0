import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { ChecksSummary, MergeResult, PullRequest, ReviewSummary } from '../domain/issue.js';
import { IntegrationError } from './errors.js';
import type { Forge } from './forge.js';
import { foldChecks } from './github/checks.js';
import { isRateLimited, scrub, toIntegrationError } from './github/errors.js';
import { gitAuthHeaderEnv, pushHead, tokenForms } from './github/git-push.js';
import { foldReviews, permissionCanApprove } from './github/reviews.js';

// The forge over GitHub's REST API. Octokit's retry plugin absorbs short 5xx outages and the
// throttling plugin honours GitHub's rate-limit headers for a bounded wait; what is left is
// turned into an IntegrationError whose class tells Temporal to retry or to escalate.

type LogFn = (fields: Record<string, unknown>, message: string) => void;

export interface ForgeLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export interface GitHubForgeOptions {
  /** A personal access or installation token. */
  token?: string;
  /** GitHub App credentials; installation tokens are minted and refreshed by `@octokit/auth-app`. */
  app?: { appId: number | string; privateKey: string; installationId: number };
  /** REST base URL; default https://api.github.com. */
  baseUrl?: string;
  /** Base of clone URLs; default https://github.com. */
  gitBaseUrl?: string;
  /** Per repo (`owner/name`): the checks that must pass; overrides reading branch protection. */
  requiredChecks?: Record<string, string[]>;
  /** Per repo (`owner/name`): an approval made on an older head still counts (default false). */
  approvalSurvivesPush?: Record<string, boolean>;
  /** How the credential is named in error messages (default GITHUB_TOKEN or "the GitHub App credentials"). */
  credentialName?: string;
  mergeMethod?: 'merge' | 'squash';
  /**
   * Retry tuning. `unitMs` is the length of one second of GitHub's advised waits and of the
   * backoff steps (1000 in production; tests shrink it). `spaceWrites` keeps GitHub's advice of
   * at least a second between content-creating requests.
   */
  retry?: { attempts?: number; rateLimitRetries?: number; maxRateLimitWaitMs?: number; unitMs?: number; spaceWrites?: boolean };
  gitTimeoutMs?: number;
  logger?: ForgeLogger;
}

const ConveyorOctokit = Octokit.plugin(retry, throttling);
type ConveyorOctokitInstance = InstanceType<typeof ConveyorOctokit>;
type LimiterGroup = NonNullable<Exclude<ThrottlingOptions, { enabled: false }>['write']>;

const silent: ForgeLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A limiter that runs jobs at once: used when the caller opts out of write spacing (tests). */
function passThroughGroup(): LimiterGroup {
  const limiter = {
    schedule: (...args: unknown[]): unknown => {
      const [first, ...rest] = args;
      if (typeof first === 'function') return (first as (...a: unknown[]) => unknown)(...rest);
      const [fn, ...fnArgs] = rest;
      return (fn as (...a: unknown[]) => unknown)(...fnArgs);
    },
  };
  return { key: () => limiter } as unknown as LimiterGroup;
}

function splitRepo(repo: string): { owner: string; repo: string } {
  const [owner, name, ...rest] = repo.split('/');
  if (!owner || !name || rest.length > 0) throw new IntegrationError(`"${repo}" is not a repository name: use owner/name`, 'logic', { service: 'github' });
  return { owner, repo: name };
}

interface PullLike {
  number: number;
  html_url: string;
  state: string;
  draft?: boolean;
  merged?: boolean;
  merged_at: string | null;
  mergeable?: boolean | null;
  head: { ref: string; sha: string };
  base: { ref: string };
}

function toPullRequest(repo: string, pull: PullLike): PullRequest {
  return {
    number: pull.number,
    url: pull.html_url,
    repo,
    headRef: pull.head.ref,
    headSha: pull.head.sha,
    baseRef: pull.base.ref,
    state: pull.state === 'closed' ? 'closed' : 'open',
    merged: pull.merged ?? pull.merged_at !== null,
    draft: pull.draft ?? false,
    mergeable: pull.mergeable ?? null,
  };
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : undefined;
}

export function createGitHubForge(options: GitHubForgeOptions): Forge {
  if (!options.token && !options.app) {
    throw new Error('createGitHubForge needs a token (GITHUB_TOKEN) or GitHub App credentials (app: { appId, privateKey, installationId })');
  }
  const logger = options.logger ?? silent;
  const credential = options.credentialName ?? (options.token ? 'GITHUB_TOKEN' : 'the GitHub App credentials');
  const gitBaseUrl = (options.gitBaseUrl ?? 'https://github.com').replace(/\/+$/, '');
  const unitMs = options.retry?.unitMs ?? 1000;
  const rateLimitRetries = options.retry?.rateLimitRetries ?? 2;
  const maxRateLimitWaitMs = options.retry?.maxRateLimitWaitMs ?? 60_000;
  const secrets = new Set<string>();
  if (options.token) tokenForms(options.token).forEach((form) => secrets.add(form));
  if (options.app) secrets.add(options.app.privateKey);

  const onLimit = (kind: string) => (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
    // GitHub's advice is in real seconds: a reset an hour away is Temporal's to wait out, not ours.
    const retrying = retryCount < rateLimitRetries && retryAfter * 1000 <= maxRateLimitWaitMs;
    logger.warn({ method: request.method, url: request.url, retryAfterS: retryAfter, retryCount, retrying }, `GitHub ${kind} rate limit`);
    return retrying;
  };
  const spacing = options.retry?.spaceWrites === false ? { write: passThroughGroup(), notifications: passThroughGroup() } : {};

  const octokit: ConveyorOctokitInstance = new ConveyorOctokit({
    ...(options.app
      ? { authStrategy: createAppAuth, auth: { appId: options.app.appId, privateKey: options.app.privateKey, installationId: options.app.installationId } }
      : { auth: options.token }),
    baseUrl: options.baseUrl,
    userAgent: 'conveyor',
    // Octokit would log each failed request with its URL; we report failures ourselves.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary'), retryAfterBaseValue: unitMs, ...spacing },
    // 405 and 409 are answers (not mergeable, head moved), and 403/429 belong to the throttler.
    retry: { retries: options.retry?.attempts ?? 3, retryAfterBaseValue: unitMs, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451] },
  });

  const fail = (error: unknown, action: string): IntegrationError => {
    const classified = toIntegrationError(error, { action, credential, secrets: [...secrets] });
    logger.warn({ action, failureClass: classified.failureClass, status: classified.details.status }, classified.message);
    return classified;
  };

  async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw fail(error, action);
    }
  }

  async function token(): Promise<string> {
    if (options.token) return options.token;
    const auth = (await call('minting an installation token', () => octokit.auth({ type: 'installation' }))) as { token: string };
    tokenForms(auth.token).forEach((form) => secrets.add(form));
    return auth.token;
  }

  async function findOpen(repo: string, head: string): Promise<PullRequest | null> {
    const { owner, repo: name } = splitRepo(repo);
    const { data } = await call(`listing open pull requests for ${repo}:${head}`, () => octokit.rest.pulls.list({ owner, repo: name, head: `${owner}:${head}`, state: 'open', per_page: 100 }));
    const pull = data.find((p) => p.head.ref === head);
    return pull ? toPullRequest(repo, pull) : null;
  }

  /** Branch protection's required checks; null when the branch is unprotected or unreadable. */
  async function protectedChecks(repo: string, branch: string): Promise<string[] | null> {
    const { owner, repo: name } = splitRepo(repo);
    try {
      const { data } = await octokit.rest.repos.getStatusChecksProtection({ owner, repo: name, branch });
      return [...new Set([...(data.contexts ?? []), ...(data.checks ?? []).map((c) => c.context)])];
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return null;
      // Reading protection needs admin rights a least-privilege token lacks: fall back to
      // counting every check on the SHA rather than failing the merge gate.
      if (status === 403 && !isRateLimited(error as { status: number; message: string })) {
        logger.warn({ repo, branch }, `${credential} cannot read branch protection of ${repo}@${branch}; counting every check on the commit. Configure requiredChecks for this repo to be explicit.`);
        return null;
      }
      throw fail(error, `reading branch protection of ${repo}@${branch}`);
    }
  }

  let ownLogin: string | null = null;
  /** The login the factory acts as, read once: `GET /user` for a token, `<slug>[bot]` for an app
   * (an installation token cannot read `/user`; `GET /app` is signed with the app's JWT). */
  async function factoryLogin(): Promise<string> {
    if (ownLogin) return ownLogin;
    if (options.app) {
      const { data } = await call('reading the GitHub App the credentials belong to', () => octokit.rest.apps.getAuthenticated());
      if (!data?.slug) throw new IntegrationError(`GitHub did not name the app of ${credential} (GET /app has no slug): cannot tell the factory's own reviews from a human's`, 'logic', { service: 'github' });
      ownLogin = `${data.slug}[bot]`;
    } else {
      const { data } = await call(`reading the account ${credential} acts as`, () => octokit.rest.users.getAuthenticated());
      ownLogin = data.login;
    }
    return ownLogin;
  }

  /** Reviewers among `logins` with admin, maintain or write on `repo`; one read per login. */
  async function writers(repo: string, logins: string[]): Promise<Set<string>> {
    const { owner, repo: name } = splitRepo(repo);
    const allowed = new Set<string>();
    await Promise.all(
      logins.map(async (login) => {
        try {
          const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo: name, username: login });
          if (permissionCanApprove(data.permission)) allowed.add(login);
        } catch (error) {
          // Not a collaborator (or no such user): no write access, so the review does not count.
          if (statusOf(error) === 404) return;
          throw fail(error, `reading the permission of reviewer ${login} on ${repo}`);
        }
      }),
    );
    return allowed;
  }

  const forge: Forge = {
    cloneUrl: (repo) => {
      const { owner, repo: name } = splitRepo(repo);
      return `${gitBaseUrl}/${owner}/${name}.git`;
    },

    async gitAuthEnv() {
      return gitAuthHeaderEnv(gitBaseUrl, await token());
    },

    async pushBranch({ repo, worktree, branch }) {
      const authEnv = await forge.gitAuthEnv();
      const result = await pushHead({ worktree, remoteUrl: forge.cloneUrl(repo), branch, authEnv, secrets: [...secrets], timeoutMs: options.gitTimeoutMs ?? 5 * 60_000 });
      logger.info({ repo, branch, headSha: result.headSha }, 'pushed branch');
      return result;
    },

    async openPullRequest({ repo, head, base, title, body }) {
      const existing = await findOpen(repo, head);
      if (existing) return existing;
      const { owner, repo: name } = splitRepo(repo);
      try {
        const { data } = await octokit.rest.pulls.create({ owner, repo: name, head, base, title, body });
        logger.info({ repo, number: data.number, head }, 'opened pull request');
        return toPullRequest(repo, data);
      } catch (error) {
        // Another attempt won the race between our lookup and our create: return its PR.
        if (statusOf(error) === 422 && /already exists/i.test(JSON.stringify((error as { response?: { data?: unknown } }).response?.data ?? ''))) {
          const raced = await findOpen(repo, head);
          if (raced) return raced;
        }
        throw fail(error, `opening a pull request ${repo}:${head} → ${base}`);
      }
    },

    async findPullRequest(repo, headBranch) {
      // The open PR if there is one, else the newest (merged or closed) so callers can tell. Two
      // small reads rather than every PR the branch ever had: an issue keeps its branch name
      // across runs, so that list only grows (bench/churn: 200 PRs on one head by cycle 400,
      // 3 MB of JSON per triage, and the worker's memory swinging with it).
      const open = await findOpen(repo, headBranch);
      if (open) return open;
      const { owner, repo: name } = splitRepo(repo);
      const { data } = await call(`listing pull requests for ${repo}:${headBranch}`, () =>
        octokit.rest.pulls.list({ owner, repo: name, head: `${owner}:${headBranch}`, state: 'all', sort: 'created', direction: 'desc', per_page: 10 }),
      );
      const newest = data.filter((p) => p.head.ref === headBranch).sort((a, b) => b.number - a.number)[0];
      return newest ? toPullRequest(repo, newest) : null;
    },

    async listOpenPullRequests(repo, headPrefix) {
      const { owner, repo: name } = splitRepo(repo);
      const pulls = await call(`listing open pull requests of ${repo}`, () =>
        octokit.paginate(octokit.rest.pulls.list, { owner, repo: name, state: 'open', per_page: 100 }),
      );
      // GitHub cannot filter by a head prefix; forks' branches never count as factory PRs.
      return pulls
        .filter((p) => p.head.ref.startsWith(headPrefix) && (p.head.repo?.full_name ?? repo).toLowerCase() === repo.toLowerCase())
        .sort((a, b) => a.number - b.number)
        .map((p) => toPullRequest(repo, p));
    },

    async pullHistory(repo, { limit, mergedByFor }) {
      const { owner, repo: name } = splitRepo(repo);
      const perPage = Math.min(100, Math.max(1, limit));
      const pulls: Array<Awaited<ReturnType<typeof octokit.rest.pulls.list>>['data'][number]> = [];
      for (let page = 1; pulls.length < limit; page += 1) {
        const { data } = await call(`listing recent pull requests of ${repo}`, () => octokit.rest.pulls.list({ owner, repo: name, state: 'all', sort: 'created', direction: 'desc', per_page: perPage, page }));
        pulls.push(...data);
        if (data.length < perPage) break;
      }
      // The list has no merged_by: one read per merged factory PR, which is what graduation needs.
      return Promise.all(
        pulls.slice(0, limit).map(async (p) => {
          const merged = p.merged_at !== null;
          let mergedBy: string | null = null;
          if (merged && p.head.ref.startsWith(mergedByFor)) {
            const { data } = await call(`reading who merged ${repo}#${p.number}`, () => octokit.rest.pulls.get({ owner, repo: name, pull_number: p.number }));
            mergedBy = data.merged_by?.login ?? null;
          }
          return { number: p.number, title: p.title, body: p.body ?? '', headRef: p.head.ref, merged, mergedBy, createdAt: p.created_at, url: p.html_url };
        }),
      );
    },

    factoryLogin,

    async getPullRequest(repo, number) {
      const { owner, repo: name } = splitRepo(repo);
      const { data } = await call(`reading pull request ${repo}#${number}`, () => octokit.rest.pulls.get({ owner, repo: name, pull_number: number }));
      return toPullRequest(repo, data);
    },

    async getChecks(repo, sha, baseRef): Promise<ChecksSummary> {
      const { owner, repo: name } = splitRepo(repo);
      const required = options.requiredChecks?.[repo] ?? (await protectedChecks(repo, baseRef));
      const runs = await call(`listing check runs of ${repo}@${sha}`, () =>
        octokit.paginate(octokit.rest.checks.listForRef, { owner, repo: name, ref: sha, filter: 'latest', per_page: 100 }),
      );
      const combined = await call(`reading commit statuses of ${repo}@${sha}`, () => octokit.rest.repos.getCombinedStatusForRef({ owner, repo: name, ref: sha, per_page: 100 }));
      // Only results for exactly this SHA count: a stale run on an older head never greens a new one.
      const ownRuns = runs.filter((run) => run.head_sha === sha);
      return foldChecks(sha, required, ownRuns, combined.data.statuses);
    },

    async getReviews(repo, number, headSha): Promise<ReviewSummary> {
      const { owner, repo: name } = splitRepo(repo);
      const [self, reviews] = await Promise.all([
        factoryLogin(),
        call(`listing reviews of ${repo}#${number}`, () => octokit.paginate(octokit.rest.pulls.listReviews, { owner, repo: name, pull_number: number, per_page: 100 })),
      ]);
      // Permissions are read fresh for each read of the PR (a reviewer's access can be revoked),
      // once per reviewer whose review could stand; comments never decide anything.
      const deciding = new Set(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);
      const logins = [...new Set(reviews.filter((r) => deciding.has(r.state) && r.user?.login && r.user.login.toLowerCase() !== self.toLowerCase()).map((r) => r.user!.login))];
      const allowed = await writers(repo, logins);
      const summary = foldReviews(reviews, headSha, { factoryLogin: self, hasWriteAccess: (login) => allowed.has(login), approvalSurvivesPush: options.approvalSurvivesPush?.[repo] ?? false });
      const ignored = logins.filter((login) => !allowed.has(login));
      if (ignored.length > 0) logger.debug({ repo, number, ignored }, 'reviews by users without write access do not count');
      return summary;
    },

    async merge(repo, number, sha): Promise<MergeResult> {
      /**
       * Why GitHub answered 405, from what it says of the PR: mergeability not computed yet
       * (`mergeable: null`) or a base that just moved ("Base branch was modified") is worth the
       * same head again shortly; `dirty` is a conflict; anything else (protection) is not.
       */
      const refusalReason = async (repo: string, number: number, message: string): Promise<'not-ready' | 'conflict' | 'not-mergeable'> => {
        if (/base branch was modified/i.test(message)) return 'not-ready';
        const { owner, repo: name } = splitRepo(repo);
        const { data } = await call(`reading pull request ${repo}#${number}`, () => octokit.rest.pulls.get({ owner, repo: name, pull_number: number }));
        if (data.mergeable === null || data.mergeable_state === 'unknown') return 'not-ready';
        if (data.mergeable === false || data.mergeable_state === 'dirty') return 'conflict';
        return 'not-mergeable';
      };
      const { owner, repo: name } = splitRepo(repo);
      try {
        const { data } = await octokit.rest.pulls.merge({ owner, repo: name, pull_number: number, sha, merge_method: options.mergeMethod ?? 'merge' });
        logger.info({ repo, number, sha, mergeSha: data.sha }, 'merged pull request');
        return { merged: true, sha: data.sha };
      } catch (error) {
        const status = statusOf(error);
        const message = scrub((error as { response?: { data?: { message?: string } } }).response?.data?.message ?? String(error), [...secrets]);
        if (status === 409) return { merged: false, reason: 'head-moved', message };
        if (status === 405) {
          // A retried merge whose first attempt succeeded lands here: report that success.
          const pr = await forge.getPullRequest(repo, number);
          if (pr.merged && pr.headSha === sha) {
            const { data } = await call(`reading pull request ${repo}#${number}`, () => octokit.rest.pulls.get({ owner, repo: name, pull_number: number }));
            if (data.merge_commit_sha) return { merged: true, sha: data.merge_commit_sha };
          }
          if (pr.state === 'closed') return { merged: false, reason: 'closed', message: pr.merged ? `${repo}#${number} was already merged at another head` : `${repo}#${number} is closed` };
          if (pr.headSha !== sha) return { merged: false, reason: 'head-moved', message };
          return { merged: false, reason: await refusalReason(repo, number, message), message };
        }
        throw fail(error, `merging ${repo}#${number} at ${sha}`);
      }
    },

    async closePullRequest(repo, number) {
      const { owner, repo: name } = splitRepo(repo);
      await call(`closing pull request ${repo}#${number}`, () => octokit.rest.pulls.update({ owner, repo: name, pull_number: number, state: 'closed' }));
    },

    async deleteBranch(repo, branch) {
      const { owner, repo: name } = splitRepo(repo);
      try {
        await octokit.rest.git.deleteRef({ owner, repo: name, ref: `heads/${branch}` });
      } catch (error) {
        // Already gone is the outcome we wanted: deleting twice must not fail a retried activity.
        const status = statusOf(error);
        if (status === 422 && /Reference does not exist/i.test(JSON.stringify((error as { response?: { data?: unknown } }).response?.data ?? ''))) return;
        throw fail(error, `deleting branch ${branch} of ${repo}`);
      }
    },

    async comment(repo, number, body) {
      const { owner, repo: name } = splitRepo(repo);
      await call(`commenting on ${repo}#${number}`, () => octokit.rest.issues.createComment({ owner, repo: name, issue_number: number, body }));
    },

    async hasComment(repo, number, text) {
      const { owner, repo: name } = splitRepo(repo);
      const comments = await call(`reading the comments of ${repo}#${number}`, () => octokit.paginate(octokit.rest.issues.listComments, { owner, repo: name, issue_number: number, per_page: 100 }));
      return comments.some((c) => c.body?.includes(text) ?? false);
    },
  };
  return forge;
}
