// summary.json and summary.csv of a `kvsweep simulate` folder, written by the same code as a
// sweep's (activities/collect.ts reads each result.json, activities/summary-files.ts writes), so
// `kvsweep report` reads a simulation folder as it reads any results folder.
import { basename } from 'node:path';
import { collectFrom } from '../activities/collect.ts';
import { writeSummaryFiles } from '../activities/summary-files.ts';
import type { ExperimentOutcome } from '../domain/records.ts';
import type { OfflineExperiment } from './experiment.ts';

export interface GridExperiment {
  id: string;
  experiment: OfflineExperiment;
  dir: string;
  cpuSeconds: number;
  startedAt: string;
}

/** The configuration a sweep's outcome records, in its names (model, dataset, eviction_strategy, ...). */
function configurationOf(e: OfflineExperiment): Record<string, unknown> {
  return {
    model: e.model,
    dataset: basename(e.input.path).split('.')[0] || e.input.path,
    dataset_path: e.input.path,
    dataset_format: e.input.kind,
    cache_size_gb: e.cache_size_gb,
    cache_tier: e.cache_tier,
    request_rate: e.request_rate,
    eviction_strategy: e.policy,
    use_conversation_eviction: e.policy === 'conversation_aware',
    conversation_eviction_config: e.conversation_eviction_config,
    num_prompts: e.num_prompts,
    time_limit: e.time_limit,
    mock_decoding: e.mock_decoding,
    seed: e.seed,
    tensor_parallel_size: e.tensor_parallel_size,
    environment: 'offline',
  };
}

export async function writeGridSummary(outDir: string, experiments: readonly GridExperiment[]): Promise<void> {
  const outcomes: ExperimentOutcome[] = [];
  for (const x of experiments) {
    const collected = await collectFrom(x.dir);
    outcomes.push({
      experiment_id: x.id,
      sweep_id: `simulate/${basename(outDir)}`,
      timestamp: x.startedAt,
      status: 'succeeded',
      execution_success: true,
      execution_time_seconds: x.cpuSeconds,
      queued_seconds: 0,
      configuration: configurationOf(x.experiment),
      ...collected,
      attempts: [],
      error: null,
      results_path: x.dir,
    });
  }
  await writeSummaryFiles(outDir, outcomes, { experiment_tag: null });
}
