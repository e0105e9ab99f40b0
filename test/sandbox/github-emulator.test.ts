// The GitHub sandbox must stay a faithful GitHub: responses checked against GitHub's own
// OpenAPI description, webhooks signed so @octokit/webhooks-methods accepts them and shaped
// like @octokit/webhooks-examples, git served by git itself, state surviving a restart.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Octokit } from '@octokit/rest';
import { verify } from '@octokit/webhooks-methods';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gitAuthHeaderEnv } from '../../src/integrations/github/git-push.js';
import { OpenApiValidator, startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';

const exec = promisify(execFile);
const TOKEN = 'ghs_emulatorTestToken0123456789';
const SECRET = 'webhook-secret-for-tests';
const CHECK = '#!/usr/bin/env bash\necho "checking"\nif [ -f BROKEN ]; then echo "FAILED: BROKEN present"; exit 3; fi\necho "passed"\n';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let root: string;
let receiver: Server;
let receiverUrl: string;
let received: Received[] = [];
let failNextDeliveries = 0;
const validator = OpenApiValidator.load();
/** GitHub's example payloads (a CommonJS JSON package). */
const webhookExamples = createRequire(import.meta.url)('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', ...env } });
  return stdout.trim();
}

async function waitFor<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function start(dataDir: string, options: { webhooks?: boolean } = {}): Promise<GitHubEmulator> {
  return startGitHubEmulator({ dataDir, tokens: [TOKEN], ciDelayMs: 5, webhooks: options.webhooks ? [{ url: receiverUrl, secret: SECRET }] : [] });
}

function client(emulator: GitHubEmulator, token = TOKEN): Octokit {
  return new Octokit({ auth: token, baseUrl: emulator.url, request: { retries: 0 } });
}

/** Clone, commit, push a branch over smart HTTP with header auth; returns the pushed SHA. */
async function pushBranch(emulator: GitHubEmulator, repo: string, branch: string, files: Record<string, string>, work?: string): Promise<{ sha: string; work: string }> {
  const env = gitAuthHeaderEnv(emulator.webUrl, TOKEN);
  let dir = work;
  if (!dir) {
    dir = await mkdtemp(join(root, 'clone-'));
    await git(root, ['clone', '--quiet', emulator.gitUrl(repo), dir], env);
    await git(dir, ['checkout', '--quiet', '-b', branch]);
  }
  for (const [path, content] of Object.entries(files)) {
    await writeFile(join(dir, path), content);
    await git(dir, ['add', path]);
  }
  await git(dir, ['-c', 'user.name=Agent', '-c', 'user.email=agent@example.com', 'commit', '--quiet', '-m', `change ${Object.keys(files).join(',')}`]);
  await git(dir, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], env);
  return { sha: await git(dir, ['rev-parse', 'HEAD']), work: dir };
}

function expectSchema(method: string, template: string, status: number, body: unknown): void {
  expect(validator, '@octokit/openapi must be installed for the sandbox tests').not.toBeNull();
  expect(validator?.validateResponse(method, template, status, body)).toEqual([]);
}

function deliveriesOf(event: string, action?: string): Received[] {
  return received.filter((r) => r.headers['x-github-event'] === event && (action === undefined || (JSON.parse(r.body) as { action?: string }).action === action));
}

