// What the forge says enters Temporal payloads (the merge gate's read, the run's feedback, the
// agent's input, the continue-as-new input) bounded by policies.payloadLimit. Guards the report
// of a run the server terminated because a CI log pushed a payload past the 2 MB blob limit, so
// its release station never ran and its issue stayed "In Progress" with no agent.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLineActivities } from '../../src/activities/line-activities.js';
import { createRedactor } from '../../src/activities/redact.js';
import type { FactoryConfig } from '../../src/config/factory-schema.js';
import type { ChecksSummary, PullRequest, PullRequestStatus } from '../../src/domain/issue.js';
import type { AgentRunner, Workspaces } from '../../src/integrations/agent.js';
import type { Forge } from '../../src/integrations/forge.js';
import { createGitHubForge } from '../../src/integrations/github-forge.js';
import type { Tracker } from '../../src/integrations/tracker.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';
import { capturingLogger } from '../helpers/capture.js';
import { testFactoryConfig } from '../helpers/scripted-line.js';

const exec = promisify(execFile);
const TOKEN = 'ghs_sandboxTokenForPayloadTests0123456789';
const LIMIT = 16 * 1024;
const bytes = (value: unknown) => Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');

/** A dependency of which the activity under test may use only what is `provided`. */
function only<T extends object>(name: string, provided: Partial<T> = {}): T {
  return new Proxy(provided as T, {
    get: (target, property) => {
      if (property in target) return target[property as keyof T];
      // Promise resolution probes `then`: answer it, so an awaited double is not mistaken for a thenable.
      if (property === 'then') return undefined;
      throw new Error(`the activity under test does not use ${name}.${String(property)}`);
    },
  });
}

function factory(): FactoryConfig {
  const base = testFactoryConfig();
  return { ...base, policies: { ...base.policies, payloadLimit: LIMIT } };
}

function lineActivities(deps: { forge: Forge; tracker?: Tracker }) {
  const { logger, lines } = capturingLogger();
  const activities = createLineActivities({
    factory: factory(),
    root: '/nonexistent',
    tracker: deps.tracker ?? only<Tracker>('Tracker'),
    forge: deps.forge,
    workspaces: only<Workspaces>('Workspaces'),
    agents: only<AgentRunner>('AgentRunner'),
    redact: createRedactor({ GITHUB_TOKEN: TOKEN }),
    logger,
  });
  return { activities, logs: lines };
}

