import { defineConfig } from 'vitest/config';

// Tests start real processes (simulator, workers, the Temporal dev server) on a 2-core machine:
// generous timeouts, and files run one at a time so timing measurements are not skewed by a
// neighbouring test file's load.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The production-path tier has its own command: npm run test:production (vitest.production.config.ts).
    exclude: ['**/node_modules/**', 'test/production/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
