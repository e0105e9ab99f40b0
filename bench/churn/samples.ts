// What the bench samples of a process (Linux /proc): resident memory and open file descriptors,
// and how the last third of the samples differs from the first.
import { readdirSync, readFileSync } from 'node:fs';

export interface Sample {
  /** Seconds since cycling began. */
  t: number;
  /** Cycles finished so far (all issues). */
  cycles: number;
  rssMb: number;
  fds: number;
  /** The bench's own process (emulators, gateway): context, not the worker's figure. */
  benchRssMb: number;
  load1: number;
}

/** VmRSS and the /proc/<pid>/fd count; null once the process is gone. */
export function readProc(pid: number): { rssMb: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

export interface Drift {
  /** Samples in each third. */
  perThird: number;
  first: { rssMb: number; fds: number; fdsMax: number };
  last: { rssMb: number; fds: number; fdsMax: number };
  rssMb: number;
  fds: number;
}

const mean = (values: number[]) => values.reduce((a, v) => a + v, 0) / values.length;

/** Mean of the last third minus mean of the first third; null with fewer than 3 samples. */
export function drift(samples: readonly Sample[]): Drift | null {
  const third = Math.floor(samples.length / 3);
  if (third < 1) return null;
  const first = samples.slice(0, third);
  const last = samples.slice(samples.length - third);
  const summary = (part: readonly Sample[]) => ({ rssMb: mean(part.map((s) => s.rssMb)), fds: mean(part.map((s) => s.fds)), fdsMax: Math.max(...part.map((s) => s.fds)) });
  const a = summary(first);
  const b = summary(last);
  return { perThird: third, first: a, last: b, rssMb: b.rssMb - a.rssMb, fds: b.fds - a.fds };
}
