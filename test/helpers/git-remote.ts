import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

// A bare "remote" repository in a temp dir, with an initial commit on main, and a seed clone to
// push further commits to it, as another developer (or an earlier attempt) would.

const IDENTITY = ['-c', 'user.name=Test Dev', '-c', 'user.email=dev@example.test', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface TestRemote {
  /** file:// URL of the bare repository. */
  url: string;
  bare: string;
  /** Commits `files` on `branch` (created from main when new) and pushes it; returns the SHA. */
  push(branch: string, files: Record<string, string>, message: string): string;
  head(branch: string): string;
}

export function createTestRemote(dir: string): TestRemote {
  const bare = join(dir, 'remote', 'widgets.git');
  const seed = join(dir, 'seed');
  mkdirSync(dirname(bare), { recursive: true });
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(dir, 'init', '--quiet', '--initial-branch=main', seed);
  writeFileSync(join(seed, 'README.md'), '# widgets\n');
  git(seed, 'add', 'README.md');
  git(seed, 'commit', '--quiet', '-m', 'Initial commit');
  git(seed, 'push', '--quiet', bare, 'main');

  return {
    url: pathToFileURL(bare).href,
    bare,
    push(branch, files, message) {
      const exists = git(bare, 'branch', '--list', branch) !== '';
      git(seed, 'fetch', '--quiet', bare, `+refs/heads/*:refs/remotes/origin/*`);
      git(seed, 'checkout', '--quiet', '-B', branch, exists ? `origin/${branch}` : 'origin/main');
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(seed, path)), { recursive: true });
        writeFileSync(join(seed, path), content);
        git(seed, 'add', path);
      }
      git(seed, 'commit', '--quiet', '-m', message);
      git(seed, 'push', '--quiet', bare, `HEAD:refs/heads/${branch}`);
      return git(seed, 'rev-parse', 'HEAD');
    },
    head(branch) {
      return git(bare, 'rev-parse', `refs/heads/${branch}`);
    },
  };
}

/** Whether a pid is a live process: a zombie (dead, not yet reaped by its parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => boolean, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
