// A sweep's offline ExperimentSpec (environment of kind `offline`, docs/configuration.md's contract)
// mapped onto the input of the cache model it names: kvsweep's engine (OfflineExperiment) or the
// old simulator's model (OldSimulatorInput). Pure: the sweep workflow's offline activity calls it.
import type { ExperimentSpec } from '../domain/experiment.ts';
import { UserError } from '../domain/errors.ts';
import { OfflinePolicy, type OfflineExperimentInput } from './experiment.ts';
import { bytesPerToken } from './old-simulator/bytes-per-token.ts';
import type { OldSimulatorInput } from './old-simulator/schema.ts';

export type OfflineRunInput = { cache_model: 'kvsweep'; experiment: OfflineExperimentInput } | { cache_model: 'old-simulator'; input: OldSimulatorInput };

/** What runs the spec; a UserError says why a spec has no run (it fails that experiment only). */
export function offlineRunOf(spec: ExperimentSpec): OfflineRunInput {
  const offline = spec.offline;
  if (offline === null) throw new UserError(`${spec.id}: not an offline experiment (its environment '${spec.environment}' runs a server)`);
  return offline.cache_model === 'old-simulator' ? { cache_model: 'old-simulator', input: oldSimulatorInput(spec) } : { cache_model: 'kvsweep', experiment: offlineExperimentOfSpec(spec) };
}

/**
 * An offline spec as kvsweep's engine runs it (cache_size_gb sizes LMCache's CPU tier, as
 * environment offline says): the one mapping the sweep's activity and `kvsweep search` share.
 */
export function offlineExperimentOfSpec(spec: ExperimentSpec): OfflineExperimentInput {
  const o = spec.offline ?? { max_context_length: null, block_size: null, chunk_size: null, max_concurrent_requests: null };
  const policy = OfflinePolicy.safeParse(spec.eviction_strategy);
  if (!policy.success) {
    throw new UserError(
      `${spec.id}: strategy '${spec.eviction_strategy}' does not exist in kvsweep's cache model (it has ${OfflinePolicy.options.join(', ')}); ` +
        "set cache_model: old-simulator to run it in the old simulator's model",
    );
  }
  return {
    input: { kind: spec.dataset.format, path: spec.dataset.path },
    model: spec.huggingface_path,
    tensor_parallel_size: spec.tensor_parallel_size,
    pipeline_parallel_size: spec.pipeline_parallel_size,
    max_model_len: o.max_context_length ?? spec.max_model_len,
    cache_size_gb: spec.cache_size_gb,
    cache_tier: 'cpu',
    policy: policy.data,
    conversation_eviction_config: numbersOf(spec.conversation_eviction_config),
    request_rate: spec.request_rate,
    arrival: spec.client.kind === 'builtin' ? spec.client.arrival : 'trace',
    num_prompts: spec.num_prompts,
    time_limit: spec.time_limit,
    seed: spec.seed,
    mock_decoding: spec.mock_decoding,
    ...(spec.lightgbm_mode ? { lightgbm: { mode: spec.lightgbm_mode } } : {}),
    engine: {
      ...(o.block_size === null ? {} : { block_size: o.block_size }),
      ...(o.chunk_size === null ? {} : { chunk_size: o.chunk_size }),
      ...(o.max_concurrent_requests === null ? {} : { max_num_seqs: o.max_concurrent_requests }),
    },
  };
}

function oldSimulatorInput(spec: ExperimentSpec): OldSimulatorInput {
  const { format, path } = spec.dataset;
  if (format === 'requests_jsonl') {
    throw new UserError(`${spec.id}: the old simulator's model reads a server log or a trace CSV, not a requests.jsonl (${path}); use cache_model: kvsweep for it`);
  }
  if (spec.cache_size_gb <= 0) throw new UserError(`${spec.id}: the old simulator's model needs a cache size > 0 GB`);
  return {
    source: format === 'server_log' ? { kind: 'log-pair', server_log: path } : { kind: 'trace-csv', path },
    cache_size_gb: spec.cache_size_gb,
    policy: spec.eviction_strategy,
    bytes_per_token: bytesPerToken({ name: spec.model, huggingface_path: spec.huggingface_path }),
    model_name: spec.model,
    lightgbm: { mode: spec.lightgbm_mode ?? 'regression' },
  };
}

/** conversation_aware's parameters are numbers; anything else in the record is not one of them. */
function numbersOf(config: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(config)) if (typeof value === 'number') out[key] = value;
  return out;
}
