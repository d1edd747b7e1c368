// `kvsweep search`'s engine: the planned experiments of a sweep file grouped by everything but the
// cache size (dataset x rate x policy, and model and engine settings when the file varies them),
// and for each group the knee (offline/knee.ts) found by replaying the dataset in-process through
// kvsweep's cache model at the sizes the bisection asks for. The dataset is read once per group
// input, the oracle's first replay made once per group.
import type { ExperimentSpec } from '../domain/experiment.ts';
import { UserError } from '../domain/errors.ts';
import { OfflinePolicy, type OfflineExperiment } from './experiment.ts';
import { unboundedSizeGb } from './ceiling.ts';
import { hitRates } from './grid.ts';
import { loadRequestStream, type RequestStream } from './inputs/index.ts';
import { searchKnee, roundSize, type KneeProbe, type KneeResult } from './knee.ts';
import { needsFirstPass } from './policies/index.ts';
import { offlineCacheStatistics } from './result.ts';
import { parseOfflineExperiment } from './run.ts';
import { firstPass, simulateOffline } from './simulate.ts';
import { offlineExperimentOfSpec } from './from-spec.ts';

export interface SearchGroup {
  /** `dataset r<rate> policy` (and the model when the file has several). */
  label: string;
  dataset: string;
  request_rate: number;
  policy: OfflinePolicy;
  /** The group's experiment (its cache size is replaced by each probe's). */
  base: OfflineExperiment;
  /** The sizes the sweep file itself lists for the group. */
  sweep_sizes_gb: number[];
}

/** Groups the experiments by everything but the cache size; what kvsweep's model cannot search is listed in `skipped`. */
export function searchGroups(specs: readonly ExperimentSpec[]): { groups: SearchGroup[]; skipped: string[] } {
  const groups = new Map<string, SearchGroup>();
  const skipped = new Set<string>();
  const models = new Set(specs.map((s) => s.model));
  for (const spec of specs) {
    if (spec.offline === null) throw new UserError(`search: experiment ${spec.id} runs on a server (environment ${spec.environment}); the search replays offline: use --env offline`);
    if (spec.offline.cache_model !== 'kvsweep') {
      skipped.add(`${spec.dataset.name} ${spec.eviction_strategy}: cache_model ${spec.offline.cache_model} (the search replays kvsweep's model only)`);
      continue;
    }
    if (spec.eviction_strategy === 'lightgbm') {
      skipped.add(`${spec.dataset.name} lightgbm: the search does not train models (compare its sizes with kvsweep simulate --policy lightgbm)`);
      continue;
    }
    if (!OfflinePolicy.safeParse(spec.eviction_strategy).success) {
      skipped.add(`${spec.dataset.name} ${spec.eviction_strategy}: not a policy of kvsweep's offline model`);
      continue;
    }
    const base = parseOfflineExperiment(offlineExperimentOfSpec(spec));
    const key = JSON.stringify({ ...base, cache_size_gb: 0 });
    const group = groups.get(key);
    if (group) {
      if (!group.sweep_sizes_gb.includes(spec.cache_size_gb)) group.sweep_sizes_gb.push(spec.cache_size_gb);
      continue;
    }
    const label = `${spec.dataset.name} r${spec.request_rate} ${base.policy}${models.size > 1 ? ` ${spec.model}` : ''}`;
    groups.set(key, { label, dataset: spec.dataset.name, request_rate: spec.request_rate, policy: base.policy, base, sweep_sizes_gb: [spec.cache_size_gb] });
  }
  for (const g of groups.values()) g.sweep_sizes_gb.sort((a, b) => a - b);
  return { groups: [...groups.values()], skipped: [...skipped] };
}

/** Hit rate of both tiers (cached / prompt tokens) of the group's experiment at one size. */
export function groupEvaluator(stream: RequestStream, base: OfflineExperiment): (gb: number) => number {
  let pass: ReturnType<typeof firstPass> | undefined;
  return (gb) => {
    const experiment = { ...base, cache_size_gb: gb };
    if (needsFirstPass(experiment)) pass ??= firstPass(stream, experiment);
    const sim = simulateOffline(stream, experiment, { firstPass: pass });
    return hitRates({ cache_statistics: offlineCacheStatistics(sim) }).hit_rate ?? 0;
  };
}

export interface SearchSettings {
  target: number;
  tolerance: number;
  /** The lowest size tried; default the unbounded size / 4096. */
  lowGb?: number | undefined;
}

export interface GroupKnee extends KneeResult {
  label: string;
  dataset: string;
  dataset_path: string;
  request_rate: number;
  policy: OfflinePolicy;
  sweep_sizes_gb: number[];
  requests: number;
  /** Replays made (probes), and the CPU seconds they took. */
  evaluations: number;
  cpu_seconds: number;
}

export async function searchSweep(specs: readonly ExperimentSpec[], settings: SearchSettings, onProbe?: (group: SearchGroup, probe: KneeProbe) => void): Promise<{ knees: GroupKnee[]; skipped: string[] }> {
  const { groups, skipped } = searchGroups(specs);
  const streams = new Map<string, Promise<RequestStream>>();
  const knees: GroupKnee[] = [];
  for (const group of groups) {
    const b = group.base;
    const streamKey = JSON.stringify([b.input, b.num_prompts]);
    if (!streams.has(streamKey)) streams.set(streamKey, loadRequestStream(b.input, b.num_prompts));
    const stream = await streams.get(streamKey)!;
    const highGb = unboundedSizeGb(stream, b);
    const lowGb = settings.lowGb ?? roundSize(highGb / 4096);
    if (lowGb >= highGb) throw new UserError(`search: --min-size ${lowGb} GB is not below ${highGb} GB, the size that holds all of ${group.label}`);
    const cpuBefore = process.cpuUsage();
    const result = await searchKnee(groupEvaluator(stream, b), { target: settings.target, tolerance: settings.tolerance, lowGb, highGb }, (p) => onProbe?.(group, p));
    const cpu = process.cpuUsage(cpuBefore);
    knees.push({
      ...result,
      label: group.label,
      dataset: group.dataset,
      dataset_path: b.input.path,
      request_rate: group.request_rate,
      policy: group.policy,
      sweep_sizes_gb: group.sweep_sizes_gb,
      requests: stream.size,
      evaluations: result.probes.length,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
    });
  }
  return { knees, skipped };
}
