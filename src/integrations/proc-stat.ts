// /proc/<pid>/stat, the kernel's one-line record of a process: the few fields process supervision
// needs (is it still alive, who is its parent, which group is it in, when did it start). One
// parser, because the line has a trap: field 2 is the command name in parentheses, and a name may
// itself hold spaces and parentheses ("(sh) (x)"), so the fields are counted from the last ")".
import { readFile } from 'node:fs/promises';

export interface ProcStat {
  /** Field 3: R running, S sleeping, D disk wait, T stopped, Z zombie, X dead, … */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Field 5: the process group id. */
  pgid: number;
  /**
   * Field 22: start time in clock ticks since boot. With the pid it names one process: a pid the
   * kernel reuses belongs to a process with a later start time.
   */
  startTicks: string;
}

/** The fields of one /proc/<pid>/stat line, or null when the text is not such a line. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(' ');
  const [state, ppid, pgid] = [fields[0], Number(fields[1]), Number(fields[2])];
  const startTicks = fields[19];
  if (!state || !Number.isInteger(ppid) || !Number.isInteger(pgid) || !startTicks) return null;
  return { state, ppid, pgid, startTicks };
}

/** The process's stat fields; null where there is no /proc, the process is gone, or it cannot be read. */
export async function readProcStat(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return text === null ? null : parseProcStat(text);
}

/** A zombie (exited, not yet reaped by its parent) or dead process: it runs no more code. */
export function hasExited(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}
