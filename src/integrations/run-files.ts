import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readRecords } from './agent-records.js';

// Retention of the files the agent runner keeps per run (agent-process.ts):
//   prompts/<key>-<n>.md   logs/<key>-<n>.log   results/<key>-<n>.json
// They are kept on purpose (an escalation points a human at a run's log), but without a limit a
// host that runs agents for months fills its disk. A run's files go together once the run is
// older than `maxAgeMs` or is not among the `maxPerIssue` newest runs of its key; the files of a
// run whose agent still runs (pids/<key>.json names that attempt) are never touched.
//
// Cheap on a big folder: one readdir per folder, names parsed without a stat; only runs that may
// go are stat'ed. Within a key the runner numbers runs in the order they start and one run ends
// before the next starts (one worktree, one agent), so a run's age never exceeds an older one's:
// runs past the cap go without looking at their age, and the age check walks the rest from the
// oldest and stops at the first run young enough to keep.

export interface RunFilesPolicy {
  /** A finished run's files are removed this long after they were last written (`agents.runFiles.maxAge`). */
  maxAgeMs: number;
  /** The newest runs kept per issue key whatever their age allows (`agents.runFiles.maxPerIssue`). */
  maxPerIssue: number;
}

export interface RunFilesReport {
  /** Runs whose files were removed, by why: past `maxAgeMs`, or older than the `maxPerIssue` newest of their key. */
  expiredRuns: number;
  overCapRuns: number;
  files: number;
  bytes: number;
  /** The removed files, relative to the root (`logs/eng-7-1.log`): for tests and callers, never logged whole. */
  removed: string[];
}

/** The folders of a run's files and the ending of each; nothing else in them is a run file. */
export const RUN_FILE_FOLDERS = [
  { folder: 'prompts', ext: '.md' },
  { folder: 'logs', ext: '.log' },
  { folder: 'results', ext: '.json' },
] as const;

/** Repo hook logs share logs/ (`<key>-hook-<name>-<ms>.log`, repo-hooks.ts): they are not agent runs. */
const HOOK_LOG = /-hook-[a-z-]+-\d+\.log$/;

/**
 * The key and attempt of a run file's name, or null for any other name. Keys hold dashes and
 * digits (`eng-12`), so the attempt is the last dash-separated part: `eng-12-3.log` is run 3 of
 * `eng-12`.
 */
export function parseRunFileName(name: string, ext: string): { key: string; n: number } | null {
  if (!name.endsWith(ext)) return null;
  if (ext === '.log' && HOOK_LOG.test(name)) return null;
  const match = /^(.+)-([1-9]\d{0,8})$/.exec(name.slice(0, -ext.length));
  if (!match) return null;
  return { key: match[1]!, n: Number(match[2]) };
}

/** The highest attempt of `key` among `names` (a listing of logs/), 0 when there is none. */
export function lastAttempt(names: readonly string[], key: string): number {
  let last = 0;
  for (const name of names) {
    const run = name.startsWith(`${key}-`) ? parseRunFileName(name, '.log') : null;
    if (run !== null && run.key === key && run.n > last) last = run.n;
  }
  return last;
}

interface Run {
  n: number;
  /** Paths relative to the root. */
  files: string[];
}

async function listRuns(root: string): Promise<Map<string, Run[]>> {
  const byKey = new Map<string, Map<number, Run>>();
  for (const { folder, ext } of RUN_FILE_FOLDERS) {
    // A folder that does not exist yet (no agent ran here) has nothing to prune.
    const names = await readdir(join(root, folder)).catch(() => [] as string[]);
    for (const name of names) {
      const parsed = parseRunFileName(name, ext);
      if (parsed === null) continue;
      const runs = byKey.get(parsed.key) ?? new Map<number, Run>();
      byKey.set(parsed.key, runs);
      const run = runs.get(parsed.n) ?? { n: parsed.n, files: [] };
      runs.set(parsed.n, run);
      run.files.push(join(folder, name));
    }
  }
  // Newest first.
  return new Map([...byKey].map(([key, runs]) => [key, [...runs.values()].sort((a, b) => b.n - a.n)]));
}

/** The attempts whose agents still run, and the keys whose record cannot be read (all their runs are kept). */
async function runningAttempts(root: string): Promise<{ running: Set<string>; unreadableKeys: Set<string> }> {
  const { records, malformed } = await readRecords(root);
  return {
    running: new Set(records.map((record) => `${record.key}\n${record.attempt}`)),
    unreadableKeys: new Set(malformed.map((file) => basename(file, '.json'))),
  };
}

/** Sizes and the latest write of a run's files; files gone meanwhile are left out. */
async function statRun(root: string, run: Run): Promise<{ files: { path: string; size: number }[]; lastWrittenMs: number }> {
  const files: { path: string; size: number }[] = [];
  let lastWrittenMs = 0;
  for (const path of run.files) {
    const info = await stat(join(root, path)).catch(() => null);
    if (info === null) continue;
    files.push({ path, size: info.size });
    lastWrittenMs = Math.max(lastWrittenMs, info.mtimeMs);
  }
  return { files, lastWrittenMs };
}

/** Removes the prompt, log and result files of finished runs that `policy` no longer keeps. */
export async function pruneRunFiles(root: string, policy: RunFilesPolicy, now: number): Promise<RunFilesReport> {
  const report: RunFilesReport = { expiredRuns: 0, overCapRuns: 0, files: 0, bytes: 0, removed: [] };
  const { running, unreadableKeys } = await runningAttempts(root);
  const removeRun = async (files: { path: string; size: number }[]): Promise<void> => {
    for (const file of files) {
      await rm(join(root, file.path), { force: true });
      report.files += 1;
      report.bytes += file.size;
      report.removed.push(file.path);
    }
  };

  for (const [key, runs] of await listRuns(root)) {
    if (unreadableKeys.has(key)) continue;
    const finished = (run: Run) => !running.has(`${key}\n${run.n}`);
    for (const run of runs.slice(policy.maxPerIssue).filter(finished)) {
      const { files } = await statRun(root, run);
      if (files.length === 0) continue; // removed meanwhile
      await removeRun(files);
      report.overCapRuns += 1;
    }
    for (const run of runs.slice(0, policy.maxPerIssue).reverse()) {
      if (!finished(run)) continue;
      const { files, lastWrittenMs } = await statRun(root, run);
      if (files.length === 0) continue;
      if (now - lastWrittenMs <= policy.maxAgeMs) break;
      await removeRun(files);
      report.expiredRuns += 1;
    }
  }
  return report;
}
