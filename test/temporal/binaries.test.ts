// Where the Temporal binaries are looked for. `npm test` and `npm run dev` build them with
// `go install` once and find them again on later runs; a shell without Go on PATH (an IDE's
// terminal, a login shell without /usr/local/go/bin) must still find what was built, in Go's
// default GOPATH (~/go/bin) or $GOPATH/bin, instead of saying "not found and Go is not installed".
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../src/temporal/cli-binary.js';
import { findServerBinary, TEMPORAL_SERVER_VERSION } from '../../src/temporal/server-binary.js';

let tmp: string;
let emptyPath: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'conveyor-binaries-'));
  emptyPath = join(tmp, 'empty-bin'); // a PATH with neither go nor temporal on it
  mkdirSync(emptyPath);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** An executable that answers `--version` as the real one does. */
function fakeBinary(dir: string, name: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "${name} version ${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('finding the Temporal binaries without Go on PATH', () => {
  it('finds the CLI built earlier in ~/go/bin', () => {
    const home = join(tmp, 'home');
    const cli = fakeBinary(join(home, 'go', 'bin'), 'temporal', '1.5.1');
    expect(findTemporalCli(join(tmp, 'checkout'), { PATH: emptyPath, HOME: home })).toBe(cli);
  });

  it('finds it in the first folder of $GOPATH when that is set', () => {
    const cli = fakeBinary(join(tmp, 'gopath', 'bin'), 'temporal', '1.5.1');
    const env = { PATH: emptyPath, HOME: join(tmp, 'home'), GOPATH: `${join(tmp, 'gopath')}:${join(tmp, 'other')}` };
    expect(findTemporalCli(join(tmp, 'checkout'), env)).toBe(cli);
  });

  it('finds nothing when nothing was built, so the caller can say how to get it', () => {
    expect(findTemporalCli(join(tmp, 'checkout'), { PATH: emptyPath, HOME: join(tmp, 'home') })).toBeNull();
  });

  it('finds the self-hosted server of the right version in ~/go/bin, and passes over another version', () => {
    const home = join(tmp, 'home');
    const server = fakeBinary(join(home, 'go', 'bin'), 'temporal-server', TEMPORAL_SERVER_VERSION);
    fakeBinary(join(home, 'go', 'bin'), 'temporal-sql-tool', '1.20.0');
    const log: string[] = [];
    const options = { root: join(tmp, 'checkout'), env: { PATH: emptyPath, HOME: home }, log: (line: string) => log.push(line) };
    expect(findServerBinary('server', options)).toBe(server);
    expect(findServerBinary('sqlTool', options)).toBeNull();
    expect(log.join('\n')).toContain('reports version 1.20.0, not');
  });
});
