// Side-by-side comparison of load-generator variants in one run (the machine is shared and noisy:
// figures taken minutes apart are not comparable). Each round runs every variant once, in turn,
// against one simulator; a variant is a kvsweep entry point (e.g. a copy of another commit) and
// extra node flags. Prints one JSON line per run and a table per variant; writes nothing.
//   npx tsx bench/loadgen-compare.ts --rate 5000 --seconds 4 --rounds 3 \
//     --variant head= --variant base=/tmp/kvsweep-base/bin/kvsweep.js --variant semi64=,--max-semi-space-size=64
// A variant is `label=ENTRY[,NODE_FLAG...][,env:NAME=VALUE...]`; an empty ENTRY is this checkout's
// bin/kvsweep.js.
// --warmup N (default 2) runs first, not counted, to warm the simulator up.
// --gc also records the client's GC pauses (bench/loadgen-gc-log.mjs) and says how many late sends
// overlap one.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LoadgenResult, RequestRecord } from '../loadgen/result-schema.ts';
import { percentileSorted } from '../loadgen/stats.ts';
import { BENCH_MODEL as MODEL, UNLIMITED_SIM_ARGS, startBenchSim, startupSplit, writeSingleTurnTrace, type StartupSplit } from './loadgen-sim.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'bin/kvsweep.js');

interface Variant {
  label: string;
  entry: string;
  nodeFlags: string[];
  env: Record<string, string>;
}

interface Run extends StartupSplit {
  variant: string;
  rate: number;
  achieved: number | null;
  failed: number;
  p99: number | null;
  max: number | null;
  ttft_p50: number | null;
  /** With --gc: main-thread GC pauses while turns were being sent, and the late sends one explains. */
  gc: GcFigures | null;
  load: number;
}

interface GcFigures {
  minor: number;
  major: number;
  total_ms: number;
  p50_ms: number | null;
  max_ms: number | null;
  /** Sends > 1 ms late whose wait [due, sent] overlaps a GC pause. */
  late_explained: number;
  late: number;
}

const GC_LOG = fileURLToPath(new URL('./loadgen-gc-log.mjs', import.meta.url));

function parseVariant(text: string): Variant {
  const eq = text.indexOf('=');
  if (eq < 1) throw new Error(`--variant ${text}: expected label=ENTRY[,NODE_FLAG...]`);
  const [entry, ...rest] = text.slice(eq + 1).split(',');
  const env = Object.fromEntries(rest.filter((t) => t.startsWith('env:')).map((t) => t.slice(4).split('=', 2) as [string, string]));
  const nodeFlags = rest.filter((t) => !t.startsWith('env:'));
  return { label: text.slice(0, eq), entry: entry === '' || entry === undefined ? ENTRY : entry, nodeFlags, env };
}

function runOnce(variant: Variant, baseUrl: string, dataset: string, rate: number, requests: number, resultDir: string, gcLog: string | null): Promise<LoadgenResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      ...(gcLog === null ? [] : ['--import', GC_LOG]),
      ...variant.nodeFlags, variant.entry, 'loadgen', '--base-url', baseUrl, '--model', MODEL, '--dataset', dataset,
      '--arrival', 'poisson', '--request-rate', String(rate), '--num-prompts', String(requests), '--seed', '1',
      '--result-dir', resultDir, '--no-reset-prefix-cache',
      // The simulator counts one token per word: unsized texts are the ones sizing would give, and
      // counting 20,000 messages with /tokenize before the clock took a minute here.
      '--no-tokenize',
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...variant.env, ...(gcLog === null ? {} : { KVSWEEP_GC_LOG: gcLog }) } });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', async (code) => {
      if (code !== 0) return reject(new Error(`${variant.label}: loadgen exited ${code}: ${stderr}`));
      resolve(JSON.parse(await readFile(join(resultDir, 'result.json'), 'utf8')) as LoadgenResult);
    });
  });
}

/**
 * GC pauses inside the sending window, on the run's clock. The run start's epoch time comes from
 * metrics.jsonl (`time` is the scrape's epoch, rounded down to the ms; `elapsed_s` is exact).
 */
