// Mutation testing (`npm run mutation`, never part of `npm test`): Stryker changes one thing at a
// time in the pure modules below (a `<` to `<=`, a condition to `true`, a string to "") and runs
// the pure tests (vitest.mutation.config.ts) against each change. A change no test notices (a
// surviving mutant) is behaviour no test asserts. Runs on Node 22: see scripts/mutation.sh.
import { readFileSync } from 'node:fs';

/** gate.ts holds the pure verdicts (gateVerdict, refusalVerdict) and then the workflow loop
 * `mergeGate`, which only a Temporal test can run. Only the verdicts are mutated: the range ends
 * on the line before `mergeGate`, found by name so the range follows the file. */
function gateVerdictLines() {
  const lines = readFileSync(new URL('./src/workflows/issue/gate.ts', import.meta.url), 'utf8').split('\n');
  const loop = lines.findIndex((line) => line.startsWith('export async function mergeGate('));
  if (loop < 0) throw new Error('stryker.config.mjs: mergeGate not found in src/workflows/issue/gate.ts; update gateVerdictLines()');
  return `src/workflows/issue/gate.ts:1-${loop}`;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Related mode: a mutant runs only the test files that import its file (for a static mutant, which
  // must reload every test, that is the difference between minutes and hours).
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/domain/triage.ts',
    'src/domain/routing.ts',
    gateVerdictLines(),
    'src/workflows/fleet-ledger.ts',
    'src/gateway/linear-events.ts',
    'src/gateway/github-events.ts',
    'src/gateway/verify.ts',
    'src/integrations/github/reviews.ts',
    'src/integrations/github/checks.ts',
    'src/activities/failure-classifier.ts',
    'src/activities/redact.ts',
  ],
  coverageAnalysis: 'perTest',
  // The machine is shared (2 cores): at most two test runners at once.
  concurrency: 2,
  // Results are kept, so a later run tests only the mutants whose code or tests changed.
  incremental: true,
  incrementalFile: '.data/mutation/stryker-incremental.json',
  tempDirName: '.data/stryker-tmp',
  // Nothing the pure tests read: keeps the sandbox copy small.
  ignorePatterns: ['/.data', '/.tools', '/dist', '/instance', '/bench', '/deploy', '/test/histories', '/test/fixtures/agent-streams'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.data/mutation/mutation.html' },
  jsonReporter: { fileName: '.data/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  thresholds: { high: 90, low: 80, break: null },
  timeoutMS: 10_000,
};
