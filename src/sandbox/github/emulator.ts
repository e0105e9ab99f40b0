import { setMaxListeners } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CI_CHECK_NAME, runCheckScript } from './ci.js';
import { BareRepo } from './git.js';
import {
  checkRunShape,
  checkSuiteShape,
  fullName,
  headCommitShape,
  pullShape,
  repoShape,
  reviewShape,
  userShape,
  type PullLive,
  type Urls,
} from './shapes.js';
import { StateStore } from './store.js';
import {
  GitHubHttpError,
  type CheckRunRecord,
  type CommentRecord,
  type CommitState,
  DEFAULT_REVIEWER,
  type PullRecord,
  type RepoRecord,
  type RepoRole,
  type ReviewRecord,
  type SandboxLogger,
  type StatusRecord,
} from './types.js';
import { abortableSleep, WebhookSender, type WebhookTarget } from './webhooks.js';

// The emulated GitHub: what it remembers, what git says, and the events that follow. The
// REST routes and the admin API are two thin doors into this one class, so seeding a repo
// from a test and opening a PR through Octokit change the same world in the same way.

const PASSING = new Set(['success', 'neutral', 'skipped']);

export interface EmulatorCore {
  urls: Urls;
  dataDir: string;
  /** The login tokens act as (the factory's account): it has write on every repo. */
  botLogin: string;
  /** The `<slug>[bot]` logins of the GitHub Apps installed: write on every repo as well. */
  appLogins?: string[];
  ciDelayMs: number;
  ciTimeoutMs: number;
  webhooks: WebhookTarget[];
  logger: SandboxLogger;
}

export interface RequiredCheckVerdict {
  satisfied: boolean;
  /** GitHub's refusal, e.g. `Required status check "conveyor/ci" is expected.` */
  message: string | null;
}

export class GitHubSandbox {
  readonly store: StateStore;
  readonly hooks: WebhookSender;
  private readonly reposDir: string;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly ciRuns = new Set<Promise<void>>();
  private ciAbort = GitHubSandbox.abortController();
  /** Bumped by reset(): work started before a reset must not write into the new world. */
  private generation = 0;

  constructor(readonly core: EmulatorCore) {
    this.store = new StateStore(core.dataDir);
    this.reposDir = join(core.dataDir, 'repos');
    this.hooks = new WebhookSender(core.webhooks, core.logger);
  }

  get projectRoot(): string {
    return this.reposDir;
  }

  /** Every CI run listens for close() and reset(); many at once are normal, not a leak. */
  private static abortController(): AbortController {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  }

  /**
   * Picks up CI a previous process left unfinished, or never started: a process killed after
   * saving a PR (or a push) and before saving its check run would otherwise leave that head
   * pending for good, since nothing pushes it again.
   */
  resumeUnfinishedCi(): void {
    for (const run of this.store.state.checkRuns) {
      if (run.status !== 'completed') this.startCi(run);
    }
    for (const pr of this.store.state.pulls) {
      const repo = this.store.state.repos[pr.repo.toLowerCase()];
      if (pr.state === 'open' && repo) this.scheduleCi(repo, pr.headSha, pr.headRef);
    }
  }

  // ---- repositories ------------------------------------------------------------------

  repo(owner: string, name: string): RepoRecord {
    const record = this.store.state.repos[`${owner}/${name}`.toLowerCase()];
    if (!record) throw new GitHubHttpError(404, 'Not Found', { documentationUrl: 'https://docs.github.com/rest/repos/repos#get-a-repository' });
    return record;
  }

  hasRepo(owner: string, name: string): boolean {
    return this.store.state.repos[`${owner}/${name}`.toLowerCase()] !== undefined;
  }

  bare(repo: RepoRecord): BareRepo {
    return new BareRepo(join(this.reposDir, repo.owner, `${repo.name}.git`));
  }

