// The order files start in. The suite's wall time is set by its longest files, so those start
// first, in this order (their durations on a fresh clone, where vitest has no timing cache yet to
// sort by); the rest follow in vitest's own order (failed first, then longest first).
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'test/orchestration/resume.test.ts',
  'test/orchestration/chaos.test.ts',
  'test/orchestration/run-e2e.test.ts',
  'test/orchestration/recovery.test.ts',
  'test/orchestration/demo.test.ts',
  'test/orchestration/terminal.test.ts',
  'test/orchestration/offline-sweep.test.ts',
  'test/offline/lightgbm.test.ts',
  'test/webui/web-ui.test.ts',
  'test/offline/agreement.test.ts',
  'test/report/write-report.test.ts',
  'test/orchestration/corrupt-records.test.ts',
  'test/orchestration/temporal-cli.test.ts',
  'test/simulator/ground-truth.test.ts',
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = LONGEST_FIRST.findIndex((path) => file.moduleId.endsWith(path));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: vitest's order holds among the rest.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
