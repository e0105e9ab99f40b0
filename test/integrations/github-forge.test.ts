// Contract tests for the Forge over the real @octokit/rest client, against the GitHub sandbox
// over HTTP and real git. Guards the peers' reports of "an error that could never succeed
// retried for half a day" (classes), "tokens readable" (no token in URLs, argv or messages)
// and agents merging stale work (merge pinned to the head SHA).
import { execFile } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChecksSummary } from '../../src/domain/issue.js';
import { IntegrationError } from '../../src/integrations/errors.js';
import type { Forge } from '../../src/integrations/forge.js';
import { createGitHubForge, type GitHubForgeOptions } from '../../src/integrations/github-forge.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';

const exec = promisify(execFile);
const TOKEN = 'ghs_sandboxTokenForForgeTests0123456789';
const OWNER = 'acme';
const PASSING_CHECK = '#!/usr/bin/env bash\necho "running checks"\nif [ -f BROKEN ]; then echo "unit tests: 1 failed (BROKEN present)"; exit 1; fi\necho "all green"\n';

const APP_ID = 31337;
const INSTALLATION_ID = 77;
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });

let root: string;
let emulator: GitHubEmulator;
let forge: Forge;
let repoCounter = 0;

function makeForge(overrides: Partial<GitHubForgeOptions> = {}): Forge {
  return createGitHubForge({ token: TOKEN, baseUrl: emulator.url, gitBaseUrl: emulator.webUrl, retry: { unitMs: 10, spaceWrites: false }, ...overrides });
}

function octokit(): Octokit {
  return new Octokit({ auth: TOKEN, baseUrl: emulator.url });
}

/** A fresh repo per test keeps tests independent without restarting the emulator. */
async function seedRepo(files: Record<string, string> = { '.conveyor/check.sh': PASSING_CHECK }): Promise<string> {
  repoCounter += 1;
  const name = `widgets-${repoCounter}`;
  await emulator.createRepo({ owner: OWNER, name, defaultBranch: 'main', files: { 'README.md': '# widgets\n', ...files }, collaborators: { alice: 'write', bob: 'maintain', mallory: 'read' } });
  return `${OWNER}/${name}`;
}

async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...env } });
  return stdout.trim();
}

/** Clones over smart HTTP the way the factory does: header auth from the forge, nothing in the URL. */
async function clone(repo: string, branch: string): Promise<string> {
  const work = await mkdtemp(join(root, 'work-'));
  await git(root, ['clone', '--quiet', forge.cloneUrl(repo), work], await forge.gitAuthEnv());
  await git(work, ['checkout', '--quiet', '-b', branch]);
  return work;
}

async function commit(work: string, files: Record<string, string | null>, message: string): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    if (content === null) await git(work, ['rm', '--quiet', path]);
    else {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
      await git(work, ['add', path]);
    }
  }
  await git(work, ['-c', 'user.name=Agent', '-c', 'user.email=agent@example.com', 'commit', '--quiet', '-m', message]);
  return git(work, ['rev-parse', 'HEAD']);
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const settledChecks = (repo: string, sha: string): Promise<ChecksSummary> => waitFor(() => forge.getChecks(repo, sha, 'main'), (c) => c.state !== 'pending');

async function bareHead(repo: string, ref = 'main'): Promise<string> {
  const [owner, name] = repo.split('/');
  return git(root, ['--git-dir', join(root, 'data', 'repos', owner ?? '', `${name ?? ''}.git`), 'rev-parse', ref]);
}

/** Pushes a branch with one commit and opens its PR. */
async function openPr(repo: string, branch: string, files: Record<string, string | null> = { 'src/feature.txt': 'feature\n' }) {
  const work = await clone(repo, branch);
  const sha = await commit(work, files, `Add ${branch}`);
  const pushed = await forge.pushBranch({ repo, worktree: work, branch });
  const pr = await forge.openPullRequest({ repo, head: branch, base: 'main', title: `Work on ${branch}`, body: 'Closes ENG-1' });
  return { work, sha, pushed, pr };
}

async function rejection(promise: Promise<unknown>): Promise<IntegrationError> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IntegrationError);
  return error as IntegrationError;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'conveyor-forge-'));
  emulator = await startGitHubEmulator({
    dataDir: join(root, 'data'),
    tokens: [TOKEN],
    apps: [{ appId: APP_ID, publicKey: appKeys.publicKey, installationId: INSTALLATION_ID }],
    ciDelayMs: 5,
  });
  forge = makeForge();
});

