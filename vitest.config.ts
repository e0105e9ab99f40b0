import { configDefaults, defineConfig } from 'vitest/config';

// The Temporal native bridge misbehaves in worker threads, so tests run in forks; two cores
// on the CI machine, so never more than two at once. The dev server is started once per run
// by the global setup and shared through environment variables.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The cluster group builds and restarts a self-hosted server: opt-in (npm run test:cluster).
    exclude: [...configDefaults.exclude, 'test/cluster/**'],
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
