// Names and shapes of the report's output, without its heavy dependencies.

/** The HTML report, in the results folder. */
export const REPORT_FILE = 'report.html';
/** The PNGs, in this folder of the results folder. */
export const PLOTS_DIR = 'report-plots';

export interface ReportOptions {
  /** Where to write the HTML instead of <resultsDir>/report.html; its links are made relative to it. */
  out?: string;
}

export interface ReportResult {
  report_path: string;
  /** Absolute paths of the PNGs written, in report order. */
  images: string[];
}
