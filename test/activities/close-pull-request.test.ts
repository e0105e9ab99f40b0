// Closing a PR with a comment is two writes; an attempt that times out after GitHub took the
// comment is retried, and the retry must not say it twice (issue 12: "retried side effects
// repeat"). The real forge over the GitHub emulator, the real line activity, called twice.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLineActivities } from '../../src/activities/line-activities.js';
import { createRedactor } from '../../src/activities/redact.js';
import type { AgentRunner, Workspaces } from '../../src/integrations/agent.js';
import { createGitHubForge } from '../../src/integrations/github-forge.js';
import type { Tracker } from '../../src/integrations/tracker.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';
import { capturingLogger } from '../helpers/capture.js';
import { testFactoryConfig } from '../helpers/scripted-line.js';

const exec = promisify(execFile);
const TOKEN = 'ghs_sandboxTokenForCloseTests0123456789ab';
const unused = <T extends object>(name: string): T =>
  new Proxy({} as T, {
    get: (_target, property) => {
      if (property === 'then') return undefined;
      throw new Error(`closePullRequest does not use ${name}.${String(property)}`);
    },
  });

describe('closePullRequest, retried after its comment landed', () => {
  let root: string;
  let emulator: GitHubEmulator;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'conveyor-close-'));
    emulator = await startGitHubEmulator({ dataDir: join(root, 'data'), tokens: [TOKEN], ciDelayMs: 5 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('comments once and closes the PR, however many attempts run', async () => {
    await emulator.createRepo({ owner: 'acme', name: 'closing', files: { 'README.md': '# closing\n' } });
    const octokit = new Octokit({ auth: TOKEN, baseUrl: emulator.url });
    const forge = createGitHubForge({ token: TOKEN, baseUrl: emulator.url, gitBaseUrl: emulator.webUrl, retry: { unitMs: 10, spaceWrites: false } });
    // A factory branch with one commit, pushed over smart HTTP the way the factory pushes.
    const work = await mkdtemp(join(root, 'work-'));
    const git = async (args: string[]) => exec('git', args, { cwd: work, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...(await forge.gitAuthEnv()) } });
    await git(['clone', '--quiet', forge.cloneUrl('acme/closing'), '.']);
    await git(['checkout', '--quiet', '-b', 'conveyor/eng-5-x']);
    await writeFile(join(work, 'feature.txt'), 'feature\n');
    await git(['add', 'feature.txt']);
    await git(['-c', 'user.name=Agent', '-c', 'user.email=agent@example.com', 'commit', '--quiet', '-m', 'Add feature']);
    await git(['push', '--quiet', 'origin', 'conveyor/eng-5-x']);
    const { data: pr } = await octokit.rest.pulls.create({ owner: 'acme', repo: 'closing', head: 'conveyor/eng-5-x', base: 'main', title: 'ENG-5' });

    const activities = createLineActivities({
      factory: testFactoryConfig(),
      root: '/nonexistent',
      tracker: unused<Tracker>('Tracker'),
      forge,
      workspaces: unused<Workspaces>('Workspaces'),
      agents: unused<AgentRunner>('AgentRunner'),
      redact: createRedactor({ GITHUB_TOKEN: TOKEN }),
      logger: capturingLogger().logger,
    });
    const input = { repo: 'acme/closing', number: pr.number, comment: 'Synthetic end-to-end check passed; closed by Conveyor, never merged.' };
    await activities.closePullRequest(input);
    await activities.closePullRequest(input);

    const comments = (await octokit.rest.issues.listComments({ owner: 'acme', repo: 'closing', issue_number: pr.number })).data;
    expect(comments.map((c) => c.body?.split('\n\n<!--')[0])).toEqual([input.comment]);
    expect((await octokit.rest.pulls.get({ owner: 'acme', repo: 'closing', pull_number: pr.number })).data.state).toBe('closed');
  });
});
