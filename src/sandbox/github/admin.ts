import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Delivery } from './webhooks.js';
import type { FaultSpec } from './faults.js';
import { GitHubHttpError, REPO_ROLES, type RepoRole } from './types.js';
import { readBody, sendJson } from './http-util.js';

// The sandbox's own control surface, over HTTP under `/_sandbox/`, so the CLI and the dev demo
// can seed repos, play the human reviewer and reset without importing the emulator.

export interface SandboxAdmin {
  createRepo(input: { owner: string; name: string; defaultBranch?: string; files?: Record<string, string>; collaborators?: Record<string, RepoRole> }): Promise<unknown>;
  setCollaborator(repo: string, login: string, role: RepoRole | null): Promise<void>;
  approve(repo: string, prNumber: number, review?: { user?: string; body?: string }): Promise<unknown>;
  requestChanges(repo: string, prNumber: number, review: { user?: string; body: string }): Promise<unknown>;
  dismissReview(repo: string, prNumber: number, reviewId: number, user?: string): Promise<unknown>;
  markReadyForReview(repo: string, prNumber: number): Promise<void>;
  setBranchProtection(repo: string, branch: string, protection: { requiredChecks: string[] } | null): Promise<void>;
  getPull(repo: string, prNumber: number): Promise<unknown>;
  /** A commit on `branch` (from `from`, default the default branch) writing `files`, as a human's push. */
  commitFiles(repo: string, input: { branch: string; from?: string; files: Record<string, string>; message: string; user?: string }): Promise<{ sha: string }>;
  /** Opens a pull request as `user` (default the factory's bot login). */
  openPull(repo: string, input: { head: string; base?: string; title: string; body?: string; user?: string }): Promise<unknown>;
  /** GitHub's merge button pressed by `user`: what graduation counts as a human merge. */
  mergePull(repo: string, prNumber: number, input: { user: string; method?: 'merge' | 'squash' }): Promise<{ sha: string }>;
  listCommits(repo: string, branch: string): Promise<unknown>;
  reset(): Promise<void>;
  injectFault(fault: FaultSpec): unknown;
  clearFaults(): void;
  readonly deliveries: Delivery[];
}

interface AdminRoute {
  method: string;
  pattern: RegExp;
  run: (admin: SandboxAdmin, match: string[], body: Record<string, unknown>, query: URLSearchParams) => Promise<{ status: number; body?: unknown }>;
}

const REPO = '([^/]+)/([^/]+)';

function text(body: Record<string, unknown>, key: string): string | undefined {
  return typeof body[key] === 'string' ? body[key] : undefined;
}

function roleOf(value: unknown): RepoRole {
  if (typeof value === 'string' && (REPO_ROLES as readonly string[]).includes(value)) return value as RepoRole;
  throw new GitHubHttpError(422, `role must be one of ${REPO_ROLES.join(', ')}; got ${JSON.stringify(value)}`);
}

