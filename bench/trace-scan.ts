// How long `kvsweep plan` spends reading a big trace: scanTrace (plan's full check of every row)
// against loadTrace (the replay's reader, which keeps and sorts the rows), and a whole `plan` CLI
// run on a sweep over that trace. Writes bench/results/trace-scan.json.
// Run: npx tsx bench/trace-scan.ts [CONVERSATIONS (default 250000, ~1M rows)]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeSynthTrace } from '../loadgen/trace-cli.ts';
import { loadTrace } from '../loadgen/trace.ts';
import { scanTrace } from '../loadgen/trace-scan.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../loadgen/trace-synth.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const conversations = Number(process.argv[2] ?? 250_000);
const dir = mkdtempSync(join(tmpdir(), 'kvsweep-trace-scan-'));
const trace = join(dir, 'big.csv');

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { seconds: (performance.now() - start) / 1000, value };
}

try {
  const rows = await writeSynthTrace(trace, { ...DEFAULT_SYNTH_OPTIONS, conversations, conversationRate: 50, modelName: null });
  const bytes = statSync(trace).size;
  const scans: number[] = [];
  let summary: Awaited<ReturnType<typeof scanTrace>> | undefined;
  for (let i = 0; i < 3; i++) {
    const { seconds, value } = await timed(() => scanTrace(trace));
    scans.push(seconds);
    summary = value;
  }
  const load = await timed(() => loadTrace(trace));
  if (load.value.turns.length !== summary!.rows) throw new Error('scanTrace and loadTrace disagree');

  writeFileSync(join(dir, 'sweep.yaml'), 'model_name: qwen-8b\nexperiments:\n  datasets:\n    - {path: big.csv, cache_sizes: [10, 20], request_rates: [1]}\n');
  mkdirSync(join(dir, 'config-home'));
  const env = { ...process.env, XDG_CONFIG_HOME: join(dir, 'config-home'), KVSWEEP_ENV: '' };
  const emptyPlan = join(dir, 'small.yaml');
  writeFileSync(join(dir, 'small.csv'), '@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength\n2025-05-29 05:00:00,1,5,5\n');
  writeFileSync(emptyPlan, 'model_name: qwen-8b\nexperiments:\n  datasets:\n    - {path: small.csv, cache_sizes: [10, 20], request_rates: [1]}\n');
  const cli = (yaml: string) => timed(async () => execFileSync('node', [join(ROOT, 'bin/kvsweep.js'), 'plan', '--yaml', yaml], { cwd: dir, env, stdio: 'pipe' }));
  const planSmall = await cli(emptyPlan);
  const planBig = await cli(join(dir, 'sweep.yaml'));

  const sorted = [...scans].sort((a, b) => a - b);
  const result = {
    measured_at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, load_avg_1m: loadavg()[0] },
    command: `npx tsx bench/trace-scan.ts ${conversations}`,
    trace: { rows, bytes, conversations: summary!.conversations },
    scan_trace_s: { runs: scans, median: sorted[1] },
    scan_rows_per_s: Math.round(rows / sorted[1]!),
    load_trace_s: load.seconds,
    plan_cli_s: { tiny_trace: planSmall.seconds, big_trace: planBig.seconds },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'trace-scan.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
