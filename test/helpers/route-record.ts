// Which gateway routes the test suite exercises, for `conveyor routes`: with
// CONVEYOR_RECORD_ROUTES=1 (what `npm run record-routes` sets), every gateway a test started
// reports the routes it counted (its /metrics, read just before it closes) into
// test/routes/<test file>.json, which is checked in. A route no record names is one no test
// drives through a real gateway.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import { parseRouteCounts } from '../../src/cli/canary.js';
import { REPO_ROOT } from './conveyor-root.js';

export const ROUTES_DIR = join(REPO_ROOT, 'test/routes');

export const recordingRoutes = (): boolean => process.env.CONVEYOR_RECORD_ROUTES === '1';

/** Adds the routes the gateway at `url` counted to the record of the running test file. */
export async function recordGatewayRoutes(url: string): Promise<void> {
  if (!recordingRoutes()) return;
  const counts = parseRouteCounts(await (await fetch(`${url}/metrics`)).text());
  const testPath = expect.getState().testPath ?? 'unknown.test.ts';
  const file = join(ROUTES_DIR, `${basename(testPath).replace(/\.test\.ts$/, '')}.json`);
  const record = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { routes: Record<string, number> }) : { routes: {} };
  for (const [key, n] of Object.entries(counts)) record.routes[key] = (record.routes[key] ?? 0) + n;
  mkdirSync(ROUTES_DIR, { recursive: true });
  const sorted = Object.fromEntries(Object.entries(record.routes).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(file, `${JSON.stringify({ test: `test/${testPath.split('/test/').pop()}`, routes: sorted }, null, 2)}\n`);
}
