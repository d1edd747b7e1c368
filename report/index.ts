// The sweep report: `writeReport(resultsDir)` writes report.html and PNGs into a results folder.
// Called by `kvsweep report DIR` and, at the end of every sweep, by a Temporal activity. The
// renderer (vega, resvg: about a second to load) is loaded on the first call, not on import, so a
// worker that imports this pays for it only when a sweep ends.
import type { ReportOptions, ReportResult } from './names.ts';

export { PLOTS_DIR, REPORT_FILE, type ReportOptions, type ReportResult } from './names.ts';

/** Writes report.html and its PNGs into resultsDir; throws UserError when summary.json is missing. */
export async function writeReport(resultsDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const { writeReport: write } = await import('./write-report.ts');
  return write(resultsDir, options);
}
