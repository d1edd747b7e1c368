import { defineConfig } from 'vitest/config';

// test/workflows/time-skipping.test.ts alone (`npm run test:time-skipping`): out of the tiers while
// its known fault stands (vitest.config.ts says which).
export default defineConfig({
  test: {
    include: ['test/workflows/time-skipping.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
