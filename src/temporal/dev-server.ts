// Starts the Temporal CLI's dev server (server + Web UI in one process). `npm run dev` runs it
// on the configured ports with a persistent SQLite file; tests run it on free ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';

export interface DevServerOptions {
  cli: string;
  ip?: string;
  /** 0 picks a free port. */
  port?: number;
  /** null runs headless (no Web UI); 0 picks a free port. */
  uiPort?: number | null;
  /** Absent: in memory, gone when the process ends. */
  dbFile?: string;
  namespace?: string;
  searchAttributes?: Record<string, string>;
  dynamicConfig?: Record<string, string | number | boolean>;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Where the server's own output goes; defaults to nowhere. */
  onOutput?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A port free now, for a server that listens on it a little later. Chosen below the kernel's
 * ephemeral range (ip_local_port_range, 32768 and up by default), not by binding port 0: an
 * ephemeral port is also what every outgoing connection takes as its local port, so one opened
 * between the choice and the listen (a gRPC client, an HTTP request) could hold it. Seen in CI:
 * the gateway's port taken while the local factory connected to Temporal. Falls back to the
 * kernel's choice when no port below the range is free.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const below = ephemeralRangeStart();
  const low = Math.min(20_000, below - 1);
  for (let attempt = 0; attempt < 50 && below > low + 1; attempt += 1) {
    const port = low + Math.floor(Math.random() * (below - low));
    if ((await listenOnce(host, port)) !== null) return port;
  }
  const port = await listenOnce(host, 0);
  if (port === null) throw new Error(`No free TCP port on ${host}.`);
  return port;
}

/** The first port of the kernel's ephemeral range (32768 where it cannot be read). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 1024 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on `port` (0: the kernel's choice) and closes at once: the port, or null when it is taken. */
function listenOnce(host: string, port: number): Promise<number | null> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolvePort(null) : reject(err)));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(bound));
    });
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port || (await freePort(ip));
  const uiPort = options.uiPort === null ? null : options.uiPort || (await freePort(ip));
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--namespace', namespace, '--log-level', options.logLevel ?? 'warn'];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(options.searchAttributes ?? {})) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  // Its own process group: a Ctrl-C in the terminal reaches us, and we stop the server only
  // after the worker has drained, instead of the server vanishing under a running worker.
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      if (output.length > 50) output.shift();
      options.onOutput?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
    process.off('exit', killOnExit);
  });

  const address = `${ip}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`The Temporal dev server exited (code ${exited}) before it was ready. Its last output:\n${output.join('\n')}\nIs port ${port} or ${uiPort} in use? Pick others in temporal.yaml (devServer).`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        // Search attributes and the namespace are registered just after the frontend answers.
        await connection.workflowService.describeNamespace({ namespace });
        break;
      } finally {
        await connection.close();
      }
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`The Temporal dev server did not answer on ${address} within 60 s. Its last output:\n${output.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  return {
    address,
    uiUrl: uiPort === null ? null : `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}`,
    namespace,
    process: child,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (exited !== undefined) return resolveStop();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.kill('SIGTERM');
      }),
  };
}
