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
}

/**
 * Replaces the `{name}` placeholders named in values and leaves any other braces as they are:
 * plan-time placeholders were already resolved (and unknown ones rejected) by the expansion, so
 * what remains is literal text from the user, such as JSON.
 */
export function fillPlaceholders(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

function expandArgv(templates: readonly string[], values: Record<string, string>, kvsweepArgv: readonly string[]): string[] {
  return templates.flatMap((element) => (element === '{kvsweep}' ? [...kvsweepArgv] : [fillPlaceholders(element, values)]));
}

/** What an experiment of an offline environment (no server) says when asked to start one. */
export const OFFLINE_EXPERIMENT_MESSAGE = 'offline experiments run in the offline runner (kvsweep simulate), not on a server';

/** The server's argv and added environment on this host. Throws for an offline experiment (no server). */
export function renderServerCommand(spec: ExperimentSpec, host: HostBinding): { argv: string[]; env: Record<string, string> } {
  if (spec.server === null) throw new Error(`${spec.id}: ${OFFLINE_EXPERIMENT_MESSAGE}`);
  const values = { port: String(host.port), gpus: host.gpuIds.join(',') };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.server.env)) env[name] = fillPlaceholders(value, values);
  env.CUDA_VISIBLE_DEVICES = values.gpus;
  return { argv: expandArgv(spec.server.argv, values, host.kvsweepArgv), env };
}

export interface ClientBinding {
  baseUrl: string;
  resultDir: string;
  kvsweepArgv: readonly string[];
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