/** Keys of the first @octokit/webhooks-examples payload for this event and action. */
function exampleKeys(event: string, action: string): { top: string[]; nested: Record<string, string[]> } {
  const entry = webhookExamples.find((e) => e.name === event);
  const example = entry?.examples.find((x) => x.action === action);
  if (!example) throw new Error(`no webhook example for ${event}.${action}`);
  const nested: Record<string, string[]> = {};
  for (const key of ['pull_request', 'check_run', 'check_suite', 'review', 'repository', 'sender']) {
    const value = example[key];
    if (value && typeof value === 'object') nested[key] = Object.keys(value);
  }
  // `installation` is present only for app installations; the sandbox always sends it.
  return { top: Object.keys(example).filter((k) => k !== 'enterprise' && k !== 'organization'), nested };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'conveyor-ghsandbox-'));
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failNextDeliveries > 0) {
        failNextDeliveries -= 1;
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/github`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  received = [];
  failNextDeliveries = 0;
});

describe('REST responses follow GitHub OpenAPI', () => {
  let emulator: GitHubEmulator;
  beforeAll(async () => {
    emulator = await start(join(root, 'schema'));
  });
  afterAll(() => emulator.close());

  it('conforms for every endpoint Conveyor uses', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'schema', files: { 'README.md': 'x\n', '.conveyor/check.sh': CHECK } });
    const gh = client(emulator);
    const o = { owner: 'acme', repo: 'schema' };
    const { sha } = await pushBranch(emulator, 'acme/schema', 'conveyor/eng-1-a', { 'a.txt': 'a\n' });

    const repo = await gh.rest.repos.get(o);
    expectSchema('get', '/repos/{owner}/{repo}', 200, repo.data);
    const created = await gh.rest.pulls.create({ ...o, head: 'acme:conveyor/eng-1-a', base: 'main', title: 'A', body: 'body' });
    expect(created.status).toBe(201);
    expectSchema('post', '/repos/{owner}/{repo}/pulls', 201, created.data);
    expect(created.data.head.sha).toBe(sha);
    const list = await gh.rest.pulls.list({ ...o, head: 'acme:conveyor/eng-1-a', state: 'all' });
    expectSchema('get', '/repos/{owner}/{repo}/pulls', 200, list.data);
    expect(list.data.map((p) => p.number)).toEqual([created.data.number]);
    const pull = await gh.rest.pulls.get({ ...o, pull_number: created.data.number });
    expectSchema('get', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, pull.data);
    expect(pull.data).toMatchObject({ mergeable: true, merged: false, draft: false, state: 'open', commits: 1, changed_files: 1, additions: 1 });

    await emulator.idle();
    const runs = await gh.rest.checks.listForRef({ ...o, ref: sha });
    expectSchema('get', '/repos/{owner}/{repo}/commits/{ref}/check-runs', 200, runs.data);
    expect(runs.data.check_runs[0]).toMatchObject({ name: 'conveyor/ci', status: 'completed', conclusion: 'success', head_sha: sha });
    const status = await gh.rest.repos.createCommitStatus({ ...o, sha, state: 'success', context: 'lint' });
    expectSchema('post', '/repos/{owner}/{repo}/statuses/{sha}', 201, status.data);
    const combined = await gh.rest.repos.getCombinedStatusForRef({ ...o, ref: sha });
    expectSchema('get', '/repos/{owner}/{repo}/commits/{ref}/status', 200, combined.data);
    expect(combined.data).toMatchObject({ state: 'success', total_count: 1, sha });

    await emulator.approve('acme/schema', created.data.number, { user: 'alice', body: 'ok' });
    const review = await gh.rest.pulls.createReview({ ...o, pull_number: created.data.number, event: 'COMMENT', body: 'a note' });
    expectSchema('post', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews', 200, review.data);
    const reviews = await gh.rest.pulls.listReviews({ ...o, pull_number: created.data.number });
    expectSchema('get', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews', 200, reviews.data);
    expect(reviews.data.map((r) => [r.user?.login, r.state, r.commit_id])).toEqual([['alice', 'APPROVED', sha], ['conveyor-bot', 'COMMENTED', sha]]);

    const me = await gh.rest.users.getAuthenticated();
    expectSchema('get', '/user', 200, me.data);
    expect(me.data.login).toBe('conveyor-bot');
    await emulator.setCollaborator('acme/schema', 'alice', 'maintain');
    const permission = async (username: string) => {
      const response = await gh.rest.repos.getCollaboratorPermissionLevel({ ...o, username });
      expectSchema('get', '/repos/{owner}/{repo}/collaborators/{username}/permission', 200, response.data);
      return [response.data.permission, response.data.role_name];
    };
    // The legacy `permission` folds maintain into write and triage into read, as GitHub does.
    expect(await permission('alice')).toEqual(['write', 'maintain']);
    expect(await permission('acme')).toEqual(['admin', 'admin']);
    expect(await permission('conveyor-bot')).toEqual(['write', 'write']);
    expect(await permission('sandbox-reviewer')).toEqual(['write', 'write']);
    expect(await permission('stranger')).toEqual(['read', 'read']);

    const comment = await gh.rest.issues.createComment({ ...o, issue_number: created.data.number, body: 'hello' });
    expectSchema('post', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 201, comment.data);
    const comments = await gh.rest.issues.listComments({ ...o, issue_number: created.data.number });
    expectSchema('get', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 200, comments.data);
    const branch = await gh.rest.repos.getBranch({ ...o, branch: 'conveyor/eng-1-a' });
    expectSchema('get', '/repos/{owner}/{repo}/branches/{branch}', 200, branch.data);
    expect(branch.data.commit.sha).toBe(sha);

    await emulator.setBranchProtection('acme/schema', 'main', { requiredChecks: ['conveyor/ci'] });
    const protection = await gh.rest.repos.getStatusChecksProtection({ ...o, branch: 'main' });
    expectSchema('get', '/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks', 200, protection.data);
    expect(protection.data.contexts).toEqual(['conveyor/ci']);

    const merged = await gh.rest.pulls.merge({ ...o, pull_number: created.data.number, sha });
    expectSchema('put', '/repos/{owner}/{repo}/pulls/{pull_number}/merge', 200, merged.data);
    expect(merged.data.merged).toBe(true);
    const after = await gh.rest.pulls.get({ ...o, pull_number: created.data.number });
    expectSchema('get', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, after.data);
    expect(after.data).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: merged.data.sha });
    const del = await gh.rest.git.deleteRef({ ...o, ref: 'heads/conveyor/eng-1-a' });
    expect(del.status).toBe(204);
  });

  it('fails validation when a required field is dropped', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'drop' });
    const gh = client(emulator);
    const { sha } = await pushBranch(emulator, 'acme/drop', 'conveyor/eng-2-b', { 'b.txt': 'b\n' });
    const pr = await gh.rest.pulls.create({ owner: 'acme', repo: 'drop', head: 'conveyor/eng-2-b', base: 'main', title: 'B' });
    const full = structuredClone(pr.data) as unknown as Record<string, unknown>;
    expect(validator?.validateResponse('get', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, full)).toEqual([]);
    for (const field of ['head', 'merged', 'mergeable', 'number']) {
      const broken = { ...full };
      delete broken[field];
      expect(validator?.validateResponse('get', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, broken)).toContain(`response.${field}: required property is missing`);
    }
    const wrongType = { ...full, head: { ...(full.head as Record<string, unknown>), sha: 42 } };
    expect(validator?.validateResponse('get', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, wrongType).join('\n')).toContain('response.head.sha: expected string');

    await emulator.idle();
    const runs = (await gh.rest.checks.listForRef({ owner: 'acme', repo: 'drop', ref: sha })).data as unknown as { check_runs: Array<Record<string, unknown>> };
    delete runs.check_runs[0]?.conclusion;
    expect(validator?.validateResponse('get', '/repos/{owner}/{repo}/commits/{ref}/check-runs', 200, runs)).toContain('response.check_runs[0].conclusion: required property is missing');
    const combined = (await gh.rest.repos.getCombinedStatusForRef({ owner: 'acme', repo: 'drop', ref: sha })).data as unknown as Record<string, unknown>;
    delete combined.state;
    expect(validator?.validateResponse('get', '/repos/{owner}/{repo}/commits/{ref}/status', 200, combined)).toContain('response.state: required property is missing');
  });

  it('takes check runs from another CI, within GitHub\'s documented limits (a summary of at most 65,535 characters)', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'matrix' });
    const gh = client(emulator);
    const o = { owner: 'acme', repo: 'matrix' };
    const { sha } = await pushBranch(emulator, 'acme/matrix', 'conveyor/eng-9-m', { 'm.txt': 'm\n' });
    const summary = 'é'.repeat(65_535);
    const created = await gh.rest.checks.create({ ...o, name: 'matrix (node 20)', head_sha: sha, status: 'completed', conclusion: 'failure', output: { title: 'tests failed', summary } });
    expect(created.status).toBe(201);
    expectSchema('post', '/repos/{owner}/{repo}/check-runs', 201, created.data);
    expect(created.data).toMatchObject({ name: 'matrix (node 20)', head_sha: sha, status: 'completed', conclusion: 'failure', output: { title: 'tests failed', summary } });
    const pending = await gh.rest.checks.create({ ...o, name: 'lint', head_sha: sha });
    expect(pending.data).toMatchObject({ status: 'queued', conclusion: null });

    const runs = await gh.rest.checks.listForRef({ ...o, ref: sha });
    expect(runs.data.check_runs.map((r) => r.name).sort()).toEqual(['lint', 'matrix (node 20)']);

    const fail = async (promise: Promise<unknown>) => promise.then(() => null, (e: { status: number; response: { data: Record<string, unknown> } }) => e);
    const tooLong = await fail(gh.rest.checks.create({ ...o, name: 'flood', head_sha: sha, conclusion: 'failure', output: { title: 'x', summary: `${summary}é` } }));
    expect(tooLong?.status).toBe(422);
    expect(String(tooLong?.response.data.message)).toContain('body.output.summary: only 65535 characters are allowed; 65536 were supplied');
    const unknownSha = await fail(gh.rest.checks.create({ ...o, name: 'ghost', head_sha: 'f'.repeat(40) }));
    expect(unknownSha?.status).toBe(422);
  });

  it('answers errors with GitHub status codes and bodies', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'errors' });
    const gh = client(emulator);
    const o = { owner: 'acme', repo: 'errors' };
    const fail = async (promise: Promise<unknown>) => promise.then(() => null, (e: { status: number; response: { data: Record<string, unknown> } }) => e);

    const unknown = await fetch(`${emulator.url}/repos/acme/errors/no-such-thing`, { headers: { authorization: `token ${TOKEN}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: 'Not Found', documentation_url: expect.any(String) });
    const anonymous = await fetch(`${emulator.url}/repos/acme/errors`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ message: 'Requires authentication' });
    expect((await fail(client(emulator, 'nope').rest.repos.get(o)))?.status).toBe(401);
    expect((await fail(gh.rest.pulls.get({ ...o, pull_number: 7 })))?.status).toBe(404);
    expect((await fail(gh.rest.repos.getStatusChecksProtection({ ...o, branch: 'main' })))?.response.data.message).toBe('Branch not protected');

    const { sha: first, work } = await pushBranch(emulator, 'acme/errors', 'conveyor/eng-3-c', { 'c.txt': 'c\n' });
    const pr = await gh.rest.pulls.create({ ...o, head: 'acme:conveyor/eng-3-c', base: 'main', title: 'C' });
    const duplicate = await fail(gh.rest.pulls.create({ ...o, head: 'acme:conveyor/eng-3-c', base: 'main', title: 'C again' }));
    expect(duplicate?.status).toBe(422);
    expect(duplicate?.response.data).toMatchObject({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: 'A pull request already exists for acme:conveyor/eng-3-c.' }] });
    expectSchema('post', '/repos/{owner}/{repo}/pulls', 422, duplicate?.response.data);
    const invalid = await fail(gh.request('POST /repos/{owner}/{repo}/pulls', { ...o, head: 'x' } as never));
    expect(invalid?.status).toBe(422);
    expect(String(invalid?.response.data.message)).toContain('Invalid request');

    const mainBefore = (await emulator.listCommits('acme/errors', 'main'))[0]?.sha;
    await pushBranch(emulator, 'acme/errors', 'conveyor/eng-3-c', { 'd.txt': 'd\n' }, work);
    const moved = await fail(gh.rest.pulls.merge({ ...o, pull_number: pr.data.number, sha: first }));
    expect(moved?.status).toBe(409);
    expect(moved?.response.data.message).toBe('Head branch was modified. Review and try the merge again.');
    expect((await emulator.listCommits('acme/errors', 'main'))[0]?.sha).toBe(mainBefore);
    await gh.rest.pulls.update({ ...o, pull_number: pr.data.number, state: 'closed' });
    const closed = await fail(gh.rest.pulls.merge({ ...o, pull_number: pr.data.number }));
    expect(closed?.status).toBe(405);
    expect(closed?.response.data.message).toBe('Pull Request is not mergeable');
    const missingRef = await fail(gh.rest.git.deleteRef({ ...o, ref: 'heads/nope' }));
    expect(missingRef?.status).toBe(422);
    expect(missingRef?.response.data.message).toBe('Reference does not exist');
  });

  it('guards git smart HTTP with the same tokens', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'private' });
    const target = join(root, 'denied');
    await expect(git(root, ['clone', '--quiet', emulator.gitUrl('acme/private'), target])).rejects.toThrow(/Authentication|401|could not read/i);
    await expect(git(root, ['clone', '--quiet', emulator.gitUrl('acme/private'), target], gitAuthHeaderEnv(emulator.webUrl, 'wrong-token'))).rejects.toThrow();
    await git(root, ['clone', '--quiet', emulator.gitUrl('acme/private'), target], gitAuthHeaderEnv(emulator.webUrl, TOKEN));
    expect(await git(target, ['log', '--format=%s'])).toBe('Initial commit');
  });
});

