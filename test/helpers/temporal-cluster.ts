// A self-hosted Temporal cluster for the cluster tests: `temporal-server` 1.29.1 (all four
// services in one process) on the machine's PostgreSQL, in two databases of its own, with a
// config file written for this run on free ports. It can be stopped with SIGTERM or killed
// with SIGKILL and started again on the same ports and data, as an operator's restart or a
// crash would. Cleanup stops it and drops its databases; databases left by a run that was
// killed before its cleanup are dropped by the next run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import type { ServerBinaries } from '../../src/temporal/server-binary.js';

export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The machine's PostgreSQL (trust auth); the standard PG* variables point elsewhere. */
export function postgresFromEnv(env: NodeJS.ProcessEnv = process.env): Postgres {
  return { host: env.PGHOST ?? '127.0.0.1', port: Number(env.PGPORT ?? 5432), user: env.PGUSER ?? 'postgres', password: env.PGPASSWORD ?? '' };
}

export interface TemporalCluster {
  address: string;
  databases: { main: string; visibility: string };
  /** The server's output (JSON lines), kept for a failing test to show. */
  logFile: string;
  /** Current server process id. */
  pid(): number;
  /** Stops the server with `signal` (SIGKILL: no drain at all), starts it again on the same
   * ports and databases, and resolves once the frontend answers. */
  restart(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ stoppedMs: number; downMs: number }>;
  /** Stops the server and drops its databases. Idempotent. */
  destroy(): Promise<void>;
}

const DB_PREFIX = 'conveyor_cluster_';

