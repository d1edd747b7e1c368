// The sweep report: `writeReport(resultsDir)` writes report.html and PNGs into a results folder.
// Called by `kvsweep report DIR` and, at the end of every sweep, by a Temporal activity.
export { PLOTS_DIR, REPORT_FILE, writeReport, type ReportOptions, type ReportResult } from './write-report.ts';