describe('reviews', () => {
  let emulator: GitHubEmulator;
  beforeAll(async () => {
    emulator = await start(join(root, 'reviews'));
  });
  afterAll(() => emulator.close());

  it('records each review on the head it was made on, and a push changes no review', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'reviewed', files: { 'README.md': 'x\n' }, collaborators: { alice: 'write' } });
    const gh = client(emulator);
    const o = { owner: 'acme', repo: 'reviewed' };
    const { sha: a, work } = await pushBranch(emulator, 'acme/reviewed', 'conveyor/eng-10-r', { 'r.txt': 'r\n' });
    const pr = await gh.rest.pulls.create({ ...o, head: 'conveyor/eng-10-r', base: 'main', title: 'R' });
    const approval = await emulator.approve('acme/reviewed', pr.data.number, { user: 'alice' });
    const request = await emulator.requestChanges('acme/reviewed', pr.data.number, { body: 'rename it' });
    expect([approval.commit_id, request.commit_id, request.user.login]).toEqual([a, a, 'sandbox-reviewer']);

    const { sha: b } = await pushBranch(emulator, 'acme/reviewed', 'conveyor/eng-10-r', { 'r.txt': 'renamed\n' }, work);
    expect((await gh.rest.pulls.get({ ...o, pull_number: pr.data.number })).data.head.sha).toBe(b);
    const listed = async () => {
      const response = await gh.rest.pulls.listReviews({ ...o, pull_number: pr.data.number });
      expectSchema('get', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews', 200, response.data);
      return response.data.map((r) => [r.user?.login, r.state, r.commit_id]);
    };
    // GitHub leaves reviews as they were on a push (dismissing stale approvals is branch protection's job).
    expect(await listed()).toEqual([['alice', 'APPROVED', a], ['sandbox-reviewer', 'CHANGES_REQUESTED', a]]);

    await emulator.approve('acme/reviewed', pr.data.number, { user: 'alice' });
    expect(await listed()).toEqual([['alice', 'APPROVED', a], ['sandbox-reviewer', 'CHANGES_REQUESTED', a], ['alice', 'APPROVED', b]]);
    // A review may name its commit, as the REST API allows.
    const pinned = await gh.rest.pulls.createReview({ ...o, pull_number: pr.data.number, event: 'COMMENT', body: 'on the old head', commit_id: a });
    expect(pinned.data.commit_id).toBe(a);
  });

  it('keeps collaborators with their roles, across a restart and through the admin API', async () => {
    const dataDir = join(root, 'collaborators');
    const first = await start(dataDir);
    await first.createRepo({ owner: 'acme', name: 'team', collaborators: { alice: 'write' } });
    await first.setCollaborator('acme/team', 'bob', 'triage');
    await first.close();
    const second = await start(dataDir);
    try {
      const gh = client(second);
      const level = async (username: string) => (await gh.rest.repos.getCollaboratorPermissionLevel({ owner: 'acme', repo: 'team', username })).data.role_name;
      expect([await level('alice'), await level('bob')]).toEqual(['write', 'triage']);
      const admin = (path: string, method: string, body?: unknown) =>
        fetch(`${second.webUrl}/_sandbox${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      expect((await admin('/repos/acme/team/collaborators/bob', 'PUT', { role: 'admin' })).status).toBe(204);
      expect((await admin('/repos/acme/team/collaborators/alice', 'DELETE')).status).toBe(204);
      expect((await admin('/repos/acme/team/collaborators/carol', 'PUT', { role: 'owner' })).status).toBe(422);
      expect([await level('alice'), await level('bob'), await level('carol')]).toEqual(['read', 'admin', 'read']);
    } finally {
      await second.close();
    }
  });
});

describe('webhooks', () => {
  let emulator: GitHubEmulator;
  beforeAll(async () => {
    emulator = await start(join(root, 'hooks'), { webhooks: true });
  });
  afterAll(() => emulator.close());

  it('signs every delivery so @octokit/webhooks-methods verifies it, with GitHub headers and shapes', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'hooks', files: { 'README.md': 'x\n', '.conveyor/check.sh': CHECK } });
    const gh = client(emulator);
    const o = { owner: 'acme', repo: 'hooks' };
    const { sha, work } = await pushBranch(emulator, 'acme/hooks', 'conveyor/eng-4-d', { 'd.txt': 'd\n' });
    const pr = await gh.rest.pulls.create({ ...o, head: 'acme:conveyor/eng-4-d', base: 'main', title: 'D' });
    await waitFor(() => deliveriesOf('check_suite', 'completed'), (d) => d.length === 1);
    const { sha: second } = await pushBranch(emulator, 'acme/hooks', 'conveyor/eng-4-d', { 'e.txt': 'e\n' }, work);
    await waitFor(() => deliveriesOf('check_suite', 'completed'), (d) => d.length === 2);
    const review = await emulator.requestChanges('acme/hooks', pr.data.number, { user: 'bob', body: 'rename it' });
    await emulator.dismissReview('acme/hooks', pr.data.number, review.id, 'bob');
    await gh.rest.pulls.merge({ ...o, pull_number: pr.data.number, sha: second });
    await emulator.idle();

    expect(received.length).toBeGreaterThanOrEqual(8);
    for (const delivery of received) {
      const signature = String(delivery.headers['x-hub-signature-256']);
      expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(await verify(SECRET, delivery.body, signature)).toBe(true);
      expect(await verify('another-secret', delivery.body, signature)).toBe(false);
      expect(delivery.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(delivery.headers['content-type']).toBe('application/json');
      expect(String(delivery.headers['user-agent'])).toMatch(/^GitHub-Hookshot\//);
    }

    const opened = JSON.parse(deliveriesOf('pull_request', 'opened')[0]?.body ?? '{}');
    expect(opened).toMatchObject({ action: 'opened', number: pr.data.number, repository: { full_name: 'acme/hooks' }, pull_request: { head: { ref: 'conveyor/eng-4-d', sha } }, sender: { login: 'conveyor-bot' } });
    const sync = JSON.parse(deliveriesOf('pull_request', 'synchronize')[0]?.body ?? '{}');
    expect(sync).toMatchObject({ before: sha, after: second, pull_request: { head: { sha: second } } });
    const runs = deliveriesOf('check_run', 'completed').map((d) => JSON.parse(d.body));
    expect(runs.map((r) => [r.check_run.head_sha, r.check_run.conclusion])).toEqual([[sha, 'success'], [second, 'success']]);
    const suite = JSON.parse(deliveriesOf('check_suite', 'completed')[1]?.body ?? '{}');
    expect(suite.check_suite).toMatchObject({ head_sha: second, head_branch: 'conveyor/eng-4-d', conclusion: 'success', pull_requests: [{ number: pr.data.number }] });
    const reviews = deliveriesOf('pull_request_review').map((d) => JSON.parse(d.body));
    expect(reviews.map((r) => [r.action, r.review.state])).toEqual([['submitted', 'changes_requested'], ['dismissed', 'dismissed']]);
    const closed = JSON.parse(deliveriesOf('pull_request', 'closed')[0]?.body ?? '{}');
    expect(closed.pull_request).toMatchObject({ merged: true, state: 'closed', head: { sha: second } });

    // Same keys as GitHub's own example payloads.
    const compare = (event: string, action: string, payload: Record<string, unknown>) => {
      const keys = exampleKeys(event, action);
      expect(Object.keys(payload)).toEqual(expect.arrayContaining(keys.top));
      for (const [key, nested] of Object.entries(keys.nested)) expect(Object.keys(payload[key] as object), `${event}.${action} ${key}`).toEqual(expect.arrayContaining(nested));
    };
    compare('pull_request', 'opened', opened);
    compare('pull_request', 'synchronize', sync);
    compare('pull_request', 'closed', closed);
    compare('check_run', 'completed', runs[0]);
    compare('check_suite', 'completed', suite);
    compare('pull_request_review', 'submitted', reviews[0]);
    compare('pull_request_review', 'dismissed', reviews[1]);
  });

  it('retries a failing receiver, reports CI failure output, and closes a PR whose branch is deleted', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'retry', files: { 'README.md': 'x\n', '.conveyor/check.sh': CHECK } });
    const gh = client(emulator);
    await pushBranch(emulator, 'acme/retry', 'conveyor/eng-5-e', { BROKEN: '1\n' });
    failNextDeliveries = 1;
    const pr = await gh.rest.pulls.create({ owner: 'acme', repo: 'retry', head: 'conveyor/eng-5-e', base: 'main', title: 'E' });
    const run = await waitFor(() => deliveriesOf('check_run', 'completed'), (d) => d.length === 1);
    const checkRun = JSON.parse(run[0]?.body ?? '{}').check_run;
    expect(checkRun).toMatchObject({ conclusion: 'failure', output: { title: 'CI failed: .conveyor/check.sh exited 3' } });
    expect(checkRun.output.summary).toContain('FAILED: BROKEN present');
    await emulator.idle();
    const opened = emulator.deliveries.find((d) => d.event === 'pull_request' && d.action === 'opened' && (d.payload.repository as { full_name: string }).full_name === 'acme/retry');
    expect(opened).toMatchObject({ attempts: 2, status: 202, delivered: true });

    await gh.rest.git.deleteRef({ owner: 'acme', repo: 'retry', ref: 'heads/conveyor/eng-5-e' });
    const after = await emulator.getPull('acme/retry', pr.data.number);
    expect(after).toMatchObject({ state: 'closed', merged: false });
    await waitFor(() => deliveriesOf('pull_request', 'closed'), (d) => d.length === 1);
  });

  it('announces drafts made ready, closes without merge and reopens', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'draft' });
    const gh = client(emulator);
    const o = { owner: 'acme', repo: 'draft' };
    await pushBranch(emulator, 'acme/draft', 'conveyor/eng-9-i', { 'i.txt': 'i\n' });
    const pr = await gh.rest.pulls.create({ ...o, head: 'conveyor/eng-9-i', base: 'main', title: 'I', draft: true });
    expect((await gh.rest.pulls.get({ ...o, pull_number: pr.data.number })).data).toMatchObject({ draft: true, mergeable_state: 'draft' });
    await emulator.markReadyForReview('acme/draft', pr.data.number);
    await gh.rest.pulls.update({ ...o, pull_number: pr.data.number, state: 'closed' });
    await gh.rest.pulls.update({ ...o, pull_number: pr.data.number, state: 'open' });
    await emulator.idle();
    const actions = deliveriesOf('pull_request').map((d) => JSON.parse(d.body) as { action: string; pull_request: { draft: boolean; merged: boolean; state: string } });
    expect(actions.map((a) => [a.action, a.pull_request.state, a.pull_request.draft, a.pull_request.merged])).toEqual([
      ['opened', 'open', true, false],
      ['ready_for_review', 'open', false, false],
      ['closed', 'closed', false, false],
      ['reopened', 'open', false, false],
    ]);
  });
});

describe('lifecycle', () => {
  it('persists repos, PRs, reviews and checks across a restart', async () => {
    const dataDir = join(root, 'persist');
    const first = await start(dataDir);
    await first.createRepo({ owner: 'acme', name: 'keep', files: { 'README.md': 'x\n', '.conveyor/check.sh': CHECK } });
    const { sha } = await pushBranch(first, 'acme/keep', 'conveyor/eng-6-f', { 'f.txt': 'f\n' });
    const pr = await client(first).rest.pulls.create({ owner: 'acme', repo: 'keep', head: 'conveyor/eng-6-f', base: 'main', title: 'F' });
    await first.approve('acme/keep', pr.data.number, { user: 'alice' });
    await first.idle();
    await first.close();

    const second = await start(dataDir);
    try {
      expect(second.url).not.toBe(first.url);
      const gh = client(second);
      const again = await gh.rest.pulls.get({ owner: 'acme', repo: 'keep', pull_number: pr.data.number });
      expect(again.data).toMatchObject({ title: 'F', state: 'open', head: { sha } });
      expect(again.data.html_url.startsWith(second.webUrl)).toBe(true);
      expect((await gh.rest.pulls.listReviews({ owner: 'acme', repo: 'keep', pull_number: pr.data.number })).data.map((r) => r.state)).toEqual(['APPROVED']);
      expect((await gh.rest.checks.listForRef({ owner: 'acme', repo: 'keep', ref: sha })).data.check_runs[0]?.conclusion).toBe('success');
      const next = await pushBranch(second, 'acme/keep', 'conveyor/eng-7-g', { 'g.txt': 'g\n' });
      const pr2 = await gh.rest.pulls.create({ owner: 'acme', repo: 'keep', head: 'conveyor/eng-7-g', base: 'main', title: 'G' });
      expect(pr2.data.number).toBe(pr.data.number + 1);
      expect(pr2.data.head.sha).toBe(next.sha);
    } finally {
      await second.close();
    }
  });

  it('runs the CI a killed process never started: a PR saved, the process gone before its check run was', async () => {
    // `npm run dev` killed while the factory opened a PR: the PR was on disk, its CI was not, and
    // nothing would ever push that head again, so its checks stayed pending and the run waited
    // out its CI timeout (an hour by default).
    const dataDir = join(root, 'killed-before-ci');
    const first = await start(dataDir);
    await first.createRepo({ owner: 'acme', name: 'crash', files: { 'README.md': 'x\n', '.conveyor/check.sh': CHECK } });
    const { sha } = await pushBranch(first, 'acme/crash', 'conveyor/eng-9-k', { 'k.txt': 'k\n' });
    const pr = await client(first).rest.pulls.create({ owner: 'acme', repo: 'crash', head: 'conveyor/eng-9-k', base: 'main', title: 'K' });
    await first.idle();
    await first.close();
    const stateFile = join(dataDir, 'state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as { checkRuns: unknown[] };
    await writeFile(stateFile, JSON.stringify({ ...state, checkRuns: [] }));

    const second = await start(dataDir);
    try {
      const gh = client(second);
      const runs = await waitFor(
        async () => (await gh.rest.checks.listForRef({ owner: 'acme', repo: 'crash', ref: sha })).data.check_runs,
        (list) => list.some((r) => r.status === 'completed'),
      );
      expect(runs.map((r) => ({ name: r.name, conclusion: r.conclusion }))).toEqual([{ name: 'conveyor/ci', conclusion: 'success' }]);
      expect((await gh.rest.pulls.get({ owner: 'acme', repo: 'crash', pull_number: pr.data.number })).data.head.sha).toBe(sha);
    } finally {
      await second.close();
    }
  });

  it('offers the admin API over HTTP: seed, review, protect, inspect, reset', async () => {
    const emulator = await start(join(root, 'admin'));
    try {
      const admin = (path: string, method = 'GET', body?: unknown) =>
        fetch(`${emulator.webUrl}/_sandbox${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      expect((await admin('/repos', 'POST', { owner: 'acme', name: 'demo', files: { 'README.md': 'demo\n' } })).status).toBe(201);
      await pushBranch(emulator, 'acme/demo', 'conveyor/eng-8-h', { 'h.txt': 'h\n' });
      const gh = client(emulator);
      const pr = await gh.rest.pulls.create({ owner: 'acme', repo: 'demo', head: 'conveyor/eng-8-h', base: 'main', title: 'H' });
      expect((await admin(`/repos/acme/demo/pulls/${pr.data.number}/approve`, 'POST', { user: 'carol', body: 'ship it' })).status).toBe(201);
      expect((await admin('/repos/acme/demo/branches/main/protection', 'PUT', { requiredChecks: ['conveyor/ci'] })).status).toBe(204);
      const pull = (await (await admin(`/repos/acme/demo/pulls/${pr.data.number}`)).json()) as { head: { ref: string } };
      expect(pull.head.ref).toBe('conveyor/eng-8-h');
      const commits = (await (await admin('/repos/acme/demo/commits?branch=main')).json()) as Array<{ message: string }>;
      expect(commits.map((c) => c.message)).toEqual(['Initial commit']);
      expect((await admin('/faults', 'POST', { method: 'GET', pathPattern: '/repos/acme/demo', status: 503 })).status).toBe(201);
      await expect(gh.rest.repos.get({ owner: 'acme', repo: 'demo' })).rejects.toMatchObject({ status: 503 });
      expect((await admin('/reset', 'POST')).status).toBe(204);
      await expect(gh.rest.repos.get({ owner: 'acme', repo: 'demo' })).rejects.toMatchObject({ status: 404 });
    } finally {
      await emulator.close();
    }
  });
});
