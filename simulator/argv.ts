// vllm serve's command-line conventions, so one command template serves vLLM and the simulator:
// `--gpu_memory_utilization` and `--gpu-memory-utilization` are the same flag, `--flag=value`
// works, and `-tp`/`-pp` are short forms. Also the vLLM flags the simulator accepts without acting
// on them (each gets a one-line notice).

const SHORT: Record<string, string> = { '-tp': '--tensor-parallel-size', '-pp': '--pipeline-parallel-size', '-q': '--quantization' };

/** Rewrites argv to commander's dashed long options. */
export function normalizeArgv(argv: readonly string[]): string[] {
  return argv.map((arg) => {
    const short = SHORT[arg];
    if (short) return short;
    if (!arg.startsWith('--')) return arg;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    return name.replace(/_/g, '-') + (eq < 0 ? '' : arg.slice(eq));
  });
}

/** vLLM flags that take a value and have no effect in the simulator. */
export const IGNORED_VALUE_FLAGS = [
  'swap-space', 'cpu-offload-gb', 'load-format', 'download-dir', 'tokenizer', 'tokenizer-mode', 'revision',
  'code-revision', 'tokenizer-revision', 'chat-template', 'response-role', 'generation-config',
  'override-generation-config', 'scheduling-policy', 'distributed-executor-backend', 'uvicorn-log-level',
  'api-key', 'max-logprobs', 'hf-overrides', 'compilation-config', 'max-seq-len-to-capture',
  'max-num-partial-prefills', 'long-prefill-token-threshold', 'data-parallel-size', 'root-path',
  'tool-call-parser', 'reasoning-parser', 'otlp-traces-endpoint', 'kv-events-config', 'guided-decoding-backend',
  'limit-mm-per-prompt', 'max-parallel-loading-workers', 'preemption-mode', 'num-scheduler-steps',
] as const;

/** vLLM boolean flags with no effect in the simulator (chunked prefill is always on, as in V1). */
export const IGNORED_BOOLEAN_FLAGS = [
  'enable-chunked-prefill', 'no-enable-chunked-prefill', 'disable-log-requests', 'enable-log-requests',
  'disable-log-stats', 'trust-remote-code', 'enforce-eager', 'disable-uvicorn-access-log',
  'enable-prompt-tokens-details', 'disable-frontend-multiprocessing', 'enable-auto-tool-choice',
  'disable-custom-all-reduce', 'disable-sliding-window', 'enable-server-load-tracking',
  'enable-force-include-usage', 'disable-fastapi-docs', 'use-v2-block-manager',
] as const;

/** Commander's attribute name of a dashed flag (`max-logprobs` -> `maxLogprobs`). */
export function attributeName(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
