import { configDefaults, defineConfig } from 'vitest/config';

// The Temporal native bridge misbehaves in worker threads, so tests run in forks; two cores
// on the CI machine, so never more than two at once. The dev server is started once per run
// by the global setup and shared through environment variables.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The production group takes many minutes: a self-hosted server built and restarted, a
    // deploy that builds and installs a copy, and `npm run dev` killed and restarted (on a
    // loaded 2-core machine its demo did not always finish within the test's 150 s after the
    // restart; see the closing note of stop 11). Opt-in: npm run test:cluster.
    exclude: [...configDefaults.exclude, 'test/cluster/**', 'test/deploy/**', 'test/cli/dev-restart.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
