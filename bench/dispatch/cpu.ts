// CPU time a round costs, from Linux /proc: the bench process (emulators, gateway, worker and
// the one-hop worker), the children it waited for (git, agents) and the Temporal dev server.
// Divided by the dispatches a round ran, it is the work one dispatch cycle asks of the machine;
// with every core busy, `in flight × that work ÷ cores` is the least a cycle can take, whatever
// the code does while it waits. That bound is what the ratio to one hop meets at 20 in flight.
import { readFileSync } from 'node:fs';

/** Milliseconds of CPU (user + system). */
export interface CpuSplit {
  bench: number;
  children: number;
  server: number;
}

// Linux's USER_HZ: /proc reports times in ticks of 1/100 s on every architecture Node runs on.
const MS_PER_TICK = 10;

/** utime, stime, cutime, cstime of a process, in ms; zeros once it is gone. */
function procTimes(pid: number | 'self'): [number, number, number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": the name may hold spaces and parentheses, so cut at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = (field: number) => Number(fields[field - 3]) * MS_PER_TICK; // field numbers as in proc(5)
    return [at(14), at(15), at(16), at(17)];
  } catch {
    return [0, 0, 0, 0];
  }
}

export function cpuNow(serverPid: number | undefined): CpuSplit {
  const [utime, stime, cutime, cstime] = procTimes('self');
  const server = serverPid ? procTimes(serverPid) : [0, 0, 0, 0];
  return { bench: utime + stime, children: cutime + cstime, server: server[0]! + server[1]! };
}

/** What was used between two readings, per dispatch cycle. */
export function cpuPerCycle(before: CpuSplit, after: CpuSplit, cycles: number): CpuSplit & { total: number } {
  const per = (key: keyof CpuSplit) => (after[key] - before[key]) / cycles;
  const split = { bench: per('bench'), children: per('children'), server: per('server') };
  return { ...split, total: split.bench + split.children + split.server };
}