const adminRoutes: AdminRoute[] = [
  { method: 'GET', pattern: /^\/_sandbox\/health$/, run: async () => ({ status: 200, body: { ok: true } }) },
  {
    method: 'POST',
    pattern: /^\/_sandbox\/repos$/,
    run: async (admin, _m, body) => {
      const owner = text(body, 'owner');
      const name = text(body, 'name');
      if (!owner || !name) throw new GitHubHttpError(422, 'owner and name are required, e.g. {"owner":"acme","name":"widgets"}');
      const files = typeof body.files === 'object' && body.files !== null ? (body.files as Record<string, string>) : undefined;
      const collaborators = typeof body.collaborators === 'object' && body.collaborators !== null ? Object.fromEntries(Object.entries(body.collaborators).map(([login, role]) => [login, roleOf(role)])) : undefined;
      return { status: 201, body: await admin.createRepo({ owner, name, defaultBranch: text(body, 'defaultBranch'), files, collaborators }) };
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/collaborators/([^/]+)$`),
    run: async (admin, m, body) => {
      await admin.setCollaborator(`${m[1]}/${m[2]}`, decodeURIComponent(m[3] ?? ''), roleOf(body.role ?? 'write'));
      return { status: 204 };
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/collaborators/([^/]+)$`),
    run: async (admin, m) => {
      await admin.setCollaborator(`${m[1]}/${m[2]}`, decodeURIComponent(m[3] ?? ''), null);
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls/(\\d+)/approve$`),
    run: async (admin, m, body) => ({ status: 201, body: await admin.approve(`${m[1]}/${m[2]}`, Number(m[3]), { user: text(body, 'user'), body: text(body, 'body') }) }),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls/(\\d+)/request-changes$`),
    run: async (admin, m, body) => ({ status: 201, body: await admin.requestChanges(`${m[1]}/${m[2]}`, Number(m[3]), { user: text(body, 'user'), body: text(body, 'body') ?? 'Changes requested.' }) }),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls/(\\d+)/reviews/(\\d+)/dismiss$`),
    run: async (admin, m, body) => ({ status: 200, body: await admin.dismissReview(`${m[1]}/${m[2]}`, Number(m[3]), Number(m[4]), text(body, 'user')) }),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls/(\\d+)/ready-for-review$`),
    run: async (admin, m) => {
      await admin.markReadyForReview(`${m[1]}/${m[2]}`, Number(m[3]));
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls/(\\d+)$`),
    run: async (admin, m) => ({ status: 200, body: await admin.getPull(`${m[1]}/${m[2]}`, Number(m[3])) }),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/commits$`),
    run: async (admin, m, body) => {
      const branch = text(body, 'branch');
      const message = text(body, 'message');
      const files = typeof body.files === 'object' && body.files !== null ? (body.files as Record<string, string>) : null;
      if (!branch || !message || !files) throw new GitHubHttpError(422, 'branch, message and files are required, e.g. {"branch":"fix","message":"Fix","files":{"a.txt":"x"}}');
      return { status: 201, body: await admin.commitFiles(`${m[1]}/${m[2]}`, { branch, message, files, from: text(body, 'from'), user: text(body, 'user') }) };
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls$`),
    run: async (admin, m, body) => {
      const head = text(body, 'head');
      const title = text(body, 'title');
      if (!head || !title) throw new GitHubHttpError(422, 'head and title are required');
      return { status: 201, body: await admin.openPull(`${m[1]}/${m[2]}`, { head, title, base: text(body, 'base'), body: text(body, 'body'), user: text(body, 'user') }) };
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/pulls/(\\d+)/merge$`),
    run: async (admin, m, body) => {
      const user = text(body, 'user');
      if (!user) throw new GitHubHttpError(422, 'user is required: who presses the merge button');
      const method = text(body, 'method');
      return { status: 200, body: await admin.mergePull(`${m[1]}/${m[2]}`, Number(m[3]), { user, ...(method === 'squash' || method === 'merge' ? { method } : {}) }) };
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/branches/(.+)/protection$`),
    run: async (admin, m, body) => {
      const checks = Array.isArray(body.requiredChecks) ? body.requiredChecks.filter((c): c is string => typeof c === 'string') : [];
      await admin.setBranchProtection(`${m[1]}/${m[2]}`, decodeURIComponent(m[3] ?? ''), { requiredChecks: checks });
      return { status: 204 };
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/branches/(.+)/protection$`),
    run: async (admin, m) => {
      await admin.setBranchProtection(`${m[1]}/${m[2]}`, decodeURIComponent(m[3] ?? ''), null);
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/_sandbox/repos/${REPO}/commits$`),
    run: async (admin, m, _b, query) => ({ status: 200, body: await admin.listCommits(`${m[1]}/${m[2]}`, query.get('branch') ?? 'main') }),
  },
  {
    method: 'POST',
    pattern: /^\/_sandbox\/reset$/,
    run: async (admin) => {
      await admin.reset();
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    pattern: /^\/_sandbox\/faults$/,
    run: async (admin, _m, body) => {
      const status = Number(body.status);
      const path = text(body, 'pathPattern');
      const regex = text(body, 'pathRegex');
      if (!Number.isInteger(status) || (!path && !regex)) throw new GitHubHttpError(422, 'a fault needs status and pathPattern (exact path) or pathRegex');
      const headers = typeof body.headers === 'object' && body.headers !== null ? (body.headers as Record<string, string>) : undefined;
      admin.injectFault({ method: text(body, 'method'), pathPattern: regex ? new RegExp(regex) : (path ?? ''), status, headers, body: body.body, times: typeof body.times === 'number' ? body.times : undefined });
      return { status: 201, body: { ok: true } };
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/_sandbox\/faults$/,
    run: async (admin) => {
      admin.clearFaults();
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    pattern: /^\/_sandbox\/deliveries$/,
    run: async (admin) => ({ status: 200, body: admin.deliveries.map(({ body: _body, ...rest }) => rest) }),
  },
];

export async function handleAdmin(admin: SandboxAdmin, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = adminRoutes.map((r) => ({ r, m: r.method === req.method ? r.pattern.exec(url.pathname) : null })).find((x) => x.m);
  if (!route?.m) {
    sendJson(res, 404, { message: `No sandbox admin route for ${req.method ?? 'GET'} ${url.pathname}; see src/sandbox/github/admin.ts` });
    return;
  }
  let body: Record<string, unknown> = {};
  const raw = await readBody(req);
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { message: 'Problems parsing JSON' });
      return;
    }
  }
  const result = await route.r.run(admin, [...route.m], body, url.searchParams);
  sendJson(res, result.status, result.body);
}