  async createRepo(input: { owner: string; name: string; defaultBranch?: string; files?: Record<string, string>; collaborators?: Record<string, RepoRole> }): Promise<RepoRecord> {
    const key = `${input.owner}/${input.name}`.toLowerCase();
    if (!/^[A-Za-z0-9_.-]+$/.test(input.owner) || !/^[A-Za-z0-9_.-]+$/.test(input.name)) {
      throw new GitHubHttpError(422, `Repository name ${input.owner}/${input.name} is invalid: use letters, digits, '.', '-' and '_'`);
    }
    if (this.store.state.repos[key]) throw new GitHubHttpError(422, `Repository creation failed: ${input.owner}/${input.name} already exists. Reset the sandbox or pick another name.`);
    const now = new Date().toISOString();
    const record: RepoRecord = {
      id: this.store.nextId(),
      owner: input.owner,
      name: input.name,
      defaultBranch: input.defaultBranch ?? 'main',
      createdAt: now,
      pushedAt: now,
      nextNumber: 1,
      protection: {},
      collaborators: { [DEFAULT_REVIEWER]: 'write', ...input.collaborators },
    };
    await this.bare(record).create(record.defaultBranch, input.files ?? { 'README.md': `# ${input.name}\n` });
    this.store.state.repos[key] = record;
    this.store.save();
    return record;
  }

  // ---- collaborators -----------------------------------------------------------------

  /** Grants `login` a role on the repo, or takes it away (null). */
  setCollaborator(repo: RepoRecord, login: string, role: RepoRole | null): void {
    const collaborators: Record<string, RepoRole> = Object.fromEntries(Object.entries(collaboratorsOf(repo)).filter(([name]) => name.toLowerCase() !== login.toLowerCase()));
    if (role !== null) collaborators[login] = role;
    repo.collaborators = collaborators;
    this.store.save();
  }

  /**
   * The role `login` holds on the repo, or null for someone who is no collaborator. The owner
   * is admin and the factory (its token's login and its apps' bots) has write; everyone else
   * has what `collaborators` says.
   */
  roleOf(repo: RepoRecord, login: string): RepoRole | null {
    const key = login.toLowerCase();
    if (key === repo.owner.toLowerCase()) return 'admin';
    const granted = Object.entries(collaboratorsOf(repo)).find(([name]) => name.toLowerCase() === key)?.[1];
    if (granted) return granted;
    const factory = [this.core.botLogin, ...(this.core.appLogins ?? [])].map((l) => l.toLowerCase());
    return factory.includes(key) ? 'write' : null;
  }

  setBranchProtection(repo: RepoRecord, branch: string, requiredChecks: string[] | null): void {
    if (requiredChecks === null) delete repo.protection[branch];
    else repo.protection[branch] = { requiredChecks: [...requiredChecks] };
    this.store.save();
  }

  // ---- pull requests -----------------------------------------------------------------

