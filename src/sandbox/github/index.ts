import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxAdmin } from './admin.js';
import { appLogin, InstallationTokens, type SandboxApp } from './app-auth.js';
import { GitHubSandbox } from './emulator.js';
import { FaultInjector, type FaultSpec, type InjectedFault } from './faults.js';
import { OpenApiValidator } from './openapi.js';
import { API_PREFIX, createRequestListener } from './server.js';
import { reviewShape } from './shapes.js';
import { DEFAULT_REVIEWER, silentLogger, type RepoRole, type SandboxLogger } from './types.js';
import type { Delivery, WebhookTarget } from './webhooks.js';

export { CI_CHECK_NAME, CHECK_SCRIPT } from './ci.js';
export { signWebhookBody, type Delivery, type WebhookTarget } from './webhooks.js';
export { OpenApiValidator } from './openapi.js';
export type { FaultSpec, InjectedFault } from './faults.js';
export type { SandboxApp } from './app-auth.js';
export type { RepoRole, SandboxLogger } from './types.js';
export { DEFAULT_REVIEWER } from './types.js';

export interface GitHubEmulatorOptions {
  /** 0 (default) takes a free port. */
  port?: number;
  host?: string;
  /** Bare repos under `repos/`, everything else in `state.json`; survives restarts. */
  dataDir: string;
  /** Accepted as `Authorization: token X`, `Bearer X` or HTTP Basic (git). */
  tokens: string[];
  /** GitHub Apps that may trade a signed JWT for an installation token. */
  apps?: SandboxApp[];
  webhooks?: WebhookTarget[];
  /** Delay before simulated CI starts a run. */
  ciDelayMs?: number;
  /** A check script running longer than this concludes `timed_out`. */
  ciTimeoutMs?: number;
  /** The login every token acts as (PR author, commenter, merger); an app's installation
   * tokens act as `<slug>[bot]`. Both have write on every repo. */
  botLogin?: string;
  /** Check requests and responses against `@octokit/openapi` when it is installed; default true. */
  validate?: boolean;
  logger?: SandboxLogger;
}

/** A pull request as GET /repos/{o}/{r}/pulls/{n} returns it. */
export interface SandboxPull {
  number: number;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  mergeable: boolean | null;
  mergeable_state: string;
  merge_commit_sha: string | null;
  title: string;
  html_url: string;
  head: { ref: string; sha: string };
  base: { ref: string; sha: string };
  [field: string]: unknown;
}

export interface SandboxRepo {
  fullName: string;
  defaultBranch: string;
  cloneUrl: string;
  /** The initial commit on the default branch. */
  headSha: string;
  /** The bare repository on disk, for tests that inspect it with git. */
  path: string;
}

export interface SandboxReview {
  id: number;
  state: string;
  user: { login: string };
  body: string;
  [field: string]: unknown;
}

