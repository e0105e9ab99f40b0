import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { hasExited, readProcStat } from './proc-stat.js';

// What the runner writes beside the worktrees for every agent it starts, so that a later
// process on the same host (the reaper, a restarted worker) can tell whose agent it is and
// whether anyone still supervises it:
//   pids/<key>.json   one record per worktree while its agent runs (removed when it ends)
// A record names the process group, the start time of its leader (a pid reused by another
// program is never mistaken for the agent), the worker process that supervises it (pid and
// start time), and the activity that owns it (workflow id, run id, activity id, attempt).

export const AgentOwner = z.object({
  workflowId: z.string(),
  runId: z.string(),
  activityId: z.string(),
  attempt: z.number().int(),
  taskQueue: z.string().optional(),
});
export type AgentOwner = z.infer<typeof AgentOwner>;

const ProcessIdentity = z.object({ pid: z.number().int().positive(), startTime: z.string().nullable() });

export const AgentRecord = z.object({
  key: z.string(),
  attempt: z.number().int(),
  pgid: z.number().int().positive(),
  leader: ProcessIdentity,
  supervisor: ProcessIdentity,
  host: z.string(),
  worktree: z.string(),
  home: z.string(),
  resultFile: z.string(),
  owner: AgentOwner.optional(),
  startedAt: z.string(),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null where there is no /proc. */
export async function processStartTime(pid: number): Promise<string | null> {
  return (await readProcStat(pid))?.startTicks ?? null;
}

/** Whether `identity` still names the same live process (same pid, same start time, not a zombie). */
export async function isSameProcess(identity: { pid: number; startTime: string | null }): Promise<boolean> {
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await readProcStat(identity.pid);
  if (stat === null) return true; // no /proc: the pid is all we can check
  if (hasExited(stat)) return false;
  return identity.startTime === null || stat.startTicks === identity.startTime;
}

export function recordFile(root: string, key: string): string {
  return join(root, 'pids', `${key}.json`);
}

export function thisHost(): string {
  return process.env.CONVEYOR_HOST_ID ?? hostname();
}

/** Written aside and renamed, so a reader never sees half a record. */
export async function writeRecord(root: string, record: AgentRecord): Promise<void> {
  const file = recordFile(root, record.key);
  const scratch = `${file}.tmp-${process.pid}`;
  await writeFile(scratch, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(scratch, file);
}

/** Every readable record under `root`; unreadable or malformed files are reported as such. */
export async function readRecords(root: string): Promise<{ records: AgentRecord[]; malformed: string[] }> {
  const dir = join(root, 'pids');
  const names = await readdir(dir).catch(() => [] as string[]);
  const records: AgentRecord[] = [];
  const malformed: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => null);
    if (text === null) continue; // removed meanwhile: its agent ended
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      malformed.push(join(dir, name));
      continue;
    }
    const record = AgentRecord.safeParse(parsed);
    if (record.success) records.push(record.data);
    else malformed.push(join(dir, name));
  }
  return { records, malformed };
}
