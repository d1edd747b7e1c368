// `kvsweep report DIR [--out FILE] [--json]`: writes the HTML report and PNGs of a results folder
// (<log_base_dir>/<tag>_<date>/) and prints where they are. Sweeps also write it when they end.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { writeReport } from '../../report/index.ts';
import { parseCommand } from '../command-line.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('report')
    .description('write report.html (self-contained: charts inline, nothing fetched) and PNG plots of a sweep\'s results folder')
    .argument('<dir>', 'the results folder: <log_base_dir>/<tag>_<date>, with summary.json')
    .option('--out <file>', 'write the HTML here instead of DIR/report.html (links to logs and plots made relative to it)')
    .option('--json', 'print the paths as JSON');
  const parsed = parseCommand(program, argv);
  const opts = parsed.opts<{ out?: string; json?: boolean }>();
  const resultsDir = resolve(parsed.args[0]!);
  const result = await writeReport(resultsDir, opts.out ? { out: resolve(opts.out) } : {});
  if (opts.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`Report: ${result.report_path}`);
    for (const image of result.images) console.log(`Plot:   ${image}`);
    if (result.images.length === 0) console.log('No plots: no experiment reported figures (the report lists them).');
  }
  return 0;
}
