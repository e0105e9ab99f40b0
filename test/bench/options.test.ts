// The benches are run by hand, with options typed by hand: a wrong one must say which and what to
// write, exit 2 before anything starts (a churn run takes two hours to set up and measure), and
// never show a stack trace.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the benches' command lines", () => {
  it.each([
    [['bench/churn/run.ts', '--sample-every', '5x'], '--sample-every: "5x" is not a duration'],
    [['bench/churn/run.ts', '--cylces', '3'], "Unknown option '--cylces'"],
    [['bench/dispatch/run.ts', '--rounds'], "Option '--rounds <value>' argument missing"],
    [['bench/scale/run.ts', '--issues=-3'], '--issues takes a positive whole number, not "-3"'],
    [['bench/gateway/run.ts', '--only', 'everything'], '--only takes no-signal or starts, not "everything"'],
  ])('%j says what was wrong, exits 2 and shows no stack', (args, message) => {
    const { status, stderr } = bench(...args);
    expect(status).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('(see --help)');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it.each(['bench/churn/run.ts', 'bench/dispatch/run.ts', 'bench/scale/run.ts', 'bench/gateway/run.ts'])('%s --help prints its help on stdout and exits 0', (script) => {
    const { status, stdout } = bench(script, '--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^bench\/\w+: /);
  });
});
