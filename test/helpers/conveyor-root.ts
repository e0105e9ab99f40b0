// An installation root of its own for a test that runs the `conveyor` command as a process:
// temporal.yaml and instance/factory.yaml copied from the repo's, with the test's overrides
// deep-merged in, and free ports for everything it may start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../../src/temporal/dev-server.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const DEMO_AGENT = join(REPO_ROOT, 'scripts/demo-agent.mjs');

type Tree = Record<string, unknown>;

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current) ? merge(current as Tree, value as Tree) : value;
  }
  return out;
}

export interface TestRoot {
  dir: string;
  cleanup(): void;
}

export function makeTestRoot(name: string, overrides: { temporal?: Tree; factory?: Tree } = {}): TestRoot {
  const dir = mkdtempSync(join(tmpdir(), `conveyor-${name}-`));
  const temporal = merge(parse(readFileSync(join(REPO_ROOT, 'temporal.yaml'), 'utf8')) as Tree, overrides.temporal ?? {});
  const factory = merge(parse(readFileSync(join(REPO_ROOT, 'instance.example/factory.yaml'), 'utf8')) as Tree, overrides.factory ?? {});
  writeFileSync(join(dir, 'temporal.yaml'), stringify(temporal));
  mkdirSync(join(dir, 'instance'));
  writeFileSync(join(dir, 'instance/factory.yaml'), stringify(factory));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface DevPorts {
  temporal: number;
  ui: number;
  gateway: number;
  linear: number;
  github: number;
  metrics: number;
}

export async function freeDevPorts(): Promise<DevPorts> {
  const taken = new Set<number>();
  const next = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return { temporal: await next(), ui: await next(), gateway: await next(), linear: await next(), github: await next(), metrics: await next() };
}

export function devPortEnv(ports: DevPorts): Record<string, string> {
  return {
    CONVEYOR_TEMPORAL_PORT: String(ports.temporal),
    CONVEYOR_UI_PORT: String(ports.ui),
    CONVEYOR_GATEWAY_PORT: String(ports.gateway),
    CONVEYOR_LINEAR_PORT: String(ports.linear),
    CONVEYOR_GITHUB_PORT: String(ports.github),
    CONVEYOR_METRICS_PORT: String(ports.metrics),
  };
}

/** A `conveyor` process from the TypeScript source, leading its own process group (so a test can kill the group). */
export interface ConveyorProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the output once `pattern` appears; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runConveyor(args: string[], env: Record<string, string | undefined>): ConveyorProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((ok, fail) => {
        const done = (error?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          if (error) fail(error);
          else ok(text);
        };
        const check = () => {
          if (pattern.test(text)) done();
        };
        const timer = setTimeout(() => done(new Error(`Timed out waiting for ${pattern} in:\n${text}`)), timeoutMs);
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (!pattern.test(text)) done(new Error(`conveyor ${args.join(' ')} exited (${code ?? signal}) before ${pattern}:\n${text}`));
        });
        check();
      }),
  };
}
