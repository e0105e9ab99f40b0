// Finds the `temporal` CLI (which carries the dev server and its Web UI), or builds it.
// Order: $TEMPORAL_CLI, PATH, the gitignored .tools/bin, $(go env GOPATH)/bin (without Go on
// PATH: $GOPATH/bin or ~/go/bin, where an earlier build put it). Building
// takes minutes, so every step says what it is doing.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export class TemporalCliMissingError extends Error {
  override readonly name = 'TemporalCliMissingError';
}

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** $(go env GOPATH)/bin, where `go install` puts binaries; null without Go. */
export function goBin(env: Record<string, string | undefined> = {}): string | null {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return gopath ? join(gopath.split(delimiter)[0]!, 'bin') : null;
  } catch {
    return null;
  }
}

/**
 * The folder where binaries built earlier with `go install` are: GOPATH/bin as Go reports it, or
 * without Go on PATH (a shell or IDE that lacks /usr/local/go/bin), Go's default: the first entry
 * of $GOPATH, else ~/go, plus /bin. A cached binary is found without Go; building still needs it.
 */
export function installedGoBin(env: Record<string, string | undefined> = {}): string {
  const fromGo = goBin(env);
  if (fromGo) return fromGo;
  const gopath = env.GOPATH?.split(delimiter)[0] || join(env.HOME || homedir(), 'go');
  return join(gopath, 'bin');
}

export function findTemporalCli(root = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.TEMPORAL_CLI) {
    if (executable(env.TEMPORAL_CLI)) return env.TEMPORAL_CLI;
    throw new TemporalCliMissingError(`TEMPORAL_CLI is set to ${env.TEMPORAL_CLI}, which is not an executable file. Fix the path or unset it.`);
  }
  const candidates = [
    ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'temporal')),
    resolve(root, '.tools/bin/temporal'),
  ];
  candidates.push(join(installedGoBin(env), 'temporal'));
  return candidates.find(executable) ?? null;
}

/** Find the CLI, or build it with `go install` into GOPATH/bin (which outlives clean checkouts). */
export function ensureTemporalCli(options: { root?: string; log?: (line: string) => void } = {}): string {
  const log = options.log ?? ((line: string) => console.error(line));
  const found = findTemporalCli(options.root);
  if (found) return found;
  const gobin = goBin();
  if (!gobin) {
    throw new TemporalCliMissingError(
      'The Temporal CLI (`temporal`) was not found and Go is not installed to build it.\n' +
        'Install one of them: Go 1.22+ from https://go.dev/dl (then run this again), or the CLI from ' +
        'https://docs.temporal.io/cli#install, and put it on PATH or set TEMPORAL_CLI=/path/to/temporal.',
    );
  }
  log(`[conveyor] Temporal CLI not found; building ${TEMPORAL_CLI_MODULE} with go install into ${gobin}.`);
  log('[conveyor] This takes about 3-4 minutes on 2 cores the first time; later runs reuse the binary.');
  const started = Date.now();
  const result = spawnSync('go', ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' } });
  if (result.status !== 0) {
    throw new TemporalCliMissingError(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${result.status}). Check the Go module proxy is reachable (GOPROXY) and try again, or install the CLI by hand and set TEMPORAL_CLI.`);
  }
  const built = join(gobin, 'temporal');
  log(`[conveyor] Built ${built} in ${Math.round((Date.now() - started) / 1000)} s.`);
  return built;
}
