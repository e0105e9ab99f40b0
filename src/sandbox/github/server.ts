import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleAdmin, type SandboxAdmin } from './admin.js';
import { appLogin, verifyAppJwt, type InstallationTokens, type SandboxApp } from './app-auth.js';
import type { GitHubSandbox } from './emulator.js';
import { defaultFaultBody, type FaultInjector } from './faults.js';
import { serveGit } from './git-backend.js';
import { BodyTooLargeError, readBody, sendJson, tokenAccepted, tokenFromAuthorization } from './http-util.js';
import type { OpenApiValidator } from './openapi.js';
import { matchRoute } from './rest.js';
import type { Urls } from './shapes.js';
import { GitHubHttpError, type SandboxLogger } from './types.js';

// One HTTP port, three doors, as on a GitHub Enterprise host: the REST API under `/api/v3`,
// git smart HTTP at `/<owner>/<name>.git`, and the sandbox's own admin API under `/_sandbox`.

export const API_PREFIX = '/api/v3';
const GIT_PATH = /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)\.git(\/.*)$/;
const DOCS = 'https://docs.github.com/rest';

export interface ServerDeps {
  sandbox: GitHubSandbox;
  admin: SandboxAdmin;
  tokens: string[];
  apps: SandboxApp[];
  installationTokens: InstallationTokens;
  botLogin: string;
  faults: FaultInjector;
  validator: OpenApiValidator | null;
  urls: Urls;
  logger: SandboxLogger;
}

export function createRequestListener(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((error: unknown) => {
      // Never a stack trace to the client, never a crash: log it and answer like GitHub.
      deps.logger.error({ err: error instanceof Error ? error.stack : String(error), method: req.method, url: req.url }, 'sandbox request failed');
      if (!res.headersSent) sendJson(res, error instanceof BodyTooLargeError ? 413 : 500, { message: error instanceof BodyTooLargeError ? error.message : 'Server Error', documentation_url: DOCS });
      else res.destroy();
    });
  };
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sandbox.local');
  const method = (req.method ?? 'GET').toUpperCase();
  if (url.pathname.startsWith('/_sandbox/')) {
    try {
      await handleAdmin(deps.admin, req, res, url);
    } catch (error) {
      if (error instanceof GitHubHttpError) sendJson(res, error.status, { message: error.message, errors: error.extra.errors });
      else throw error;
    }
    return;
  }
  const git = GIT_PATH.exec(url.pathname);
  if (git) return handleGit(deps, req, res, url, git);
  if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
    return handleRest(deps, req, res, url, method, url.pathname.slice(API_PREFIX.length) || '/');
  }
  sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
}

/** Who a token acts as: an installation token is its app's bot, any other token the bot login. */
function actorOf(deps: ServerDeps, token: string | null): { login: string; app: SandboxApp | null } {
  const installationId = deps.installationTokens.installationOf(token);
  const app = installationId === null ? undefined : deps.apps.find((a) => a.installationId === installationId);
  return app ? { login: appLogin(app), app } : { login: deps.botLogin, app: null };
}

function fault(deps: ServerDeps, res: ServerResponse, method: string, path: string): boolean {
  const hit = deps.faults.take(method, path);
  if (!hit) return false;
  sendJson(res, hit.status, defaultFaultBody(hit), hit.headers ?? {});
  return true;
}

async function handleGit(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, url: URL, match: RegExpExecArray): Promise<void> {
  const [, owner = '', name = '', service = ''] = match;
  if (fault(deps, res, req.method ?? 'GET', url.pathname)) return;
  const token = tokenFromAuthorization(req.headers.authorization);
  if (!tokenAccepted(token, deps.tokens) && !deps.installationTokens.isValid(token)) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' });
    res.end(token ? 'Invalid username or token. Password authentication is not supported for Git operations.\n' : 'Authentication required\n');
    return;
  }
  if (!deps.sandbox.hasRepo(owner, name)) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Repository not found.\n');
    return;
  }
  const repo = deps.sandbox.repo(owner, name);
  const actor = actorOf(deps, token).login;
  await serveGit(req, res, { projectRoot: deps.sandbox.projectRoot, pathInfo: `/${repo.owner}/${repo.name}.git${service}`, query: url.search.slice(1), user: actor }, deps.logger);
  if (req.method === 'POST' && service === '/git-receive-pack') {
    await deps.sandbox.onPush(repo, actor).catch((error: unknown) => deps.logger.error({ err: String(error), repo: `${owner}/${name}` }, 'processing a push failed'));
  }
}

