// The files kvsweep reads back to make decisions, as zod schemas: the one definition of each, the
// types inferred. outcome.json decides whether an experiment runs again; sweep.json and the sweep
// record (KVSWEEP_HOME/sweeps/) say what a resume runs. Every read parses with these, so a
// truncated or hand-edited file is a problem reported with its path, never a success taken on
// trust. Workflows import the types only (erased), so zod stays out of the workflow bundle.
import { z } from 'zod';
import { ResolvedSweep } from './config/resolved.ts';

export const ExperimentStatus = z.enum(['succeeded', 'failed', 'cancelled']);
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const AttemptRecord = z.object({
  attempt: z.number().int().positive(),
  host_id: z.string().nullable(),
  gpu_ids: z.array(z.string()),
  port: z.number().int().nullable(),
  started_at: z.string(),
  ended_at: z.string(),
  /** How this attempt ended: the experiment's status, or why it was given up. */
  result: z.enum(['succeeded', 'failed', 'host_lost', 'cancelled']),
  /** The cause, one line, when the attempt did not succeed. */
  error: z.string().nullable(),
  /** The last lines of the server (or client) log when the attempt failed. */
  log_tail: z.array(z.string()),
  /** Where this attempt's files are, on host_id. */
  files: z.string().nullable(),
  /** The server's life on its GPUs: spawned, ready (ms after spawn), stopped. */
  server_started_at: z.string().nullable().default(null),
  server_ready_after_ms: z.number().nullable().default(null),
  server_stopped_at: z.string().nullable().default(null),
});
export type AttemptRecord = z.infer<typeof AttemptRecord>;

/** attempt.json in an experiment folder: which attempt the folder's files belong to. */
export const AttemptMarker = z.object({
  attempt: z.number().int().positive(),
  host_id: z.string(),
  gpu_ids: z.array(z.string()),
  started_at: z.string(),
});
export type AttemptMarker = z.infer<typeof AttemptMarker>;

/** A flat block of figures: what summary.json and summary.csv carry per section. */
export const Figures = z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]));
export type Figures = z.infer<typeof Figures>;

/** An experiment's outcome.json: its attempts and, when it succeeded, its figures. */
export const ExperimentOutcome = z
  .object({
    experiment_id: z.string().min(1),
    sweep_id: z.string(),
    /** When the experiment started (ISO 8601). */
    timestamp: z.string(),
    status: ExperimentStatus,
    execution_success: z.boolean(),
    /** From the first GPU lease to the end (waiting for GPUs is not counted). */
    execution_time_seconds: z.number().nonnegative(),
    /** Waiting for GPUs before the first lease. */
    queued_seconds: z.number().nonnegative().default(0),
    /** The experiment as the user wrote it, flat (configurationOf). */
    configuration: z.record(z.string(), z.unknown()),
    benchmark_results: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
    cache_statistics: Figures,
    attempts: z.array(AttemptRecord),
    error: z.string().nullable(),
    results_path: z.string(),
  })
  .refine((o) => o.execution_success === (o.status === 'succeeded'), {
    message: 'execution_success contradicts status',
    path: ['execution_success'],
  });
export type ExperimentOutcome = z.infer<typeof ExperimentOutcome>;

/** sweep.json in a results folder: what the sweep planned, so `resume DIR` works without Temporal. */
export const SweepFile = z.object({
  sweep_id: z.string().min(1),
  experiment_ids: z.array(z.string()),
  resolved: ResolvedSweep,
});
export type SweepFile = z.infer<typeof SweepFile>;

/** KVSWEEP_HOME/sweeps/<id>.json: how this machine started a sweep, for `resume` and `status`. */
export const SweepRecord = z.object({
  sweep_id: z.string().min(1),
  results_dir: z.string().min(1),
  yaml_path: z.string().nullable(),
  resolved: ResolvedSweep,
  started_at: z.string(),
});
export type SweepRecord = z.infer<typeof SweepRecord>;

/** Counts for the console summary of a sweep with `total` experiments (countOutcomes). */
export const SweepCounts = z.object({
  total: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
  /** Not run yet, or running. */
  pending: z.number().int(),
  average_execution_time_seconds: z.number().nullable(),
});
export type SweepCounts = z.infer<typeof SweepCounts>;

/** counts.json beside summary.json: the counts, for `status` of a sweep Temporal has forgotten. */
export const SweepCountsFile = SweepCounts.extend({ sweep_id: z.string() });
export type SweepCountsFile = z.infer<typeof SweepCountsFile>;
