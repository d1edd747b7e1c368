// Runs NVIDIA's aiperf (PyPI) as the reference client of the load-generator benchmark. aiperf needs
// a Hugging Face tokenizer, and the hub is not reachable here (its `builtin` tokenizer downloads
// tiktoken's o200k_base at run time): a word-level tokenizer is built offline with the venv's own
// `tokenizers`/`transformers`; token counts come from the server (--use-server-token-count).
// Install: python3 -m venv .kvsweep/refclients/aiperf && .kvsweep/refclients/aiperf/bin/pip install aiperf==0.13.0
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VENV = join(ROOT, '.kvsweep/refclients/aiperf');
export const AIPERF_BIN = join(VENV, 'bin/aiperf');
const TOKENIZER_DIR = join(VENV, 'word-tokenizer');
const run = promisify(execFile);

const MAKE_TOKENIZER = `
import sys
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = "the of and to in is was for on that with as by at from his her it an be are this which or had not but were have one all their there been has when who more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over".split()
vocab = {"[UNK]": 0}
for w in words:
    vocab.setdefault(w, len(vocab))
tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(sys.argv[1])
`;

export interface AiperfRun {
  rate: number;
  requests: number;
  version: string | null;
  request_throughput: number | null;
  completed: number | null;
  errors: number;
  duration_s: number | null;
  ttft_p50_ms: number | null;
}

export async function runAiperf(o: { baseUrl: string; model: string; rate: number; requests: number; dir: string }): Promise<AiperfRun> {
  if (!existsSync(join(TOKENIZER_DIR, 'tokenizer.json'))) {
    await run(join(VENV, 'bin/python'), ['-c', MAKE_TOKENIZER, TOKENIZER_DIR]);
  }
  const args = [
    'profile', '--model', o.model, '--url', o.baseUrl, '--endpoint-type', 'chat', '--streaming',
    '--tokenizer', TOKENIZER_DIR, '--use-server-token-count',
    '--request-rate', String(o.rate), '--arrival-pattern', 'poisson', '--request-count', String(o.requests),
    '--prompt-input-tokens-mean', '20', '--prompt-input-tokens-stddev', '0',
    '--prompt-output-tokens-mean', '16', '--prompt-output-tokens-stddev', '0',
    '--extra-inputs', 'ignore_eos:true', '--extra-inputs', 'min_tokens:16',
    '--output-artifact-dir', o.dir, '--ui-type', 'none', '--no-server-metrics', '--no-gpu-telemetry', '--random-seed', '1',
  ];
  try {
    await run(AIPERF_BIN, args, { maxBuffer: 64 * 2 ** 20, timeout: 600_000 });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`aiperf failed: ${e.message}\n${(e.stdout ?? '').slice(-2000)}`);
  }
  const summary = JSON.parse(await readFile(join(o.dir, 'profile_export_aiperf.json'), 'utf8')) as Record<string, unknown>;
  const metric = (name: string, stat = 'avg'): number | null => {
    const m = summary[name] as Record<string, unknown> | undefined;
    return typeof m?.[stat] === 'number' ? (m[stat] as number) : null;
  };
  const errorSummary = summary.error_summary as Array<{ count?: number }> | undefined;
  return {
    rate: o.rate,
    requests: o.requests,
    version: typeof summary.aiperf_version === 'string' ? summary.aiperf_version : null,
    request_throughput: metric('request_throughput'),
    completed: metric('request_count'),
    errors: (errorSummary ?? []).reduce((n, e) => n + (e.count ?? 0), 0),
    duration_s: metric('benchmark_duration'),
    ttft_p50_ms: metric('time_to_first_token', 'p50'),
  };
}
