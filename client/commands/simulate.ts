// `kvsweep simulate`: replays a trace, an earlier run's requests.jsonl or the old tool's log pair
// offline through kvsweep's cache model, for every cache size x policy x rate, and prints a table.
// No server, no Temporal: the work is offline/'s runOfflineGrid; this only parses and prints.
// `kvsweep simulate --yaml FILE` instead runs a sweep file in the offline environment as a sweep
// (Temporal, results folder, report), on this machine's cores: `kvsweep run --env offline`.
import Table from 'cli-table3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../../domain/errors.ts';
import { runOfflineGrid, type GridRow } from '../../offline/grid.ts';
import { OfflinePolicy, type OfflineExperimentInput } from '../../offline/experiment.ts';
import type { InputKind } from '../../offline/inputs/stream.ts';
import { detectFormat } from '../../config-files/datasets.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { parseCommand } from '../command-line.ts';
import { noticeLines } from '../plan-notes.ts';
import { startPlannedSweep } from './run.ts';

function list<T>(parse: (item: string) => T): (value: string) => T[] {
  return (value) => value.split(',').map((item) => parse(item.trim()));
}

function number(check: (n: number) => boolean, expected: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`expected ${expected}, got '${value}'`);
    return n;
  };
}

const sizeGb = number((n) => n >= 0, 'a size in GB >= 0');
const positive = number((n) => n > 0, 'a number > 0');
const count = number((n) => Number.isInteger(n) && n > 0, 'an integer > 0');
const integer = number((n) => Number.isInteger(n), 'an integer');
function policy(value: string): OfflinePolicy {
  const parsed = OfflinePolicy.safeParse(value.toLowerCase());
  if (!parsed.success) throw new InvalidArgumentError(`unknown policy '${value}' (${OfflinePolicy.options.join(', ')})`);
  return parsed.data;
}

interface Options {
  yaml?: string;
  env: string;
  models: string[];
  environments: string[];
  sweepId?: string;
  fresh?: boolean;
  detach?: boolean;
  trace?: string;
  requests?: string;
  log?: string;
  model?: string;
  cacheSize?: number[];
  policy?: OfflinePolicy[];
  rate: number[];
  out?: string;
  tier: 'cpu' | 'gpu';
  arrival: 'trace' | 'poisson';
  numPrompts?: number;
  timeLimit?: number;
  seed: number;
  mockDecoding?: boolean;
  maxModelLen?: number;
  tensorParallelSize: number;
  blockSize: number;
  chunkSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  gpuMemoryUtilization: number;
  dtype: 'auto' | 'half' | 'float16' | 'bfloat16' | 'float32';
  lightgbmMode: 'regression' | 'ranking' | 'classification';
  trainOn?: string;
  trainFraction: number;
  json?: boolean;
}

function input(o: Options): { kind: InputKind; path: string } {
  const given = [o.trace && { kind: 'trace_csv' as const, path: o.trace }, o.requests && { kind: 'requests_jsonl' as const, path: o.requests }, o.log && { kind: 'server_log' as const, path: o.log }].filter(
    (x): x is { kind: InputKind; path: string } => Boolean(x),
  );
  if (given.length !== 1) throw new UserError('simulate: give exactly one of --trace FILE, --requests FILE, --log FILE (see --help)');
  return given[0]!;
}

