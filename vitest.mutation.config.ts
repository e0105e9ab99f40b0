import { defineConfig } from 'vitest/config';

// The tests `npm run mutation` runs against every mutant: the pure ones only, over the modules
// Stryker mutates (stryker.config.mjs). No global setup: nothing here needs a Temporal server,
// an emulator or a child process, so one run of this set takes seconds and Stryker can run it
// thousands of times. Keep this list to tests that are pure and fast; a test that starts a
// server belongs to `npm test` alone.
export const MUTATION_TESTS = [
  'test/domain/triage.test.ts',
  'test/domain/routing.test.ts',
  'test/domain/triage-rules.test.ts',
  'test/workflows/station-verdicts.test.ts',
  'test/workflows/gate-verdict.test.ts',
  'test/workflows/fleet-ledger.test.ts',
  'test/workflows/fleet-ledger-rules.test.ts',
  'test/gateway/linear-events.test.ts',
  'test/gateway/linear-event-rules.test.ts',
  'test/gateway/github-events.test.ts',
  'test/gateway/github-event-rules.test.ts',
  'test/gateway/verify.test.ts',
  'test/gateway/verify-rules.test.ts',
  'test/gateway/secrets.test.ts',
  'test/integrations/github-reviews.test.ts',
  'test/integrations/github-checks.test.ts',
  'test/integrations/github-review-decision.test.ts',
  'test/activities/agent-failures.test.ts',
  'test/activities/failure-rules.test.ts',
  'test/activities/safety.test.ts',
  'test/activities/redact-rules.test.ts',
];

export default defineConfig({
  test: {
    include: MUTATION_TESTS,
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 20_000,
  },
});
