// The direct mode of `kvsweep simulate`: one input read once, replayed for every cache size x
// policy x rate, each into its own folder of outDir (result.json, requests.jsonl, metrics.jsonl),
// with one row of figures per experiment for the table the command prints.
import { join } from 'node:path';
import type { LoadgenResult } from '../loadgen/result-schema.ts';
import { writeJsonAtomic } from '../platform/files.ts';
import type { OfflineExperimentInput, OfflinePolicy } from './experiment.ts';
import { loadRequestStream } from './inputs/index.ts';
import { parseOfflineExperiment, runOnStream } from './run.ts';
import { needsFirstPass, type FirstPass } from './policies/index.ts';
import { firstPass, firstPassKey } from './simulate.ts';
import { ceilingKey, ceilingOf, type Ceiling } from './ceiling.ts';
import { writeGridSummary, type GridExperiment } from './grid-summary.ts';

export interface GridAxes {
  cacheSizesGb: number[];
  policies: OfflinePolicy[];
  rates: number[];
}

export interface GridRow {
  id: string;
  policy: OfflinePolicy;
  cache_size_gb: number;
  request_rate: number;
  requests: number;
  completed: number;
  /** Tokens found in the GPU tier / prompt tokens. */
  gpu_hit_rate: number | null;
  /** Tokens loaded from the CPU tier / prompt tokens. */
  cpu_hit_rate: number | null;
  /** Both tiers: cached tokens / prompt tokens. */
  hit_rate: number | null;
  mean_ttft_ms: number | null;
  p99_ttft_ms: number | null;
  /** Both tiers' hit rate with an unbounded CPU tier (null with cache tier gpu, which has none). */
  ceiling_hit_rate: number | null;
  /** CPU seconds of the replay (the oracle's shared first replay counted once), and requests replayed per CPU second. */
  replay_cpu_seconds: number;
  requests_per_cpu_second: number;
  result_dir: string;
}

/** A folder name per experiment: `lru_c64gb_r1`. */
export function experimentId(policy: string, cacheSizeGb: number, rate: number): string {
  return `${policy}_c${cacheSizeGb}gb_r${rate}`;
}

/** Hit rates of the tiers from a result's cache statistics (shared with the knee search). */
export function hitRates(r: Pick<LoadgenResult, 'cache_statistics'>): Pick<GridRow, 'gpu_hit_rate' | 'cpu_hit_rate' | 'hit_rate'> {
  const c = r.cache_statistics;
  const queries = c.prefix_cache_queries;
  if (queries === null || queries === 0) return { gpu_hit_rate: null, cpu_hit_rate: null, hit_rate: null };
  const gpu = (c.prefix_cache_hits ?? 0) / queries;
  const cpu = (c.external_prefix_cache_hits ?? 0) / queries;
  return { gpu_hit_rate: gpu, cpu_hit_rate: cpu, hit_rate: gpu + cpu };
}

/**
 * Runs `base` for every point of `axes` (base's own cache size, policy and rate are replaced),
 * writes each into outDir/<id>/, outDir/simulate.json and summary.json/summary.csv (as a sweep's
 * results folder: `kvsweep report` reads it), and returns the rows in run order. With a CPU tier,
 * each rate's unbounded cache is replayed too (offline.ceiling in result.json).
 */
export async function runOfflineGrid(base: OfflineExperimentInput, axes: GridAxes, outDir: string, onRow?: (row: GridRow) => void): Promise<GridRow[]> {
  const first = parseOfflineExperiment({ ...base, cache_size_gb: axes.cacheSizesGb[0]!, policy: axes.policies[0]!, request_rate: axes.rates[0]! });
  const stream = await loadRequestStream(first.input, first.num_prompts);
  const rows: GridRow[] = [];
  const passes = new Map<string, FirstPass>();
  const ceilings = new Map<string, Ceiling>();
  const done: GridExperiment[] = [];
  for (const rate of axes.rates) {
    for (const policy of axes.policies) {
      for (const size of axes.cacheSizesGb) {
        const experiment = parseOfflineExperiment({ ...base, cache_size_gb: size, policy, request_rate: rate });
        const id = experimentId(policy, size, rate);
        const dir = join(outDir, id);
        let pass: FirstPass | undefined;
        // The oracle's first replay is made once and shared; its CPU time counts in the row that made it.
        let passSeconds = 0;
        if (needsFirstPass(experiment)) {
          const key = firstPassKey(experiment);
          pass = passes.get(key);
          if (!pass) {
            const made = firstPass(stream, experiment);
            passes.set(key, made);
            pass = made;
            passSeconds = made.cpuSeconds;
          }
        }
        // The unbounded cache's replay is made once per rate and engine; its CPU time counts in the first row of each.
        let ceiling: Ceiling | undefined;
        if (experiment.cache_tier === 'cpu') {
          const key = ceilingKey(experiment);
          ceiling = ceilings.get(key);
          if (!ceiling) {
            const before = process.cpuUsage();
            ceiling = ceilingOf(stream, experiment);
            const used = process.cpuUsage(before);
            passSeconds += (used.user + used.system) / 1e6;
            ceilings.set(key, ceiling);
          }
        }
        const startedAt = new Date().toISOString();
        const { result, simulation } = await runOnStream(stream, experiment, dir, { firstPass: pass, ceiling });
        const cpuSeconds = simulation.cpuSeconds + passSeconds;
        done.push({ id, experiment, dir, cpuSeconds, startedAt });
        const row: GridRow = {
          id,
          policy,
          cache_size_gb: size,
          request_rate: rate,
          requests: stream.size,
          completed: result.completed,
          ...hitRates(result),
          mean_ttft_ms: result.mean_ttft_ms,
          p99_ttft_ms: result.p99_ttft_ms,
          ceiling_hit_rate: ceiling?.hit_rate ?? null,
          replay_cpu_seconds: cpuSeconds,
          requests_per_cpu_second: cpuSeconds > 0 ? stream.size / cpuSeconds : 0,
          result_dir: dir,
        };
        rows.push(row);
        onRow?.(row);
      }
    }
  }
  await writeGridSummary(outDir, done);
  await writeJsonAtomic(join(outDir, 'simulate.json'), { input: first.input, notes: stream.notes, experiments: rows });
  return rows;
}
