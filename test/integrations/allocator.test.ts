// Which malloc a process got: the worker's unit preloads jemalloc, and a preload that cannot be
// loaded does not stop a process (ld.so says one line and goes on with glibc), so the worker has
// to read its own maps to know. Against real Node processes started with and without the preload.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { libraryPath } from '../helpers/shared-libraries.js';
import { allocatorFromMaps, currentAllocator, missingPreload, type Allocator } from '../../src/integrations/allocator.js';

const MODULE = fileURLToPath(new URL('../../src/integrations/allocator.ts', import.meta.url));
const JEMALLOC = libraryPath('libjemalloc.so.2');

/** A Node process started with `env`, reporting the allocator it runs on and what it would warn. */
function childReport(env: Record<string, string>): Promise<{ allocator: Allocator; warning: string | null; stderr: string }> {
  const script = `const a = await import(${JSON.stringify(MODULE)}); const running = a.currentAllocator(); console.log(JSON.stringify({ allocator: running, warning: a.missingPreload(process.env.LD_PRELOAD, running) }));`;
  return new Promise((ok, fail) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' }, (error, stdout, stderr) =>
      error ? fail(error) : ok({ ...(JSON.parse(stdout) as { allocator: Allocator; warning: string | null }), stderr }),
    );
  });
}

describe('the allocator a process runs on', () => {
  it('reads glibc when no other malloc is mapped, as in this test process', () => {
    expect(process.env.LD_PRELOAD ?? '').not.toMatch(/jemalloc/);
    expect(currentAllocator()).toEqual({ name: 'glibc' });
    expect(missingPreload(undefined, currentAllocator())).toBeNull();
  });

  it('names the library from a maps line, not from a path that merely mentions it', () => {
    const maps = [
      '7f0000000000-7f0000001000 r--p 00000000 08:01 123 /home/jemalloc-notes/libfoo.so',
      '7f1000000000-7f1000020000 r-xp 00002000 08:01 456 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
    ].join('\n');
    expect(allocatorFromMaps(maps)).toEqual({ name: 'jemalloc', library: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' });
    expect(allocatorFromMaps(maps.split('\n')[0]!)).toEqual({ name: 'glibc' });
  });

  // Only where libjemalloc2 is installed (.ci/run installs it): elsewhere there is nothing to preload.
  it.runIf(JEMALLOC)('runs on jemalloc when the unit preloads it, and says nothing', async () => {
    const report = await childReport({ LD_PRELOAD: 'libjemalloc.so.2' });
    expect(report.allocator).toEqual({ name: 'jemalloc', library: JEMALLOC });
    expect(report.warning).toBeNull();
  });

  it('says what to install when the preload names jemalloc but the process got glibc', async () => {
    const report = await childReport({ LD_PRELOAD: '/nonexistent/libjemalloc.so.2' });
    // ld.so's own line: the process went on regardless.
    expect(report.stderr).toMatch(/libjemalloc\.so\.2.*cannot be preloaded/);
    expect(report.allocator).toEqual({ name: 'glibc' });
    expect(report.warning).toMatch(/^LD_PRELOAD names \/nonexistent\/libjemalloc\.so\.2, but this process runs on glibc malloc/);
    expect(report.warning).toContain('apt-get install libjemalloc2');
  });
});
