// CPU time a round costs, from Linux /proc: the bench process (emulators, gateway, worker and
// the one-hop worker), the children it waited for (git, agents) and the Temporal dev server.
// Divided by the dispatches a round ran, it is the work one dispatch cycle asks of the machine;
// with every core busy, `in flight × that work ÷ cores` is the least a cycle can take, whatever
// the code does while it waits. That bound is what the ratio to one hop meets at 20 in flight.
import { MS_PER_TICK, readProcStatSync } from '../../src/integrations/proc-stat.js';

/** Milliseconds of CPU (user + system). */
export interface CpuSplit {
  bench: number;
  children: number;
  server: number;
}

/** utime, stime, cutime, cstime of a process, in ms; zeros once it is gone. */
function procTimes(pid: number | 'self'): [number, number, number, number] {
  const stat = readProcStatSync(pid);
  if (!stat) return [0, 0, 0, 0];
  return [stat.utime * MS_PER_TICK, stat.stime * MS_PER_TICK, stat.cutime * MS_PER_TICK, stat.cstime * MS_PER_TICK];
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
