import { appLogin, type InstallationTokens, type SandboxApp } from './app-auth.js';
import type { GitHubSandbox } from './emulator.js';
import {
  appShape,
  authenticatedUserShape,
  branchShape,
  collaboratorPermissionShape,
  combinedStatusShape,
  commentShape,
  repoShape,
  reviewShape,
  statusCheckPolicyShape,
  statusShape,
  type Urls,
} from './shapes.js';
import { GitHubHttpError, type CheckConclusion, type CheckStatus, type CommitState, type RepoRecord } from './types.js';

// The REST operations Conveyor uses, each keyed by its path template in GitHub's OpenAPI
// description: the server validates request and response bodies against that operation.

export interface RestContext {
  sandbox: GitHubSandbox;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Login the request's token acts as. */
  user: string;
  /** The token is a GitHub App installation token (it acts as `<slug>[bot]`). */
  installation: boolean;
  urls: Urls;
  /** Path of this request under the REST base, for Link headers. */
  path: string;
  /** The GitHub App a JWT authenticated, on `auth: 'app'` routes. */
  app?: SandboxApp;
  tokens: InstallationTokens;
}

export interface RestResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** The operation's path in GitHub's OpenAPI description. */
  template: string;
  docs: string;
  /** `app`: authenticated by a GitHub App JWT instead of a token. */
  auth?: 'token' | 'app';
  handler: (ctx: RestContext) => Promise<RestResult>;
}

const DOCS = 'https://docs.github.com/rest';

function repoOf(ctx: RestContext): RepoRecord {
  return ctx.sandbox.repo(ctx.params.owner ?? '', ctx.params.repo ?? '');
}

function pullNumber(ctx: RestContext, param = 'pull_number'): number {
  const value = Number(ctx.params[param]);
  if (!Number.isInteger(value) || value <= 0) throw new GitHubHttpError(404, 'Not Found');
  return value;
}

function str(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' ? value : undefined;
}

