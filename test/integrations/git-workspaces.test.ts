import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Worktree } from '../../src/integrations/agent.js';
import { IntegrationError } from '../../src/integrations/errors.js';
import { createGitWorkspaces } from '../../src/integrations/git-workspaces.js';
import { createTestRemote, eventually, git, isAlive, type TestRemote } from '../helpers/git-remote.js';

// Worktrees over real git repositories in temp dirs. Guards the peers' reports of "tokens
// readable by the agent" (the credential never lands in any config the agent can read) and
// "sessions orphaned" (remove kills what still runs in the worktree and can be repeated).

const REPO = 'acme/widgets';
const BRANCH = 'conveyor/eng-12-abc123';
const SECRET = 'X-Test: s3cr3t-header-value';

let tmp: string;
let root: string;
let remote: TestRemote;
const spawned: number[] = [];

beforeEach(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'conveyor-ws-')));
  root = join(tmp, 'workspaces');
  remote = createTestRemote(tmp);
});

afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone, as the test expected.
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function input(overrides: Partial<Parameters<ReturnType<typeof createGitWorkspaces>['prepare']>[0]> = {}) {
  return { repo: REPO, cloneUrl: remote.url, authEnv: {}, branch: BRANCH, baseBranch: 'main', key: 'ENG-12', ...overrides };
}

function head(worktree: Worktree): string {
  return git(worktree.path, 'rev-parse', 'HEAD');
}

/**
 * A fetch URL for the test remote through a transport that records when each fetch starts, has
 * served the refs and the pack, and ends: it stays in flight a while after serving.
 */
