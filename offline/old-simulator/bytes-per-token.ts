// KV-cache bytes of one token for the old model: the registry's kv_bytes_per_token when set, else
// 2 (K and V) x layers x KV heads x head size x 2 bytes from the model's published config
// (simulator/models.ts). Qwen3-8B: 2 x 36 x 8 x 128 x 2 = 147,456, the figure the old runner uses
// for every model. The old CLI takes the head size as hidden size / attention heads, which differs
// where a model sets head_dim (Qwen3-32B: 80 instead of 128, so 163,840 instead of 262,144).
import { UserError } from '../../domain/errors.ts';
import { resolveModel } from '../../simulator/models.ts';

/** The old simulator runner's constant (144 x 1024), the right figure for Qwen3-8B. */
export const OLD_RUNNER_BYTES_PER_TOKEN = 147_456;

export interface ModelKv {
  name: string;
  huggingface_path: string;
  kv_bytes_per_token?: number | undefined;
}

export function bytesPerToken(model: ModelKv): number {
  if (model.kv_bytes_per_token !== undefined) return model.kv_bytes_per_token;
  try {
    const g = resolveModel(model.huggingface_path);
    return 2 * g.layers * g.kvHeads * g.headDim * g.dtypeBytes;
  } catch (error) {
    throw new UserError(
      `model '${model.name}': its KV bytes per token are unknown (${(error as Error).message}); set kv_bytes_per_token in its registry entry`,
    );
  }
}
