// The pool's order among waiting requests that fit (issue 18, point 2), measured with the pool's
// own placement code in the discrete-event model: on the benchmark's two sweeps (both submission
// orders), then on random mixes of sweeps (GPU counts 1, 2, 4; time limits 5 min to 1 h; early
// failures; sweeps started together or hours apart) on four host layouts. Each order against FIFO.
import Table from 'cli-table3';
import { KVSWEEP_OVERHEADS } from '../domain/cost/estimate.ts';
import { simulateKvsweep } from '../domain/cost/kvsweep-sim.ts';
import { measureRun } from '../domain/cost/measures.ts';
import type { SimExperiment, SimHost, StartupFigure, Submission } from '../domain/cost/model.ts';
import { REQUEST_ORDERS } from '../domain/cost/orders.ts';
import { SeededRandom } from '../loadgen/random.ts';

/** 'pool' is the pool's own order as the workflow applies it (domain/placement.ts), aging included. */
const ORDER_NAMES = [...Object.keys(REQUEST_ORDERS), 'pool'];
const orderOf = (name: string) => (name === 'pool' ? {} : { order: REQUEST_ORDERS[name]! });
const MIX_SEEDS = 400;
const MIX_LAYOUTS: Array<{ name: string; hosts: SimHost[] }> = [
  { name: '1x8', hosts: [{ host_id: 'a', gpu_count: 8, gpu_class: 'g' }] },
  { name: '2x4', hosts: [{ host_id: 'a', gpu_count: 4, gpu_class: 'g' }, { host_id: 'b', gpu_count: 4, gpu_class: 'g' }] },
  { name: '2x8', hosts: [{ host_id: 'a', gpu_count: 8, gpu_class: 'g' }, { host_id: 'b', gpu_count: 8, gpu_class: 'g' }] },
  { name: '4+8', hosts: [{ host_id: 'a', gpu_count: 4, gpu_class: 'g' }, { host_id: 'b', gpu_count: 8, gpu_class: 'g' }] },
];
/** Start-ups by GPU count: the H200 figures for one GPU, the benchmark's 70B choice for four, between for two. */
const MIX_STARTUPS: Record<string, StartupFigure> = {
  tp1: { warm_s: 40, cold_s: 126, source: 'H200 measured' },
  tp2: { warm_s: 90, cold_s: 240, source: 'assumed' },
  tp4: { warm_s: 180, cold_s: 480, source: 'assumed' },
};

function randomMix(seed: number): Submission[] {
  const random = new SeededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[random.int(items.length)]!;
  const sweeps = 2 + random.int(3);
  return Array.from({ length: sweeps }, (_, s) => {
    const gpus = pick([1, 1, 2, 4]);
    const limits = [pick([300, 600, 1200, 2400, 3600]), pick([300, 600, 1200, 2400, 3600])];
    const count = 4 + random.int(13);
    const experiments: SimExperiment[] = Array.from({ length: count }, (_, i) => {
      const client_s = limits[i % 2]! + 5;
      const roll = random.next();
      return {
        id: `e${i}`, sweep: `s${s}`, server_key: `tp${gpus}`, gpu_count: gpus, gpu_class: 'any', client_s, max_attempts: 3,
        failing_attempts: roll < 0.02 ? 3 : roll < 0.12 ? 1 : 0, fail_after_s: 30, expected_s: client_s,
      };
    });
    return { at_s: random.next() < 0.5 ? 0 : Math.round(random.next() * 7200), experiments };
  });
}