async function reachable(pg: Postgres): Promise<boolean> {
  return new Promise((resolveReach) => {
    const socket = connect({ host: pg.host, port: pg.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolveReach(ok);
    };
    socket.setTimeout(3_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function sqlTool(binaries: ServerBinaries, pg: Postgres, database: string, args: string[]): void {
  const common = ['--plugin', 'postgres12', '--endpoint', pg.host, '--port', String(pg.port), '--user', pg.user, '--password', pg.password, '--database', database];
  try {
    execFileSync(binaries.sqlTool, [...common, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
    const output = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-10).join('\n');
    throw new Error(`temporal-sql-tool ${args[0]} on database ${database} failed:\n${output || e.message}`);
  }
}

function dropDatabase(binaries: ServerBinaries, pg: Postgres, database: string): void {
  sqlTool(binaries, pg, database, ['drop-database', '--force']);
}

/**
 * Databases of earlier runs whose process is gone (a run killed before its cleanup). Listing
 * needs psql; without it they stay, named conveyor_cluster_<pid>_…, and harm nothing.
 */
function dropAbandonedDatabases(binaries: ServerBinaries, pg: Postgres, log: (line: string) => void): void {
  let names: string[];
  try {
    const out = execFileSync('psql', ['-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'postgres', '-Atc', `SELECT datname FROM pg_database WHERE datname LIKE '${DB_PREFIX}%'`], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: pg.password },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    });
    names = out.split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^conveyor_cluster_(\d+)_/.exec(name)?.[1]);
    if (!pid) continue;
    try {
      process.kill(pid, 0);
      continue; // its run is alive (another test run on this machine)
    } catch {
      // gone: its databases are ours to drop
    }
    try {
      dropDatabase(binaries, pg, name);
      log(`[cluster] dropped ${name}, left by run ${pid}, which is gone`);
    } catch (err) {
      log(`[cluster] could not drop ${name}: ${(err as Error).message}`);
    }
  }
}

/**
 * A free port the server can record: its cluster_membership table keeps ports as a PostgreSQL
 * smallint, so a port the kernel hands out (32768 and up on Linux) makes the server exit with
 * "out of range for type smallint". Pick below 32768 and check it is free.
 */
async function freeServerPort(): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once('error', () => resolveFree(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
    });
    if (free) return port;
  }
  throw new Error('Found no free port between 20000 and 32000 for temporal-server after 200 tries.');
}

function serverConfig(options: { pg: Postgres; databases: { main: string; visibility: string }; ports: Record<string, number>; dynamicConfigFile: string }): string {
  const { pg, databases, ports } = options;
  const store = (databaseName: string, maxConns: number) => ({
    sql: { pluginName: 'postgres12', databaseName, connectAddr: `${pg.host}:${pg.port}`, connectProtocol: 'tcp', user: pg.user, password: pg.password, maxConns, maxIdleConns: maxConns, maxConnLifetime: '1h' },
  });
  const rpc = (grpc: number, membership: number, extra: Record<string, number> = {}) => ({ rpc: { grpcPort: grpc, membershipPort: membership, bindOnLocalHost: true, ...extra } });
  return stringify({
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: 4,
      datastores: { default: store(databases.main, 10), visibility: store(databases.visibility, 4) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: rpc(ports.frontend!, ports.frontendMembership!, { httpPort: ports.frontendHttp! }),
      matching: rpc(ports.matching!, ports.matchingMembership!),
      history: rpc(ports.history!, ports.historyMembership!),
      worker: rpc(ports.worker!, ports.workerMembership!),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '10s' },
  });
}

export async function startTemporalCluster(options: { binaries: ServerBinaries; workDir: string; pg?: Postgres; log?: (line: string) => void; readyTimeoutMs?: number }): Promise<TemporalCluster> {
  const { binaries, workDir } = options;
  const pg = options.pg ?? postgresFromEnv();
  const log = options.log ?? ((line: string) => console.error(line));
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  if (!(await reachable(pg))) {
    throw new Error(
      `PostgreSQL is not answering at ${pg.host}:${pg.port}: the cluster tests keep Temporal's data there. ` +
        'Start it (on this kind of machine: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), or point PGHOST/PGPORT/PGUSER at one with trust or PGPASSWORD.',
    );
  }
  dropAbandonedDatabases(binaries, pg, log);

  const base = `${DB_PREFIX}${process.pid}_${randomBytes(3).toString('hex')}`;
  const databases = { main: base, visibility: `${base}_visibility` };
  let dropped = false;
  const dropDatabases = () => {
    if (dropped) return;
    dropped = true;
    for (const db of [databases.main, databases.visibility]) {
      try {
        dropDatabase(binaries, pg, db);
      } catch (err) {
        log(`[cluster] could not drop ${db}: ${(err as Error).message} (the next run drops it)`);
      }
    }
  };
  try {
    for (const [db, schema] of [
      [databases.main, 'postgresql/v12/temporal'],
      [databases.visibility, 'postgresql/v12/visibility'],
    ] as const) {
      sqlTool(binaries, pg, db, ['create-database']);
      sqlTool(binaries, pg, db, ['setup-schema', '-v', '0.0']);
      sqlTool(binaries, pg, db, ['update-schema', '--schema-name', schema]);
    }
  } catch (err) {
    dropDatabases();
    throw err;
  }

  const names = ['frontend', 'frontendMembership', 'frontendHttp', 'matching', 'matchingMembership', 'history', 'historyMembership', 'worker', 'workerMembership'];
  const ports: Record<string, number> = {};
  const taken = new Set<number>();
  for (const name of names) {
    let port = await freeServerPort();
    while (taken.has(port)) port = await freeServerPort();
    taken.add(port);
    ports[name] = port;
  }
  const configDir = join(workDir, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = join(configDir, 'dynamic.yaml');
  // The settings of the server's own development-sql.yaml that clients rely on.
  writeFileSync(dynamicConfigFile, stringify({ 'limit.maxIDLength': [{ value: 255, constraints: {} }], 'frontend.enableExecuteMultiOperation': [{ value: true }] }));
  writeFileSync(join(configDir, 'cluster.yaml'), serverConfig({ pg, databases, ports, dynamicConfigFile }));
  const address = `127.0.0.1:${ports.frontend}`;
  const logFile = join(workDir, 'temporal-server.log');

  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  let exited = true;
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no output)';
    }
  };

  async function launch(): Promise<void> {
    const out = openSync(logFile, 'a');
    child = spawn(binaries.server, ['--root', workDir, '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'], { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    exited = false;
    const current = child;
    exit = new Promise<void>((resolveExit) => current.once('exit', () => resolveExit()));
    void exit.then(() => {
      if (child === current) exited = true;
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited) throw new Error(`temporal-server exited before it was ready (config ${join(configDir, 'cluster.yaml')}). Its last output:\n${tail()}`);
      try {
        const connection = await Connection.connect({ address, connectTimeout: 2_000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return;
        } finally {
          await connection.close();
        }
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`temporal-server did not answer on ${address} within ${readyTimeoutMs / 1000} s. Its last output:\n${tail()}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL', graceMs = 60_000): Promise<void> {
    if (!child || exited) return;
    const current = child;
    current.kill(signal);
    const timer = setTimeout(() => {
      log(`[cluster] temporal-server did not stop within ${graceMs / 1000} s of ${signal}: killing it`);
      current.kill('SIGKILL');
    }, graceMs);
    await exit;
    clearTimeout(timer);
  }

  try {
    await launch();
  } catch (err) {
    await stop('SIGKILL');
    dropDatabases();
    process.off('exit', killOnExit);
    throw err;
  }

  let destroyed = false;
  return {
    address,
    databases,
    logFile,
    pid: () => child?.pid ?? 0,
    async restart(signal) {
      const started = Date.now();
      await stop(signal);
      const stoppedMs = Date.now() - started;
      await launch();
      return { stoppedMs, downMs: Date.now() - started };
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop('SIGTERM', 20_000);
      process.off('exit', killOnExit);
      dropDatabases();
    },
  };
}