const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(2)}`);
const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(1));

function table(rows: readonly GridRow[]): string {
  const t = new Table({
    head: ['policy', 'cache GB', 'rate', 'requests', 'hit %', 'GPU hit %', 'CPU hit %', 'mean TTFT ms', 'p99 TTFT ms', 'replay s', 'req/s'],
    style: { head: [], border: [], compact: true },
  });
  for (const r of rows) {
    t.push([r.policy, String(r.cache_size_gb), String(r.request_rate), `${r.completed}/${r.requests}`, pct(r.hit_rate), pct(r.gpu_hit_rate), pct(r.cpu_hit_rate), ms(r.mean_ttft_ms), ms(r.p99_ttft_ms), r.replay_cpu_seconds.toFixed(3), r.requests_per_cpu_second.toFixed(0)]);
  }
  return t.toString();
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('simulate')
    .description("replay requests offline through kvsweep's cache model (the simulator's scheduler on a virtual clock): no server, no Temporal")
    .option('--trace <file>', 'a conversation trace CSV')
    .option('--requests <file>', "an earlier run's requests.jsonl (or .jsonl.gz): re-simulate it at other sizes and policies")
    .option('--log <file>', "the old tool's server log (its client log is the same path with server -> client)")
    .option('--yaml <file>', 'run a sweep file offline as a sweep (Temporal, results folder, report) on this machine\'s cores; the options below are then the file\'s')
    .option('--env <name>', 'with --yaml: an environment of kind offline', 'offline')
    .option('--models <file>', 'with --yaml: extra model registry file (repeatable)', collect, [])
    .option('--environments <file>', 'with --yaml: extra environments file (repeatable)', collect, [])
    .option('--sweep-id <id>', 'with --yaml: workflow id of the sweep (default sweep/<tag>/<date>)')
    .option('--fresh', 'with --yaml: a new sweep even if this one ran today')
    .option('--detach', 'with --yaml: start the sweep and return (workers elsewhere run it)')
    .option('--model <name>', 'a simulator model (e.g. Qwen/Qwen3-8B-FP8, kvsweep/sim-small) or a folder with a config.json')
    .option('--cache-size <gb,...>', 'cache sizes in GB (of the tier --tier names)', list(sizeGb))
    .option('--policy <p,...>', `eviction policies: ${OfflinePolicy.options.join(', ')}`, list(policy))
    .option('--rate <r,...>', 'replay speed factors of the recorded times (requests/s with --arrival poisson)', list(positive), [1])
    .option('--out <dir>', 'folder for one result folder per experiment and simulate.json')
    .addOption(new Option('--tier <tier>', "what --cache-size sizes: 'cpu' (LMCache's tier behind the GPU's) or 'gpu' (vLLM's KV cache alone)").choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--arrival <a>', 'trace times or Poisson arrivals').choices(['trace', 'poisson']).default('trace'))
    .option('--num-prompts <n>', 'only the first N requests by time', count)
    .option('--time-limit <s>', 'send nothing after this many seconds (virtual) from the first send', positive)
    .option('--seed <n>', 'seed of Poisson arrivals', integer, 0)
    .option('--mock-decoding', "fold each reply into the prompt and decode 1 token (the old runner's mock decoding)")
    .option('--max-model-len <n>', "vLLM's --max-model-len (default: the model's)", count)
    .option('--tensor-parallel-size <n>', 'GPUs of the simulated server', count, 1)
    .option('--block-size <n>', "vLLM's block size, tokens", count, 16)
    .option('--chunk-size <n>', "LMCache's chunk size, tokens", count, 256)
    .option('--max-num-seqs <n>', 'running requests at most', count, 128)
    .option('--max-num-batched-tokens <n>', 'tokens per engine step at most', count, 16384)
    .option('--gpu-memory-utilization <f>', 'share of device memory for weights and KV (sizes the GPU tier with --tier cpu)', positive, 0.8)
    .addOption(new Option('--dtype <d>', 'KV cache element type').choices(['auto', 'half', 'float16', 'bfloat16', 'float32']).default('half'))
    .addOption(new Option('--lightgbm-mode <m>', "policy lightgbm: the model's objective").choices(['regression', 'ranking', 'classification']).default('regression'))
    .option('--train-on <file>', 'policy lightgbm: train on all of this input (a trace CSV, requests.jsonl or server log) instead of the first part of this one')
    .option('--train-fraction <f>', 'policy lightgbm: train on this first share of the requests, evaluate on the rest', number((n) => n > 0 && n < 1, 'a share in (0, 1)'), 0.5)
    .option('--json', 'print the rows as JSON');
  parseCommand(program, argv);
  const o = program.opts<Options>();
  if (o.yaml !== undefined) return simulateSweepFile(o, o.yaml);
  const model = required(o.model, '--model');
  const cacheSize = required(o.cacheSize, '--cache-size');
  const policies = required(o.policy, '--policy');
  const out = required(o.out, '--out');
  const base: OfflineExperimentInput = {
    input: input(o),
    model,
    tensor_parallel_size: o.tensorParallelSize,
    max_model_len: o.maxModelLen ?? null,
    cache_size_gb: cacheSize[0]!,
    cache_tier: o.tier,
    policy: policies[0]!,
    request_rate: o.rate[0]!,
    arrival: o.arrival,
    num_prompts: o.numPrompts ?? null,
    time_limit: o.timeLimit ?? null,
    seed: o.seed,
    mock_decoding: o.mockDecoding ?? false,
    lightgbm: { mode: o.lightgbmMode, train_on: o.trainOn ? { kind: detectFormat(o.trainOn), path: o.trainOn } : null, train_fraction: o.trainFraction },
    engine: {
      block_size: o.blockSize,
      chunk_size: o.chunkSize,
      max_num_seqs: o.maxNumSeqs,
      max_num_batched_tokens: o.maxNumBatchedTokens,
      gpu_memory_utilization: o.gpuMemoryUtilization,
      dtype: o.dtype,
    },
  };
  const rows = await runOfflineGrid(base, { cacheSizesGb: cacheSize, policies, rates: o.rate }, out, (row) => {
    if (!o.json) console.error(`${row.id}: hit ${pct(row.hit_rate)}% in ${row.replay_cpu_seconds.toFixed(3)} s`);
  });
  console.log(o.json ? JSON.stringify(rows, null, 2) : table(rows));
  return 0;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UserError(`simulate: ${flag} is required (or give a sweep file with --yaml FILE)`);
  return value;
}

/** `simulate --yaml FILE`: the sweep file planned in an offline environment and run as a sweep. */
async function simulateSweepFile(o: Options, yaml: string): Promise<number> {
  const { resolved, experiments, notices } = await planSweep(yaml, { env: o.env, modelsFiles: o.models, environmentsFiles: o.environments });
  for (const line of noticeLines(notices)) console.error(line);
  if (resolved.environment.definition.kind !== 'offline') {
    throw new UserError(`simulate: environment '${resolved.environment.name}' runs a server; run its sweep with \`kvsweep run --yaml ${yaml} --env ${resolved.environment.name}\``);
  }
  return startPlannedSweep('simulate', { yaml, sweepId: o.sweepId, fresh: o.fresh, detach: o.detach, json: o.json }, { resolved, experiments: experiments.length });
}