  pull(repo: RepoRecord, number: number): PullRecord {
    const pr = this.store.state.pulls.find((p) => p.repo === fullName(repo) && p.number === number);
    if (!pr) throw new GitHubHttpError(404, 'Not Found', { documentationUrl: 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request' });
    return pr;
  }

  pulls(repo: RepoRecord): PullRecord[] {
    return this.store.state.pulls.filter((p) => p.repo === fullName(repo));
  }

  /** Head of an open PR is its branch head right now; a closed PR keeps the SHA it closed at. */
  async liveHeads(repo: RepoRecord, pr: PullRecord): Promise<{ headSha: string; baseSha: string }> {
    if (pr.state === 'closed') return { headSha: pr.headSha, baseSha: pr.baseSha };
    const git = this.bare(repo);
    return {
      headSha: (await git.branchHead(pr.headRef)) ?? pr.headSha,
      baseSha: (await git.branchHead(pr.baseRef)) ?? pr.baseSha,
    };
  }

  async pullLive(repo: RepoRecord, pr: PullRecord, withStats = true): Promise<PullLive> {
    const { headSha, baseSha } = await this.liveHeads(repo, pr);
    const git = this.bare(repo);
    let mergeable: boolean | null = null;
    let mergeableState = 'unknown';
    if (pr.state === 'open') {
      const merged = await git.mergeTree(baseSha, headSha);
      mergeable = merged.tree !== null;
      const verdict = this.requiredChecks(repo, pr.baseRef, headSha);
      mergeableState = !mergeable ? 'dirty' : pr.draft ? 'draft' : !verdict.satisfied ? 'blocked' : 'clean';
    }
    const stats = withStats ? await git.diffStats(pr.baseSha, headSha).catch(() => ({ additions: 0, deletions: 0, changedFiles: 0 })) : { additions: 0, deletions: 0, changedFiles: 0 };
    const commits = withStats ? await git.commitsBetween(pr.baseSha, headSha).catch(() => 0) : 0;
    const comments = this.store.state.comments.filter((c) => c.repo === pr.repo && c.number === pr.number).length;
    return { headSha, baseSha, mergeable, mergeableState, commits, comments, ...stats };
  }

  async pullJson(repo: RepoRecord, pr: PullRecord, variant: 'full' | 'simple' = 'full'): Promise<Record<string, unknown>> {
    return pullShape(this.core.urls, repo, pr, await this.pullLive(repo, pr, variant === 'full'), variant);
  }

  async openPull(repo: RepoRecord, input: { title: string; head: string; base: string; body?: string | null; draft?: boolean; user: string }): Promise<PullRecord> {
    return this.withLock(repo, async () => {
      const docs = 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request';
      const headRef = headBranchOf(repo, input.head);
      if (headRef === null) throw validationFailed(docs, [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      const git = this.bare(repo);
      const headSha = await git.branchHead(headRef);
      if (!headSha) throw validationFailed(docs, [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      const baseSha = await git.branchHead(input.base);
      if (!baseSha) throw validationFailed(docs, [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      const existing = this.pulls(repo).find((p) => p.state === 'open' && p.headRef === headRef && p.baseRef === input.base);
      if (existing) {
        throw validationFailed(docs, [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${headRef}.` }]);
      }
      if ((await git.commitsBetween(baseSha, headSha)) === 0) {
        throw validationFailed(docs, [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${input.base} and ${headRef}` }]);
      }
      const now = new Date().toISOString();
      const pr: PullRecord = {
        id: this.store.nextId(),
        repo: fullName(repo),
        number: repo.nextNumber,
        title: input.title,
        body: input.body ?? null,
        user: input.user,
        headRef,
        headSha,
        baseRef: input.base,
        baseSha,
        state: 'open',
        draft: input.draft ?? false,
        merged: false,
        mergedAt: null,
        mergedBy: null,
        mergeCommitSha: null,
        closedAt: null,
        createdAt: now,
        updatedAt: now,
      };
      repo.nextNumber += 1;
      this.store.state.pulls.push(pr);
      this.store.save();
      // Before the webhook, which awaits: the check run is on disk as soon as the PR is.
      this.scheduleCi(repo, headSha, headRef);
      await this.emitPull(repo, pr, 'opened', input.user);
      return pr;
    });
  }

  async updatePull(repo: RepoRecord, pr: PullRecord, input: { title?: string; body?: string | null; state?: 'open' | 'closed'; base?: string; user: string }): Promise<PullRecord> {
    return this.withLock(repo, async () => {
      const docs = 'https://docs.github.com/rest/pulls/pulls#update-a-pull-request';
      if (input.title !== undefined) pr.title = input.title;
      if (input.body !== undefined) pr.body = input.body;
      if (input.base !== undefined && input.base !== pr.baseRef) {
        const baseSha = await this.bare(repo).branchHead(input.base);
        if (!baseSha) throw validationFailed(docs, [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
        pr.baseRef = input.base;
        pr.baseSha = baseSha;
      }
      let action: 'closed' | 'reopened' | null = null;
      if (input.state === 'closed' && pr.state === 'open') {
        const live = await this.liveHeads(repo, pr);
        pr.headSha = live.headSha;
        pr.baseSha = live.baseSha;
        pr.state = 'closed';
        pr.closedAt = new Date().toISOString();
        action = 'closed';
      } else if (input.state === 'open' && pr.state === 'closed') {
        if (pr.merged) throw validationFailed(docs, [{ resource: 'PullRequest', code: 'custom', message: 'state cannot be changed. The pull request has been merged.' }]);
        const headSha = await this.bare(repo).branchHead(pr.headRef);
        if (!headSha) throw validationFailed(docs, [{ resource: 'PullRequest', code: 'custom', message: 'state cannot be changed. The head branch has been deleted.' }]);
        if (this.pulls(repo).some((p) => p !== pr && p.state === 'open' && p.headRef === pr.headRef && p.baseRef === pr.baseRef)) {
          throw validationFailed(docs, [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${pr.headRef}.` }]);
        }
        pr.state = 'open';
        pr.closedAt = null;
        pr.headSha = headSha;
        action = 'reopened';
      }
      pr.updatedAt = new Date().toISOString();
      this.store.save();
      if (action === 'reopened') this.scheduleCi(repo, pr.headSha, pr.headRef);
      if (action) await this.emitPull(repo, pr, action, input.user);
      return pr;
    });
  }

  async markReadyForReview(repo: RepoRecord, pr: PullRecord, user: string): Promise<void> {
    if (!pr.draft) return;
    pr.draft = false;
    pr.updatedAt = new Date().toISOString();
    this.store.save();
    await this.emitPull(repo, pr, 'ready_for_review', user);
  }

  /** GitHub's merge button: refuses what GitHub refuses, else writes a real merge commit. */
  async merge(repo: RepoRecord, pr: PullRecord, input: { sha?: string; method?: 'merge' | 'squash' | 'rebase'; title?: string; message?: string; user: string }): Promise<{ sha: string }> {
    return this.withLock(repo, async () => {
      const docs = 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request';
      if (pr.state !== 'open') throw new GitHubHttpError(405, 'Pull Request is not mergeable', { documentationUrl: docs });
      const git = this.bare(repo);
      const { headSha, baseSha } = await this.liveHeads(repo, pr);
      if (input.sha !== undefined && input.sha !== headSha) {
        throw new GitHubHttpError(409, 'Head branch was modified. Review and try the merge again.', { documentationUrl: docs });
      }
      if (pr.draft) throw new GitHubHttpError(405, 'Pull Request is still a draft', { documentationUrl: docs });
      if (input.method === 'rebase') throw new GitHubHttpError(405, 'Rebase merges are not allowed on this repository.', { documentationUrl: docs });
      const verdict = this.requiredChecks(repo, pr.baseRef, headSha);
      if (!verdict.satisfied) throw new GitHubHttpError(405, verdict.message ?? 'Pull Request is not mergeable', { documentationUrl: docs });
      const { tree } = await git.mergeTree(baseSha, headSha);
      if (!tree) throw new GitHubHttpError(405, 'Pull Request is not mergeable', { documentationUrl: docs });
      const squash = input.method === 'squash';
      const title = input.title ?? (squash ? `${pr.title} (#${pr.number})` : `Merge pull request #${pr.number} from ${repo.owner}/${pr.headRef}`);
      const message = input.message ?? (squash ? (pr.body ?? '') : pr.title);
      const author = { name: input.user, email: `${input.user}@users.noreply.sandbox.github.local` };
      const commit = await git.commitMerge({ branch: pr.baseRef, expectedBase: baseSha, head: headSha, tree, message: message ? `${title}\n\n${message}` : title, squash, author });
      if (!commit) throw new GitHubHttpError(409, 'Base branch was modified. Review and try the merge again.', { documentationUrl: docs });
      const now = new Date().toISOString();
      Object.assign(pr, { state: 'closed', merged: true, mergedAt: now, mergedBy: input.user, mergeCommitSha: commit, closedAt: now, updatedAt: now, headSha, baseSha });
      repo.pushedAt = now;
      this.store.save();
      await this.emitPull(repo, pr, 'closed', input.user);
      return { sha: commit };
    });
  }

  /** Branch protection's required checks, judged on one SHA, as the merge button judges them. */
  requiredChecks(repo: RepoRecord, branch: string, sha: string): RequiredCheckVerdict {
    const required = repo.protection[branch]?.requiredChecks ?? [];
    for (const context of required) {
      const run = this.checkRunsFor(repo, sha)
        .filter((r) => r.name === context)
        .sort((a, b) => b.id - a.id)[0];
      const status = this.statusesFor(repo, sha)
        .filter((s) => s.context === context)
        .sort((a, b) => b.id - a.id)[0];
      const passed = (run?.status === 'completed' && PASSING.has(run.conclusion ?? '')) || status?.state === 'success';
      if (passed) continue;
      const failed = (run?.status === 'completed' && !PASSING.has(run.conclusion ?? '')) || status?.state === 'failure' || status?.state === 'error';
      return { satisfied: false, message: `Required status check "${context}" ${failed ? 'is failing' : 'is expected'}.` };
    }
    return { satisfied: true, message: null };
  }

  async deleteBranch(repo: RepoRecord, branch: string, user: string): Promise<void> {
    await this.withLock(repo, async () => {
      const docs = 'https://docs.github.com/rest/git/refs#delete-a-reference';
      if (branch === repo.defaultBranch) throw new GitHubHttpError(422, 'Cannot delete the default branch', { documentationUrl: docs });
      const git = this.bare(repo);
      if (!(await git.branchHead(branch))) throw new GitHubHttpError(422, 'Reference does not exist', { documentationUrl: docs });
      await git.deleteBranch(branch);
    });
    // GitHub closes open pull requests whose head branch disappears.
    await this.onPush(repo, user);
  }

  // ---- reviews -----------------------------------------------------------------------

  reviews(repo: RepoRecord, pr: PullRecord): ReviewRecord[] {
    return this.store.state.reviews.filter((r) => r.repo === fullName(repo) && r.number === pr.number).sort((a, b) => a.id - b.id);
  }

  async submitReview(repo: RepoRecord, pr: PullRecord, input: { user: string; body?: string; event?: 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT'; commitId?: string }): Promise<ReviewRecord> {
    const docs = 'https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request';
    const unprocessable = (message: string): GitHubHttpError => new GitHubHttpError(422, 'Unprocessable Entity', { documentationUrl: docs, errors: [message] });
    if (pr.state !== 'open' && input.event !== 'COMMENT') throw unprocessable('Can not review a closed pull request');
    if (input.event === 'APPROVE' && input.user === pr.user) throw unprocessable('Can not approve your own pull request');
    if (input.event === 'REQUEST_CHANGES' && input.user === pr.user) throw unprocessable('Can not request changes on your own pull request');
    if ((input.event === 'REQUEST_CHANGES' || input.event === 'COMMENT') && !input.body) throw unprocessable(`Body is required for ${input.event} reviews`);
    const { headSha } = await this.liveHeads(repo, pr);
    const state = input.event === 'APPROVE' ? 'APPROVED' : input.event === 'REQUEST_CHANGES' ? 'CHANGES_REQUESTED' : input.event === 'COMMENT' ? 'COMMENTED' : 'PENDING';
    const review: ReviewRecord = {
      id: this.store.nextId(),
      repo: fullName(repo),
      number: pr.number,
      user: input.user,
      body: input.body ?? '',
      state,
      commitId: input.commitId ?? headSha,
      submittedAt: new Date().toISOString(),
    };
    this.store.state.reviews.push(review);
    this.store.save();
    if (state !== 'PENDING') await this.emitReview(repo, pr, review, 'submitted', input.user);
    return review;
  }

  async dismissReview(repo: RepoRecord, pr: PullRecord, reviewId: number, user: string): Promise<ReviewRecord> {
    const review = this.reviews(repo, pr).find((r) => r.id === reviewId);
    if (!review) throw new GitHubHttpError(404, 'Not Found', { documentationUrl: 'https://docs.github.com/rest/pulls/reviews#dismiss-a-review-for-a-pull-request' });
    if (review.state !== 'APPROVED' && review.state !== 'CHANGES_REQUESTED') {
      throw new GitHubHttpError(422, 'Unprocessable Entity', { errors: ['Can not dismiss a ' + review.state.toLowerCase() + ' pull request review'] });
    }
    review.state = 'DISMISSED';
    this.store.save();
    await this.emitReview(repo, pr, review, 'dismissed', user);
    return review;
  }

  // ---- checks and statuses -----------------------------------------------------------

  checkRunsFor(repo: RepoRecord, sha: string): CheckRunRecord[] {
    return this.store.state.checkRuns.filter((r) => r.repo === fullName(repo) && r.headSha === sha);
  }

  statusesFor(repo: RepoRecord, sha: string): StatusRecord[] {
    return this.store.state.statuses.filter((s) => s.repo === fullName(repo) && s.sha === sha);
  }

  createStatus(repo: RepoRecord, sha: string, input: { state: CommitState; context?: string; description?: string | null; targetUrl?: string | null; user: string }): StatusRecord {
    const now = new Date().toISOString();
    const status: StatusRecord = {
      id: this.store.nextId(),
      repo: fullName(repo),
      sha,
      context: input.context ?? 'default',
      state: input.state,
      description: input.description ?? null,
      targetUrl: input.targetUrl ?? null,
      creator: input.user,
      createdAt: now,
      updatedAt: now,
    };
    this.store.state.statuses.push(status);
    this.store.save();
    return status;
  }

  /** Open PRs whose current head is `sha`: the PRs a check suite reports against. */
  private pullsAt(repo: RepoRecord, sha: string): PullRecord[] {
    return this.pulls(repo).filter((p) => p.state === 'open' && p.headSha === sha);
  }

  checkRunJson(repo: RepoRecord, run: CheckRunRecord): Record<string, unknown> {
    return checkRunShape(this.core.urls, repo, run, this.pullsAt(repo, run.headSha));
  }

  /**
   * A check run reported by another CI (a GitHub App with checks: write), as
   * POST /repos/{owner}/{repo}/check-runs makes one: a matrix of jobs, a linter, a scanner.
   * Unlike GitHub it sends no `check_run` webhook yet: no test has needed one.
   */
  createCheckRun(repo: RepoRecord, input: { name: string; headSha: string; status: CheckRunRecord['status']; conclusion: CheckRunRecord['conclusion']; output: CheckRunRecord['output'] }): CheckRunRecord {
    const now = new Date().toISOString();
    const completed = input.conclusion !== null;
    const run: CheckRunRecord = {
      id: this.store.nextId(),
      suiteId: this.store.nextId(),
      repo: fullName(repo),
      headSha: input.headSha,
      headBranch: null,
      name: input.name,
      // As on GitHub, a conclusion completes the run whatever status was sent.
      status: completed ? 'completed' : input.status,
      conclusion: input.conclusion,
      startedAt: now,
      completedAt: completed ? now : null,
      output: input.output,
    };
    this.store.state.checkRuns.push(run);
    this.store.save();
    return run;
  }

  /** One CI run per SHA: a result belongs to the commit it ran on and to nothing else. */
  scheduleCi(repo: RepoRecord, sha: string, branch: string): void {
    if (this.checkRunsFor(repo, sha).some((r) => r.name === CI_CHECK_NAME)) return;
    const run: CheckRunRecord = {
      id: this.store.nextId(),
      suiteId: this.store.nextId(),
      repo: fullName(repo),
      headSha: sha,
      headBranch: branch,
      name: CI_CHECK_NAME,
      status: 'queued',
      conclusion: null,
      startedAt: new Date().toISOString(),
      completedAt: null,
      output: { title: null, summary: null },
    };
    this.store.state.checkRuns.push(run);
    this.store.save();
    this.startCi(run);
  }

  private startCi(run: CheckRunRecord): void {
    const generation = this.generation;
    const signal = this.ciAbort.signal;
    const task = this.executeCi(run, generation, signal)
      .catch((error: unknown) => this.core.logger.error({ err: error instanceof Error ? error.message : String(error), sha: run.headSha }, 'simulated CI crashed'))
      .finally(() => this.ciRuns.delete(task));
    this.ciRuns.add(task);
  }

  private async executeCi(run: CheckRunRecord, generation: number, signal: AbortSignal): Promise<void> {
    const [owner = '', name = ''] = run.repo.split('/');
    await abortableSleep(this.core.ciDelayMs, signal);
    if (signal.aborted || generation !== this.generation) return;
    const repo = this.repo(owner, name);
    run.status = 'in_progress';
    run.startedAt = new Date().toISOString();
    this.store.save();
    const result = await runCheckScript(this.bare(repo), run.headSha, { timeoutMs: this.core.ciTimeoutMs, signal });
    // Stopped by close(): leave the run unfinished so the next start resumes it.
    if (result.conclusion === 'cancelled' || signal.aborted || generation !== this.generation) return;
    run.status = 'completed';
    run.conclusion = result.conclusion;
    run.completedAt = new Date().toISOString();
    run.output = { title: result.title, summary: result.summary };
    this.store.save();
    this.core.logger.info({ repo: run.repo, sha: run.headSha, conclusion: run.conclusion }, 'simulated CI finished');
    const sender = this.core.botLogin;
    this.hooks.send('check_run', this.eventPayload(repo, sender, { action: 'completed', check_run: { ...this.checkRunJson(repo, run), check_suite: await this.checkSuiteJson(repo, run) } }));
    this.hooks.send('check_suite', this.eventPayload(repo, sender, { action: 'completed', check_suite: await this.checkSuiteJson(repo, run) }));
  }

  private async checkSuiteJson(repo: RepoRecord, run: CheckRunRecord): Promise<Record<string, unknown>> {
    const runs = this.store.state.checkRuns.filter((r) => r.repo === run.repo && r.suiteId === run.suiteId);
    const commit = await this.bare(repo).commitInfo(run.headSha).catch(() => null);
    return checkSuiteShape(this.core.urls, repo, runs, this.pullsAt(repo, run.headSha), commit ? headCommitShape(commit) : null);
  }

  // ---- comments ----------------------------------------------------------------------

  comments(repo: RepoRecord, number: number): CommentRecord[] {
    return this.store.state.comments.filter((c) => c.repo === fullName(repo) && c.number === number).sort((a, b) => a.id - b.id);
  }

  addComment(repo: RepoRecord, number: number, input: { body: string; user: string }): CommentRecord {
    this.pull(repo, number);
    const now = new Date().toISOString();
    const comment: CommentRecord = { id: this.store.nextId(), repo: fullName(repo), number, user: input.user, body: input.body, createdAt: now, updatedAt: now };
    this.store.state.comments.push(comment);
    this.store.save();
    return comment;
  }

  // ---- pushes ------------------------------------------------------------------------

  /**
   * After git-receive-pack: every open PR whose head branch moved gets `synchronize` and a CI
   * run for its new head; one whose head branch is gone is closed, as GitHub does.
   */
  async onPush(repo: RepoRecord, user: string): Promise<void> {
    const moved: Array<{ pr: PullRecord; before: string }> = [];
    const closed: PullRecord[] = [];
    await this.withLock(repo, async () => {
      const heads = await this.bare(repo).branchHeads();
      const now = new Date().toISOString();
      for (const pr of this.pulls(repo)) {
        if (pr.state !== 'open') continue;
        const head = heads[pr.headRef];
        const base = heads[pr.baseRef];
        if (base) pr.baseSha = base;
        if (!head) {
          Object.assign(pr, { state: 'closed', closedAt: now, updatedAt: now });
          closed.push(pr);
        } else if (head !== pr.headSha) {
          moved.push({ pr, before: pr.headSha });
          pr.headSha = head;
          pr.updatedAt = now;
        }
      }
      repo.pushedAt = now;
      this.store.save();
    });
    for (const { pr } of moved) this.scheduleCi(repo, pr.headSha, pr.headRef);
    for (const { pr, before } of moved) await this.emitPull(repo, pr, 'synchronize', user, { before, after: pr.headSha });
    for (const pr of closed) await this.emitPull(repo, pr, 'closed', user);
  }

  // ---- events ------------------------------------------------------------------------

  eventPayload(repo: RepoRecord, sender: string, body: Record<string, unknown>): Record<string, unknown> {
    const openIssues = this.pulls(repo).filter((p) => p.state === 'open').length;
    return {
      ...body,
      repository: repoShape(this.core.urls, repo, openIssues),
      sender: userShape(this.core.urls, sender),
      installation: { id: 1, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' },
    };
  }

  private async emitPull(repo: RepoRecord, pr: PullRecord, action: string, sender: string, extra: Record<string, unknown> = {}): Promise<void> {
    const pullRequest = await this.pullJson(repo, pr);
    this.hooks.send('pull_request', this.eventPayload(repo, sender, { action, number: pr.number, pull_request: pullRequest, ...extra }));
  }

  private async emitReview(repo: RepoRecord, pr: PullRecord, review: ReviewRecord, action: string, sender: string): Promise<void> {
    const pullRequest = await this.pullJson(repo, pr, 'simple');
    this.hooks.send('pull_request_review', this.eventPayload(repo, sender, { action, review: reviewShape(this.core.urls, repo, review, 'webhook'), pull_request: pullRequest }));
  }

  // ---- lifecycle ---------------------------------------------------------------------

  /** Wipes every repo, PR and record; CI in flight is abandoned. */
  async reset(): Promise<void> {
    this.generation += 1;
    this.ciAbort.abort();
    await Promise.allSettled([...this.ciRuns]);
    this.ciAbort = GitHubSandbox.abortController();
    rmSync(this.reposDir, { recursive: true, force: true });
    this.store.reset();
    this.hooks.clear();
  }

  async close(): Promise<void> {
    this.ciAbort.abort();
    await Promise.allSettled([...this.ciRuns]);
    this.hooks.close();
    await this.hooks.idle();
  }

  /** Resolves once CI runs and webhook deliveries started so far are done. */
  async idle(): Promise<void> {
    while (this.ciRuns.size > 0) await Promise.allSettled([...this.ciRuns]);
    await this.hooks.idle();
  }

  /** Serialises read-git-then-write-state sequences per repo (merge versus push, say). */
  private withLock<T>(repo: RepoRecord, fn: () => Promise<T>): Promise<T> {
    const key = fullName(repo);
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(key, settled);
    void settled.then(() => {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    });
    return next;
  }
}

/** A repo's collaborators; state written before they existed has only the default reviewer. */
function collaboratorsOf(repo: RepoRecord): Record<string, RepoRole> {
  return repo.collaborators ?? { [DEFAULT_REVIEWER]: 'write' };
}

/** `head` is `branch` or `owner:branch`; another owner means a fork, which the sandbox lacks. */
function headBranchOf(repo: RepoRecord, head: string): string | null {
  const colon = head.indexOf(':');
  if (colon < 0) return head;
  return head.slice(0, colon).toLowerCase() === repo.owner.toLowerCase() ? head.slice(colon + 1) : null;
}

function validationFailed(documentationUrl: string, errors: unknown[]): GitHubHttpError {
  return new GitHubHttpError(422, 'Validation Failed', { documentationUrl, errors });
}

