// GPU-hours of a sweep (issue 18, points 1 and 2): kvsweep's GPU pool against the old runner's
// batches, same inputs, in one run of the discrete-event models of domain/cost/. The old runner's
// llama-70b and qwen-8b sweeps together on one 8-GPU host and on two 4-GPU hosts; then the pool's
// order among waiting requests that fit, on these sweeps and on random mixes (bench/gpu-hours-orders.ts).
//
//   npx tsx bench/gpu-hours.ts
// Prints the tables and writes bench/results/gpu-hours.json.
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KVSWEEP_OVERHEADS } from '../domain/cost/estimate.ts';
import { simulateKvsweep } from '../domain/cost/kvsweep-sim.ts';
import { measureRun, type RunMeasures } from '../domain/cost/measures.ts';
import type { Overheads, SimExperiment, SimHost, StartupFigure } from '../domain/cost/model.ts';
import { simulateOldRunner } from '../domain/cost/old-runner-sim.ts';
import { REQUEST_ORDERS } from '../domain/cost/orders.ts';
import { projectRoot } from '../platform/paths.ts';
import { benchSweeps, LLAMA_70B_VARIANTS, MORE_FAILURES, REUSE_RESET_S, withFailures, withReuseKeys } from './gpu-hours-scenario.ts';
import { orderStudy } from './gpu-hours-orders.ts';

/** The old runner's own costs around an experiment: same server exit and result reading as kvsweep's. */
const OLD_OVERHEADS: Overheads = { ...KVSWEEP_OVERHEADS, spawn_s: 0, client_start_s: 0 };

interface Topology {
  name: string;
  hosts: SimHost[];
  /** The old runner: which sweep files run on which host, one after another. */
  old: (llama: SimExperiment[], qwen: SimExperiment[]) => Record<string, SimExperiment[][]>;
}

const TOPOLOGIES: Topology[] = [
  { name: 'one 8-GPU host', hosts: [{ host_id: 'h8', gpu_count: 8, gpu_class: 'h200' }], old: (l, q) => ({ h8: [l, q] }) },
  {
    name: 'two 4-GPU hosts',
    hosts: [{ host_id: 'a', gpu_count: 4, gpu_class: 'h200' }, { host_id: 'b', gpu_count: 4, gpu_class: 'h200' }],
    old: (l, q) => ({ a: [l], b: [q] }),
  },
];


function runAll(topology: Topology, llama: SimExperiment[], qwen: SimExperiment[], startups: Record<string, StartupFigure>): RunMeasures[] {
  const old = { hosts: topology.hosts, invocations: topology.old(llama, qwen), startups, overheads: OLD_OVERHEADS };
  const kv = { hosts: topology.hosts, submissions: [{ at_s: 0, experiments: llama }, { at_s: 0, experiments: qwen }], startups, overheads: KVSWEEP_OVERHEADS };
  return [
    measureRun(simulateOldRunner({ ...old, policy: 'old runner, failures not rerun' })),
    measureRun(simulateOldRunner({ ...old, rerun_failures: true, policy: 'old runner + a rerun of its failures' })),
    measureRun(simulateKvsweep({ ...kv, policy: 'kvsweep, FIFO (before issue 18)', order: REQUEST_ORDERS.fifo! })),
    measureRun(simulateKvsweep({ ...kv, policy: 'kvsweep, its order (largest, then longest first)' })),
  ];
}

const h = (s: number) => (s / 3600).toFixed(2);
const r = (x: number, digits = 2) => Number(x.toFixed(digits));

function printTable(title: string, rows: RunMeasures[], baseline: RunMeasures): void {
  const table = new Table({ head: ['policy', 'makespan h', 'GPU-h held', 'GPU-h allocated', 'GPU-h server', 'GPU-h useful', 'utilisation', 'vs old+rerun: makespan', 'held', 'allocated', 'attempts', 'failed', 'cold starts'], style: { head: [], border: [], compact: true } });
  for (const m of rows) {
    table.push([m.policy, h(m.makespan_s), m.gpu_hours_held.toFixed(1), m.gpu_hours_allocated.toFixed(1), m.gpu_hours_server.toFixed(1), m.gpu_hours_useful.toFixed(1), `${(m.utilisation * 100).toFixed(0)}%`, (m.makespan_s / baseline.makespan_s).toFixed(2), (m.gpu_hours_held / baseline.gpu_hours_held).toFixed(2), (m.gpu_hours_allocated / baseline.gpu_hours_allocated).toFixed(2), m.attempts, m.failed_experiments, m.cold_starts]);
  }
  console.log(`\n${title}\n${table.toString()}`);
}

const { sweeps, startups } = await benchSweeps();
const [llamaSweep, qwenSweep] = sweeps as [(typeof sweeps)[0], (typeof sweeps)[0]];
const llama = llamaSweep.experiments;
const qwen = qwenSweep.experiments;
console.log(`llama-70b: ${llama.length} experiments of ${llama[0]!.gpu_count} GPUs, replay ${llama[0]!.client_s} s; qwen-8b: ${qwen.length} of ${qwen[0]!.gpu_count} GPU, replay ${qwen[0]!.client_s} s`);
console.log(`trace spans (s): ${JSON.stringify({ ...llamaSweep.trace_span_s, ...qwenSweep.trace_span_s })}`);

const results: Array<Record<string, unknown>> = [];
for (const topology of TOPOLOGIES) {
  const rows = runAll(topology, llama, qwen, startups);
  printTable(topology.name, rows, rows[1]!);
  results.push({ topology: topology.name, hosts: topology.hosts, rows: rows.map((m) => ({ ...m, makespan_h: r(m.makespan_s / 3600, 3), vs_old_rerun: { makespan: r(m.makespan_s / rows[1]!.makespan_s, 3), gpu_hours_held: r(m.gpu_hours_held / rows[1]!.gpu_hours_held, 3), gpu_hours_allocated: r(m.gpu_hours_allocated / rows[1]!.gpu_hours_allocated, 3) } })) });
}

