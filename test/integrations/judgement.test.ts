// The factory's judgement read from the real services: blocking relations through the real
// @linear/sdk against the Linear emulator (validated against Linear's schema), and graduation
// counted from pull requests through the real @octokit/rest against the GitHub emulator.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinearClient } from '@linear/sdk';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJudge, type Judge } from '../../src/activities/judgement.js';
import { factorySchema, type FactoryConfig } from '../../src/config/factory-schema.js';
import { branchForIssue } from '../../src/domain/naming.js';
import { createGitHubForge } from '../../src/integrations/github-forge.js';
import { createLinearTracker } from '../../src/integrations/linear-tracker.js';
import type { Tracker } from '../../src/integrations/tracker.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';
import { startLinearEmulator, type LinearEmulator } from '../../src/sandbox/linear/index.js';

const LINEAR_KEY = 'lin_api_judgement_test_0c1d2e';
const GITHUB_TOKEN = 'ghs_sandboxTokenForJudgementTests012345';
const BOT = 'conveyor-bot';
const SPEC = `Render the widget list in pages of fifty so a long list stays fast on slow machines.

## Acceptance
- [ ] pages of fifty
- [ ] next and previous links`;

let root: string;
let linear: LinearEmulator;
let github: GitHubEmulator;
let tracker: Tracker;
let judge: Judge;
let factory: FactoryConfig;
let sdk: LinearClient;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'conveyor-judgement-'));
  linear = await startLinearEmulator({ apiKeys: [LINEAR_KEY], logger: pino({ level: 'silent' }) });
  github = await startGitHubEmulator({ dataDir: root, tokens: [GITHUB_TOKEN], botLogin: BOT, ciDelayMs: 10 });
  linear.createTeam({ key: 'ENG', name: 'Engineering' });
  for (const repo of ['widgets', 'fresh']) await github.createRepo({ owner: 'acme', name: repo, defaultBranch: 'main', files: { 'README.md': '# widgets\n' }, collaborators: { alice: 'write' } });
  factory = factorySchema.parse({
    tracker: { teams: [{ key: 'ENG', defaultRepo: 'acme/widgets' }] },
    repos: [{ name: 'acme/widgets', mergePolicy: 'on-green-with-review' }, { name: 'acme/fresh', mergePolicy: 'on-green-with-review', graduation: { cleanMerges: 0 } }],
    routing: [{ labels: ['fresh'], repo: 'acme/fresh' }],
    agents: { default: 'demo', providers: { demo: { command: ['true'] } } },
  });
  tracker = createLinearTracker({ apiKey: LINEAR_KEY, apiUrl: linear.url });
  const forge = createGitHubForge({ token: GITHUB_TOKEN, baseUrl: github.url, gitBaseUrl: github.webUrl, retry: { unitMs: 10, spaceWrites: false } });
  // Read fresh each time: the test merges PRs between reads.
  judge = createJudge({ tracker, forge, factory, graduationTtlMs: 0 });
  sdk = new LinearClient({ apiKey: LINEAR_KEY, apiUrl: linear.url });
});