/** Summaries in the note's words, whatever the repo and PR. */
const CUT_NOTE = /\n… \[cut: [\d,]+ KiB more; the full text is in the worker log and the checks of [\w/-]+#\d+\]$/;

describe('readPullRequest against the GitHub emulator: a matrix of 80 failing jobs, 5 MB of failure summaries', () => {
  let root: string;
  let emulator: GitHubEmulator;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'conveyor-payloads-'));
    emulator = await startGitHubEmulator({ dataDir: join(root, 'data'), tokens: [TOKEN], ciDelayMs: 5 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('returns every failure within the limit, each cut with a note, and logs the whole text', { timeout: 120_000 }, async () => {
    const repo = 'acme/matrix';
    await emulator.createRepo({ owner: 'acme', name: 'matrix', files: { 'README.md': '# matrix\n' } });
    const forge = createGitHubForge({ token: TOKEN, baseUrl: emulator.url, gitBaseUrl: emulator.webUrl, retry: { unitMs: 10, spaceWrites: false } });
    // The factory's own way to a PR: clone with header auth, commit, push, open.
    const work = join(root, 'work');
    const git = (args: string[], env: Record<string, string> = {}) => exec('git', args, { cwd: work, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...env } });
    await exec('git', ['clone', '--quiet', forge.cloneUrl(repo), work], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', ...(await forge.gitAuthEnv()) } });
    await git(['checkout', '--quiet', '-b', 'conveyor/eng-5-payload']);
    await writeFile(join(work, 'feature.txt'), 'feature\n');
    await git(['add', 'feature.txt']);
    await git(['-c', 'user.name=Agent', '-c', 'user.email=agent@example.com', 'commit', '--quiet', '-m', 'Add feature']);
    const { headSha } = await forge.pushBranch({ repo, worktree: work, branch: 'conveyor/eng-5-payload' });
    const pr = await forge.openPullRequest({ repo, head: 'conveyor/eng-5-payload', base: 'main', title: 'ENG-5: payload', body: 'Resolves ENG-5' });
    await emulator.idle();

    // A CI app reports 80 failing jobs, each with as long a summary as GitHub accepts.
    const octokit = new Octokit({ auth: TOKEN, baseUrl: emulator.url });
    const line = (n: number) => `✗ shard test ${n} failed: expected 200, got 500 at src/server.ts:${n}\n`;
    const summary = Array.from({ length: 2_000 }, (_, n) => line(n)).join('').slice(0, 65_535);
    for (let job = 1; job <= 80; job += 1) {
      await octokit.rest.checks.create({ owner: 'acme', repo: 'matrix', name: `test (shard ${job}/80)`, head_sha: headSha, conclusion: 'failure', output: { title: `shard ${job}: 1,500 tests failed`, summary } });
    }
    const raw: ChecksSummary = await forge.getChecks(repo, headSha, 'main');
    expect(raw.failures).toHaveLength(80);
    expect(bytes(raw.failures)).toBeGreaterThan(5_000_000);

    const { activities, logs } = lineActivities({ forge });
    const status: PullRequestStatus = await activities.readPullRequest({ repo, number: pr.number, baseRef: 'main' });

    expect(status.pr).toMatchObject({ number: pr.number, headSha, state: 'open' });
    expect(status.checks.state).toBe('failure');
    // The failures (names and summaries) within the limit together; the whole result close to it.
    const failureBytes = status.checks.failures.reduce((sum, f) => sum + bytes(f.name) + bytes(f.summary), 0);
    expect(failureBytes).toBeLessThanOrEqual(LIMIT);
    expect(bytes(status)).toBeLessThan(LIMIT + 4 * 1024);
    // As many as can have a useful share, each cut with the note; the rest counted in a last entry.
    const listed = status.checks.failures.slice(0, -1);
    expect(listed.map((f) => f.name)).toEqual(Array.from({ length: listed.length }, (_, i) => raw.failures[i]!.name));
    expect(listed).toHaveLength(16); // 16 KiB, at least 1 KiB each
    for (const failure of listed) {
      expect(failure.summary).toMatch(CUT_NOTE);
      expect(raw.failures.find((f) => f.name === failure.name)!.summary.startsWith(failure.summary.replace(CUT_NOTE, ''))).toBe(true);
    }
    expect(status.checks.failures.at(-1)).toEqual({ name: `${80 - listed.length} more failed checks`, summary: `not listed here; see the worker log and the checks of ${repo}#${pr.number}` });

    // The worker log has each whole text the payload could not carry.
    const cut = logs.map((l) => JSON.parse(l) as { what?: string; fullText?: string; bytes?: number }).filter((l) => l.what?.startsWith('CI failure summary'));
    expect(cut).toHaveLength(80);
    expect(cut[0]).toMatchObject({ what: 'CI failure summary 1 of 80', fullText: raw.failures[0]!.summary, bytes: bytes(raw.failures[0]!.summary) });
  });
});

describe('readPullRequest and comments over a Forge double: texts no GitHub limit bounds', () => {
  const headSha = 'a'.repeat(40);
  const pr: PullRequest = { number: 7, url: 'https://github.example/acme/widgets/pull/7', repo: 'acme/widgets', headRef: 'conveyor/eng-7-x', headSha, baseRef: 'main', state: 'open', merged: false, draft: false, mergeable: true };
  // 5 MB of multi-byte text: a cut in the wrong place would leave half a character.
  const huge = '😀 déjà vu, 語 '.repeat(300_000);

  function forgeWith(checks: ChecksSummary, requestedChanges: string[], comments: string[] = []): Forge {
    return only<Forge>('Forge', {
      getPullRequest: async () => pr,
      getChecks: async () => checks,
      getReviews: async () => ({ decision: 'CHANGES_REQUESTED', requestedChanges }),
      comment: async (_repo, _number, body) => {
        comments.push(body);
      },
      closePullRequest: async () => {},
      hasComment: async () => false,
    });
  }

  it('cuts a single 5 MB failure summary and a 1 MB change request to the limit, on character boundaries', async () => {
    expect(bytes(huge)).toBeGreaterThan(5_000_000);
    const { activities } = lineActivities({ forge: forgeWith({ sha: headSha, state: 'failure', failures: [{ name: 'build', summary: huge }] }, ['Please split this.', huge.slice(0, 400_000)]) });
    const status = await activities.readPullRequest({ repo: 'acme/widgets', number: 7, baseRef: 'main' });
    const [failure] = status.checks.failures;
    expect(status.checks.failures).toHaveLength(1);
    expect(bytes(failure!.name) + bytes(failure!.summary)).toBeLessThanOrEqual(LIMIT);
    expect(failure!.summary).toMatch(CUT_NOTE);
    const kept = failure!.summary.replace(CUT_NOTE, '');
    expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept);
    expect(huge.startsWith(kept)).toBe(true);
    expect(bytes(kept)).toBeGreaterThan(LIMIT - 512);

    expect(status.review.requestedChanges[0]).toBe('Please split this.');
    expect(bytes(status.review.requestedChanges)).toBeLessThanOrEqual(LIMIT + 64);
    expect(status.review.requestedChanges[1]).toMatch(/\n… \[cut: [\d,]+ KiB more; the full text is in the worker log and the reviews of acme\/widgets#7\]$/);
  });

  it('bounds comment bodies posted to the tracker and the PR', async () => {
    const posted: string[] = [];
    const prComments: string[] = [];
    const tracker = only<Tracker>('Tracker', {
      comment: async (_issueId, body) => {
        posted.push(body);
      },
    });
    const { activities } = lineActivities({ forge: forgeWith({ sha: headSha, state: 'success', failures: [] }, [], prComments), tracker });
    await activities.commentOnIssue({ issueId: 'issue-1', body: `Conveyor stopped re-dispatching. Last feedback:\n\n${huge}` });
    await activities.closePullRequest({ repo: 'acme/widgets', number: 7, comment: huge });
    // The PR's closing comment carries its hidden marker after the bounded text.
    for (const body of [...posted, ...prComments].map((b) => b.replace(/\n\n<!-- conveyor:[^>]*-->$/, ''))) {
      expect(bytes(body)).toBeLessThanOrEqual(LIMIT);
      expect(body).toMatch(/\n… \[cut: [\d,]+ KiB more; the full text is in the worker log\]$/);
    }
    expect(posted[0]!.startsWith('Conveyor stopped re-dispatching.')).toBe(true);
    expect(posted).toHaveLength(1);
    expect(prComments).toHaveLength(1);
  });
});