// How much the conclusion depends on the unmeasured 70B start-up, and on the failures.
const sensitivity: Array<Record<string, unknown>> = [];
const sens = new Table({ head: ['variant', 'hosts', 'kvsweep / old+rerun: makespan', 'GPU-h held', 'kvsweep / old as is: makespan', 'GPU-h held'], style: { head: [], border: [], compact: true } });
const variants: Array<{ name: string; llama: SimExperiment[]; qwen: SimExperiment[]; startups: Record<string, StartupFigure> }> = [
  ...LLAMA_70B_VARIANTS.map((v) => ({ name: `70B start-up ${v.warm_s} s warm / ${v.cold_s} s cold`, llama, qwen, startups: { ...startups, [llama[0]!.server_key]: v } })),
  { name: 'no failures', llama: withFailures(llama, []), qwen: withFailures(qwen, []), startups },
  { name: 'twice the failures', llama: withFailures(llama, MORE_FAILURES['llama-70b']!), qwen: withFailures(qwen, MORE_FAILURES['qwen-8b']!), startups },
];
for (const variant of variants) {
  for (const topology of TOPOLOGIES) {
    const [asIs, rerun, , chosen] = runAll(topology, variant.llama, variant.qwen, variant.startups);
    const row = { variant: variant.name, topology: topology.name, makespan_ratio: r(chosen!.makespan_s / rerun!.makespan_s, 3), gpu_hours_ratio: r(chosen!.gpu_hours_held / rerun!.gpu_hours_held, 3), makespan_ratio_as_is: r(chosen!.makespan_s / asIs!.makespan_s, 3), gpu_hours_ratio_as_is: r(chosen!.gpu_hours_held / asIs!.gpu_hours_held, 3) };
    sensitivity.push(row);
    sens.push([variant.name, topology.name, row.makespan_ratio, row.gpu_hours_ratio, row.makespan_ratio_as_is, row.gpu_hours_ratio_as_is]);
  }
}
console.log(`\nSensitivity (kvsweep with its order)\n${sens.toString()}`);

// Server reuse (point 4, not built): what it would save. An experiment that ends hands its server
// to a waiting one of the same server command and environment (domain/cost/kvsweep-sim.ts).
const reuse: Array<Record<string, unknown>> = [];
const reuseTable = new Table({ head: ['failures', 'hosts', 'kvsweep makespan h / GPU-h held', 'servers reused', 'GPU-h saved', 'servers started', 'reused / old+rerun: makespan', 'GPU-h held'], style: { head: [], border: [], compact: true } });
// Without failures: the benchmark's failures are drawn per experiment, while experiments that share
// a server command would share a start-up failure such as an out-of-memory.
for (const [failures, l, q] of [['none', withFailures(llama, []), withFailures(qwen, [])]] as const) {
  const [lr, qr] = [withReuseKeys(llamaSweep, l), withReuseKeys(qwenSweep, q)];
  for (const topology of TOPOLOGIES) {
    const [, old, , fresh] = runAll(topology, l, q, startups);
    const run = simulateKvsweep({ hosts: topology.hosts, submissions: [{ at_s: 0, experiments: lr }, { at_s: 0, experiments: qr }], startups, overheads: KVSWEEP_OVERHEADS, reuse_reset_s: REUSE_RESET_S, policy: 'kvsweep, servers reused' });
    const reused = measureRun(run);
    const handedOver = run.attempts.filter((a) => a.reused_server).length;
    const row = { failures, topology: topology.name, fresh, reused, servers_started: run.attempts.length - handedOver, of_attempts: run.attempts.length, gpu_hours_saved: r(fresh!.gpu_hours_held - reused.gpu_hours_held, 3), vs_old_rerun: { makespan: r(reused.makespan_s / old!.makespan_s, 3), gpu_hours_held: r(reused.gpu_hours_held / old!.gpu_hours_held, 3) } };
    reuse.push(row);
    reuseTable.push([failures, topology.name, `${h(fresh!.makespan_s)} / ${fresh!.gpu_hours_held.toFixed(2)}`, `${h(reused.makespan_s)} / ${reused.gpu_hours_held.toFixed(2)}`, row.gpu_hours_saved, `${row.servers_started} for ${row.of_attempts} attempts`, row.vs_old_rerun.makespan, row.vs_old_rerun.gpu_hours_held]);
  }
}
console.log(`\nServer reuse, modelled (not built): a finished experiment hands its server to a waiting one with the same command and environment, ${REUSE_RESET_S} s cache reset\n${reuseTable.toString()}`);

const orders = orderStudy({ llama, qwen, startups, topologies: TOPOLOGIES.map((t) => ({ name: t.name, hosts: t.hosts })) });

mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
const figures = {
  date: new Date().toISOString(),
  startups,
  overheads: { kvsweep: KVSWEEP_OVERHEADS, old_runner: OLD_OVERHEADS },
  experiments: { 'llama-70b': llama, 'qwen-8b': qwen },
  trace_span_s: { ...llamaSweep.trace_span_s, ...qwenSweep.trace_span_s },
  results,
  sensitivity,
  server_reuse: { reset_s: REUSE_RESET_S, rows: reuse },
  orders,
};
writeFileSync(join(projectRoot, 'bench', 'results', 'gpu-hours.json'), JSON.stringify(figures, null, 2) + '\n');
console.log('\nwrote bench/results/gpu-hours.json');
