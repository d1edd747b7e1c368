import { configDefaults, defineConfig } from 'vitest/config';
import LongestFirst from './test/support/sequencer.ts';

// The tiers (README, "Development"):
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
// - `timers` (part of `npm test`, after `default`, alone): the workflow files on Temporal's
//   time-skipping test server. With the CPU busy (the default tier's four files at once) its
//   skipping runs virtual time ahead of a slow worker, workflow tasks time out in virtual time and
//   a test hangs (reproduced: 2 s alone, hung past 200 s beside six busy loops); alone they pass.
const REAL = ['test/real-servers/**/*.test.ts'];
const TIMERS = ['test/workflows/**/*.test.ts'];
// Known fault, out of the tiers until fixed (`npm run test:time-skipping` runs it): at times the
// test server skips no time for this file (its 4-minute sleeps take 4 real minutes and the tests
// time out), at others the same checkout passes it in 2 s. Cause not found yet.
const KNOWN_FAULT = ['test/workflows/time-skipping.test.ts'];
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
        test: { name: 'default', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...REAL, ...PRODUCTION, ...TIMERS, ...KNOWN_FAULT], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'timers', include: TIMERS, exclude: [...configDefaults.exclude, ...KNOWN_FAULT], sequence: { groupOrder: 1 }, poolOptions: { forks: { singleFork: true } } },
      },
      {
        extends: true,
        test: { name: 'real', include: REAL, sequence: { groupOrder: 2 }, poolOptions: { forks: { singleFork: true } } },
      },
    ],
  },
});
