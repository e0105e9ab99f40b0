// The worker under a bench: a real `conveyor worker` child process, on an installation root of
// its own (temporal.yaml and instance/factory.yaml written here, pointed at the bench's dev
// server and emulators). In its own process its RSS, CPU and descriptors are its own: the
// emulators, the gateway and the bench's bookkeeping grow in the bench's process, not in the
// figures. bench/churn and bench/scale both run their worker this way.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { SANDBOX_CREDENTIALS } from '../src/sandbox/sandbox.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..');

export type Tree = Record<string, unknown>;

export interface WorkerRootOptions {
  dir: string;
  address: string;
  namespace: string;
  taskQueue: string;
  metricsPort: number;
  /** temporal.yaml's `worker` settings on top of the repo's (e.g. maxCachedWorkflows). */
  worker?: Tree;
  /** instance/factory.yaml, written as given. */
  factory: Tree;
}

/** temporal.yaml from the repo's own with the bench's settings on top, and the bench's factory.yaml. */
export function writeWorkerRoot(options: WorkerRootOptions): void {
  const temporal = parse(readFileSync(join(REPO_ROOT, 'temporal.yaml'), 'utf8')) as Tree;
  Object.assign(temporal, {
    connection: { ...(temporal.connection as Tree), address: options.address, namespace: options.namespace },
    taskQueues: { ...(temporal.taskQueues as Tree), sandbox: options.taskQueue },
    // 2 s, as an operator would set a short one; the bench stops the worker at the end with it.
    worker: { ...(temporal.worker as Tree), metricsPort: options.metricsPort, shutdownGraceTime: '2s', ...options.worker },
  });
  writeFileSync(join(options.dir, 'temporal.yaml'), stringify(temporal));
  mkdirSync(join(options.dir, 'instance'), { recursive: true });
  writeFileSync(join(options.dir, 'instance/factory.yaml'), stringify(options.factory));
}

export interface WorkerProcess {
  pid: number;
  child: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its log, for an error message. */
  tail(lines?: number): string;
  /** SIGTERM, then the time to its exit (SIGKILL after `killAfterMs`). */
  stop(killAfterMs?: number): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The allocator settings the worker's systemd unit sets (`Environment=MALLOC_...`, `LD_PRELOAD` in
 * deploy/systemd/conveyor-worker.service), read from the unit so a bench runs what is deployed.
 */
export function unitAllocatorEnvironment(): Record<string, string> {
  const unit = readFileSync(join(REPO_ROOT, 'deploy/systemd/conveyor-worker.service'), 'utf8');
  const settings = unit
    .split('\n')
    .filter((line) => line.startsWith('Environment='))
    .flatMap((line) => line.slice('Environment='.length).split(/\s+/))
    .filter((pair) => pair.startsWith('MALLOC_') || pair.startsWith('LD_PRELOAD='))
    .map((pair) => pair.split('=') as [string, string]);
  return Object.fromEntries(settings);
}

/** Where a release's worker starts: `npm run build` writes it, with the prebuilt workflow bundle. */
export const RELEASE_ENTRY = join(REPO_ROOT, 'dist/cli/main.js');

/**
 * Builds what a deployed host runs (`npm run build`: compiled JavaScript in dist/ and
 * dist/workflow-bundle.js), as scripts/deploy.sh does before it syncs a release. About 15 s.
 */
export function buildRelease(): Promise<void> {
  return new Promise((ok, fail) => {
    const build = spawn('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    build.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    build.once('error', fail);
    build.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`npm run build failed (exit ${code}):\n${stderr.slice(-2000)}`))));
  });
}

/**
 * `node --import tsx src/cli/main.ts worker` (what bin/conveyor.js runs in a checkout, without the
 * extra hop), so the pid is the worker's own Node process; with `release`, `node dist/cli/main.js
 * worker` instead, what a deployed host runs (no tsx, and the workflow bundle prebuilt rather than
 * bundled by webpack in the worker's heap at start: call buildRelease first). Its log goes to a
 * file, not through a pipe the bench would have to drain.
 */
export async function startWorkerProcess(options: {
  root: string;
  logFile: string;
  readyTimeoutMs?: number;
  release?: boolean;
  /** Node options put before the script (the heap probe's `--import`). */
  nodeArgs?: readonly string[];
  /** Added to the worker's environment. */
  env?: Record<string, string>;
}): Promise<WorkerProcess> {
  const fd = openSync(options.logFile, 'a');
  const entry = options.release ? [RELEASE_ENTRY] : ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry, 'worker', '--root', options.root, '--profile', 'sandbox'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...SANDBOX_CREDENTIALS, CONVEYOR_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  const tail = (lines = 30) => readFileSync(options.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  const worker: WorkerProcess = {
    pid: child.pid!,
    child,
    logFile: options.logFile,
    exited,
    tail,
    stop: async (killAfterMs = 30_000) => {
      const sent = Date.now();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const exit = await exited;
      clearTimeout(timer);
      return { ms: Date.now() - sent, ...exit };
    },
  };
  // Ready once it logs "worker running" (at info, the level an operator runs it at).
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`conveyor worker exited during start-up; its log (${options.logFile}) ends:\n${tail()}`);
    if (/worker running/.test(readFileSync(options.logFile, 'utf8'))) return worker;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`conveyor worker did not log "worker running" within ${(options.readyTimeoutMs ?? 120_000) / 1000} s; its log (${options.logFile}) ends:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
