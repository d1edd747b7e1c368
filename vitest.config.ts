import { configDefaults, defineConfig } from 'vitest/config';
import LongestFirst from './test/support/sequencer.ts';

// Two tiers (README, "Development"):
// - `default` (`npm test`): unit tests and end-to-end tests on the simulator. Files run in
//   parallel: they share no state (each orchestration file starts its own Temporal dev server,
//   its own workers and host ids, ports from the OS), and most of their time is spent waiting on
//   the processes they start. Their timing bounds leave room for a busy machine; millisecond
//   figures are benchmarks (bench/timing-accuracy.ts).
// - `real` (`npm run test:real`): vLLM's CPU build and llm-d-inference-sim, provisioned by
//   scripts/provision-real-servers.sh. One file at a time: a vLLM server takes a core by itself.
// `npm run test:all` runs both, the real tier after the default one. The production-path tier
// (test/production/) has its own config and command: vitest.production.config.ts,
// `npm run test:production`; .ci/run runs it after test:all.
const REAL = ['test/real-servers/**/*.test.ts'];
const PRODUCTION = ['test/production/**'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Four files at a time on 2 cores: enough to overlap the waits, few enough that a file's
    // timing bounds (host loss within H + 5 s, teardown within 10 s) hold.
    maxWorkers: 4,
    minWorkers: 1,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: { name: 'default', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...REAL, ...PRODUCTION], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'real', include: REAL, sequence: { groupOrder: 1 }, poolOptions: { forks: { singleFork: true } } },
      },
    ],
  },
});
