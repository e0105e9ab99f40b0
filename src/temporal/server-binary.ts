// Finds a self-hosted Temporal server (`temporal-server`) and its SQL schema tool
// (`temporal-sql-tool`), or builds both from Go modules. They run the cluster tests on
// PostgreSQL, the shape an operator deploys, where the dev server of `cli-binary.ts` is SQLite.
// Order per binary: its environment variable, PATH, the gitignored .tools/bin,
// GOPATH's bin as cli-binary.ts finds it; a binary of another version is passed over (and said so). Building
// takes minutes, so every step says what it is doing.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { executable, goBin, installedGoBin } from './cli-binary.js';

export const TEMPORAL_SERVER_VERSION = '1.29.1';

/** What to build, under which name it is cached (the names the official images use). */
export const SERVER_BINARIES = {
  server: { name: 'temporal-server', env: 'TEMPORAL_SERVER', module: `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`, built: 'server' },
  sqlTool: { name: 'temporal-sql-tool', env: 'TEMPORAL_SQL_TOOL', module: `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`, built: 'sql' },
} as const;

export type ServerBinary = keyof typeof SERVER_BINARIES;

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

export class TemporalServerMissingError extends Error {
  override readonly name = 'TemporalServerMissingError';
}

type Env = Record<string, string | undefined>;

/** The version a binary reports (`--version`), or null when it cannot say. */
export function binaryVersion(path: string): string | null {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    return /(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

export function findServerBinary(which: ServerBinary, options: { root?: string; env?: Env; log?: (line: string) => void } = {}): string | null {
  const env = options.env ?? process.env;
  const spec = SERVER_BINARIES[which];
  const explicit = env[spec.env];
  if (explicit) {
    if (executable(explicit)) return explicit;
    throw new TemporalServerMissingError(`${spec.env} is set to ${explicit}, which is not an executable file. Fix the path or unset it.`);
  }
  const candidates = [...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, spec.name)), resolve(options.root ?? process.cwd(), '.tools/bin', spec.name)];
  candidates.push(join(installedGoBin(env), spec.name));
  for (const candidate of candidates.filter(executable)) {
    const version = binaryVersion(candidate);
    if (version === TEMPORAL_SERVER_VERSION) return candidate;
    options.log?.(`[conveyor] ${candidate} reports version ${version ?? 'unknown'}, not ${TEMPORAL_SERVER_VERSION}: passed over.`);
  }
  return null;
}

/**
 * Find both binaries, or build the missing ones with `go install` (at `nice -n 10`, since the
 * build takes the machine's cores for minutes) and cache them in GOPATH/bin under their
 * image names, where they outlive clean checkouts on the same machine.
 */
export function ensureServerBinaries(options: { root?: string; env?: Env; log?: (line: string) => void } = {}): ServerBinaries {
  const log = options.log ?? ((line: string) => console.error(line));
  const env = options.env ?? process.env;
  const found = {
    server: findServerBinary('server', { ...options, log }),
    sqlTool: findServerBinary('sqlTool', { ...options, log }),
  };
  if (found.server && found.sqlTool) return { server: found.server, sqlTool: found.sqlTool };
  const gobin = goBin(env);
  if (!gobin) {
    throw new TemporalServerMissingError(
      `The Temporal server ${TEMPORAL_SERVER_VERSION} (temporal-server, temporal-sql-tool) was not found and Go is not installed to build it.\n` +
        'Install Go 1.23+ from https://go.dev/dl and run this again, or put both binaries on PATH, or set TEMPORAL_SERVER and TEMPORAL_SQL_TOOL.',
    );
  }
  const result: Partial<ServerBinaries> = { ...(found.server ? { server: found.server } : {}), ...(found.sqlTool ? { sqlTool: found.sqlTool } : {}) };
  for (const which of ['server', 'sqlTool'] as const) {
    if (result[which]) continue;
    result[which] = buildServerBinary(which, gobin, env, log);
  }
  return result as ServerBinaries;
}

function buildServerBinary(which: ServerBinary, gobin: string, env: Env, log: (line: string) => void): string {
  const spec = SERVER_BINARIES[which];
  const target = join(gobin, spec.name);
  log(`[conveyor] ${spec.name} ${TEMPORAL_SERVER_VERSION} not found; building ${spec.module} with go install (nice -n 10) into ${target}.`);
  log(`[conveyor] This takes ${which === 'server' ? 'about 2-4 minutes' : 'about a minute'} on 2 cores the first time; later runs reuse the binary.`);
  mkdirSync(gobin, { recursive: true });
  // go install names the binary after its folder (`server`, `sql`): build into a scratch GOBIN,
  // then move it under its own name, so nothing called `server` lands on anyone's PATH.
  const scratch = mkdtempSync(join(gobin, `.${spec.name}-build-`));
  const started = Date.now();
  try {
    const build = spawnSync('nice', ['-n', '10', 'go', 'install', spec.module], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...env, GOBIN: scratch, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
    });
    if (build.status !== 0) {
      throw new TemporalServerMissingError(
        `go install ${spec.module} failed (${build.error ? build.error.message : `exit ${build.status}`}). Check that the Go module proxy is reachable (GOPROXY) and try again, or build it by hand and set ${spec.env}.`,
      );
    }
    const built = join(scratch, spec.built);
    try {
      renameSync(built, target);
    } catch {
      copyFileSync(built, target);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`[conveyor] Built ${target} in ${Math.round((Date.now() - started) / 1000)} s.`);
  return target;
}
