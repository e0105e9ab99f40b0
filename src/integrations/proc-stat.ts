// /proc/<pid>/stat, the kernel's one-line record of a process: the fields process supervision
// needs (is it still alive, who is its parent, which group is it in, when did it start) and the
// CPU times the benches sample. One parser, because the line has a trap: field 2 is the command
// name in parentheses, and a name may itself hold spaces and parentheses ("(sh) (x)"), so the
// fields are counted from the last ")".
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ProcStat {
  /** Field 3: R running, S sleeping, D disk wait, T stopped, Z zombie, X dead, … */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Field 5: the process group id. */
  pgid: number;
  /** Fields 14–17: CPU time in clock ticks (USER_HZ, 1/100 s), its own and its waited-for children's. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Field 19: the nice value. */
  nice: number;
  /**
   * Field 22: start time in clock ticks since boot. With the pid it names one process: a pid the
   * kernel reuses belongs to a process with a later start time.
   */
  startTicks: string;
}

/** Linux's USER_HZ: /proc counts CPU times in ticks of 1/100 s on every architecture Node runs on. */
export const MS_PER_TICK = 10;

/** The fields of one /proc/<pid>/stat line, or null when the text is not such a line. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(' ');
  const field = (n: number) => fields[n - 3]; // numbered as in proc(5): the state is field 3
  const state = field(3);
  const startTicks = field(22);
  if (!state || startTicks === undefined) return null;
  const numbers = { ppid: Number(field(4)), pgid: Number(field(5)), utime: Number(field(14)), stime: Number(field(15)), cutime: Number(field(16)), cstime: Number(field(17)), nice: Number(field(19)) };
  if (!Object.values(numbers).every(Number.isInteger)) return null;
  return { state, ...numbers, startTicks };
}

/** The process's stat fields; null where there is no /proc, the process is gone, or it cannot be read. */
export async function readProcStat(pid: number | 'self'): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return text === null ? null : parseProcStat(text);
}

/** readProcStat for callers that sample synchronously (the benches' CPU and memory readings). */
export function readProcStatSync(pid: number | 'self'): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** A zombie (exited, not yet reaped by its parent) or dead process: it runs no more code. */
export function hasExited(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}
