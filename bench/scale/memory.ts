// The process's memory over the run, sampled once a second: RSS (everything: the main thread's
// heap, the workflow thread's heap with its cached runs, the SDK's native core, the emulators)
// and the main thread's V8 heap. The kernel's high-water mark (VmHWM) catches a peak between
// samples.
import { readFileSync } from 'node:fs';

export interface MemorySample {
  at: number;
  rss: number;
  heapUsed: number;
}

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 1_000) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): MemorySample {
    const { rss, heapUsed } = process.memoryUsage();
    const s = { at: Date.now(), rss, heapUsed };
    this.samples.push(s);
    return s;
  }

  /** The largest RSS sampled since `since`. */
  peak(since = 0): number {
    return Math.max(0, ...this.samples.filter((s) => s.at >= since).map((s) => s.rss));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The kernel's peak RSS of this process (Linux), or null elsewhere. */
export function peakRssFromKernel(): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export const mib = (bytes: number) => bytes / 1_048_576;

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null elsewhere. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
