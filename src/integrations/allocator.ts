// Which malloc this process runs on. The worker's systemd unit preloads jemalloc
// (LD_PRELOAD=libjemalloc.so.2): with glibc's malloc, memory the Temporal core and Node free in the
// middle of an arena stays resident, and a worker's RSS climbs with every issue run though no live
// object grows (bench/churn/README.md). A preload that is named but missing does not stop the
// process (ld.so prints one line and goes on with glibc), so the worker says at start which
// allocator it got, and what to do when it is not the one asked for.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface Allocator {
  /** `jemalloc`, `tcmalloc`, `mimalloc`, or `glibc` when none of those is mapped. */
  name: string;
  /** The shared object it came from, when it is not glibc's own. */
  library?: string;
}

const KNOWN = ['jemalloc', 'tcmalloc', 'mimalloc'] as const;

/** The allocator mapped into a process, read from its `/proc/<pid>/maps` text. */
export function allocatorFromMaps(maps: string): Allocator {
  for (const line of maps.split('\n')) {
    const path = line.split(/\s+/)[5];
    if (!path?.startsWith('/')) continue;
    const name = KNOWN.find((known) => basename(path).startsWith(`lib${known}`));
    if (name) return { name, library: path };
  }
  return { name: 'glibc' };
}

/** This process's allocator; `glibc` where /proc cannot be read. */
export function currentAllocator(): Allocator {
  try {
    return allocatorFromMaps(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return { name: 'glibc' };
  }
}

/**
 * When `LD_PRELOAD` asks for an allocator this process does not run on, what to tell the
 * operator; otherwise null.
 */
export function missingPreload(preload: string | undefined, running: Allocator): string | null {
  const asked = (preload ?? '')
    .split(/[\s:]+/)
    .filter(Boolean)
    .find((entry) => KNOWN.some((known) => basename(entry).startsWith(`lib${known}`)));
  if (!asked || (running.library && basename(running.library) === basename(asked))) return null;
  const install = basename(asked).startsWith('libjemalloc') ? 'install it (Debian and Ubuntu: apt-get install libjemalloc2)' : 'install it';
  return `LD_PRELOAD names ${asked}, but this process runs on ${running.name} malloc: the library could not be loaded. ${install[0]!.toUpperCase()}${install.slice(1)} and restart, or remove LD_PRELOAD from the worker's unit. The worker works without it, but its memory creeps up over many runs (bench/churn/README.md).`;
}