interface Ratios {
  makespan: number[];
  gpu_hours: number[];
  /** Mean wait for GPUs of the requests of the mix's largest GPU count, and of its smallest. */
  large_wait_s: number[];
  small_wait_s: number[];
  passed_over: number[];
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Mean wait of the attempts with the most (or fewest) GPUs; null when the mix has one size. */
function meanWait(run: ReturnType<typeof simulateKvsweep>, which: 'largest' | 'smallest'): number | null {
  const sizes = run.attempts.map((a) => a.gpu_ids.length);
  const [low, high] = [Math.min(...sizes), Math.max(...sizes)];
  if (low === high) return null;
  const waits = run.attempts.filter((a) => a.gpu_ids.length === (which === 'largest' ? high : low)).map((a) => a.held_from_s - a.requested_s);
  return waits.reduce((x, y) => x + y, 0) / waits.length;
}

export function orderStudy(input: { llama: SimExperiment[]; qwen: SimExperiment[]; startups: Record<string, StartupFigure>; topologies: Array<{ name: string; hosts: SimHost[] }> }) {
  // 1. The benchmark's sweeps, each submission order.
  const onBench: Array<Record<string, unknown>> = [];
  const bench = new Table({ head: ['hosts', 'submitted first', ...ORDER_NAMES.map((o) => `${o} makespan h / GPU-h`)], style: { head: [], border: [], compact: true } });
  for (const topology of input.topologies) {
    for (const [first, submissions] of [
      ['llama-70b', [input.llama, input.qwen]],
      ['qwen-8b', [input.qwen, input.llama]],
    ] as const) {
      const cells: string[] = [];
      for (const order of ORDER_NAMES) {
        const m = measureRun(simulateKvsweep({ hosts: topology.hosts, submissions: submissions.map((experiments) => ({ at_s: 0, experiments })), startups: input.startups, overheads: KVSWEEP_OVERHEADS, ...orderOf(order) }));
        onBench.push({ topology: topology.name, first, order, makespan_s: m.makespan_s, gpu_hours_held: m.gpu_hours_held });
        cells.push(`${(m.makespan_s / 3600).toFixed(2)} / ${m.gpu_hours_held.toFixed(1)}`);
      }
      bench.push([topology.name, first, ...cells]);
    }
  }
  console.log(`\nOrder among waiting requests that fit, on the benchmark's sweeps\n${bench.toString()}`);

  // 2. Random mixes.
  const ratios: Record<string, Ratios> = Object.fromEntries(ORDER_NAMES.map((o) => [o, { makespan: [], gpu_hours: [], large_wait_s: [], small_wait_s: [], passed_over: [] }]));
  for (let seed = 1; seed <= MIX_SEEDS; seed++) {
    const submissions = randomMix(seed);
    for (const layout of MIX_LAYOUTS) {
      const runs = Object.fromEntries(ORDER_NAMES.map((order) => [order, simulateKvsweep({ hosts: layout.hosts, submissions, startups: MIX_STARTUPS, overheads: KVSWEEP_OVERHEADS, ...orderOf(order) })]));
      const fifo = measureRun(runs.fifo!);
      for (const order of ORDER_NAMES) {
        const m = measureRun(runs[order]!);
        ratios[order]!.makespan.push(m.makespan_s / fifo.makespan_s);
        ratios[order]!.gpu_hours.push(m.gpu_hours_held / fifo.gpu_hours_held);
        ratios[order]!.passed_over.push(runs[order]!.passed_over ?? 0);
        const [large, small] = [meanWait(runs[order]!, 'largest'), meanWait(runs[order]!, 'smallest')];
        if (large !== null && small !== null) {
          ratios[order]!.large_wait_s.push(large);
          ratios[order]!.small_wait_s.push(small);
        }
      }
    }
  }
  const mixes = new Table({ head: ['order', 'makespan / FIFO: mean', 'p10', 'p90', 'worst', 'better in', 'worse in', 'GPU-h / FIFO mean', 'wait of the largest requests, mean s', 'of the smallest, mean s', 'larger fitting request passed over (runs)'], style: { head: [], border: [], compact: true } });
  const summary: Record<string, Record<string, number>> = {};
  for (const order of ORDER_NAMES) {
    const x = ratios[order]!;
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    summary[order] = {
      runs: x.makespan.length,
      makespan_mean: mean(x.makespan), makespan_p10: quantile(x.makespan, 0.1), makespan_p90: quantile(x.makespan, 0.9), makespan_worst: Math.max(...x.makespan),
      better_share: x.makespan.filter((v) => v < 0.999).length / x.makespan.length, worse_share: x.makespan.filter((v) => v > 1.001).length / x.makespan.length,
      gpu_hours_mean: mean(x.gpu_hours), large_wait_mean_s: mean(x.large_wait_s), small_wait_mean_s: mean(x.small_wait_s), passed_over_share: x.passed_over.filter((n) => n > 0).length / x.passed_over.length,
    };
    const s = summary[order]!;
    const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
    mixes.push([order, s.makespan_mean!.toFixed(3), s.makespan_p10!.toFixed(3), s.makespan_p90!.toFixed(3), s.makespan_worst!.toFixed(3), pct(s.better_share!), pct(s.worse_share!), s.gpu_hours_mean!.toFixed(3), s.large_wait_mean_s!.toFixed(0), s.small_wait_mean_s!.toFixed(0), pct(s.passed_over_share!)]);
  }
  console.log(`\nOrder on ${MIX_SEEDS} random mixes x ${MIX_LAYOUTS.length} host layouts (${MIX_LAYOUTS.map((l) => l.name).join(', ')})\n${mixes.toString()}`);
  return { on_bench: onBench, mixes: { seeds: MIX_SEEDS, layouts: MIX_LAYOUTS.map((l) => l.name), startups: MIX_STARTUPS, summary } };
}