async function handleRest(deps: ServerDeps, req: IncomingMessage, res: ServerResponse, url: URL, method: string, path: string): Promise<void> {
  const common = {
    'x-github-api-version-selected': '2022-11-28',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': randomUUID(),
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-used': '1',
    'x-ratelimit-resource': 'core',
  };
  if (fault(deps, res, method, path)) return;
  const header = req.headers.authorization;
  const matched = matchRoute(method, path);
  const found = matched && 'route' in matched ? matched : null;
  const route = found?.route;
  let app: SandboxApp | undefined;
  let actor = { login: deps.botLogin, installation: false };
  if (route?.auth === 'app') {
    const jwt = header?.toLowerCase().startsWith('bearer ') ? header.slice('bearer '.length).trim() : '';
    const verdict = verifyAppJwt(jwt, deps.apps);
    if ('error' in verdict) {
      sendJson(res, 401, { message: verdict.error, documentation_url: DOCS, status: '401' }, common);
      return;
    }
    app = verdict.app;
  } else {
    const token = tokenFromAuthorization(header);
    if (!tokenAccepted(token, deps.tokens) && !deps.installationTokens.isValid(token)) {
      sendJson(res, 401, { message: header ? 'Bad credentials' : 'Requires authentication', documentation_url: DOCS, status: '401' });
      return;
    }
    const who = actorOf(deps, token);
    actor = { login: who.login, installation: who.app !== null };
  }
  if (!found || !route) {
    sendJson(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, common);
    return;
  }
  const { params } = found;
  const raw = await readBody(req);
  let body: Record<string, unknown> = {};
  if (raw.length > 0) {
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      sendJson(res, 400, { message: 'Problems parsing JSON', documentation_url: route.docs, status: '400' }, common);
      return;
    }
  }
  if (deps.validator && method !== 'GET' && method !== 'DELETE') {
    const problems = deps.validator.validateRequest(method, route.template, body);
    if (problems.length > 0) {
      sendJson(res, 422, { message: `Invalid request.\n\n${problems.join('\n')}`, documentation_url: route.docs, status: '422' }, common);
      return;
    }
  }
  let status: number;
  let payload: unknown;
  let headers: Record<string, string> = {};
  try {
    const result = await route.handler({ sandbox: deps.sandbox, params, query: url.searchParams, body, user: actor.login, installation: actor.installation, urls: deps.urls, path, app, tokens: deps.installationTokens });
    ({ status, body: payload } = result);
    headers = result.headers ?? {};
  } catch (error) {
    if (!(error instanceof GitHubHttpError)) throw error;
    status = error.status;
    payload = { message: error.message, ...(error.extra.errors ? { errors: error.extra.errors } : {}), documentation_url: error.extra.documentationUrl ?? route.docs, status: String(error.status) };
    headers = error.extra.headers ?? {};
  }
  if (deps.validator && payload !== undefined) {
    const problems = deps.validator.validateResponse(method, route.template, status, payload);
    if (problems.length > 0) {
      // Loud on purpose: a response GitHub would never send must fail the test that caused it.
      deps.logger.error({ method, template: route.template, status, problems: problems.slice(0, 10) }, 'sandbox response does not match GitHub OpenAPI schema');
      sendJson(res, 500, { message: `GitHub sandbox bug: its ${status} response to ${method} ${route.template} does not match GitHub's OpenAPI schema: ${problems.slice(0, 5).join('; ')}`, documentation_url: route.docs }, common);
      return;
    }
  }
  sendJson(res, status, payload, { ...common, ...headers });
}