/** GitHub's page/per_page pagination with a Link header. */
function paginate<T>(ctx: RestContext, items: T[]): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Math.max(Number(ctx.query.get('per_page') ?? 30) || 30, 1), 100);
  const pageNumber = Math.max(Number(ctx.query.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (page: number, rel: string): string => {
    const query = new URLSearchParams(ctx.query);
    query.set('per_page', String(perPage));
    query.set('page', String(page));
    return `<${ctx.urls.api}${ctx.path}?${query.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNumber > 1) links.push(link(pageNumber - 1, 'prev'), link(1, 'first'));
  if (pageNumber < last) links.push(link(pageNumber + 1, 'next'), link(last, 'last'));
  return { page: items.slice((pageNumber - 1) * perPage, pageNumber * perPage), headers: links.length ? { link: links.join(', ') } : {} };
}

async function resolveCommit(ctx: RestContext, repo: RepoRecord, ref: string): Promise<string> {
  const sha = await ctx.sandbox.bare(repo).resolve(ref);
  if (!sha) throw new GitHubHttpError(422, `No commit found for SHA: ${ref}`, { documentationUrl: `${DOCS}/commits/commits` });
  return sha;
}

export const routes: Route[] = [
  {
    method: 'POST',
    template: '/app/installations/{installation_id}/access_tokens',
    docs: `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app`,
    auth: 'app',
    handler: async (ctx) => {
      const installationId = Number(ctx.params.installation_id);
      if (!ctx.app || ctx.app.installationId !== installationId) throw new GitHubHttpError(404, 'Not Found', { documentationUrl: `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app` });
      const minted = ctx.tokens.mint(installationId);
      return {
        status: 201,
        body: {
          token: minted.token,
          expires_at: minted.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: { contents: 'write', pull_requests: 'write', checks: 'read', statuses: 'read', issues: 'write', metadata: 'read' },
          repository_selection: 'all',
        },
      };
    },
  },
  {
    method: 'GET',
    template: '/app',
    docs: `${DOCS}/apps/apps#get-the-authenticated-app`,
    auth: 'app',
    handler: async (ctx) => {
      const app = ctx.app!;
      const slug = appLogin(app).replace(/\[bot\]$/, '');
      return {
        status: 200,
        body: appShape(ctx.urls, slug, {
          id: Number(app.appId),
          slug,
          name: slug,
          description: 'The factory, as a GitHub App in the sandbox',
          permissions: { contents: 'write', pull_requests: 'write', checks: 'read', statuses: 'read', issues: 'write', metadata: 'read' },
          events: ['pull_request', 'pull_request_review', 'check_suite', 'check_run', 'status'],
        }),
      };
    },
  },
  {
    method: 'GET',
    template: '/user',
    docs: `${DOCS}/users/users#get-the-authenticated-user`,
    handler: async (ctx) => {
      // As on GitHub: an installation token is no user; the app is read with its JWT (GET /app).
      if (ctx.installation) throw new GitHubHttpError(403, 'Resource not accessible by integration', { documentationUrl: `${DOCS}/users/users#get-the-authenticated-user` });
      return { status: 200, body: authenticatedUserShape(ctx.urls, ctx.user) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/collaborators/{username}/permission',
    docs: `${DOCS}/collaborators/collaborators#get-repository-permissions-for-a-user`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const login = ctx.params.username ?? '';
      // Anyone may review in the sandbox, as on a public repository; who is no collaborator reads.
      return { status: 200, body: collaboratorPermissionShape(ctx.urls, login, ctx.sandbox.roleOf(repo, login)) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}',
    docs: `${DOCS}/repos/repos#get-a-repository`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const open = ctx.sandbox.pulls(repo).filter((p) => p.state === 'open').length;
      return { status: 200, body: repoShape(ctx.urls, repo, open) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/pulls',
    docs: `${DOCS}/pulls/pulls#list-pull-requests`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const state = ctx.query.get('state') ?? 'open';
      const head = ctx.query.get('head');
      const base = ctx.query.get('base');
      let pulls = ctx.sandbox.pulls(repo).filter((p) => state === 'all' || p.state === state);
      // Like GitHub, `head` filters only in the `owner:branch` form.
      if (head?.includes(':')) {
        const [owner, ...rest] = head.split(':');
        const branch = rest.join(':');
        pulls = owner?.toLowerCase() === repo.owner.toLowerCase() ? pulls.filter((p) => p.headRef === branch) : [];
      }
      if (base) pulls = pulls.filter((p) => p.baseRef === base);
      const ascending = (ctx.query.get('direction') ?? 'desc') === 'asc';
      pulls.sort((a, b) => (ascending ? a.number - b.number : b.number - a.number));
      const { page, headers } = paginate(ctx, pulls);
      return { status: 200, body: await Promise.all(page.map((p) => ctx.sandbox.pullJson(repo, p, 'simple'))), headers };
    },
  },
  {
    method: 'POST',
    template: '/repos/{owner}/{repo}/pulls',
    docs: `${DOCS}/pulls/pulls#create-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const pr = await ctx.sandbox.openPull(repo, {
        title: str(ctx.body, 'title') ?? '',
        head: str(ctx.body, 'head') ?? '',
        base: str(ctx.body, 'base') ?? repo.defaultBranch,
        body: str(ctx.body, 'body') ?? null,
        draft: ctx.body.draft === true,
        user: ctx.user,
      });
      const json = await ctx.sandbox.pullJson(repo, pr);
      return { status: 201, body: json, headers: { location: String(json.url) } };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/pulls/{pull_number}',
    docs: `${DOCS}/pulls/pulls#get-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      return { status: 200, body: await ctx.sandbox.pullJson(repo, ctx.sandbox.pull(repo, pullNumber(ctx))) };
    },
  },
  {
    method: 'PATCH',
    template: '/repos/{owner}/{repo}/pulls/{pull_number}',
    docs: `${DOCS}/pulls/pulls#update-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const pr = ctx.sandbox.pull(repo, pullNumber(ctx));
      const state = str(ctx.body, 'state');
      await ctx.sandbox.updatePull(repo, pr, {
        title: str(ctx.body, 'title'),
        body: 'body' in ctx.body ? (str(ctx.body, 'body') ?? null) : undefined,
        state: state === 'open' || state === 'closed' ? state : undefined,
        base: str(ctx.body, 'base'),
        user: ctx.user,
      });
      return { status: 200, body: await ctx.sandbox.pullJson(repo, pr) };
    },
  },
  {
    method: 'PUT',
    template: '/repos/{owner}/{repo}/pulls/{pull_number}/merge',
    docs: `${DOCS}/pulls/pulls#merge-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const pr = ctx.sandbox.pull(repo, pullNumber(ctx));
      const method = str(ctx.body, 'merge_method');
      const { sha } = await ctx.sandbox.merge(repo, pr, {
        sha: str(ctx.body, 'sha'),
        method: method === 'squash' || method === 'rebase' ? method : 'merge',
        title: str(ctx.body, 'commit_title'),
        message: str(ctx.body, 'commit_message'),
        user: ctx.user,
      });
      return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
    docs: `${DOCS}/pulls/reviews#list-reviews-for-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const pr = ctx.sandbox.pull(repo, pullNumber(ctx));
      const { page, headers } = paginate(ctx, ctx.sandbox.reviews(repo, pr));
      return { status: 200, body: page.map((r) => reviewShape(ctx.urls, repo, r)), headers };
    },
  },
  {
    method: 'POST',
    template: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
    docs: `${DOCS}/pulls/reviews#create-a-review-for-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const pr = ctx.sandbox.pull(repo, pullNumber(ctx));
      const event = str(ctx.body, 'event');
      const review = await ctx.sandbox.submitReview(repo, pr, {
        user: ctx.user,
        body: str(ctx.body, 'body'),
        event: event === 'APPROVE' || event === 'REQUEST_CHANGES' || event === 'COMMENT' ? event : undefined,
        commitId: str(ctx.body, 'commit_id'),
      });
      return { status: 200, body: reviewShape(ctx.urls, repo, review) };
    },
  },
  {
    method: 'PUT',
    template: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals',
    docs: `${DOCS}/pulls/reviews#dismiss-a-review-for-a-pull-request`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const pr = ctx.sandbox.pull(repo, pullNumber(ctx));
      const review = await ctx.sandbox.dismissReview(repo, pr, Number(ctx.params.review_id), ctx.user);
      return { status: 200, body: reviewShape(ctx.urls, repo, review) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/commits/{ref}/check-runs',
    docs: `${DOCS}/checks/runs#list-check-runs-for-a-git-reference`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const sha = await resolveCommit(ctx, repo, ctx.params.ref ?? '');
      let runs = ctx.sandbox.checkRunsFor(repo, sha).sort((a, b) => b.id - a.id);
      const name = ctx.query.get('check_name');
      const status = ctx.query.get('status');
      if (name) runs = runs.filter((r) => r.name === name);
      if (status) runs = runs.filter((r) => r.status === status);
      if ((ctx.query.get('filter') ?? 'latest') === 'latest') {
        const seen = new Set<string>();
        runs = runs.filter((r) => !seen.has(r.name) && seen.add(r.name));
      }
      const { page, headers } = paginate(ctx, runs);
      return { status: 200, body: { total_count: runs.length, check_runs: page.map((r) => ctx.sandbox.checkRunJson(repo, r)) }, headers };
    },
  },
  {
    method: 'POST',
    template: '/repos/{owner}/{repo}/check-runs',
    docs: `${DOCS}/checks/runs#create-a-check-run`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const requested = str(ctx.body, 'head_sha') ?? '';
      const sha = await ctx.sandbox.bare(repo).resolve(requested);
      if (!sha || sha !== requested) throw new GitHubHttpError(422, `No commit found for SHA: ${requested}`, { documentationUrl: `${DOCS}/checks/runs#create-a-check-run` });
      const output = typeof ctx.body.output === 'object' && ctx.body.output !== null ? (ctx.body.output as Record<string, unknown>) : {};
      const run = ctx.sandbox.createCheckRun(repo, {
        name: str(ctx.body, 'name') ?? '',
        headSha: sha,
        status: (str(ctx.body, 'status') as CheckStatus | undefined) ?? 'queued',
        conclusion: (str(ctx.body, 'conclusion') as CheckConclusion | undefined) ?? null,
        output: { title: str(output, 'title') ?? null, summary: str(output, 'summary') ?? null },
      });
      return { status: 201, body: ctx.sandbox.checkRunJson(repo, run) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/commits/{ref}/status',
    docs: `${DOCS}/commits/statuses#get-the-combined-status-for-a-specific-reference`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const sha = await resolveCommit(ctx, repo, ctx.params.ref ?? '');
      return { status: 200, body: combinedStatusShape(ctx.urls, repo, sha, ctx.sandbox.statusesFor(repo, sha)) };
    },
  },
  {
    method: 'POST',
    template: '/repos/{owner}/{repo}/statuses/{sha}',
    docs: `${DOCS}/commits/statuses#create-a-commit-status`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const sha = await ctx.sandbox.bare(repo).resolve(ctx.params.sha ?? '');
      if (!sha || sha !== ctx.params.sha) throw new GitHubHttpError(422, `No commit found for SHA: ${ctx.params.sha ?? ''}`, { documentationUrl: `${DOCS}/commits/statuses#create-a-commit-status` });
      const status = ctx.sandbox.createStatus(repo, sha, {
        state: str(ctx.body, 'state') as CommitState,
        context: str(ctx.body, 'context'),
        description: str(ctx.body, 'description') ?? null,
        targetUrl: str(ctx.body, 'target_url') ?? null,
        user: ctx.user,
      });
      return { status: 201, body: statusShape(ctx.urls, repo, status) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks',
    docs: `${DOCS}/branches/branch-protection#get-status-checks-protection`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const branch = ctx.params.branch ?? '';
      const protection = repo.protection[branch];
      if (!protection) throw new GitHubHttpError(404, 'Branch not protected', { documentationUrl: `${DOCS}/branches/branch-protection#get-status-checks-protection` });
      return { status: 200, body: statusCheckPolicyShape(ctx.urls, repo, branch, protection.requiredChecks) };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/branches/{branch}',
    docs: `${DOCS}/branches/branches#get-a-branch`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const branch = ctx.params.branch ?? '';
      const git = ctx.sandbox.bare(repo);
      const sha = await git.branchHead(branch);
      if (!sha) throw new GitHubHttpError(404, 'Branch not found', { documentationUrl: `${DOCS}/branches/branches#get-a-branch` });
      return { status: 200, body: branchShape(ctx.urls, repo, branch, await git.commitInfo(sha), repo.protection[branch]?.requiredChecks) };
    },
  },
  {
    method: 'DELETE',
    template: '/repos/{owner}/{repo}/git/refs/{ref}',
    docs: `${DOCS}/git/refs#delete-a-reference`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const ref = ctx.params.ref ?? '';
      if (!ref.startsWith('heads/')) throw new GitHubHttpError(422, 'Reference does not exist', { documentationUrl: `${DOCS}/git/refs#delete-a-reference` });
      await ctx.sandbox.deleteBranch(repo, ref.slice('heads/'.length), ctx.user);
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    template: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    docs: `${DOCS}/issues/comments#list-issue-comments`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const number = pullNumber(ctx, 'issue_number');
      ctx.sandbox.pull(repo, number);
      const { page, headers } = paginate(ctx, ctx.sandbox.comments(repo, number));
      return { status: 200, body: page.map((c) => commentShape(ctx.urls, repo, c)), headers };
    },
  },
  {
    method: 'POST',
    template: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    docs: `${DOCS}/issues/comments#create-an-issue-comment`,
    handler: async (ctx) => {
      const repo = repoOf(ctx);
      const comment = ctx.sandbox.addComment(repo, pullNumber(ctx, 'issue_number'), { body: str(ctx.body, 'body') ?? '', user: ctx.user });
      const json = commentShape(ctx.urls, repo, comment);
      return { status: 201, body: json, headers: { location: String(json.url) } };
    },
  },
];

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

/** Branch names and refs contain slashes, so those parameters may span segments. */
const MULTI_SEGMENT = new Set(['ref', 'branch']);

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_match, name: string) => {
    names.push(name);
    return MULTI_SEGMENT.has(name) ? '(.+)' : '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

const compiled = routes.map(compile);

export function matchRoute(method: string, path: string): { route: Route; params: Record<string, string> } | { allowed: string[] } | null {
  const allowed: string[] = [];
  for (const { route, pattern, names } of compiled) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    names.forEach((name, index) => {
      params[name] = decodeURIComponent(match[index + 1] ?? '');
    });
    return { route, params };
  }
  return allowed.length ? { allowed } : null;
}
