// A worker that starts on a host where earlier workers ran agents for weeks removes the run files
// past agents.runFiles before it takes work (issue 15: a host must not fill its disk with
// prompts, logs and results), and leaves the young ones and everything else alone.
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startE2eFactory, type E2eFactory } from '../helpers/e2e-factory.js';

const DAY = 24 * 3_600_000;
let factory: E2eFactory | undefined;
let workspaceDir = '';

afterAll(async () => {
  await factory?.cleanup();
});

/** The prompt, log and result of run `n` of `key`, last written `ageMs` ago. */
function earlierRun(dir: string, key: string, n: number, ageMs: number): string[] {
  const at = new Date(Date.now() - ageMs);
  return (['prompts/%.md', 'logs/%.log', 'results/%.json'] as const).map((pattern) => {
    const path = join(dir, pattern.replace('%', `${key}-${n}`));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `${key} run ${n}\n`);
    utimesSync(path, at, at);
    return path;
  });
}

describe('run files at worker start', () => {
  it('are pruned to agents.runFiles (14 days, 20 per issue) before the worker takes work', async () => {
    let old: string[] = [];
    let young: string[] = [];
    let overCap: string[] = [];
    let hookLog = '';
    factory = await startE2eFactory('run-files', {
      demo: false,
      workspace: (dir) => {
        workspaceDir = dir;
        old = earlierRun(dir, 'eng-1', 1, 30 * DAY);
        young = earlierRun(dir, 'eng-1', 2, 2 * DAY);
        for (let n = 1; n <= 21; n += 1) {
          const files = earlierRun(dir, 'eng-2', n, (22 - n) * 3_600_000);
          if (n === 1) overCap = files;
        }
        hookLog = join(dir, 'logs', 'eng-1-hook-before-run-1764590400000.log');
        writeFileSync(hookLog, 'hook output\n');
        utimesSync(hookLog, new Date(Date.now() - 30 * DAY), new Date(Date.now() - 30 * DAY));
      },
    });

    expect(workspaceDir).toBe(factory.config.factory.workspaceDir);
    for (const path of [...old, ...overCap]) expect(existsSync(path), path).toBe(false);
    for (const path of [...young, hookLog]) expect(existsSync(path), path).toBe(true);
    expect(existsSync(join(workspaceDir, 'logs', 'eng-2-21.log'))).toBe(true);
  });
});
