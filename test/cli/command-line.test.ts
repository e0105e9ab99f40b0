// `conveyor` with a mistyped command line, as a user meets it: one line that says what was wrong
// and where to look, a non-zero exit, and no stack trace. Before this, an unknown option threw
// out of node:util's parseArgs before the CLI's error handling existed, and `--port http` reached
// the gateway as NaN.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function conveyor(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CONVEYOR_DEBUG: '' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a mistyped conveyor command line', () => {
  it.each([
    [['status', '--bogus'], 2, ["Unknown option '--bogus'", 'Run conveyor --help']],
    [['status', '--profile'], 2, ["Option '--profile <value>' argument missing", 'Run conveyor --help']],
    [['gateway', '--port', 'http'], 1, ['--port http: expected a port number from 1 to 65535']],
    [['frobnicate'], 1, ['Unknown command "frobnicate". Run conveyor --help']],
    [['status', '--profile', 'prod'], 1, ['Unknown profile "prod": use one of']],
  ])('conveyor %j says what was wrong in a line and exits %i', (args, code, messages) => {
    const { status, stderr } = conveyor(...args);
    expect(status).toBe(code);
    expect(stderr.startsWith(`conveyor: ${messages[0]}`)).toBe(true);
    for (const message of messages) expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
