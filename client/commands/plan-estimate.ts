// `kvsweep plan --gpus N | --pool`: what the sweep will cost (wall time, GPU-hours), from the same
// model of the GPU pool as the GPU-hours benchmark (domain/cost/estimate.ts). The IO around it:
// the traces' spans, the start-ups recorded by earlier runs, and, for --pool, the hosts the
// running pool knows (the one thing plan then asks a server).
import { resultsFolders, readStartupHistory } from '../../config-files/startup-history.ts';
import { estimateSweep, type SweepEstimate } from '../../domain/cost/estimate.ts';
import type { SimHost } from '../../domain/cost/model.ts';
import type { ResolvedSweep } from '../../domain/config/index.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { GPU_POOL_WORKFLOW_ID, Queries } from '../../domain/names.ts';
import { loadTrace } from '../../loadgen/trace.ts';
import { dataDir } from '../../platform/paths.ts';
import { connectClient, isListening, temporalAddress } from '../../platform/temporal.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';

export interface PlanEstimate extends SweepEstimate {
  /** Where the start-ups of earlier runs were looked for. */
  history: { results_folders: number; outcomes: number; unreadable: number };
}

/** Seconds of recorded time the replay of each dataset sends; null where the trace cannot be read. */
async function traceSpans(experiments: readonly ExperimentSpec[]): Promise<Record<string, number | null>> {
  const spans: Record<string, number | null> = {};
  for (const spec of experiments) {
    if (spec.dataset.path in spans) continue;
    const prompts = Math.max(...experiments.filter((e) => e.dataset.path === spec.dataset.path).map((e) => e.num_prompts));
    try {
      const trace = await loadTrace(spec.dataset.path, { numPrompts: prompts });
      spans[spec.dataset.path] = (trace.turns.at(-1)?.offsetMs ?? 0) / 1000;
    } catch {
      // The estimate then takes the time limit; a trace plan cannot read is not plan's failure here.
      spans[spec.dataset.path] = null;
    }
  }
  return spans;
}

/** The online hosts of the GPU pool at TEMPORAL_ADDRESS; an error saying why when there are none. */
export async function poolHosts(): Promise<SimHost[]> {
  const address = temporalAddress();
  if (!(await isListening(address))) throw new Error(`--pool: no Temporal server answers at ${address} (TEMPORAL_ADDRESS); give --gpus N instead`);
  const client = await connectClient(address);
  try {
    const snapshot = await client.workflow.getHandle(GPU_POOL_WORKFLOW_ID).query<PoolSnapshot>(Queries.pool);
    const hosts = snapshot.hosts.filter((h) => h.status === 'online').map((h) => ({ host_id: h.host_id, gpu_count: h.gpu_ids.length, gpu_class: h.gpu_class }));
    if (hosts.length === 0) throw new Error(`--pool: the GPU pool at ${address} has no online host; give --gpus N instead`);
    return hosts;
  } catch (error) {
    if ((error as Error).message.startsWith('--pool')) throw error;
    throw new Error(`--pool: could not ask the GPU pool at ${address}: ${(error as Error).message}`);
  } finally {
    await client.connection.close();
  }
}

export async function estimatePlan(resolved: ResolvedSweep, experiments: readonly ExperimentSpec[], capacity: number | SimHost[]): Promise<PlanEstimate> {
  const history = await readStartupHistory(await resultsFolders(dataDir(), [resolved.log_base_dir]));
  const estimate = estimateSweep(experiments, capacity, history.startups, { trace_span_s: await traceSpans(experiments) });
  return { ...estimate, history: { results_folders: history.folders.length, outcomes: history.outcomes, unreadable: history.unreadable.length } };
}

const hours = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);

export function estimateText(e: PlanEstimate): string {
  const where = e.hosts.length === 1 && e.hosts[0]!.host_id === 'local' ? `${e.hosts[0]!.gpu_count} GPUs` : `the pool's ${e.hosts.length} online hosts (${e.hosts.map((h) => `${h.host_id}: ${h.gpu_count} ${h.gpu_class}`).join(', ')})`;
  const lines = [`Estimate on ${where}: wall time ${hours(e.wall_s)}, ${e.gpu_hours.toFixed(2)} GPU-hours (${e.gpu_hours_server.toFixed(2)} with a server on them).`];
  if (e.unplaceable.length > 0) lines.push(`  ${e.unplaceable.length} experiment(s) fit on no host and are left out: ${e.unplaceable.join(', ')}`);
  for (const s of e.startups) lines.push(`  start-up of ${s.server_key} (${s.experiments} experiment${s.experiments === 1 ? '' : 's'}): ${s.warm_s} s warm, ${s.cold_s} s cold; ${s.source}`);
  for (const r of e.replay_sources) lines.push(`  ${r}`);
  const skipped = e.history.unreadable > 0 ? `, ${e.history.unreadable} unreadable skipped` : '';
  lines.push(`  earlier runs: ${e.history.outcomes} outcome.json files in ${e.history.results_folders} results folders (KVSWEEP_HOME's sweep records and log_base_dir)${skipped}`);
  for (const a of e.assumptions) lines.push(`  assumes ${a}`);
  return lines.join('\n');
}
