// How close each new user message comes to its trace length on a real BPE tokenizer: the old
// sizing (one tokens-per-word average from the calibration) against the current one (every word
// counted, every message planned and counted with POST /tokenize), then a whole loadgen run's
// prompt sizes (server-reported prompt tokens against the size aimed for). By default it starts
// vLLM's CPU build with the tiny model of scripts/provision-real-servers.sh (a byte-level BPE
// trained on made-up words, so English words are 1-6 tokens each); --base-url/--model use a
// server that is already running.
//
//   KVSWEEP_REAL_SERVERS_DIR=/work/real-servers npx tsx bench/prompt-sizes.ts [--base-url URL --model NAME]
//
// Prints a table and writes bench/results/prompt-sizes.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calibratePrompts, tokenizeCount } from '../loadgen/server-api.ts';
import { PromptBuilder, messageRandom, wordsText } from '../loadgen/prompt.ts';
import { forEachLimited, measureWordTable, reportMessageSizes, sizeMessages, SIZING_CONCURRENCY } from '../loadgen/prompt-sizing.ts';
import { loadTrace } from '../loadgen/trace.ts';
import { runLoadgen } from '../loadgen/run.ts';
import { summarize } from '../loadgen/stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATASET = join(ROOT, 'configs/traces/demo-chat.csv');
const { values } = parseArgs({ options: { 'base-url': { type: 'string' }, model: { type: 'string' } } });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** vLLM's CPU build serving the provisioned tiny model (random weights), ready on /health. */
async function startVllmCpu(): Promise<{ baseUrl: string; model: string; child: ChildProcess }> {
  const root = process.env.KVSWEEP_REAL_SERVERS_DIR ?? join(ROOT, '.kvsweep/real-servers');
  const record = JSON.parse(await readFile(join(root, 'provisioned.json'), 'utf8')) as { vllm_cpu: { serve_argv: string[]; model_dir: string } };
  const port = await freePort();
  const logPath = join(await mkdtemp(join(tmpdir(), 'kvsweep-prompt-sizes-vllm-')), 'server.log');
  const logFd = openSync(logPath, 'w');
  const [program, ...args] = record.vllm_cpu.serve_argv;
  const child = spawn(program!, [...args, '--model', record.vllm_cpu.model_dir, '--served-model-name', 'tiny-llama', '--host', '127.0.0.1', '--port', String(port),
    '--load-format', 'dummy', '--dtype', 'float32', '--enforce-eager', '--max-model-len', '2048', '--block-size', '32', '--kv-cache-memory-bytes', String(32 * 1024 * 1024), '--enable-prefix-caching', '--enable-prompt-tokens-details'], {
    env: { ...process.env, VLLM_NO_USAGE_STATS: '1', DO_NOT_TRACK: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', VLLM_CPU_OMP_THREADS_BIND: 'nobind', OMP_NUM_THREADS: '1', VLLM_HOST_IP: '127.0.0.1', VLLM_SERVER_DEV_MODE: '1' },
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 900; i++) {
    if (child.exitCode !== null) throw new Error(`vLLM exited with ${child.exitCode} during start-up (log: ${logPath})`);
    if ((await fetch(`${baseUrl}/health`).then((r) => r.status, () => 0)) === 200) return { baseUrl, model: 'tiny-llama', child };
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('vLLM was not ready in 15 minutes');
}

function errorFigures(errors: number[], targets: number[]): Record<string, number | null> {
  const abs = errors.map(Math.abs);
  const relative = abs.reduce((sum, e, i) => sum + e / targets[i]!, 0) / abs.length;
  const s = summarize(abs);
  return {
    messages: errors.length,
    mean_error: errors.reduce((a, b) => a + b, 0) / errors.length,
    mean_abs_error: s.mean,
    mean_abs_relative_error: relative,
    p99_abs_error: s.percentiles.p99 ?? null,
    max_abs_error: s.max,
    within_1: abs.filter((e) => e <= 1).length,
    min_error: Math.min(...errors),
    max_error: Math.max(...errors),
  };
}

async function main(): Promise<void> {
  const started = values['base-url'] ? null : await startVllmCpu();
  const baseUrl = values['base-url'] ?? started!.baseUrl;
  const model = values.model ?? started?.model ?? 'tiny-llama';
  try {
    const trace = await loadTrace(DATASET, { numPrompts: null });
    const count = (text: string): Promise<number> => tokenizeCount(baseUrl, { model, prompt: text, add_special_tokens: false });
    const calibration = await calibratePrompts(baseUrl, model);
    const old = new PromptBuilder(0, calibration);
    const oldErrors = new Array<number>(trace.turns.length);
    await forEachLimited(trace.turns.length, SIZING_CONCURRENCY, async (i) => {
      const t = trace.turns[i]!;
      oldErrors[i] = (await count(wordsText(messageRandom(0, t.conversationId, t.turn), old.wordsFor(t.queryTokens)))) - t.queryTokens;
    });
    const t0 = performance.now();
    const table = await measureWordTable(count);
    const t1 = performance.now();
    const sized = await sizeMessages(trace.turns, 0, false, table, count);
    const t2 = performance.now();
    const report = reportMessageSizes(sized, '');
    const newErrors = Array.from(sized.measured, (m, i) => m - sized.targets[i]!);
    const resultDir = await mkdtemp(join(tmpdir(), 'kvsweep-prompt-sizes-'));
    const run = await runLoadgen({ baseUrl, model, dataset: DATASET, requestRate: 10, arrival: 'trace', numPrompts: null, timeLimitS: null, mockDecoding: false, seed: 0, resultDir });
    const targets = trace.turns.map((t) => t.queryTokens);
    const oldFigures = errorFigures(oldErrors, targets);
    const newFigures = errorFigures(newErrors, targets);
    const out = {
      date: new Date().toISOString(),
      server: started ? 'vLLM CPU build (provisioned), tiny-llama: byte-level BPE of 1616 tokens' : baseUrl,
      dataset: 'configs/traces/demo-chat.csv',
      calibration: calibration.detail,
      old_tokens_per_word_average: oldFigures,
      planned_and_counted: { ...newFigures, error_counts: report.error_counts, word_table_s: (t1 - t0) / 1000, sizing_s: (t2 - t1) / 1000 },
      loadgen_run: { completed: run.result.completed, messages: run.result.prompt_size.messages, whole_prompt_error_tokens: run.result.prompt_size.error_tokens, whole_prompt_abs_relative_error: run.result.prompt_size.abs_relative_error },
    };
    console.log(`message size error (server count - trace length), ${trace.turns.length} messages of ${out.dataset}:`);
    for (const [name, f] of [['old: tokens-per-word average', oldFigures], ['now: planned and counted', newFigures]] as const) {
      console.log(`  ${name.padEnd(30)} mean ${Number(f.mean_error).toFixed(2)}, mean |e| ${Number(f.mean_abs_error).toFixed(2)} (${(Number(f.mean_abs_relative_error) * 100).toFixed(1)}%), p99 |e| ${f.p99_abs_error}, max |e| ${f.max_abs_error} (range ${f.min_error}..${f.max_error}), within 1 token: ${f.within_1} of ${f.messages}`);
    }
    console.log(`  sizing before the clock: word table ${out.planned_and_counted.word_table_s.toFixed(2)} s, messages ${out.planned_and_counted.sizing_s.toFixed(2)} s`);
    const w = run.result.prompt_size;
    console.log(`loadgen run: ${run.result.completed} requests; whole prompts (server prompt_tokens - aimed): mean ${w.error_tokens.mean?.toFixed(2)}, max ${w.error_tokens.max}; mean |relative| ${((w.abs_relative_error.mean ?? 0) * 100).toFixed(2)}%`);
    const file = join(ROOT, 'bench/results/prompt-sizes.json');
    await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`written: ${file}`);
  } finally {
    if (started) process.kill(-started.child.pid!, 'SIGTERM');
  }
}

await main();
