// The helper layer every Temporal test uses: one client per test file, a fresh task queue
// and random ids per test, workers built from the bundle made once by the global setup.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { inject } from 'vitest';

let clientPromise: Promise<{ client: Client; connection: Connection }> | undefined;
let nativePromise: Promise<NativeConnection> | undefined;

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function testClient(): Promise<Client> {
  clientPromise ??= (async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    return { connection, client: new Client({ connection, namespace: inject('temporalNamespace') }) };
  })();
  return (await clientPromise).client;
}

let runtimeInstalled = false;

export async function nativeConnection(): Promise<NativeConnection> {
  if (!runtimeInstalled) {
    // Once per process: worker state chatter would drown the test output.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  nativePromise ??= NativeConnection.connect({ address: inject('temporalAddress') });
  return nativePromise;
}

export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

export function uniqueId(prefix = 'id'): string {
  return `${prefix}-${randomUUID()}`;
}

/** A worker on the shared dev server, running the bundled workflow code. */
export async function createTestWorker(options: Omit<WorkerOptions, 'connection' | 'workflowBundle' | 'workflowsPath' | 'namespace'>): Promise<Worker> {
  return Worker.create({
    connection: await nativeConnection(),
    namespace: inject('temporalNamespace'),
    workflowBundle: { codePath: inject('workflowBundlePath') },
    shutdownGraceTime: '2s',
    ...options,
  });
}

/** Poll until `check` returns a value that is not undefined/false, or fail naming what was awaited. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: last error ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function closeTestConnections(): Promise<void> {
  if (clientPromise) await (await clientPromise).connection.close();
  if (nativePromise) await (await nativePromise).close();
  clientPromise = undefined;
  nativePromise = undefined;
}
