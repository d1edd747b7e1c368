// `kvsweep loadgen`: replay a conversation trace against an OpenAI-compatible server and write
// result.json, requests.jsonl and metrics.jsonl. With `--progress jsonl`, stdout carries one JSON
// object per line for the orchestrator (progress about once a second, then `done`) and human text
// goes to stderr; otherwise the "Serving Benchmark Result" block goes to stdout.
import { Command, Option } from 'commander';
import { runLoadgen } from './run.ts';
import { integer, nonNegativeNumber, parseCommand, positiveInteger, positiveNumber, rateValue } from './cli-support.ts';

interface CliOptions {
  baseUrl: string;
  model: string;
  dataset: string;
  requestRate: number;
  arrival: 'trace' | 'poisson';
  numPrompts?: number;
  timeLimit?: number;
  mockDecoding?: boolean;
  seed: number;
  resultDir: string;
  progress?: 'jsonl';
  graceS: number;
  resetPrefixCache: boolean;
  tokenize: boolean;
  gcPacing: boolean;
  reasoningHistory: 'auto' | 'rewrite' | 'verbatim';
  lmcacheStatsUrl?: string;
}

export async function main(argv: string[]): Promise<number> {
  let options: CliOptions | null = null;
  const program = new Command('kvsweep loadgen')
    .description('replay a conversation trace against an OpenAI-compatible server (vLLM, the simulator)')
    .requiredOption('--base-url <url>', 'server root, e.g. http://127.0.0.1:8000')
    .requiredOption('--model <name>', 'model name sent in requests (the served model name)')
    .requiredOption('--dataset <file>', 'conversation trace CSV')
    .requiredOption('--result-dir <dir>', 'folder for result.json, requests.jsonl, metrics.jsonl')
    .option('--request-rate <r>', 'trace: replay speed factor (1 = as recorded); poisson: requests/s; inf: as fast as allowed', rateValue, 1)
    .addOption(new Option('--arrival <kind>', 'send times from the trace, or Poisson at the request rate').choices(['trace', 'poisson']).default('trace'))
    .option('--num-prompts <n>', 'use at most the first N rows by time', positiveInteger)
    .option('--time-limit <s>', 'stop sending S seconds after the first send', positiveNumber)
    .option('--grace-s <s>', 'seconds requests in flight at the time limit may still finish', nonNegativeNumber, 5)
    .option('--mock-decoding', 'fold the reply length into the prompt and ask for one token')
    .option('--seed <n>', 'seed of prompt texts and Poisson arrivals', integer, 0)
    .addOption(new Option('--progress <format>', 'machine-readable progress on stdout').choices(['jsonl']))
    .option('--no-reset-prefix-cache', 'do not POST /reset_prefix_cache before the run')
    .option('--no-tokenize', 'do not size and count messages with POST /tokenize (assume one token per word)')
    .addOption(
      new Option('--reasoning-history <mode>', 'replies with <think>...</think>: rewrite </think> in the history copy so a template that drops reasoning keeps the cached prefix, or send them verbatim; auto asks the chat template')
        .choices(['auto', 'rewrite', 'verbatim'])
        .default('auto'),
    )
    .option('--lmcache-stats-url <url>', "the LMCache fork's statistics endpoint (e.g. http://127.0.0.1:9000/lmcache/stats), read before and after the run")
    .option('--no-gc-pacing', "do not collect the client's young-generation garbage in gaps of the schedule")
    .action((opts: CliOptions) => {
      options = opts;
    });
  if (!(await parseCommand(program, argv)) || options === null) return 0;
  const o: CliOptions = options;
  const jsonl = o.progress === 'jsonl';
  const human = (line: string): void => {
    (jsonl ? process.stderr : process.stdout).write(`${line}\n`);
  };
  const emit = (event: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  // A signal stops the replay and still writes the results of what ran, then exits 128 + signo.
  const controller = new AbortController();
  let signalCode = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalCode = signal === 'SIGINT' ? 130 : 143;
    human(`${signal}: stopping; requests in flight are aborted, results are written`);
    controller.abort(`interrupted by ${signal}`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const run = await runLoadgen({
    signal: controller.signal,
    baseUrl: o.baseUrl,
    model: o.model,
    dataset: o.dataset,
    requestRate: o.requestRate,
    arrival: o.arrival,
    numPrompts: o.numPrompts ?? null,
    timeLimitS: o.timeLimit ?? null,
    mockDecoding: o.mockDecoding === true,
    seed: o.seed,
    resultDir: o.resultDir,
    graceS: o.graceS,
    resetPrefixCache: o.resetPrefixCache,
    calibrate: o.tokenize,
    gcPacing: o.gcPacing,
    reasoningHistory: o.reasoningHistory,
    lmcacheStatsUrl: o.lmcacheStatsUrl ?? null,
    log: (line) => process.stderr.write(`${line}\n`),
    onProgress: jsonl
      ? (c) => emit({ type: 'progress', elapsed_s: round(c.elapsedS), scheduled: c.scheduled, sent: c.sent, completed: c.completed, failed: c.failed, total: c.total })
      : undefined,
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  human(run.summaryText);
  human(`results: ${run.resultPath}`);
  if (jsonl) emit({ type: 'done', result: run.resultPath });
  return signalCode;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
