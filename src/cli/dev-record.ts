// What a running `conveyor dev` leaves on disk (`.data/dev/run.json`), so the next one can tell
// "another dev is running here" from "the last one was killed": its own pid and the dev
// server's, each with its start time (a pid alone may have been reused since), and its ports.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isSameProcess, processStartTime } from '../integrations/agent-records.js';

export const DEV_RECORD_FILE = '.data/dev/run.json';

export interface RecordedProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): with the pid, names one process. */
  startTicks: string | null;
}

export interface DevRecord {
  dev: RecordedProcess;
  startedAt: string;
  ports: Record<string, number>;
  temporal: (RecordedProcess & { address: string; dbFile: string }) | null;
}

export async function recordProcess(pid: number): Promise<RecordedProcess> {
  return { pid, startTicks: await processStartTime(pid) };
}

/** Whether the very process recorded still runs (not a newer one that got its pid). */
export async function stillRunning(recorded: RecordedProcess): Promise<boolean> {
  return isSameProcess({ pid: recorded.pid, startTime: recorded.startTicks });
}

export function devRecordPath(root: string): string {
  return resolve(root, DEV_RECORD_FILE);
}

export function readDevRecord(root: string): DevRecord | null {
  try {
    return JSON.parse(readFileSync(devRecordPath(root), 'utf8')) as DevRecord;
  } catch {
    return null;
  }
}

export function writeDevRecord(root: string, record: DevRecord): void {
  const path = devRecordPath(root);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
}

export function clearDevRecord(root: string): void {
  rmSync(devRecordPath(root), { force: true });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(recorded: RecordedProcess, graceMs = 10_000): Promise<void> {
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(recorded.pid, signal);
    } catch {
      // Already gone.
    }
  };
  send('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await stillRunning(recorded)) {
    if (Date.now() > deadline) {
      send('SIGKILL');
      if (Date.now() > deadline + 5_000) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
