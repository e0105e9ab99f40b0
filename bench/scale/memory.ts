// Memory over the run, sampled once a second: the worker child's resident memory (VmRSS, and the
// kernel's high-water mark VmHWM, which catches a peak between samples) from /proc/<pid>/status,
// everything that process holds (its main thread's heap, the workflow threads' heaps with their
// cached runs, the SDK's native core); and beside it, for context only, the bench's own process
// (the emulators, the gateway, the bench's bookkeeping). Linux only.
import { readFileSync, writeFileSync } from 'node:fs';
import { MS_PER_TICK, readProcStatSync } from '../../src/integrations/proc-stat.js';

export interface MemorySample {
  at: number;
  /** The worker's VmRSS, bytes (NaN once it is gone). */
  rss: number;
  /** The worker's VmHWM, bytes. */
  hwm: number;
  /** The bench's own process RSS, bytes. */
  benchRss: number;
}

/** VmRSS and VmHWM of a process in bytes; null once it is gone (or off Linux). */
export function procMemory(pid: number | 'self'): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Resets the process's VmHWM to its current RSS (`5` to /proc/<pid>/clear_refs, Linux 4.0+), so
 * the high-water mark read later covers what came after (not the start-up's bundling). False
 * when the kernel refused.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly workerPid: number,
    intervalMs = 1_000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): MemorySample {
    const worker = procMemory(this.workerPid);
    const s = { at: Date.now(), rss: worker?.rss ?? Number.NaN, hwm: worker?.hwm ?? Number.NaN, benchRss: process.memoryUsage.rss() };
    this.samples.push(s);
    return s;
  }

  /** The largest worker RSS sampled since `since`. */
  peak(since = 0): number {
    return Math.max(0, ...this.samples.filter((s) => s.at >= since && !Number.isNaN(s.rss)).map((s) => s.rss));
  }

  /** The largest bench-process RSS sampled since `since`. */
  benchPeak(since = 0): number {
    return Math.max(0, ...this.samples.filter((s) => s.at >= since).map((s) => s.benchRss));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export const mib = (bytes: number) => bytes / 1_048_576;

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null elsewhere. */
export function cpuSecondsOf(pid: number): number | null {
  const stat = readProcStatSync(pid);
  return stat ? ((stat.utime + stat.stime) * MS_PER_TICK) / 1000 : null;
}
