import { configDefaults, defineConfig } from 'vitest/config';

// The Temporal native bridge misbehaves in worker threads, so tests run in forks; two cores
// on the CI machine, so never more than two at once. The dev server is started once per run
// by the global setup and shared through environment variables.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The production group (a self-hosted server built and restarted; a deploy that builds and
    // installs a copy) takes many minutes: opt-in (npm run test:cluster, which .ci/run runs).
    exclude: [...configDefaults.exclude, 'test/cluster/**', 'test/deploy/**'],
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
