// Turns an experiment's command templates into the argv and environment of real processes on the
// host that runs them. Placeholders are replaced inside argv elements; an element never splits
// into several, except the exact element `{kvsweep}`, so no value can smuggle in extra arguments.
// Workflow-safe: no Node APIs.
import type { ClientCommand, ExperimentSpec } from './experiment.ts';

export interface HostBinding {
  port: number;
  gpuIds: readonly string[];
  /** argv that runs this kvsweep installation, e.g. [node, /path/bin/kvsweep.js]. */
  kvsweepArgv: readonly string[];
  /** The empty folder made for this server start (`{scratch_dir}`); absent when none was made. */
  scratchDir?: string;
}

/** The placeholder that asks the worker for an empty folder per server start. */
export const SCRATCH_DIR_PLACEHOLDER = '{scratch_dir}';

/**
 * Replaces the `{name}` (and `{name+N}`, N added to a numeric value) placeholders named in values
 * and leaves any other braces as they are: plan-time placeholders were already resolved (and
 * unknown ones rejected) by the expansion, so what remains is literal text from the user, such as JSON.
 */
export function fillPlaceholders(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)(?:\+(\d+))?\}/g, (whole, name: string, offset: string | undefined) => {
    const value = values[name];
    if (value === undefined || offset === undefined) return value ?? whole;
    const n = Number(value);
    return value !== '' && Number.isInteger(n) ? String(n + Number(offset)) : whole;
  });
}

function hostValues(host: HostBinding): Record<string, string> {
  return {
    port: String(host.port),
    gpus: host.gpuIds.join(','),
    first_gpu: host.gpuIds[0] ?? '',
    ...(host.scratchDir === undefined ? {} : { scratch_dir: host.scratchDir }),
  };
}

/** Whether the server's command or environment asks for `{scratch_dir}`. */
export function usesScratchDir(spec: ExperimentSpec): boolean {
  if (spec.server === null) return false;
  return [...spec.server.argv, ...Object.values(spec.server.env)].some((t) => t.includes(SCRATCH_DIR_PLACEHOLDER));
}

/** The LMCache fork's statistics URL on this host, or null when the environment names none. */
export function renderLmcacheStatsUrl(spec: ExperimentSpec, host: HostBinding): string | null {
  const template = spec.server?.lmcache_stats_url;
  return template === undefined ? null : fillPlaceholders(template, hostValues(host));
}

function expandArgv(templates: readonly string[], values: Record<string, string>, kvsweepArgv: readonly string[]): string[] {
  return templates.flatMap((element) => (element === '{kvsweep}' ? [...kvsweepArgv] : [fillPlaceholders(element, values)]));
}

/** What an experiment of an offline environment (no server) says when asked to start one. */
export const OFFLINE_EXPERIMENT_MESSAGE = 'offline experiments run in the offline runner (kvsweep simulate), not on a server';

/** The server's argv and added environment on this host. Throws for an offline experiment (no server). */
export function renderServerCommand(spec: ExperimentSpec, host: HostBinding): { argv: string[]; env: Record<string, string> } {
  if (spec.server === null) throw new Error(`${spec.id}: ${OFFLINE_EXPERIMENT_MESSAGE}`);
  const values = hostValues(host);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.server.env)) env[name] = fillPlaceholders(value, values);
  env.CUDA_VISIBLE_DEVICES = host.gpuIds.join(',');
  return { argv: expandArgv(spec.server.argv, values, host.kvsweepArgv), env };
}

export interface ClientBinding {
  baseUrl: string;
  resultDir: string;
  kvsweepArgv: readonly string[];
  /** The LMCache fork's statistics URL on this host (renderLmcacheStatsUrl); null: none. */
  lmcacheStatsUrl?: string | null;
}

/** The client's argv: kvsweep's load generator, or the user's external client template. */
export function renderClientCommand(spec: ExperimentSpec, client: ClientCommand, binding: ClientBinding): string[] {
  if (client.kind === 'builtin') {
    return [
      ...binding.kvsweepArgv,
      'loadgen',
      '--base-url', binding.baseUrl,
      '--model', spec.served_model_name,
      '--dataset', spec.dataset.path,
      '--request-rate', String(spec.request_rate),
      '--arrival', client.arrival,
      '--num-prompts', String(spec.num_prompts),
      '--time-limit', String(spec.time_limit),
      '--seed', String(spec.seed),
      '--result-dir', binding.resultDir,
      '--progress', 'jsonl',
      ...(spec.mock_decoding ? ['--mock-decoding'] : []),
      ...(binding.lmcacheStatsUrl ? ['--lmcache-stats-url', binding.lmcacheStatsUrl] : []),
    ];
  }
  const values = {
    base_url: binding.baseUrl,
    model: spec.served_model_name,
    dataset: spec.dataset.path,
    result_dir: binding.resultDir,
    request_rate: String(spec.request_rate),
    num_prompts: String(spec.num_prompts),
    time_limit: String(spec.time_limit),
    seed: String(spec.seed),
  };
  return expandArgv(client.argv, values, binding.kvsweepArgv);
}
