// What the bench samples of a process (Linux /proc): resident memory and open file descriptors,
// and how the last third of the samples differs from the first.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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
  /** The descriptors by kind (descriptorKinds), so a drift in the count can be named. */
  fdKinds?: Record<string, number>;
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

/**
 * What each of a process's descriptors is, counted by kind: a file path, `pipe`, an anon inode
 * (`anon_inode:[eventfd]`), `unix socket`, or a TCP socket named by its peer (`tcp → :7233
 * ESTABLISHED`, `tcp listen :9464`). Two of these side by side say which descriptors a drift is.
 */
export function descriptorKinds(pid: number, peers: ReadonlyMap<number, string> = new Map()): Map<string, number> {
  const tcp = new Map<string, string>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (field: string) => {
        const number = Number.parseInt(field.split(':')[1] ?? '', 16);
        return peers.has(number) ? `${number} (${peers.get(number)})` : String(number);
      };
      const state = TCP_STATES[f[3] ?? ''] ?? f[3];
      tcp.set(f[9]!, state === 'LISTEN' ? `tcp listen :${port(f[1]!)}` : `tcp → :${port(f[2]!)} ${state}`);
    }
  }
  const kinds = new Map<string, number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return kinds;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // Closed between the listing and the read.
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket ? (tcp.get(socket[1]!) ?? 'unix socket') : /^pipe:/.test(target) ? 'pipe' : target;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return kinds;
}

const TCP_STATES: Record<string, string> = { '01': 'ESTABLISHED', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT', '0A': 'LISTEN' };

/** The kinds whose count differs, as `+2 tcp → :8788 ESTABLISHED`; empty when none does. */
export function descriptorChange(before: Map<string, number>, after: Map<string, number>): string[] {
  const kinds = new Set([...before.keys(), ...after.keys()]);
  const changes: string[] = [];
  for (const kind of [...kinds].sort()) {
    const delta = (after.get(kind) ?? 0) - (before.get(kind) ?? 0);
    if (delta !== 0) changes.push(`${delta > 0 ? '+' : ''}${delta} ${kind}`);
  }
  return changes;
}

export interface Drift {
  /** Samples in each third. */
  perThird: number;
  first: { rssMb: number; fds: number; fdsMax: number };
  last: { rssMb: number; fds: number; fdsMax: number };
  rssMb: number;
  fds: number;
  /** Kinds whose mean count moved by at least half a descriptor, biggest move first. */
  fdsByKind: Array<{ kind: string; first: number; last: number; delta: number }>;
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
  const kinds = new Set(samples.flatMap((s) => Object.keys(s.fdKinds ?? {})));
  const kindMean = (part: readonly Sample[], kind: string) => mean(part.map((s) => s.fdKinds?.[kind] ?? 0));
  const fdsByKind = [...kinds]
    .map((kind) => ({ kind, first: kindMean(first, kind), last: kindMean(last, kind), delta: kindMean(last, kind) - kindMean(first, kind) }))
    .filter((k) => Math.abs(k.delta) >= 0.5)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
  return { perThird: third, first: a, last: b, rssMb: b.rssMb - a.rssMb, fds: b.fds - a.fds, fdsByKind };
}
