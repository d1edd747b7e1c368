// Model geometry: what sizes the KV cache (layers, KV heads, head size, dtype) and what the weights
// take (parameters, weight bytes). Built-in entries come from the published Hugging Face
// config.json of each registry model; a directory with a config.json is read as vLLM reads it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../domain/errors.ts';

export interface ModelGeometry {
  layers: number;
  hiddenSize: number;
  attentionHeads: number;
  kvHeads: number;
  headDim: number;
  /** Bytes per element of the model's dtype (bf16/fp16 = 2), used for the KV cache by default. */
  dtypeBytes: number;
  /** Total parameters (embeddings included). */
  params: number;
  /** Bytes of the weights as published (FP8 checkpoints keep embeddings in 16 bits). */
  weightBytes: number;
  /** Quantised weights are FP8: prefill runs on the FP8 tensor cores. */
  fp8: boolean;
  maxPositionEmbeddings: number;
}

// Figures from each model's config.json; parameter counts from the model cards; weight bytes for
// FP8 checkpoints = non-embedding parameters x 1 byte + embedding and LM head x 2 bytes.
const BUILTIN: Record<string, ModelGeometry> = {
  'Qwen/Qwen2.5-0.5B-Instruct': {
    layers: 24, hiddenSize: 896, attentionHeads: 14, kvHeads: 2, headDim: 64, dtypeBytes: 2,
    params: 0.494e9, weightBytes: 0.988e9, fp8: false, maxPositionEmbeddings: 32_768,
  },
  'Qwen/Qwen3-8B-FP8': {
    layers: 36, hiddenSize: 4096, attentionHeads: 32, kvHeads: 8, headDim: 128, dtypeBytes: 2,
    params: 8.19e9, weightBytes: 6.95e9 + 2 * 1.244e9, fp8: true, maxPositionEmbeddings: 40_960,
  },
  'meta-llama/Llama-3.1-8B-Instruct': {
    layers: 32, hiddenSize: 4096, attentionHeads: 32, kvHeads: 8, headDim: 128, dtypeBytes: 2,
    params: 8.03e9, weightBytes: 16.06e9, fp8: false, maxPositionEmbeddings: 131_072,
  },
  'meta-llama/Llama-3.3-70B-Instruct': {
    layers: 80, hiddenSize: 8192, attentionHeads: 64, kvHeads: 8, headDim: 128, dtypeBytes: 2,
    params: 70.55e9, weightBytes: 141.1e9, fp8: false, maxPositionEmbeddings: 131_072,
  },
  'Qwen/Qwen3-32B-FP8': {
    layers: 64, hiddenSize: 5120, attentionHeads: 64, kvHeads: 8, headDim: 128, dtypeBytes: 2,
    params: 32.8e9, weightBytes: 31.24e9 + 2 * 1.556e9, fp8: true, maxPositionEmbeddings: 40_960,
  },
  // Simulator models. sim-small: a tiny model, fast everywhere. sim-tp2: 100 GB of weights, which
  // do not fit on one 80 GB device, so it needs --tensor-parallel-size 2 (as llama-70b needs 4).
  'kvsweep/sim-small': {
    layers: 4, hiddenSize: 256, attentionHeads: 4, kvHeads: 2, headDim: 64, dtypeBytes: 2,
    params: 0.02e9, weightBytes: 0.04e9, fp8: false, maxPositionEmbeddings: 32_768,
  },
  'kvsweep/sim-tp2': {
    layers: 8, hiddenSize: 1024, attentionHeads: 16, kvHeads: 4, headDim: 64, dtypeBytes: 2,
    params: 50e9, weightBytes: 100e9, fp8: false, maxPositionEmbeddings: 32_768,
  },
};

export const BUILTIN_MODELS: readonly string[] = Object.keys(BUILTIN);

const DTYPE_BYTES: Record<string, number> = {
  float16: 2, half: 2, bfloat16: 2, float32: 4, float: 4, fp8: 1, fp8_e4m3: 1, fp8_e5m2: 1,
};

/** Bytes per element for a `--dtype`/`--kv-cache-dtype` value; `auto` keeps the model's. */
export function dtypeBytes(name: string, auto: number): number | undefined {
  if (name === 'auto') return auto;
  return DTYPE_BYTES[name];
}

function field(config: Record<string, unknown>, name: string, path: string): number {
  const v = config[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UserError(`${path}: '${name}' is missing or not a positive number`);
  }
  return v;
}

/** Geometry from a Hugging Face config.json, with the defaults transformers applies. */
export function geometryFromConfig(raw: unknown, path: string): ModelGeometry {
  if (typeof raw !== 'object' || raw === null) throw new UserError(`${path}: not a JSON object`);
  // Multimodal configs nest the language model's under text_config.
  const outer = raw as Record<string, unknown>;
  const config = (typeof outer.text_config === 'object' && outer.text_config !== null ? outer.text_config : outer) as Record<string, unknown>;
  const layers = field(config, 'num_hidden_layers', path);
  const hiddenSize = field(config, 'hidden_size', path);
  const attentionHeads = field(config, 'num_attention_heads', path);
  const kvHeads = typeof config.num_key_value_heads === 'number' ? config.num_key_value_heads : attentionHeads;
  const headDim = typeof config.head_dim === 'number' ? config.head_dim : hiddenSize / attentionHeads;
  const dtypeName = String(config.torch_dtype ?? config.dtype ?? outer.torch_dtype ?? 'bfloat16');
  const bytes = DTYPE_BYTES[dtypeName] ?? 2;
  const intermediate = typeof config.intermediate_size === 'number' ? config.intermediate_size : 4 * hiddenSize;
  const vocab = typeof config.vocab_size === 'number' ? config.vocab_size : 32_000;
  const tied = config.tie_word_embeddings === true || outer.tie_word_embeddings === true;
  // Dense decoder: attention (q, k, v, o) + gated MLP (3 matrices) per layer, plus embeddings.
  const perLayer = hiddenSize * attentionHeads * headDim * 2 + hiddenSize * kvHeads * headDim * 2 + 3 * hiddenSize * intermediate;
  const embedding = vocab * hiddenSize * (tied ? 1 : 2);
  const params = layers * perLayer + embedding;
  const quant = (outer.quantization_config ?? config.quantization_config) as Record<string, unknown> | undefined;
  const fp8 = typeof quant === 'object' && quant !== null && String(quant.quant_method).toLowerCase() === 'fp8';
  const weightBytes = fp8 ? layers * perLayer + embedding * 2 : params * bytes;
  const maxPositionEmbeddings = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 4096;
  return { layers, hiddenSize, attentionHeads, kvHeads, headDim, dtypeBytes: bytes, params, weightBytes, fp8, maxPositionEmbeddings };
}

/** Resolves MODEL: a built-in name, or a directory holding a Hugging Face config.json. */
export function resolveModel(model: string): ModelGeometry {
  const builtin = BUILTIN[model];
  if (builtin) return { ...builtin };
  if (existsSync(model) && statSync(model).isDirectory()) {
    const path = join(model, 'config.json');
    if (!existsSync(path)) throw new UserError(`model directory '${model}' has no config.json`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new UserError(`${path}: not valid JSON (${(error as Error).message})`);
    }
    return geometryFromConfig(raw, path);
  }
  throw new UserError(
    `unknown model '${model}': the simulator knows ${BUILTIN_MODELS.join(', ')}, or give a directory with a Hugging Face config.json`,
  );
}
