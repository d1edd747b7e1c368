// What an experiment leaves behind: its attempts and, when it succeeded, its figures. One
// outcome.json per experiment folder; summary.json is the list of them in the old runner's shape
// (experiment_id, timestamp, configuration, benchmark_results, cache_statistics,
// execution_success, execution_time_seconds), plus kvsweep's fields. Workflow-safe: no Node APIs.
import type { ExperimentSpec } from './experiment.ts';
import type { ExperimentOutcome, ExperimentStatus, SweepCounts } from './records.ts';

// The records' one definition is their schema in records.ts; type-only here, so the workflows
// that import this module bundle without zod.
export type { AttemptRecord, ExperimentOutcome, ExperimentStatus, SweepCounts } from './records.ts';

/** The configuration block of a summary entry: the experiment as the user wrote it, flat. */
export function configurationOf(spec: ExperimentSpec): Record<string, unknown> {
  return {
    model: spec.model,
    huggingface_path: spec.huggingface_path,
    tensor_parallel_size: spec.tensor_parallel_size,
    pipeline_parallel_size: spec.pipeline_parallel_size,
    dataset: spec.dataset.name,
    dataset_path: spec.dataset.path,
    cache_size_gb: spec.cache_size_gb,
    request_rate: spec.request_rate,
    eviction_strategy: spec.eviction_strategy,
    lightgbm_mode: spec.lightgbm_mode,
    use_conversation_eviction: spec.use_conversation_eviction,
    conversation_eviction_config: spec.conversation_eviction_config,
    num_prompts: spec.num_prompts,
    time_limit: spec.time_limit,
    mock_decoding: spec.mock_decoding,
    environment: spec.environment,
    gpu_class: spec.gpu_class,
    hbm_size_gb: hbmSizeOf(spec),
  };
}

/**
 * GPU memory per GPU in GB (the sweep file's `hbm_size`), null when the spec has none (specs
 * planned by kvsweep versions before the field existed, carried in running sweeps' histories).
 */
function hbmSizeOf(spec: ExperimentSpec): number | null {
  const value = (spec as { hbm_size_gb?: unknown }).hbm_size_gb;
  return typeof value === 'number' ? value : null;
}

/** Counts for the console summary, over outcomes of a sweep with `total` experiments. */
export function countOutcomes(outcomes: readonly Pick<ExperimentOutcome, 'status' | 'execution_time_seconds'>[], total: number): SweepCounts {
  const by = (status: ExperimentStatus) => outcomes.filter((o) => o.status === status).length;
  const timed = outcomes.filter((o) => o.status === 'succeeded');
  const average = timed.length ? timed.reduce((sum, o) => sum + o.execution_time_seconds, 0) / timed.length : null;
  return {
    total,
    succeeded: by('succeeded'),
    failed: by('failed'),
    cancelled: by('cancelled'),
    pending: total - outcomes.length,
    average_execution_time_seconds: average === null ? null : Math.round(average * 100) / 100,
  };
}