afterAll(async () => {
  expect(linear?.invalidDocuments).toEqual([]);
  expect(linear?.unsupportedRequests).toEqual([]);
  await linear?.close();
  await github?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const ready = (title: string, labels: string[] = []) => linear.createIssue({ teamKey: 'ENG', title, description: SPEC, labels: ['conveyor', ...labels], stateName: 'Todo' });

/** A "blocks" relation made the way a Linear user's client makes it: the SDK's mutation. */
async function blocks(blocker: string, blocked: string): Promise<void> {
  const created = await sdk.createIssueRelation({ issueId: blocker, relatedIssueId: blocked, type: 'blocks' as never });
  expect(created.success).toBe(true);
}

describe('blocked by (Linear relations)', () => {
  it('reads both directions of "blocks" relations through the SDK, ignoring other relation types', async () => {
    const design = linear.createIssue({ teamKey: 'ENG', title: 'Design the pager', stateName: 'In Progress' });
    const pager = ready('Page the widget list');
    const related = ready('Something related');
    await blocks(design.id, pager.id);
    await sdk.createIssueRelation({ issueId: related.id, relatedIssueId: pager.id, type: 'related' as never });

    expect(await tracker.getBlockingRelations(pager.id)).toEqual({ blockedBy: [{ id: design.id, key: design.key, state: { name: 'In Progress', type: 'started' } }], blocks: [] });
    expect((await tracker.getBlockingRelations(design.id)).blocks).toEqual([{ id: pager.id, key: pager.key, state: { name: 'Todo', type: 'unstarted' } }]);
    // What the gateway asks when the blocker changes: which runs to tell.
    expect(await judge.blockedBy(design.id)).toEqual([{ id: pager.id, key: pager.key }]);
  });

  it('an issue with an unfinished blocker is blocked (not overridable), and dispatchable once the blocker is done or canceled', async () => {
    const first = linear.createIssue({ teamKey: 'ENG', title: 'Schema migration', stateName: 'In Progress' });
    const second = linear.createIssue({ teamKey: 'ENG', title: 'Backfill', stateName: 'Backlog' });
    const issue = ready('Use the new column');
    await blocks(first.id, issue.id);
    await blocks(second.id, issue.id);

    const blocked = await judge.triageIssue(issue.id);
    expect(blocked).toMatchObject({ decision: 'escalate', overridable: false, category: 'blocked' });
    expect(blocked.blockedBy).toEqual([
      { id: first.id, key: first.key, state: 'In Progress' },
      { id: second.id, key: second.key, state: 'Backlog' },
    ]);
    expect(blocked.blockerCycle).toBeUndefined();

    linear.updateIssue(first.id, { stateName: 'Done' });
    expect((await judge.triageIssue(issue.id)).blockedBy).toEqual([{ id: second.id, key: second.key, state: 'Backlog' }]);
    linear.updateIssue(second.id, { stateName: 'Canceled' });
    const freed = await judge.triageIssue(issue.id);
    expect(freed).toMatchObject({ decision: 'dispatch', category: 'dispatchable' });
    expect(freed.blockedBy).toBeUndefined();
  });

  it('a cycle of blockers is named so it can be escalated rather than waited on', async () => {
    const a = ready('Move config to YAML');
    const b = ready('Drop the INI reader');
    const c = linear.createIssue({ teamKey: 'ENG', title: 'Document the config', stateName: 'Todo' });
    await blocks(a.id, b.id);
    await blocks(b.id, c.id);
    await blocks(c.id, a.id);
    const result = await judge.triageIssue(a.id);
    expect(result).toMatchObject({ decision: 'escalate', overridable: false, category: 'blocked' });
    expect(result.blockerCycle).toEqual([a.key, b.key, c.key, a.key]);
    expect(result.reason).toContain(`${a.key} blocks ${b.key} blocks ${c.key} blocks ${a.key}`);
    expect(result.reason).toMatch(/cycle of blockers .*Remove one of the "blocks" relations/);
  });
});

describe('graduation, counted from the forge', () => {
  let counter = 0;
  /** A factory PR for a fresh issue, merged by `by` (a human, or the factory's own login). */
  async function factoryPr(repo: string, by: string | null, title = `Factory change ${counter + 1}`): Promise<number> {
    counter += 1;
    const branch = branchForIssue(`ENG-${900 + counter}`, `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`);
    await github.commitFiles(repo, { branch, files: { [`change-${counter}.txt`]: `${counter}\n` }, message: title, user: BOT });
    const pr = (await github.openPull(repo, { head: branch, title, user: BOT })) as { number: number };
    if (by) await github.mergePull(repo, pr.number, { user: by });
    return pr.number;
  }

  it('counts factory PRs merged by a human with no follow-up fix, and says which did not count and why', async () => {
    const repo = 'acme/widgets';
    const byFactory = await factoryPr(repo, BOT);
    const clean = await factoryPr(repo, 'alice');
    const reverted = await factoryPr(repo, 'alice', 'Add the cache');
    const open = await factoryPr(repo, null);
    // A human's follow-up: GitHub's revert of the cache PR.
    await github.commitFiles(repo, { branch: 'revert-cache', files: { 'cache.txt': 'gone\n' }, message: 'Revert', user: 'alice' });
    const revert = (await github.openPull(repo, { head: 'revert-cache', title: 'Revert "Add the cache"', body: `Reverts acme/widgets#${reverted}`, user: 'alice' })) as { number: number };
    await github.mergePull(repo, revert.number, { user: 'alice' });

    const evidence = await judge.graduation(repo);
    expect(evidence).toMatchObject({ repo, merged: 1, needed: 3, graduated: false });
    expect(evidence.counted.map((c) => [c.number, c.mergedBy])).toEqual([[clean, 'alice']]);
    expect(evidence.excluded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ number: byFactory, why: `merged by the factory (${BOT}), not a human` }),
        expect.objectContaining({ number: reverted, why: `followed by a fix: #${revert.number} "Revert "Add the cache""` }),
      ]),
    );
    expect(evidence.excluded.map((e) => e.number)).not.toContain(open);

    // Until it graduates, the repo's issues route with mergePolicy never and say how far it is.
    const issue = ready('Page the widgets');
    const before = await judge.triageIssue(issue.id);
    expect(before).toMatchObject({ decision: 'dispatch', routing: { repo, mergePolicy: 'never' }, graduating: { repo, merged: 1, needed: 3 } });

    await factoryPr(repo, 'alice');
    await factoryPr(repo, 'alice');
    const after = await judge.triageIssue(issue.id);
    expect(after.routing?.mergePolicy).toBe('on-green-with-review');
    expect(after.graduating).toBeUndefined();
    expect((await judge.graduation(repo)).graduated).toBe(true);
  });

  it('a repo with graduation.cleanMerges 0 merges from its first PR', async () => {
    const issue = ready('Fresh repo change', ['fresh']);
    const result = await judge.triageIssue(issue.id);
    expect(result).toMatchObject({ routing: { repo: 'acme/fresh', mergePolicy: 'on-green-with-review' } });
    expect(result.graduating).toBeUndefined();
  });

  it('an issue whose factory PR is open is "has-pr", wherever routing sends it', async () => {
    const issue = ready('Already done');
    const branch = branchForIssue(issue.key, issue.id);
    await github.commitFiles('acme/widgets', { branch, files: { 'done.txt': 'x\n' }, message: 'Done', user: BOT });
    await github.openPull('acme/widgets', { head: branch, title: `${issue.key}: Already done`, user: BOT });
    expect(await judge.triageIssue(issue.id)).toMatchObject({ decision: 'ignore', category: 'has-pr' });
  });
});