function slowTransport(): { remote: { cloneUrl: string; authEnv: Record<string, string> }; trace: () => string; servedInFlight: () => boolean } {
  const trace = join(tmp, 'fetches.log');
  const transport = join(tmp, 'slow-transport.sh');
  writeFileSync(transport, `#!/bin/sh\necho start >> ${trace}\n"$1" "$2"\nstatus=$?\necho served >> ${trace}\nsleep 0.3\necho end >> ${trace}\nexit $status\n`, { mode: 0o755 });
  return {
    remote: { cloneUrl: `ext::${transport} %S ${remote.bare}`, authEnv: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.ext.allow', GIT_CONFIG_VALUE_0: 'always' } },
    trace: () => readFileSync(trace, 'utf8'),
    servedInFlight: () => {
      const lines = existsSync(trace) ? readFileSync(trace, 'utf8').split('\n') : [];
      return lines.filter((line) => line === 'served').length > lines.filter((line) => line === 'end').length;
    },
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('git workspaces', () => {
  it('creates the branch from origin/main, and the credential reaches the fetch but no config or log', async () => {
    const lines: string[] = [];
    const record = (fields: Record<string, unknown>, message: string): void => void lines.push(JSON.stringify(fields) + message);
    const workspaces = createGitWorkspaces({ root, logger: { info: record, warn: record } });
    // The clone URL only resolves through the rewrite carried in authEnv: the fetch succeeding
    // proves authEnv reached it.
    const alias = 'file:///nonexistent-conveyor-remote/widgets.git';
    const authEnv = {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: SECRET,
      GIT_CONFIG_KEY_1: `url.${remote.url}.insteadOf`,
      GIT_CONFIG_VALUE_1: alias,
    };

    const worktree = await workspaces.prepare(input({ cloneUrl: alias, authEnv }));

    expect(worktree).toEqual({ path: join(root, 'worktrees', 'eng-12'), branch: BRANCH, baseRef: 'refs/remotes/origin/main' });
    expect(git(worktree.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(BRANCH);
    expect(head(worktree)).toBe(remote.head('main'));
    expect(readFileSync(join(worktree.path, 'README.md'), 'utf8')).toBe('# widgets\n');

    const mirror = join(root, 'mirrors', 'acme', 'widgets.git');
    const everyConfig = git(worktree.path, 'config', '--list', '--show-origin');
    for (const text of [readFileSync(join(mirror, 'config'), 'utf8'), everyConfig, lines.join('\n')].map((t) => t.toLowerCase())) {
      expect(text).not.toContain('s3cr3t');
      expect(text).not.toContain('insteadof');
      expect(text).not.toContain('nonexistent-conveyor-remote');
    }
    expect(git(mirror, 'remote')).toBe('');
    expect(process.env.GIT_CONFIG_COUNT).toBeUndefined();
  });

  it('names the repo and the branch when the base branch is missing, as a logic error', async () => {
    const workspaces = createGitWorkspaces({ root });
    const failure = await workspaces.prepare(input({ baseBranch: 'develop' })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IntegrationError);
    expect((failure as IntegrationError).failureClass).toBe('logic');
    expect((failure as IntegrationError).message).toContain(REPO);
    expect((failure as IntegrationError).message).toContain('"develop"');
  });

  it('reports an unreachable host as transient without the credential', async () => {
    const workspaces = createGitWorkspaces({ root });
    const port = await closedPort();
    const failure = await workspaces
      .prepare(input({ cloneUrl: `http://conveyor:pw-secret-1@127.0.0.1:${port}/acme/widgets.git`, authEnv: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: 'Authorization: Bearer topsecret-token-123' } }))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IntegrationError);
    expect((failure as IntegrationError).failureClass).toBe('transient');
    expect((failure as IntegrationError).message).toContain(REPO);
    expect((failure as IntegrationError).message).not.toContain('topsecret');
    expect((failure as IntegrationError).message).not.toContain('pw-secret-1');
  });

  it('when the fetch fails, still finishes clearing the worktree before it answers', async () => {
    const workspaces = createGitWorkspaces({ root });
    await workspaces.prepare(input());
    // A pid file left by a crashed worker: prepare stops that agent and deletes the file,
    // beside the fetch; a failing fetch must not return (and let go of the worktree) first.
    mkdirSync(join(root, 'pids'), { recursive: true });
    writeFileSync(join(root, 'pids', 'eng-12.pid'), '999999999\n');

    const failure = await workspaces.prepare(input({ cloneUrl: `http://127.0.0.1:${await closedPort()}/acme/widgets.git` })).catch((error: unknown) => error);

    expect((failure as IntegrationError).failureClass).toBe('transient');
    expect(existsSync(join(root, 'pids', 'eng-12.pid'))).toBe(false);
  });

  it('continues the remote branch on a re-dispatch', async () => {
    const earlier = remote.push(BRANCH, { 'docs/first.md': 'first attempt\n' }, 'First attempt');
    const workspaces = createGitWorkspaces({ root });

    const worktree = await workspaces.prepare(input());

    expect(head(worktree)).toBe(earlier);
    expect(readFileSync(join(worktree.path, 'docs/first.md'), 'utf8')).toBe('first attempt\n');
    await expect(workspaces.finalize(worktree, 'unused')).resolves.toEqual({ commitsAhead: 1, headSha: earlier, subjects: ['First attempt'] });
  });

  it('reuses the worktree after stopping an orphaned agent and resetting what the last attempt left', async () => {
    const workspaces = createGitWorkspaces({ root });
    const first = await workspaces.prepare(input());
    writeFileSync(join(first.path, 'README.md'), 'scribbled\n');
    writeFileSync(join(first.path, 'junk.txt'), 'junk\n');
    git(first.path, 'commit', '--quiet', '-am', 'unpushed local commit');
    writeFileSync(join(first.path, 'untracked.txt'), 'left over\n');
    const pushed = remote.push(BRANCH, { 'docs/pushed.md': 'pushed\n' }, 'Pushed meanwhile');
    // An agent orphaned by a crashed worker, still running in the checkout.
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: first.path, detached: true, stdio: 'ignore' });
    spawned.push(orphan.pid as number);
    expect(await eventually(() => isAlive(orphan.pid as number))).toBe(true);

    const second = await workspaces.prepare(input());

    expect(await eventually(() => !isAlive(orphan.pid as number))).toBe(true);

    expect(second.path).toBe(first.path);
    expect(head(second)).toBe(pushed);
    expect(readFileSync(join(second.path, 'README.md'), 'utf8')).toBe('# widgets\n');
    expect(existsSync(join(second.path, 'junk.txt'))).toBe(false);
    expect(existsSync(join(second.path, 'untracked.txt'))).toBe(false);
    expect(git(second.path, 'status', '--porcelain')).toBe('');
  });

  it('commits what the agent left uncommitted, as Conveyor, and reports the commits ahead of base', async () => {
    const workspaces = createGitWorkspaces({ root });
    const worktree = await workspaces.prepare(input());
    writeFileSync(join(worktree.path, 'agent.txt'), 'committed by the agent\n');
    git(worktree.path, 'add', 'agent.txt');
    git(worktree.path, 'commit', '--quiet', '-m', 'Agent commit');
    writeFileSync(join(worktree.path, 'README.md'), '# widgets\n\nedited\n');
    mkdirSync(join(worktree.path, 'src'));
    writeFileSync(join(worktree.path, 'src', 'new.ts'), 'export {};\n');

    const result = await workspaces.finalize(worktree, 'Conveyor: finish ENG-12');

    expect(result).toEqual({ commitsAhead: 2, headSha: head(worktree), subjects: ['Agent commit', 'Conveyor: finish ENG-12'] });
    expect(git(worktree.path, 'log', '-1', '--format=%an <%ae>')).toBe('Conveyor <conveyor@users.noreply.local>');
    expect(git(worktree.path, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual(['README.md', 'src/new.ts']);
    expect(git(worktree.path, 'status', '--porcelain')).toBe('');
    // Nothing left to commit: finalizing again changes nothing.
    await expect(workspaces.finalize(worktree, 'again')).resolves.toEqual(result);
  });

  it('reports no commits when the agent changed nothing', async () => {
    const workspaces = createGitWorkspaces({ root });
    const worktree = await workspaces.prepare(input());
    await expect(workspaces.finalize(worktree, 'nothing')).resolves.toEqual({ commitsAhead: 0, headSha: remote.head('main'), subjects: [] });
  });

  it('removes the worktree, kills what still runs in it, and can be repeated', async () => {
    const workspaces = createGitWorkspaces({ root });
    const worktree = await workspaces.prepare(input());
    const mirror = join(root, 'mirrors', 'acme', 'widgets.git');
    const forever = ['-e', 'setInterval(() => {}, 1000)'];
    // One process known from the runner's pid file, one found only by its working directory.
    const agent = spawn(process.execPath, forever, { cwd: worktree.path, detached: true, stdio: 'ignore', env: { ...process.env, CONVEYOR_WORKTREE: worktree.path } });
    mkdirSync(join(worktree.path, 'sub'));
    const wanderer = spawn(process.execPath, forever, { cwd: join(worktree.path, 'sub'), detached: true, stdio: 'ignore' });
    const pids = [agent.pid as number, wanderer.pid as number];
    spawned.push(...pids);
    mkdirSync(join(root, 'pids'), { recursive: true });
    writeFileSync(join(root, 'pids', 'eng-12.pid'), `${agent.pid}\n`);
    expect(await eventually(() => pids.every(isAlive))).toBe(true);

    await workspaces.remove({ repo: REPO, branch: BRANCH, key: 'ENG-12' });

    expect(await eventually(() => !pids.some(isAlive))).toBe(true);
    expect(existsSync(worktree.path)).toBe(false);
    expect(existsSync(join(root, 'pids', 'eng-12.pid'))).toBe(false);
    expect(git(mirror, 'worktree', 'list', '--porcelain')).not.toContain(worktree.path);
    expect(git(mirror, 'branch', '--list', BRANCH)).toBe('');
    expect(readdirSync(join(root, 'trash'))).toEqual([]);

    await workspaces.remove({ repo: REPO, branch: BRANCH, key: 'ENG-12' });
    await workspaces.remove({ repo: REPO, branch: 'conveyor/eng-99-never', key: 'ENG-99' });
    await workspaces.remove({ repo: 'acme/never-fetched', branch: BRANCH, key: 'ENG-12' });
    const again = await workspaces.prepare(input());
    expect(head(again)).toBe(remote.head('main'));
  });

  it('never runs two fetches into one mirror at once, and concurrent prepares share them', async () => {
    const slow = slowTransport();
    const workspaces = createGitWorkspaces({ root });
    const keys = ['ENG-1', 'ENG-2', 'ENG-3'];

    const worktrees = await Promise.all(keys.map((key) => workspaces.prepare(input({ key, branch: `conveyor/${key.toLowerCase()}-id`, ...slow.remote }))));

    expect(worktrees.map((w) => git(w.path, 'rev-parse', '--abbrev-ref', 'HEAD'))).toEqual(keys.map((key) => `conveyor/${key.toLowerCase()}-id`));
    // All three ask before the first fetch can end: that one, and at most one after it.
    expect(slow.trace()).toMatch(/^(start\nserved\nend\n){1,2}$/);
  });

  it('gives each of 5 concurrent prepares of one repo what was pushed before it was called', async () => {
    // Each issue's branch is pushed just before its prepare is called, while a fetch that has
    // already read the remote's refs is still in flight (the transport lingers after serving):
    // a prepare that rode on that fetch would start from main instead of its branch.
    const slow = slowTransport();
    const workspaces = createGitWorkspaces({ root });
    const calls: { branch: string; pushed: string; prepared: Promise<Worktree> }[] = [];
    let pending = 0;

    for (const n of [1, 2, 3, 4, 5]) {
      if (n > 1) expect(await eventually(() => slow.servedInFlight() || pending === 0)).toBe(true);
      const branch = `conveyor/eng-${n}-id`;
      const pushed = remote.push(branch, { [`docs/eng-${n}.md`]: `attempt ${n}\n` }, `ENG-${n} earlier attempt`);
      pending += 1;
      const prepared = workspaces.prepare(input({ key: `ENG-${n}`, branch, ...slow.remote })).finally(() => (pending -= 1));
      calls.push({ branch, pushed, prepared });
    }
    const worktrees = await Promise.all(calls.map((call) => call.prepared));

    expect(worktrees.map(head)).toEqual(calls.map((call) => call.pushed));
    expect(worktrees.map((w) => git(w.path, 'rev-parse', '--abbrev-ref', 'HEAD'))).toEqual(calls.map((call) => call.branch));
    expect(slow.trace()).toMatch(/^(start\nserved\nend\n){1,5}$/);
  });

  it('prepares again after the worktree directory was deleted by hand, even with its registration locked', async () => {
    const workspaces = createGitWorkspaces({ root });
    const mirror = join(root, 'mirrors', 'acme', 'widgets.git');
    const first = await workspaces.prepare(input());
    const locked = await workspaces.prepare(input({ key: 'ENG-13', branch: 'conveyor/eng-13-def456' }));
    git(mirror, 'worktree', 'lock', locked.path);
    rmSync(first.path, { recursive: true, force: true });
    rmSync(locked.path, { recursive: true, force: true });
    // Git still has both registered, each holding its branch.
    expect(git(mirror, 'worktree', 'list', '--porcelain')).toContain(`worktree ${first.path}`);
    const pushed = remote.push('main', { 'docs/later.md': 'later\n' }, 'Later on main');

    const again = await workspaces.prepare(input());
    const lockedAgain = await workspaces.prepare(input({ key: 'ENG-13', branch: 'conveyor/eng-13-def456' }));

    for (const worktree of [again, lockedAgain]) {
      expect(head(worktree)).toBe(pushed);
      expect(git(worktree.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(worktree.branch);
      expect(git(worktree.path, 'status', '--porcelain')).toBe('');
    }
    const listing = git(mirror, 'worktree', 'list', '--porcelain');
    expect(listing.split('\n').filter((line) => line === `worktree ${again.path}`)).toHaveLength(1);
    expect(listing).not.toContain('prunable');
  });

  it('reuseWithinMs hands back the worktree it just prepared, without fetching', async () => {
    const workspaces = createGitWorkspaces({ root, now: () => 1_000 });
    const mirror = join(root, 'mirrors', 'acme', 'widgets.git');
    const first = await workspaces.prepare(input());
    const prepared = head(first);
    const pushed = remote.push('main', { 'docs/meanwhile.md': 'meanwhile\n' }, 'Pushed meanwhile');

    const reused = await workspaces.prepare(input({ reuseWithinMs: 60_000 }));

    expect(reused).toEqual({ ...first, reused: true });
    expect(head(reused)).toBe(prepared);
    // Not fetched: the mirror has not heard of the push either.
    expect(git(mirror, 'rev-parse', 'refs/remotes/origin/main')).toBe(prepared);

    const full = await workspaces.prepare(input());
    expect(full.path).toBe(first.path);
    expect(head(full)).toBe(pushed);
  });

  it('reuseWithinMs prepares in full after HEAD moved, files changed, an agent started, the window passed, or one reuse', async () => {
    let clock = 0;
    const workspaces = createGitWorkspaces({ root, now: () => clock });
    const reuse = input({ reuseWithinMs: 60_000 });
    /** A full prepare, a change, a push; then whether prepare(reuse) fetched (got the push) and undid the change. */
    async function fetchesAfter(change: (worktree: Worktree) => void): Promise<boolean> {
      const worktree = await workspaces.prepare(input());
      change(worktree);
      const pushed = remote.push('main', { 'docs/push.md': `${Math.random()}\n` }, 'Another push');
      const again = await workspaces.prepare(reuse);
      expect(git(again.path, 'status', '--porcelain', '--ignored')).toBe('');
      return head(again) === pushed;
    }

    expect(await fetchesAfter((worktree) => git(worktree.path, 'commit', '--quiet', '--allow-empty', '-m', 'the agent committed'))).toBe(true);
    expect(await fetchesAfter((worktree) => git(worktree.path, 'checkout', '--quiet', '--detach'))).toBe(true);
    expect(await fetchesAfter((worktree) => writeFileSync(join(worktree.path, 'scratch.txt'), 'left behind\n'))).toBe(true);
    expect(await fetchesAfter((worktree) => writeFileSync(join(worktree.path, 'README.md'), 'edited\n'))).toBe(true);
    expect(
      await fetchesAfter(() => {
        mkdirSync(join(root, 'pids'), { recursive: true });
        writeFileSync(join(root, 'pids', 'eng-12.pid'), '999999999\n');
      }),
    ).toBe(true);
    expect(
      await fetchesAfter(() => {
        clock += 60_000;
      }),
    ).toBe(true);
    // Unchanged and in time, it is reused, but once only.
    expect(await fetchesAfter(() => {})).toBe(false);
    const pushed = remote.push('main', { 'docs/push.md': 'last\n' }, 'Last push');
    expect(head(await workspaces.prepare(reuse))).toBe(pushed);
    // Another key, branch or base is not the same request.
    await workspaces.prepare(input());
    const other = remote.push('main', { 'docs/push.md': 'other\n' }, 'Other push');
    expect(head(await workspaces.prepare({ ...reuse, branch: 'conveyor/eng-12-other' }))).toBe(other);
  });
  it('a worktree prepared ahead by triage is taken by the dispatch\'s own prepare, as not yet handed out, without a second fetch', async () => {
    const slow = slowTransport();
    const workspaces = createGitWorkspaces({ root });
    const fetches = () => slow.trace().split('\n').filter((line) => line === 'start').length;
    const pushed = remote.push('main', { 'docs/before-triage.md': 'pushed before the issue was judged ready\n' }, 'Before triage');

    workspaces.prepareAhead!(input(slow.remote));
    // Called while the one ahead still runs: it waits for it, then takes its worktree.
    const taken = await workspaces.prepare(input({ ...slow.remote, reuseWithinMs: 60_000 }));

    expect(fetches()).toBe(1);
    expect(head(taken)).toBe(pushed);
    // Not `reused`: the after-create hook has not run on it, so the caller runs it.
    expect(taken.reused).toBe(false);
    expect(git(taken.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(BRANCH);

    // Taken once: the next prepare fetches and resets in full.
    const later = remote.push('main', { 'docs/later.md': 'pushed later\n' }, 'Later');
    const again = await workspaces.prepare(input({ ...slow.remote, reuseWithinMs: 60_000 }));
    expect(fetches()).toBe(2);
    expect(head(again)).toBe(later);
  });

  it('a prepare without reuseWithinMs, or after a failed prepare ahead, prepares in full', async () => {
    const workspaces = createGitWorkspaces({ root });
    workspaces.prepareAhead!(input({ cloneUrl: `http://127.0.0.1:${await closedPort()}/acme/widgets.git` }));
    const worktree = await workspaces.prepare(input({ reuseWithinMs: 60_000 }));
    expect(head(worktree)).toBe(remote.head('main'));
    expect(worktree.reused).toBeUndefined();

    workspaces.prepareAhead!(input());
    const pushed = remote.push('main', { 'docs/after.md': 'pushed after the prepare ahead\n' }, 'After');
    expect(head(await workspaces.prepare(input()))).toBe(pushed);
  });
});
