// Sweep files for orchestration tests: the simulator at high speed over a small fixture trace, so
// an experiment takes a few seconds.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { projectRoot } from '../../platform/paths.ts';

export const SMALL_TRACE = join(projectRoot, 'test', 'fixtures', 'traces', 'chat-small.csv');

/** The simulator 20x faster than real time: a test experiment takes a few seconds. */
export const FAST_SIM_ARGS = ['--speed', '20'];

export interface SweepFileOptions {
  tag: string;
  dir: string;
  cacheSizes?: number[];
  strategies?: string[];
  rates?: number[];
  model?: string;
  /** Extra simulator flags (speed, faults). */
  serverArgs?: string[];
  serverEnv?: Record<string, string>;
  gpuClass?: string;
  maxAttempts?: number;
  timeLimit?: number;
  /** The client setting (`{arrival}` or an external `{argv}`). */
  client?: Record<string, unknown>;
  /** Extra dataset entries beyond the first (each its own overrides). */
  extraDatasets?: Record<string, unknown>[];
}

/** Writes sweep.yaml (and the trace beside it) into dir; returns the YAML path. */
export function writeSweepFile(options: SweepFileOptions): string {
  mkdirSync(options.dir, { recursive: true });
  copyFileSync(SMALL_TRACE, join(options.dir, 'chat-small.csv'));
  const sweep = {
    tag: options.tag,
    environment: 'sim',
    model_name: options.model ?? 'sim-small',
    log_base_dir: join(options.dir, 'logs'),
    defaults: {
      num_prompts: 100,
      time_limit: options.timeLimit ?? 60,
      gpu_class: options.gpuClass ?? 'any',
      max_attempts: options.maxAttempts ?? 1,
      server_extra_args: [...FAST_SIM_ARGS, ...(options.serverArgs ?? [])],
      ...(options.serverEnv ? { server_env: options.serverEnv } : {}),
      ...(options.client ? { client: options.client } : {}),
    },
    experiments: [
      {
        datasets: [
          {
            path: 'chat-small.csv',
            cache_sizes: options.cacheSizes ?? [0.01],
            request_rates: options.rates ?? [10],
            cache_eviction_strategy: options.strategies ?? ['lru'],
          },
          ...(options.extraDatasets ?? []),
        ],
      },
    ],
  };
  const path = join(options.dir, 'sweep.yaml');
  writeFileSync(path, stringify(sweep));
  return path;
}
