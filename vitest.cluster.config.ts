import { defineConfig } from 'vitest/config';

// The opt-in cluster group (`npm run test:cluster`, run by .ci/run): a self-hosted Temporal
// server on PostgreSQL, restarted mid-run, with worker hosts in processes of their own. One
// file at a time: the group already keeps both cores busy. No global dev server: each file
// starts the cluster it needs. Deadlines are generous because the machine is shared.
export default defineConfig({
  test: {
    // The deploy script's test too: it builds and installs a copy (minutes), like a real deploy.
    include: ['test/cluster/**/*.test.ts', 'test/deploy/**/*.test.ts', 'test/cli/dev-restart.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 1_200_000,
    hookTimeout: 600_000,
  },
});
