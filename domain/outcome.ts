// What an experiment leaves behind: its attempts and, when it succeeded, its figures. One
// outcome.json per experiment folder; summary.json is the list of them in the old runner's shape
// (experiment_id, timestamp, configuration, benchmark_results, cache_statistics,
// execution_success, execution_time_seconds), plus kvsweep's fields. Workflow-safe: no Node APIs.
import type { ExperimentSpec } from './experiment.ts';

export type ExperimentStatus = 'succeeded' | 'failed' | 'cancelled';

export interface AttemptRecord {
  attempt: number;
  host_id: string | null;
  gpu_ids: string[];
  port: number | null;
  started_at: string;
  ended_at: string;
  /** How this attempt ended: the experiment's status, or why it was given up. */
  result: 'succeeded' | 'failed' | 'host_lost' | 'cancelled';
  /** The cause, one line, when the attempt did not succeed. */
  error: string | null;
  /** The last lines of the server (or client) log when the attempt failed. */
  log_tail: string[];
  /** Where this attempt's files are, on host_id. */
  files: string | null;
  /** The server's life on its GPUs: spawned, ready (ms after spawn), stopped. */
  server_started_at: string | null;
  server_ready_after_ms: number | null;
  server_stopped_at: string | null;
}

export interface ExperimentOutcome {
  experiment_id: string;
  sweep_id: string;
  /** When the experiment started (ISO 8601). */
  timestamp: string;
  status: ExperimentStatus;
  execution_success: boolean;
  /** From the first GPU lease to the end (waiting for GPUs is not counted). */
  execution_time_seconds: number;
  /** Waiting for GPUs before the first lease. */
  queued_seconds: number;
  configuration: Record<string, unknown>;
  benchmark_results: Record<string, number | string | null>;
  cache_statistics: Record<string, number | string | boolean | null>;
  attempts: AttemptRecord[];
  error: string | null;
  results_path: string;
}

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
  };
}

export interface SweepCounts {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Not run yet, or running. */
  pending: number;
  average_execution_time_seconds: number | null;
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
