// Retention of the agent runner's per-run files (issue 15: a host that runs agents for months
// must not fill its disk with prompts, logs and results). Real files in a temp dir, their ages
// set with utimes; `now` is passed in, so nothing here waits.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeRecord } from '../../src/integrations/agent-records.js';
import { lastAttempt, parseRunFileName, pruneRunFiles, type RunFilesPolicy } from '../../src/integrations/run-files.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const POLICY: RunFilesPolicy = { maxAgeMs: 14 * DAY, maxPerIssue: 20 };

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'conveyor-run-files-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A file under the root, last written `ageMs` before NOW. */
function file(path: string, ageMs: number, content = 'x'): void {
  const full = join(root, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
  const at = new Date(NOW - ageMs);
  utimesSync(full, at, at);
}

/** The three files of run `n` of `key`, as the runner leaves them, last written `ageMs` before NOW. */
function run(key: string, n: number, ageMs: number, sizes = { prompt: 10, log: 100, result: 30 }): void {
  file(`prompts/${key}-${n}.md`, ageMs, 'p'.repeat(sizes.prompt));
  file(`logs/${key}-${n}.log`, ageMs, 'l'.repeat(sizes.log));
  file(`results/${key}-${n}.json`, ageMs, 'r'.repeat(sizes.result));
}

function has(key: string, n: number): boolean {
  const present = [`prompts/${key}-${n}.md`, `logs/${key}-${n}.log`, `results/${key}-${n}.json`].map((path) => existsSync(join(root, path)));
  // A run's files go together or not at all.
  expect(new Set(present).size).toBe(1);
  return present[0]!;
}

/** The attempts of `key` whose files are still there, oldest first. */
function kept(key: string): number[] {
  return readdirSync(join(root, 'logs'))
    .map((name) => parseRunFileName(name, '.log'))
    .filter((run) => run?.key === key)
    .map((run) => run!.n)
    .sort((a, b) => a - b);
}

/** A record as the runner writes it while the agent of `key`'s attempt `attempt` runs. */
async function running(key: string, attempt: number): Promise<void> {
  mkdirSync(join(root, 'pids'), { recursive: true });
  await writeRecord(root, {
    key,
    attempt,
    pgid: 4242,
    leader: { pid: 4242, startTime: '1' },
    supervisor: { pid: 4241, startTime: '1' },
    host: 'test-host',
    worktree: join(root, 'worktrees', key),
    home: join(root, 'homes', `${key}-${attempt}`),
    resultFile: join(root, 'results', `${key}-${attempt}.json`),
    startedAt: new Date(NOW - 20 * DAY).toISOString(),
  });
}

describe('run file names', () => {
  it('reads the attempt from the right, since issue keys hold dashes and digits', () => {
    expect(parseRunFileName('eng-12-3.log', '.log')).toEqual({ key: 'eng-12', n: 3 });
    expect(parseRunFileName('eng-12-30.md', '.md')).toEqual({ key: 'eng-12', n: 30 });
    expect(parseRunFileName('team2-7-1.json', '.json')).toEqual({ key: 'team2-7', n: 1 });
    // Not run files: another ending, no attempt, attempt 0, a repo hook's log (a timestamp, not an attempt).
    expect(parseRunFileName('eng-12-3.md', '.log')).toBeNull();
    expect(parseRunFileName('eng12.json', '.json')).toBeNull();
    expect(parseRunFileName('eng-12-0.log', '.log')).toBeNull();
    expect(parseRunFileName('eng-12-hook-before-run-1764590400000.log', '.log')).toBeNull();
    expect(parseRunFileName('notes.txt', '.log')).toBeNull();
  });

  it("finds a key's last attempt without mistaking a longer key that starts the same", () => {
    const names = ['eng-1-2.log', 'eng-1-9.log', 'eng-12-40.log', 'eng-1-hook-after-run-1764590400000.log', 'eng-1-3.log.tmp'];
    expect(lastAttempt(names, 'eng-1')).toBe(9);
    expect(lastAttempt(names, 'eng-12')).toBe(40);
    expect(lastAttempt(names, 'eng-7')).toBe(0);
  });
});

describe('pruning run files', () => {
  it('removes the runs last written more than maxAge ago and reports the files and bytes that went', async () => {
    run('eng-7', 1, 30 * DAY);
    run('eng-7', 2, 15 * DAY);
    run('eng-7', 3, 13 * DAY);
    run('eng-7', 4, 1 * HOUR);
    run('ops-3', 1, 20 * DAY, { prompt: 1, log: 2, result: 3 });

    const report = await pruneRunFiles(root, POLICY, NOW);

    expect(kept('eng-7')).toEqual([3, 4]);
    expect(has('eng-7', 1)).toBe(false);
    expect(has('ops-3', 1)).toBe(false);
    expect(report).toMatchObject({ expiredRuns: 3, overCapRuns: 0, files: 9, bytes: 2 * (10 + 100 + 30) + (1 + 2 + 3) });
    expect([...report.removed].sort()).toEqual(['logs/eng-7-1.log', 'logs/eng-7-2.log', 'logs/ops-3-1.log', 'prompts/eng-7-1.md', 'prompts/eng-7-2.md', 'prompts/ops-3-1.md', 'results/eng-7-1.json', 'results/eng-7-2.json', 'results/ops-3-1.json']);

    // A second pass finds nothing more to do.
    expect(await pruneRunFiles(root, POLICY, NOW)).toMatchObject({ expiredRuns: 0, overCapRuns: 0, files: 0, bytes: 0 });
  });

  it('keeps only the maxPerIssue newest runs of each issue, however young the older ones are', async () => {
    for (let n = 1; n <= 25; n += 1) run('eng-7', n, (26 - n) * HOUR);
    for (let n = 1; n <= 3; n += 1) run('eng-8', n, HOUR);

    const report = await pruneRunFiles(root, POLICY, NOW);

    expect(kept('eng-7')).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    expect(kept('eng-8')).toEqual([1, 2, 3]);
    expect(report).toMatchObject({ expiredRuns: 0, overCapRuns: 5, files: 15 });
  });

  it('orders runs by attempt number, so run 10 is newer than run 9, and counts keys that share a prefix apart', async () => {
    for (let n = 1; n <= 10; n += 1) run('eng-1', n, HOUR);
    for (let n = 1; n <= 3; n += 1) run('eng-12', n, HOUR);
    run('eng-12-3', 1, HOUR); // a key of its own, whose name reads like run 3 of eng-12 followed by more

    await pruneRunFiles(root, { maxAgeMs: 14 * DAY, maxPerIssue: 2 }, NOW);

    expect(kept('eng-1')).toEqual([9, 10]);
    expect(kept('eng-12')).toEqual([2, 3]);
    expect(kept('eng-12-3')).toEqual([1]);
  });

  it("never removes the files of a run whose agent still runs, however old or far past the cap", async () => {
    run('eng-7', 1, 20 * DAY);
    run('eng-7', 2, 20 * DAY);
    run('eng-7', 3, 20 * DAY); // a long run: its prompt and result were written when it started
    await running('eng-7', 3);
    run('eng-9', 1, 20 * DAY);
    run('eng-9', 2, 1 * HOUR);
    await running('eng-9', 1); // a stale record kept by the reaper's rules; its attempt stays too

    const report = await pruneRunFiles(root, { maxAgeMs: 14 * DAY, maxPerIssue: 1 }, NOW);

    expect(kept('eng-7')).toEqual([3]);
    expect(kept('eng-9')).toEqual([1, 2]);
    expect(report).toMatchObject({ expiredRuns: 0, overCapRuns: 2 });
    expect(existsSync(join(root, 'pids', 'eng-7.json'))).toBe(true);
  });

  it("keeps every run of an issue whose running-agent record cannot be read, rather than guess which attempt runs", async () => {
    run('eng-7', 1, 20 * DAY);
    run('eng-7', 2, 20 * DAY);
    file('pids/eng-7.json', 0, '{ "key": "eng-7", "attem');
    run('eng-8', 1, 20 * DAY);

    await pruneRunFiles(root, POLICY, NOW);

    expect(kept('eng-7')).toEqual([1, 2]);
    expect(kept('eng-8')).toEqual([]);
  });

  it('leaves every other file in those folders alone, repo hook logs included, and the homes, worktrees and pid files beside them', async () => {
    const others = [
      'logs/eng-7-hook-before-run-1764590400000.log',
      'logs/notes.txt',
      'logs/eng-7-1.log.tmp',
      'logs/eng-7-0.log',
      'prompts/README.md.bak',
      'prompts/eng-7-1.txt',
      'results/eng-7-x.json',
      'homes/eng-7-1/.bashrc',
      'worktrees/eng-7/README.md',
      'pids/eng-7.pid',
    ];
    for (const path of others) file(path, 400 * DAY);
    run('eng-7', 1, 400 * DAY);

    const report = await pruneRunFiles(root, POLICY, NOW);

    expect(report.removed.sort()).toEqual(['logs/eng-7-1.log', 'prompts/eng-7-1.md', 'results/eng-7-1.json']);
    for (const path of others) expect(existsSync(join(root, path)), path).toBe(true);
  });

  it('removes what a run left when it did not leave all three files', async () => {
    file('logs/eng-7-1.log', 20 * DAY); // cancelled before the prompt was written
    file('prompts/eng-7-2.md', 20 * DAY); // its log already gone
    file('logs/eng-7-3.log', HOUR);

    const report = await pruneRunFiles(root, POLICY, NOW);

    expect(report.removed.sort()).toEqual(['logs/eng-7-1.log', 'prompts/eng-7-2.md']);
    expect(existsSync(join(root, 'logs/eng-7-3.log'))).toBe(true);
  });

  it('is fine with a root where no agent ran yet, or only some of the folders exist', async () => {
    expect(await pruneRunFiles(join(root, 'not-there'), POLICY, NOW)).toEqual({ expiredRuns: 0, overCapRuns: 0, files: 0, bytes: 0, removed: [] });
    file('logs/eng-7-1.log', 20 * DAY);
    expect(await pruneRunFiles(root, POLICY, NOW)).toMatchObject({ expiredRuns: 1, files: 1, removed: ['logs/eng-7-1.log'] });
  });
});
