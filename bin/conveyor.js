#!/usr/bin/env node
// The package's bin. A checkout runs its TypeScript source via tsx: a dist/ left there by an
// earlier build (npm run build, or scripts/deploy.sh building its release) may be older than the
// source, and would run stale code. A deployed release ships dist/ and no src/, and runs that.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source);
} else {
  await import(compiled);
}