export interface GitHubEmulator extends SandboxAdmin {
  /** REST base URL, to pass to Octokit as `baseUrl`. */
  readonly url: string;
  /** Web and git base URL (the `https://github.com` of this sandbox). */
  readonly webUrl: string;
  readonly port: number;
  /** Smart-HTTP clone URL; never carries credentials. */
  gitUrl(repo: string): string;
  /** `collaborators` (login → role) come on top of the owner (admin), the factory (write) and
   * the default reviewer `sandbox-reviewer` (write). */
  createRepo(input: { owner: string; name: string; defaultBranch?: string; files?: Record<string, string>; collaborators?: Record<string, RepoRole> }): Promise<SandboxRepo>;
  /** Grants a role on the repo, or takes it away (null): only admin, maintain and write approve with effect. */
  setCollaborator(repo: string, login: string, role: RepoRole | null): Promise<void>;
  approve(repo: string, prNumber: number, review?: { user?: string; body?: string }): Promise<SandboxReview>;
  requestChanges(repo: string, prNumber: number, review: { user?: string; body: string }): Promise<SandboxReview>;
  dismissReview(repo: string, prNumber: number, reviewId: number, user?: string): Promise<SandboxReview>;
  getPull(repo: string, prNumber: number): Promise<SandboxPull>;
  listCommits(repo: string, branch: string): Promise<Array<{ sha: string; parents: string[]; message: string }>>;
  injectFault(fault: FaultSpec): InjectedFault;
  /** Resolves once CI runs and webhook deliveries started so far have finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function splitRepo(repo: string): [string, string] {
  const [owner, name, ...rest] = repo.split('/');
  if (!owner || !name || rest.length > 0) throw new Error(`"${repo}" is not a repository name: use owner/name`);
  return [owner, name];
}

export async function startGitHubEmulator(options: GitHubEmulatorOptions): Promise<GitHubEmulator> {
  if (options.tokens.length === 0 && (options.apps ?? []).length === 0) throw new Error('startGitHubEmulator needs at least one token in `tokens` or an app in `apps`, or no client could authenticate');
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  const botLogin = options.botLogin ?? 'conveyor-bot';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const webUrl = `http://${host}:${port}`;
  const urls = { api: `${webUrl}${API_PREFIX}`, web: webUrl };
  const sandbox = new GitHubSandbox({
    urls,
    dataDir: options.dataDir,
    botLogin,
    appLogins: (options.apps ?? []).map(appLogin),
    ciDelayMs: options.ciDelayMs ?? 20,
    ciTimeoutMs: options.ciTimeoutMs ?? 10 * 60_000,
    webhooks: options.webhooks ?? [],
    logger,
  });
  const faults = new FaultInjector();
  const validator = options.validate === false ? null : OpenApiValidator.load();
  if (options.validate !== false && !validator) logger.warn({}, '@octokit/openapi is not installed: the GitHub sandbox runs without schema checks');

  const repoOf = (repo: string) => sandbox.repo(...splitRepo(repo));
  const pullOf = (repo: string, prNumber: number) => {
    const record = repoOf(repo);
    return { record, pr: sandbox.pull(record, prNumber) };
  };
  const reviewJson = (repo: string, review: Parameters<typeof reviewShape>[2]): SandboxReview => reviewShape(urls, repoOf(repo), review) as unknown as SandboxReview;

  const emulator: GitHubEmulator = {
    url: urls.api,
    webUrl,
    port,
    gitUrl: (repo) => `${webUrl}/${splitRepo(repo).join('/')}.git`,
    async createRepo(input) {
      const record = await sandbox.createRepo(input);
      const git = sandbox.bare(record);
      return {
        fullName: `${record.owner}/${record.name}`,
        defaultBranch: record.defaultBranch,
        cloneUrl: `${webUrl}/${record.owner}/${record.name}.git`,
        headSha: (await git.branchHead(record.defaultBranch)) ?? '',
        path: git.dir,
      };
    },
    async approve(repo, prNumber, review = {}) {
      const { record, pr } = pullOf(repo, prNumber);
      return reviewJson(repo, await sandbox.submitReview(record, pr, { user: review.user ?? DEFAULT_REVIEWER, body: review.body ?? '', event: 'APPROVE' }));
    },
    async requestChanges(repo, prNumber, review) {
      const { record, pr } = pullOf(repo, prNumber);
      return reviewJson(repo, await sandbox.submitReview(record, pr, { user: review.user ?? DEFAULT_REVIEWER, body: review.body, event: 'REQUEST_CHANGES' }));
    },
    async dismissReview(repo, prNumber, reviewId, user = DEFAULT_REVIEWER) {
      const { record, pr } = pullOf(repo, prNumber);
      return reviewJson(repo, await sandbox.dismissReview(record, pr, reviewId, user));
    },
    async markReadyForReview(repo, prNumber) {
      const { record, pr } = pullOf(repo, prNumber);
      await sandbox.markReadyForReview(record, pr, botLogin);
    },
    async setCollaborator(repo, login, role) {
      sandbox.setCollaborator(repoOf(repo), login, role);
    },
    async setBranchProtection(repo, branch, protection) {
      sandbox.setBranchProtection(repoOf(repo), branch, protection ? protection.requiredChecks : null);
    },
    async getPull(repo, prNumber) {
      const { record, pr } = pullOf(repo, prNumber);
      return (await sandbox.pullJson(record, pr)) as unknown as SandboxPull;
    },
    async commitFiles(repo, input) {
      const record = repoOf(repo);
      const user = input.user ?? botLogin;
      const sha = await sandbox.bare(record).commitFiles({ branch: input.branch, from: input.from ?? record.defaultBranch, files: input.files, message: input.message, author: { name: user, email: `${user}@users.noreply.sandbox.github.local` } });
      await sandbox.onPush(record, user);
      return { sha };
    },
    async openPull(repo, input) {
      const record = repoOf(repo);
      const pr = await sandbox.openPull(record, { head: input.head, base: input.base ?? record.defaultBranch, title: input.title, body: input.body ?? null, user: input.user ?? botLogin });
      return sandbox.pullJson(record, pr);
    },
    async mergePull(repo, prNumber, input) {
      const { record, pr } = pullOf(repo, prNumber);
      return sandbox.merge(record, pr, { user: input.user, method: input.method ?? 'merge' });
    },
    async listCommits(repo, branch) {
      return sandbox.bare(repoOf(repo)).log(`refs/heads/${branch}`);
    },
    async reset() {
      faults.clear();
      await sandbox.reset();
    },
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    get deliveries(): Delivery[] {
      return sandbox.hooks.deliveries;
    },
    idle: () => sandbox.idle(),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sandbox.close();
    },
  };

  server.on('request', createRequestListener({ sandbox, admin: emulator, tokens: options.tokens, apps: options.apps ?? [], installationTokens: new InstallationTokens(), botLogin, faults, validator, urls, logger }));
  server.on('clientError', (_error, socket) => socket.destroy());
  sandbox.resumeUnfinishedCi();
  logger.info({ url: urls.api, git: webUrl, dataDir: options.dataDir }, 'GitHub sandbox listening');
  return emulator;
}