afterAll(async () => {
  await emulator?.close();
  await rm(root, { recursive: true, force: true });
});

describe('git transport', () => {
  it('keeps credentials out of clone URLs and argv, scoped to the git host', async () => {
    const url = forge.cloneUrl('acme/widgets');
    expect(url).toBe(`${emulator.webUrl}/acme/widgets.git`);
    expect(url).not.toContain(TOKEN);
    const env = await forge.gitAuthEnv();
    expect(env.GIT_CONFIG_KEY_0).toBe(`http.${emulator.webUrl}/.extraHeader`);
    expect(env.GIT_CONFIG_VALUE_0).toBe(`Authorization: Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`);
    expect(env.GIT_TERMINAL_PROMPT).toBe('0');
  });

  it('pushes a branch and opens a PR whose head is the pushed SHA, idempotently', async () => {
    const repo = await seedRepo();
    const { work, sha, pushed, pr } = await openPr(repo, 'conveyor/eng-1-issue1');
    expect(pushed.headSha).toBe(sha);
    expect(await bareHead(repo, 'conveyor/eng-1-issue1')).toBe(sha);
    expect(pr).toMatchObject({ repo, headRef: 'conveyor/eng-1-issue1', headSha: sha, baseRef: 'main', state: 'open', merged: false, draft: false });
    expect(pr.url).toBe(`${emulator.webUrl}/${repo}/pull/${pr.number}`);
    // The remote in the clone carries no credential either.
    expect(await git(work, ['remote', 'get-url', 'origin'])).not.toContain(TOKEN);

    const again = await forge.openPullRequest({ repo, head: 'conveyor/eng-1-issue1', base: 'main', title: 'dup', body: '' });
    expect(again.number).toBe(pr.number);
    expect((await forge.findPullRequest(repo, 'conveyor/eng-1-issue1'))?.number).toBe(pr.number);
    expect(await forge.findPullRequest(repo, 'conveyor/none-2-x')).toBeNull();
    const other = await openPr(repo, 'conveyor/eng-1-issue2');
    await git(other.work, ['push', '--quiet', forge.cloneUrl(repo), 'HEAD:refs/heads/human/topic'], await forge.gitAuthEnv());
    await octokit().rest.pulls.create({ owner: OWNER, repo: repo.split('/')[1] ?? '', head: 'human/topic', base: 'main', title: 'A human PR' });
    expect((await forge.listOpenPullRequests(repo, 'conveyor/')).map((p) => [p.number, p.headRef])).toEqual([
      [pr.number, 'conveyor/eng-1-issue1'],
      [other.pr.number, 'conveyor/eng-1-issue2'],
    ]);
    const fetched = await forge.getPullRequest(repo, pr.number);
    expect(fetched.headSha).toBe(sha);
    expect(fetched.mergeable).toBe(true);
  });

  it('finds the newest PR of a branch that has had many, reading a bounded page rather than its whole history', async () => {
    // An issue keeps its branch name across runs, so every PR it ever had stays on that head:
    // triage asks on every run, and reading them all grew with the issue's history.
    const repo = await seedRepo();
    const branch = 'conveyor/eng-7-rerun';
    await openPr(repo, branch);
    const name = repo.split('/')[1]!;
    const rest = octokit().rest.pulls;
    const first = await forge.findPullRequest(repo, branch);
    await rest.update({ owner: OWNER, repo: name, pull_number: first!.number, state: 'closed' });
    let newest = first!.number;
    for (let i = 0; i < 25; i += 1) {
      const { data } = await rest.create({ owner: OWNER, repo: name, head: branch, base: 'main', title: `Run ${i + 2}` });
      await rest.update({ owner: OWNER, repo: name, pull_number: data.number, state: 'closed' });
      newest = data.number;
    }

    // Every pull request object the forge is served, counted on the wire by a proxy in front of the emulator.
    let served = 0;
    const proxy = createServer((req, res) => {
      const upstream = httpRequest(new URL(req.url ?? '/', emulator.url), { method: req.method, headers: { ...req.headers, host: new URL(emulator.url).host } }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (req.method === 'GET' && /\/pulls(\?|$)/.test(req.url ?? '')) served += (JSON.parse(body.toString()) as unknown[]).length;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(body);
        });
      });
      req.pipe(upstream);
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    try {
      const counted = makeForge({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${new URL(emulator.url).pathname.replace(/\/$/, '')}` });
      expect(await counted.findPullRequest(repo, branch)).toMatchObject({ number: newest, headRef: branch, state: 'closed', merged: false });
      expect(served).toBeLessThanOrEqual(10);

      // With one open again, that is the answer, whatever closed ones are newer or older.
      const { data: reopened } = await rest.create({ owner: OWNER, repo: name, head: branch, base: 'main', title: 'Run again' });
      served = 0;
      expect(await counted.findPullRequest(repo, branch)).toMatchObject({ number: reopened.number, state: 'open' });
      expect(served).toBeLessThanOrEqual(10);
    } finally {
      await new Promise((ok) => proxy.close(ok));
    }
  }, 120_000);

  it('rejects a push with a bad credential as auth, without the token in the message', async () => {
    const repo = await seedRepo();
    const work = await clone(repo, 'conveyor/eng-2-x');
    await commit(work, { 'a.txt': 'a\n' }, 'a');
    const badToken = 'ghp_wrongTokenValue987654321';
    const bad = createGitHubForge({ token: badToken, baseUrl: emulator.url, gitBaseUrl: emulator.webUrl });
    const error = await rejection(bad.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-2-x' }));
    expect(error.failureClass).toBe('auth');
    expect(error.message).not.toContain(badToken);
    expect(error.message).not.toContain(Buffer.from(`x-access-token:${badToken}`).toString('base64'));
  });
});

describe('GitHub App credentials', () => {
  it('mints an installation token for REST and git, keeping key and token out of URLs', async () => {
    const repo = await seedRepo();
    const appForge = makeForge({ token: undefined, app: { appId: APP_ID, privateKey: appKeys.privateKey, installationId: INSTALLATION_ID } });
    const work = await clone(repo, 'conveyor/eng-20-app');
    const sha = await commit(work, { 'app.txt': 'by app\n' }, 'App commit');
    expect(await appForge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-20-app' })).toEqual({ headSha: sha });
    const pr = await appForge.openPullRequest({ repo, head: 'conveyor/eng-20-app', base: 'main', title: 'From the app', body: '' });
    expect(pr.headSha).toBe(sha);
    const env = await appForge.gitAuthEnv();
    expect(env.GIT_CONFIG_VALUE_0).toMatch(/^Authorization: Basic /);
    expect(JSON.stringify(env)).not.toContain(TOKEN);
    expect(appForge.cloneUrl(repo)).toBe(`${emulator.webUrl}/${repo}.git`);
  });

  it('reports a key GitHub does not know as auth, naming the app credentials', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
    const appForge = makeForge({ token: undefined, app: { appId: APP_ID, privateKey: stranger.privateKey, installationId: INSTALLATION_ID } });
    const error = await rejection(appForge.getPullRequest('acme/widgets-1', 1));
    expect(error.failureClass).toBe('auth');
    expect(error.message).toContain('GitHub App credentials');
    expect(error.message).not.toContain('PRIVATE KEY');
  });
});

describe('checks', () => {
  it('is green when the check script passes and red with its output when it fails', async () => {
    const repo = await seedRepo();
    const green = await openPr(repo, 'conveyor/eng-3-green');
    expect(await settledChecks(repo, green.sha)).toEqual({ sha: green.sha, state: 'success', failures: [] });

    const red = await openPr(repo, 'conveyor/eng-4-red', { BROKEN: 'yes\n' });
    const checks = await settledChecks(repo, red.sha);
    expect(checks.state).toBe('failure');
    expect(checks.failures).toHaveLength(1);
    expect(checks.failures[0]?.name).toBe('conveyor/ci');
    expect(checks.failures[0]?.summary).toContain('unit tests: 1 failed (BROKEN present)');
  });

  it('judges each SHA by its own runs: a new head is pending, then its own verdict', async () => {
    const repo = await seedRepo();
    const { work, sha: redSha } = await openPr(repo, 'conveyor/eng-5-fix', { BROKEN: 'yes\n' });
    expect((await settledChecks(repo, redSha)).state).toBe('failure');
    const greenSha = await commit(work, { BROKEN: null }, 'Fix');
    await forge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-5-fix' });
    const first = await forge.getChecks(repo, greenSha, 'main');
    expect(first.sha).toBe(greenSha);
    expect(first.state).not.toBe('failure');
    expect((await settledChecks(repo, greenSha)).state).toBe('success');
    expect((await forge.getChecks(repo, redSha, 'main')).state).toBe('failure');
    expect((await forge.getPullRequest(repo, 1)).headSha).toBe(greenSha);
  });

  it('waits for every required check from branch protection or config', async () => {
    const repo = await seedRepo();
    await emulator.setBranchProtection(repo, 'main', { requiredChecks: ['conveyor/ci', 'lint'] });
    const { sha } = await openPr(repo, 'conveyor/eng-6-req');
    await emulator.idle();
    expect(await forge.getChecks(repo, sha, 'main')).toEqual({ sha, state: 'pending', failures: [] });
    const [owner = '', name = ''] = repo.split('/');
    await octokit().rest.repos.createCommitStatus({ owner, repo: name, sha, state: 'failure', context: 'lint', description: 'lint: 3 problems' });
    expect(await forge.getChecks(repo, sha, 'main')).toEqual({ sha, state: 'failure', failures: [{ name: 'lint', summary: 'lint: 3 problems' }] });
    await octokit().rest.repos.createCommitStatus({ owner, repo: name, sha, state: 'success', context: 'lint' });
    expect((await forge.getChecks(repo, sha, 'main')).state).toBe('success');

    // Configured required checks win over protection: a check nobody reports stays pending.
    const configured = makeForge({ requiredChecks: { [repo]: ['conveyor/ci', 'security-scan'] } });
    expect((await configured.getChecks(repo, sha, 'main')).state).toBe('pending');
  });
});

describe('reviews', () => {
  const decided = (decision: string, sha: string, extra: Record<string, unknown> = {}) => ({ decision, requestedChanges: [], sha, staleChangeRequests: [], ...extra });

  it('folds the latest review per reviewer into a decision', async () => {
    const repo = await seedRepo();
    const { pr, sha } = await openPr(repo, 'conveyor/eng-7-review');
    expect(await forge.getReviews(repo, pr.number, sha)).toEqual(decided('REVIEW_REQUIRED', sha));
    await emulator.approve(repo, pr.number, { user: 'alice', body: 'LGTM' });
    expect((await forge.getReviews(repo, pr.number, sha)).decision).toBe('APPROVED');
    await emulator.requestChanges(repo, pr.number, { user: 'bob', body: 'Please add a test for the empty case.' });
    expect(await forge.getReviews(repo, pr.number, sha)).toEqual(decided('CHANGES_REQUESTED', sha, { requestedChanges: ['Please add a test for the empty case.'] }));
    await emulator.approve(repo, pr.number, { user: 'bob', body: 'Thanks' });
    expect(await forge.getReviews(repo, pr.number, sha)).toEqual(decided('APPROVED', sha));
  });

  it('needs a fresh approval after a push: approve A, the agent pushes B, B is not approved until approved itself', async () => {
    const repo = await seedRepo();
    const { pr, sha: a, work } = await openPr(repo, 'conveyor/eng-30-stale');
    await emulator.approve(repo, pr.number, { user: 'alice' });
    expect((await forge.getReviews(repo, pr.number, a)).decision).toBe('APPROVED');

    const b = await commit(work, { 'src/feature.txt': 'feature, fixed\n' }, 'Fix CI');
    await forge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-30-stale' });
    const head = (await forge.getPullRequest(repo, pr.number)).headSha;
    expect(head).toBe(b);
    expect(await forge.getReviews(repo, pr.number, head)).toEqual(decided('REVIEW_REQUIRED', b));
    // A repo that lets approvals survive a push reads the same reviews as approved.
    expect((await makeForge({ approvalSurvivesPush: { [repo]: true } }).getReviews(repo, pr.number, head)).decision).toBe('APPROVED');

    await emulator.approve(repo, pr.number, { user: 'alice' });
    expect(await forge.getReviews(repo, pr.number, head)).toEqual(decided('APPROVED', b));
  });

  it('does not send the agent back twice for one change request: changes on A, push B, the request is stale until B is reviewed', async () => {
    const repo = await seedRepo();
    const { pr, sha: a, work } = await openPr(repo, 'conveyor/eng-31-changes');
    await emulator.requestChanges(repo, pr.number, { user: 'bob', body: 'rename the handler' });
    expect(await forge.getReviews(repo, pr.number, a)).toEqual(decided('CHANGES_REQUESTED', a, { requestedChanges: ['rename the handler'] }));

    const b = await commit(work, { 'src/feature.txt': 'renamed\n' }, 'Rename the handler');
    await forge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-31-changes' });
    expect(await forge.getReviews(repo, pr.number, b)).toEqual(decided('REVIEW_REQUIRED', b, { staleChangeRequests: [{ reviewer: 'bob', sha: a }] }));
    // Another reviewer's approval of B does not answer bob's request.
    await emulator.approve(repo, pr.number, { user: 'alice' });
    expect((await forge.getReviews(repo, pr.number, b)).decision).toBe('REVIEW_REQUIRED');

    await emulator.approve(repo, pr.number, { user: 'bob', body: 'Thanks' });
    expect(await forge.getReviews(repo, pr.number, b)).toEqual(decided('APPROVED', b));
  });

  it('counts only reviewers with write access, as the repo\'s collaborators say', async () => {
    const repo = await seedRepo();
    const { pr, sha } = await openPr(repo, 'conveyor/eng-32-access');
    await emulator.approve(repo, pr.number, { user: 'mallory', body: 'LGTM (read access only)' });
    await emulator.approve(repo, pr.number, { user: 'drive-by', body: 'LGTM (not a collaborator)' });
    await emulator.requestChanges(repo, pr.number, { user: 'drive-by', body: 'Rewrite it in Rust.' });
    expect(await forge.getReviews(repo, pr.number, sha)).toEqual(decided('REVIEW_REQUIRED', sha));
    // Granted write (a role change on GitHub): the same review now counts, read fresh.
    await emulator.setCollaborator(repo, 'mallory', 'write');
    expect((await forge.getReviews(repo, pr.number, sha)).decision).toBe('APPROVED');
    await emulator.setCollaborator(repo, 'mallory', 'triage');
    expect((await forge.getReviews(repo, pr.number, sha)).decision).toBe('REVIEW_REQUIRED');
  });

  it('with app credentials, knows itself from GET /app (an installation token cannot read /user)', async () => {
    const repo = await seedRepo();
    const appForge = makeForge({ token: undefined, app: { appId: APP_ID, privateKey: appKeys.privateKey, installationId: INSTALLATION_ID } });
    const work = await clone(repo, 'conveyor/eng-33-app');
    const sha = await commit(work, { 'app.txt': 'by app\n' }, 'App commit');
    await appForge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-33-app' });
    const pr = await appForge.openPullRequest({ repo, head: 'conveyor/eng-33-app', base: 'main', title: 'From the app', body: '' });
    const [owner = '', name = ''] = repo.split('/');
    expect((await octokit().rest.pulls.get({ owner, repo: name, pull_number: pr.number })).data.user.login).toBe('conveyor[bot]');
    expect(await appForge.getReviews(repo, pr.number, sha)).toEqual(decided('REVIEW_REQUIRED', sha));
    // What the forge must not rely on: GET /user refuses an installation token, as on GitHub.
    const header = (await appForge.gitAuthEnv()).GIT_CONFIG_VALUE_0 ?? '';
    const installationToken = Buffer.from(header.replace(/^Authorization: Basic /, ''), 'base64').toString('utf8').replace(/^x-access-token:/, '');
    await expect(new Octokit({ auth: installationToken, baseUrl: emulator.url }).rest.users.getAuthenticated()).rejects.toMatchObject({ status: 403 });
    await emulator.approve(repo, pr.number, { user: 'alice' });
    expect((await appForge.getReviews(repo, pr.number, sha)).decision).toBe('APPROVED');
  });
});

describe('merge', () => {
  it('merges pinned to the head SHA with a real merge commit on main, idempotently', async () => {
    const repo = await seedRepo();
    const mainBefore = await bareHead(repo);
    const { sha, pr } = await openPr(repo, 'conveyor/eng-8-merge');
    expect((await settledChecks(repo, sha)).state).toBe('success');
    const result = await forge.merge(repo, pr.number, sha);
    expect(result.merged).toBe(true);
    const mergeSha = result.merged ? result.sha : '';
    expect(await bareHead(repo)).toBe(mergeSha);
    const [owner, name] = repo.split('/');
    const parents = await git(root, ['--git-dir', join(root, 'data', 'repos', owner ?? '', `${name ?? ''}.git`), 'log', '-1', '--format=%P', mergeSha]);
    expect(parents.split(' ')).toEqual([mainBefore, sha]);
    expect(await forge.getPullRequest(repo, pr.number)).toMatchObject({ state: 'closed', merged: true, headSha: sha });
    // A retried activity whose first merge landed sees the same success, not an error.
    expect(await forge.merge(repo, pr.number, sha)).toEqual({ merged: true, sha: mergeSha });
  });

  it('refuses a stale SHA after another push as head-moved and leaves main alone', async () => {
    const repo = await seedRepo();
    const { work, sha: first, pr } = await openPr(repo, 'conveyor/eng-9-moved');
    const mainBefore = await bareHead(repo);
    const second = await commit(work, { 'more.txt': 'more\n' }, 'More');
    await forge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-9-moved' });
    const result = await forge.merge(repo, pr.number, first);
    expect(result).toMatchObject({ merged: false, reason: 'head-moved' });
    expect(await bareHead(repo)).toBe(mainBefore);
    expect((await forge.getPullRequest(repo, pr.number)).headSha).toBe(second);
  });

  it('tells a conflict (dirty) from a base that just moved (405 "Base branch was modified"), which is worth the same head again', async () => {
    const repo = await seedRepo();
    const { sha, pr } = await openPr(repo, 'conveyor/eng-12-conflict', { 'README.md': '# widgets, by the agent\n' });
    // A human changes the same line on main: the PR now conflicts.
    const human = await clone(repo, 'human/readme');
    await commit(human, { 'README.md': '# widgets, by a human\n' }, 'Human edit');
    await git(human, ['push', '--quiet', forge.cloneUrl(repo), 'HEAD:refs/heads/main'], await forge.gitAuthEnv());
    expect(await forge.merge(repo, pr.number, sha)).toMatchObject({ merged: false, reason: 'conflict' });

    const clean = await openPr(repo, 'conveyor/eng-13-base-moved');
    const [owner = '', name = ''] = repo.split('/');
    emulator.injectFault({ method: 'PUT', pathPattern: `/repos/${owner}/${name}/pulls/${clean.pr.number}/merge`, status: 405, body: { message: 'Base branch was modified. Review and try the merge again.' } });
    expect(await forge.merge(repo, clean.pr.number, clean.sha)).toMatchObject({ merged: false, reason: 'not-ready' });
    expect(await forge.merge(repo, clean.pr.number, clean.sha)).toMatchObject({ merged: true });
  });

  it('reports not-mergeable when required checks fail, and closed after close', async () => {
    const repo = await seedRepo();
    await emulator.setBranchProtection(repo, 'main', { requiredChecks: ['conveyor/ci'] });
    const { sha, pr } = await openPr(repo, 'conveyor/eng-10-red', { BROKEN: 'yes\n' });
    expect((await settledChecks(repo, sha)).state).toBe('failure');
    expect(await forge.merge(repo, pr.number, sha)).toMatchObject({ merged: false, reason: 'not-mergeable' });
    await forge.closePullRequest(repo, pr.number);
    expect((await forge.getPullRequest(repo, pr.number)).state).toBe('closed');
    expect(await forge.merge(repo, pr.number, sha)).toMatchObject({ merged: false, reason: 'closed' });
  });
});

describe('branches and comments', () => {
  it('deletes a branch (twice is fine) and comments on the PR', async () => {
    const repo = await seedRepo();
    const { pr } = await openPr(repo, 'conveyor/eng-11-tidy');
    await forge.comment(repo, pr.number, 'Conveyor: CI is green, waiting for review.');
    const [owner = '', name = ''] = repo.split('/');
    const comments = await octokit().rest.issues.listComments({ owner, repo: name, issue_number: pr.number });
    expect(comments.data.map((c) => c.body)).toEqual(['Conveyor: CI is green, waiting for review.']);
    await forge.closePullRequest(repo, pr.number);
    await forge.deleteBranch(repo, 'conveyor/eng-11-tidy');
    await expect(bareHead(repo, 'refs/heads/conveyor/eng-11-tidy')).rejects.toThrow();
    await forge.deleteBranch(repo, 'conveyor/eng-11-tidy');
  });
});

describe('failures', () => {
  it('classifies 401 as auth and names the credential, never its value', async () => {
    const badToken = 'ghp_revokedTokenValue1234567890';
    const bad = createGitHubForge({ token: badToken, baseUrl: emulator.url, gitBaseUrl: emulator.webUrl, retry: { unitMs: 10 } });
    const error = await rejection(bad.getPullRequest('acme/anything', 1));
    expect(error.failureClass).toBe('auth');
    expect(error.details).toMatchObject({ service: 'github', status: 401 });
    expect(error.message).toContain('GitHub rejected GITHUB_TOKEN');
    expect(error.message).not.toContain(badToken);
    expect(JSON.stringify(error)).not.toContain(badToken);
  });

  it('retries a rate-limited 403 after the reset, then succeeds', async () => {
    const repo = await seedRepo();
    const { pr } = await openPr(repo, 'conveyor/eng-12-limit');
    const fault = emulator.injectFault({
      method: 'GET',
      pathPattern: `/repos/${repo}/pulls/${pr.number}`,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '5000', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000)) },
    });
    expect((await forge.getPullRequest(repo, pr.number)).number).toBe(pr.number);
    expect(fault.hits).toBe(1);
  });

  it('gives up on a rate limit that lasts and reports it transient with the advised wait', async () => {
    const repo = await seedRepo();
    const reset = Math.floor(Date.now() / 1000) + 600;
    emulator.injectFault({ method: 'GET', pathPattern: new RegExp(`^/repos/${repo}/pulls/\\d+$`), status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, times: 10 });
    const error = await rejection(forge.getPullRequest(repo, 1));
    expect(error.failureClass).toBe('transient');
    expect(error.details.retryAfterMs).toBeGreaterThan(500_000);
    expect(error.details.retryAfterMs).toBeLessThanOrEqual(600_000);
    emulator.clearFaults();

    emulator.injectFault({ pathPattern: new RegExp(`^/repos/${repo}/pulls/\\d+$`), status: 403, headers: { 'retry-after': '30' }, body: { message: 'You have exceeded a secondary rate limit.' }, times: 10 });
    const secondary = await rejection(forge.getPullRequest(repo, 1));
    expect(secondary.failureClass).toBe('transient');
    expect(secondary.details.retryAfterMs).toBe(30_000);
    emulator.clearFaults();
  });

  it('classifies a plain 403 as auth, 404 and 422 as logic', async () => {
    const repo = await seedRepo();
    emulator.injectFault({ pathPattern: `/repos/${repo}/pulls/1`, status: 403, body: { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' } });
    expect((await rejection(forge.getPullRequest(repo, 1))).failureClass).toBe('auth');
    const missing = await rejection(forge.getPullRequest(repo, 999));
    expect(missing.failureClass).toBe('logic');
    expect(missing.details.status).toBe(404);
    const invalid = await rejection(forge.openPullRequest({ repo, head: 'conveyor/no-such-branch', base: 'main', title: 't', body: '' }));
    expect(invalid.failureClass).toBe('logic');
    expect(invalid.details.status).toBe(422);
  });

  it('retries a 500 and succeeds; a lasting 500 or no server is transient', async () => {
    const repo = await seedRepo();
    const { pr } = await openPr(repo, 'conveyor/eng-13-flaky');
    const once = emulator.injectFault({ method: 'GET', pathPattern: `/repos/${repo}/pulls/${pr.number}`, status: 500 });
    expect((await forge.getPullRequest(repo, pr.number)).number).toBe(pr.number);
    expect(once.hits).toBe(1);

    emulator.injectFault({ method: 'GET', pathPattern: `/repos/${repo}/pulls/${pr.number}`, status: 502, times: 10 });
    const lasting = await rejection(forge.getPullRequest(repo, pr.number));
    expect(lasting.failureClass).toBe('transient');
    emulator.clearFaults();

    const nowhere = createGitHubForge({ token: TOKEN, baseUrl: 'http://127.0.0.1:9', retry: { unitMs: 1, attempts: 1 } });
    const unreachable = await rejection(nowhere.getPullRequest(repo, 1));
    expect(unreachable.failureClass).toBe('transient');
    expect(unreachable.message).not.toContain(TOKEN);
  });
});
