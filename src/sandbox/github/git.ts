import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// Plumbing over the bare repositories. Every call isolates git from the host's config, so a
// developer's global hooks, signing or aliases can never change what the emulator does.

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const SANDBOX_IDENTITY = { name: 'GitHub Sandbox', email: 'noreply@sandbox.github.local' };

export function isolatedGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmpdir(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: SANDBOX_IDENTITY.name,
    GIT_AUTHOR_EMAIL: SANDBOX_IDENTITY.email,
    GIT_COMMITTER_NAME: SANDBOX_IDENTITY.name,
    GIT_COMMITTER_EMAIL: SANDBOX_IDENTITY.email,
    ...extra,
  };
}

export function runGit(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: isolatedGitEnv(options.env), stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (child.stdin) {
      // git may exit before reading its input; that is its answer, not our crash.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
  });
}

async function gitOk(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<string> {
  const result = await runGit(args, options);
  if (result.code !== 0) throw new Error(`git ${args[0] === '--git-dir' ? args.slice(2).join(' ') : args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** One bare repository on disk. */
export class BareRepo {
  constructor(readonly dir: string) {}

  private git(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<string> {
    return gitOk(['--git-dir', this.dir, ...args], options);
  }

  /** Creates the bare repo with one initial commit holding `files` on `defaultBranch`. */
  async create(defaultBranch: string, files: Record<string, string>): Promise<string> {
    await mkdir(dirname(this.dir), { recursive: true });
    await gitOk(['init', '--quiet', '--bare', '--initial-branch', defaultBranch, this.dir]);
    // Pushes arrive through git http-backend, which refuses receive-pack unless told.
    await this.git(['config', 'http.receivepack', 'true']);
    const work = await mkdtemp(join(tmpdir(), 'gh-sandbox-seed-'));
    try {
      for (const [path, content] of Object.entries(files)) {
        const target = join(work, path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content, { mode: path.endsWith('.sh') ? 0o755 : 0o644 });
      }
      // The index lives beside the seed tree, not in it, so it is never committed.
      const env = { GIT_INDEX_FILE: `${work}.index`, GIT_WORK_TREE: work };
      await this.git(['add', '--all', '--', '.'], { env });
      const tree = (await this.git(['write-tree'], { env })).trim();
      const commit = (await this.git(['commit-tree', tree, '-m', 'Initial commit'])).trim();
      await this.git(['update-ref', `refs/heads/${defaultBranch}`, commit]);
      return commit;
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(`${work}.index`, { force: true });
    }
  }

  /** One commit on `branch` (created from `from` when absent) that writes `files`; returns it.
   * For seeding history a human would have made; pushes from clients go through http-backend. */
  async commitFiles(input: { branch: string; from: string; files: Record<string, string>; message: string; author?: { name: string; email: string } }): Promise<string> {
    const parent = (await this.resolve(`refs/heads/${input.branch}`)) ?? (await this.resolve(`refs/heads/${input.from}`));
    if (!parent) throw new Error(`cannot commit to ${input.branch}: neither it nor ${input.from} exists`);
    const index = join(await mkdtemp(join(tmpdir(), 'gh-sandbox-index-')), 'index');
    try {
      const env = { GIT_INDEX_FILE: index, ...(input.author ? { GIT_AUTHOR_NAME: input.author.name, GIT_AUTHOR_EMAIL: input.author.email } : {}) };
      await this.git(['read-tree', parent], { env });
      for (const [path, content] of Object.entries(input.files)) {
        const blob = (await this.git(['hash-object', '-w', '--stdin'], { input: content })).trim();
        await this.git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
      }
      const tree = (await this.git(['write-tree'], { env })).trim();
      const commit = (await this.git(['commit-tree', tree, '-p', parent, '-m', input.message], { env })).trim();
      await this.git(['update-ref', `refs/heads/${input.branch}`, commit]);
      return commit;
    } finally {
      await rm(dirname(index), { recursive: true, force: true });
    }
  }

  /** The commit a ref, branch or SHA names, or null. */
  async resolve(ref: string): Promise<string | null> {
    const result = await runGit(['--git-dir', this.dir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  async branchHead(branch: string): Promise<string | null> {
    return this.resolve(`refs/heads/${branch}`);
  }

  async branchHeads(): Promise<Record<string, string>> {
    const out = await this.git(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/']);
    const heads: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const [sha, ref] = line.split(' ');
      if (sha && ref) heads[ref.slice('refs/heads/'.length)] = sha;
    }
    return heads;
  }

  /** Merges without a work tree; null tree when the two sides conflict. */
  async mergeTree(base: string, head: string): Promise<{ tree: string | null }> {
    const result = await runGit(['--git-dir', this.dir, 'merge-tree', '--write-tree', '--no-messages', base, head]);
    if (result.code === 0) return { tree: result.stdout.split('\n')[0]?.trim() ?? null };
    if (result.code === 1) return { tree: null };
    throw new Error(`git merge-tree failed: ${result.stderr.trim()}`);
  }

  async commitsBetween(base: string, head: string): Promise<number> {
    return Number((await this.git(['rev-list', '--count', `${base}..${head}`])).trim());
  }

  async diffStats(base: string, head: string): Promise<{ additions: number; deletions: number; changedFiles: number }> {
    const out = await this.git(['diff', '--numstat', `${base}...${head}`]);
    let additions = 0;
    let deletions = 0;
    let changedFiles = 0;
    for (const line of out.split('\n')) {
      const [added, deleted] = line.split('\t');
      if (added === undefined || deleted === undefined) continue;
      changedFiles += 1;
      additions += Number(added) || 0;
      deletions += Number(deleted) || 0;
    }
    return { additions, deletions, changedFiles };
  }

  /**
   * Writes a merge (two parents) or squash (one parent) commit and moves `branch` to it only
   * if the branch still points at `expectedBase`, the same compare-and-swap GitHub relies on.
   */
  async commitMerge(input: { branch: string; expectedBase: string; head: string; tree: string; message: string; squash: boolean; author: { name: string; email: string } }): Promise<string | null> {
    const parents = input.squash ? ['-p', input.expectedBase] : ['-p', input.expectedBase, '-p', input.head];
    const env = { GIT_AUTHOR_NAME: input.author.name, GIT_AUTHOR_EMAIL: input.author.email };
    const commit = (await this.git(['commit-tree', input.tree, ...parents, '-m', input.message], { env })).trim();
    const moved = await runGit(['--git-dir', this.dir, 'update-ref', `refs/heads/${input.branch}`, commit, input.expectedBase]);
    return moved.code === 0 ? commit : null;
  }

  async deleteBranch(branch: string): Promise<void> {
    await this.git(['update-ref', '-d', `refs/heads/${branch}`]);
  }

  async commitInfo(sha: string): Promise<{ sha: string; tree: string; parents: string[]; authorName: string; authorEmail: string; authorDate: string; committerName: string; committerEmail: string; committerDate: string; message: string }> {
    const out = await this.git(['show', '-s', '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B', sha]);
    const [hash = '', tree = '', parents = '', an = '', ae = '', ad = '', cn = '', ce = '', cd = '', ...message] = out.split('\0');
    return {
      sha: hash,
      tree,
      parents: parents.split(' ').filter(Boolean),
      authorName: an,
      authorEmail: ae,
      authorDate: ad,
      committerName: cn,
      committerEmail: ce,
      committerDate: cd,
      message: message.join('\0').trimEnd(),
    };
  }

  async log(ref: string): Promise<Array<{ sha: string; parents: string[]; message: string }>> {
    const out = await this.git(['log', '--format=%H%x00%P%x00%s%x1e', ref]);
    return out
      .split('\x1e')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const [sha = '', parents = '', message = ''] = entry.split('\0');
        return { sha, parents: parents.split(' ').filter(Boolean), message };
      });
  }

  /** A throwaway checkout of `sha` for simulated CI; the caller removes `dir`. */
  async checkout(sha: string, dir: string): Promise<void> {
    await gitOk(['clone', '--quiet', '--shared', '--no-checkout', this.dir, dir]);
    await gitOk(['-C', dir, 'checkout', '--quiet', '--detach', sha]);
  }
}
