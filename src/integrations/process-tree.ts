import { readdir, readFile, readlink } from 'node:fs/promises';
import { sep } from 'node:path';
import treeKill from 'tree-kill';
import { hasExited, readProcStat } from './proc-stat.js';

// Killing an agent's whole process tree. The runner starts each agent as the leader of its own
// process group, so one kill(-pgid) reaches everything that stayed in the group. A child that
// left the group (setsid, a daemonising tool) is found on Linux by reading /proc: the runner
// tags every agent's environment with its worktree and result file, children inherit it, and
// a process whose working directory is inside the worktree is caught as well.

/** Signals a process group; false when it no longer exists. Falls back to tree-kill where groups fail. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    // EPERM and the like: walk the tree from the leader instead (it may have changed group).
    treeKill(pgid, signal, () => {});
    return true;
  }
}

/** Whether a pid names a running process; a zombie (exited, not yet reaped) counts as gone. */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readProcStat(pid);
  return stat === null || !hasExited(stat); // no /proc: the signal's answer is all there is
}

export interface ProcessMatch {
  /** Environment entries (`NAME=value`) any of which marks a process as belonging to the agent. */
  envMarkers?: string[];
  /** A directory: a process whose working directory is inside it belongs to the agent. */
  cwdInside?: string;
}

/**
 * Pids of this user's processes that match, on Linux; an empty list elsewhere (no /proc).
 * Processes of other users cannot be read and are never matched.
 */
export async function findProcesses(match: ProcessMatch): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const markers = (match.envMarkers ?? []).map((marker) => Buffer.from(`${marker}\0`));
  const inside = match.cwdInside?.replace(/\/+$/, '');
  const found: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      const pid = Number(entry);
      if (pid === process.pid) return;
      if (inside !== undefined) {
        const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => null);
        if (cwd !== null && (cwd === inside || cwd.startsWith(inside + sep))) {
          found.push(pid);
          return;
        }
      }
      if (markers.length > 0) {
        const environ = await readFile(`/proc/${pid}/environ`).catch(() => null);
        if (environ === null) return;
        // Entries are NUL-separated; prefix a NUL so a marker only matches a whole entry.
        const padded = Buffer.concat([Buffer.from('\0'), environ, Buffer.from('\0')]);
        if (markers.some((marker) => padded.includes(Buffer.concat([Buffer.from('\0'), marker])))) found.push(pid);
      }
    }),
  );
  return found;
}

/** SIGKILLs every matching process that is still running; returns the pids it matched. */
export async function killMatching(match: ProcessMatch): Promise<number[]> {
  const pids = await findProcesses(match);
  for (const pid of pids) {
    if (!(await isRunning(pid))) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone between the scan and the kill: nothing to do.
    }
  }
  return pids;
}
