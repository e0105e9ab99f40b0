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

/** The allocator a shared object's path names (`…/libjemalloc.so.2` → `jemalloc`), if any. */
function allocatorOf(path: string): string | undefined {
  return KNOWN.find((known) => basename(path).startsWith(`lib${known}`));
}

/** The allocator mapped into a process, read from its `/proc/<pid>/maps` text. */
export function allocatorFromMaps(maps: string): Allocator {
  for (const line of maps.split('\n')) {
    const path = line.split(/\s+/)[5];
    const name = path?.startsWith('/') ? allocatorOf(path) : undefined;
    if (name && path) return { name, library: path };
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
  const asked = (preload ?? '').split(/[\s:]+/).find((entry) => entry && allocatorOf(entry));
  // By allocator, not by file: LD_PRELOAD=libjemalloc.so loads libjemalloc.so.2 through its link.
  if (!asked || allocatorOf(asked) === running.name) return null;
  const install = allocatorOf(asked) === 'jemalloc' ? 'Install it (Debian and Ubuntu: apt-get install libjemalloc2)' : 'Install it';
  return `LD_PRELOAD names ${asked}, but this process runs on ${running.name} malloc: the library could not be loaded. ${install} and restart, or remove LD_PRELOAD from the worker's unit. The worker works without it, but its memory creeps up over many runs (bench/churn/README.md).`;
}
