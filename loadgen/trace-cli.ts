// `kvsweep trace synth|stats`: write a synthetic conversation trace, or describe one.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'csv-stringify';
import { loadTrace } from './trace.ts';
import { computeTraceStats, formatTraceStats } from './trace-stats.ts';
import { DEFAULT_SYNTH_OPTIONS, formatTimestamp, synthesizeTrace, type SynthOptions } from './trace-synth.ts';
import { REQUIRED_COLUMNS, MODEL_COLUMN, parseTimestamp } from './trace-parse.ts';
import { integer, parseCommand, positiveInteger, positiveNumber, nonNegativeNumber } from './cli-support.ts';

export async function main(argv: string[]): Promise<number> {
  const d = DEFAULT_SYNTH_OPTIONS;
  const program = new Command('kvsweep trace').description('synthesise or inspect conversation traces');
  program
    .command('synth')
    .description('write a synthetic conversation trace CSV (Poisson conversation arrivals, geometric turns, log-normal lengths and think times)')
    .requiredOption('--out <file>', 'CSV file to write')
    .option('--conversations <n>', 'number of conversations', positiveInteger, d.conversations)
    .option('--seed <n>', 'random seed (same seed and options, same file)', integer, d.seed)
    .option('--conversation-rate <r>', 'new conversations per second (Poisson)', positiveNumber, d.conversationRate)
    .option('--turns-mean <n>', 'mean turns per conversation (geometric, >= 1)', positiveNumber, d.turnsMean)
    .option('--max-turns <n>', 'most turns in one conversation', positiveInteger, d.maxTurns)
    .option('--first-query-median <tokens>', 'median tokens of the first user message', positiveNumber, d.firstQueryMedian)
    .option('--query-median <tokens>', 'median tokens of later user messages', positiveNumber, d.queryMedian)
    .option('--query-sigma <s>', 'log-normal sigma of query lengths', nonNegativeNumber, d.querySigma)
    .option('--reply-median <tokens>', 'median tokens of replies', positiveNumber, d.replyMedian)
    .option('--reply-sigma <s>', 'log-normal sigma of reply lengths', nonNegativeNumber, d.replySigma)
    .option('--max-query-tokens <n>', 'longest user message', positiveInteger, d.maxQueryTokens)
    .option('--max-reply-tokens <n>', 'longest reply', positiveInteger, d.maxReplyTokens)
    .option('--think-time-median <s>', 'median seconds between two turns of a conversation', positiveNumber, d.thinkTimeMedian)
    .option('--think-time-sigma <s>', 'log-normal sigma of think times', nonNegativeNumber, d.thinkTimeSigma)
    .option('--start <time>', 'timestamp of the first request (UTC)', timestampValue, d.startMs)
    .addOption(new Option('--id-format <f>', 'conversation ids').choices(['int', 'uuid']).default(d.idFormat))
    .option('--model-name <name>', 'add a ModelName column with this value')
    .action(async (opts: Record<string, unknown>) => {
      const options: SynthOptions = { ...d, ...opts, modelName: (opts.modelName as string | undefined) ?? null } as SynthOptions;
      const rows = await writeSynthTrace(opts.out as string, options);
      console.error(`wrote ${rows} rows (${options.conversations} conversations) to ${opts.out as string}`);
    });
  program
    .command('stats')
    .description('print what a trace holds')
    .argument('<file>', 'trace CSV')
    .option('--num-prompts <n>', 'only the first N rows by time, as the load generator would', positiveInteger)
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { numPrompts?: number; json?: boolean }) => {
      const stats = computeTraceStats(await loadTrace(file, { numPrompts: opts.numPrompts ?? null }));
      console.log(opts.json ? JSON.stringify(stats, null, 2) : formatTraceStats(stats));
    });
  if (argv.length === 0) {
    console.log(program.helpInformation());
    return 2;
  }
  await parseCommand(program, argv);
  return 0;
}

/** Writes the synthetic trace as CSV, streaming; returns the number of rows. */
export async function writeSynthTrace(path: string, options: SynthOptions): Promise<number> {
  const rows = synthesizeTrace(options);
  await mkdir(dirname(path), { recursive: true });
  const columns = options.modelName === null ? [...REQUIRED_COLUMNS] : [...REQUIRED_COLUMNS, MODEL_COLUMN];
  const csv = stringify({ header: true, columns });
  const out = createWriteStream(path);
  csv.pipe(out);
  for (const row of rows) {
    const record = [formatTimestamp(row.timestampMs), row.conversationId, row.queryTokens, row.replyTokens];
    if (options.modelName !== null) record.push(options.modelName);
    if (!csv.write(record)) await once(csv, 'drain');
  }
  csv.end();
  await once(out, 'finish');
  return rows.length;
}

function timestampValue(value: string): number {
  const ms = parseTimestamp(value);
  if (ms === null) throw new InvalidArgumentError('expected a time like 2025-01-01 00:00:00.000');
  return ms;
}
