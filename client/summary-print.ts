// The end-of-sweep console summary, as the old runner printed it (total, successful, failed,
// average execution time) plus where to look next.
import type { SweepResult } from '../workflows/sweep.ts';

export function formatSummary(result: SweepResult, webUi: string | null): string {
  const { counts } = result;
  const average = counts.average_execution_time_seconds;
  return [
    '',
    '================ Sweep summary ================',
    `Sweep:                  ${result.sweep_id}`,
    `Total experiments:      ${counts.total}`,
    `Successful:             ${counts.succeeded}`,
    `Failed:                 ${counts.failed}`,
    ...(counts.cancelled ? [`Cancelled:              ${counts.cancelled}`] : []),
    `Average execution time: ${average === null ? '--' : `${average.toFixed(1)} s`}`,
    `Results:                ${result.results_dir}`,
    `Summary:                ${result.summary_path}`,
    ...(result.report_path ? [`Report:                 ${result.report_path}`] : []),
    ...(webUi ? [`Web UI:                 ${webUi}`] : []),
    '===============================================',
  ].join('\n');
}

export function printSummary(result: SweepResult, webUi: string | null): void {
  console.log(formatSummary(result, webUi));
}
