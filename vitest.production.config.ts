import { defineConfig } from 'vitest/config';

// The production-path tier (test/production/): a Temporal server built from source on PostgreSQL,
// worker hosts in network namespaces. Run by `npm run test:production` (root, Go, PostgreSQL's
// server binaries), apart from `npm test`: its first run builds the server (scripts/provision-production.sh).
export default defineConfig({
  test: {
    include: ['test/production/**/*.test.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 70 * 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