async function gcFigures(resultDir: string, gcLog: string): Promise<GcFigures> {
  let startEpoch = Number.NEGATIVE_INFINITY;
  for (const line of (await readFile(join(resultDir, 'metrics.jsonl'), 'utf8')).split('\n')) {
    if (line === '') continue;
    const scrape = JSON.parse(line) as { time: string; elapsed_s: number | null };
    if (scrape.elapsed_s !== null) startEpoch = Math.max(startEpoch, Date.parse(scrape.time) + 0.5 - scrape.elapsed_s * 1000);
  }
  const records = (await readFile(join(resultDir, 'requests.jsonl'), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RequestRecord);
  const sent = records.filter((r) => r.sent_ms !== null && r.due_ms !== null);
  const windowEnd = Math.max(0, ...sent.map((r) => r.sent_ms!));
  const pauses = (JSON.parse(await readFile(gcLog, 'utf8')) as [number, number, number][])
    .map(([epoch, duration, kind]) => ({ start: epoch - startEpoch, end: epoch - startEpoch + duration, duration, kind }))
    .filter((p) => p.end >= 0 && p.start <= windowEnd);
  const durations = pauses.map((p) => p.duration).sort((a, b) => a - b);
  const late = sent.filter((r) => r.send_error_ms! > 1);
  // A pause explains a late send when it overlaps the send's wait (0.5 ms of slack for the clock estimate).
  const explained = late.filter((r) => pauses.some((p) => p.start <= r.sent_ms! + 0.5 && p.end >= r.due_ms! - 0.5)).length;
  return {
    minor: pauses.filter((p) => p.kind === 1).length,
    major: pauses.filter((p) => p.kind !== 1).length,
    total_ms: durations.reduce((a, b) => a + b, 0),
    p50_ms: durations.length > 0 ? percentileSorted(durations, 50) : null,
    max_ms: durations.length > 0 ? durations[durations.length - 1]! : null,
    late_explained: explained,
    late: late.length,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', multiple: true, default: ['5000'] },
      seconds: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      variant: { type: 'string', multiple: true, default: ['head='] },
      gc: { type: 'boolean', default: false },
      warmup: { type: 'string', default: '2' },
    },
  });
  const variants = values.variant.map(parseVariant);
  const rates = values.rate.map(Number);
  const seconds = Number(values.seconds);
  const dir = await mkdtemp(join(tmpdir(), 'kvsweep-loadgen-compare-'));
  const dataset = await writeSingleTurnTrace(dir);
  const sim = await startBenchSim(ENTRY, MODEL, UNLIMITED_SIM_ARGS);
  const runs: Run[] = [];
  try {
    // A fresh simulator takes a few runs to reach its speed (its JIT): the first two runs at
    // 5,000 req/s on it were tens of ms late whatever the client, so they are not counted.
    for (let i = 0; i < Number(values.warmup); i++) {
      await runOnce(variants[0]!, sim.baseUrl, dataset, rates[rates.length - 1]!, Math.round(rates[rates.length - 1]! * seconds), join(dir, `warmup-${i}`), null);
      await rm(join(dir, `warmup-${i}`), { recursive: true, force: true });
    }
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const rate of rates) {
        for (const variant of variants) {
          const resultDir = join(dir, `${variant.label}-${rate}-${round}`);
          const load = loadavg()[0]!;
          const gcLog = values.gc ? join(dir, `gc-${variant.label}-${rate}-${round}.json`) : null;
          const result = await runOnce(variant, sim.baseUrl, dataset, rate, Math.round(rate * seconds), resultDir, gcLog);
          const run: Run = {
            variant: variant.label, rate, achieved: result.achieved_request_rate, failed: result.failed,
            p99: result.send_time_error_ms.p99, ...(await startupSplit(join(resultDir, 'requests.jsonl'))),
            max: result.send_time_error_ms.max, ttft_p50: result.median_ttft_ms,
            gc: gcLog === null ? null : await gcFigures(resultDir, gcLog), load,
          };
          console.log(JSON.stringify(run));
          runs.push(run);
          await rm(resultDir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const f = (v: number | null | undefined, d = 3): string => (typeof v === 'number' ? v.toFixed(d) : '-');
  console.log('\n| variant | rate | p99 ms per round | p99 after 1st s ms | late > 1 ms 1st s / after | GC pauses in run: count, p50/max ms, late sends they explain |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const rate of rates) {
    for (const v of variants) {
      const mine = runs.filter((r) => r.variant === v.label && r.rate === rate);
      console.log(`| ${v.label} | ${rate} | ${mine.map((r) => f(r.p99)).join(' ')} | ${mine.map((r) => f(r.send_p99_after_1s_ms)).join(' ')} | ` +
        `${mine.map((r) => `${r.late_first_s}/${r.late_after_1s}`).join(' ')} | ${mine.map((r) => (r.gc ? `${r.gc.minor}+${r.gc.major} ${f(r.gc.p50_ms, 1)}/${f(r.gc.max_ms, 1)} ${r.gc.late_explained}/${r.gc.late}` : '-')).join(', ')} |`);
    }
  }
}

await main();
