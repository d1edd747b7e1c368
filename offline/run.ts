// runOfflineExperiment: one offline experiment end to end — read the input, replay it through the
// simulated server on a virtual clock, and write what a live run's client writes: result.json
// (last, atomically: one that exists is complete), requests.jsonl and metrics.jsonl.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { UserError } from '../domain/errors.ts';
import { parseMetrics } from '../loadgen/prometheus.ts';
import type { LoadgenResult } from '../loadgen/result-schema.ts';
import { writeJsonAtomic } from '../platform/files.ts';
import type { Ceiling } from './ceiling.ts';
import { OfflineExperiment, type OfflineExperimentInput } from './experiment.ts';
import { loadRequestStream, type RequestStream } from './inputs/index.ts';
import { evaluatedFigures, trainLightgbmPolicy } from './policies/lightgbm-training.ts';
import { offlineResult } from './result.ts';
import { simulateOffline, type OfflineSimulation, type SimulateOptions } from './simulate.ts';

export interface OfflineRun {
  result: LoadgenResult;
  resultPath: string;
  simulation: OfflineSimulation;
}

/** The experiment, checked; a UserError names the field and the problem. */
export function parseOfflineExperiment(input: OfflineExperimentInput): OfflineExperiment {
  const parsed = OfflineExperiment.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new UserError(`offline experiment: ${issue.path.length > 0 ? `'${issue.path.join('.')}': ` : ''}${issue.message}`);
}

/** Reads the experiment's input and runs it; writes result.json, requests.jsonl, metrics.jsonl into `outDir`. */
export async function runOfflineExperiment(input: OfflineExperimentInput, outDir: string): Promise<OfflineRun> {
  const experiment = parseOfflineExperiment(input);
  const stream = await loadRequestStream(experiment.input, experiment.num_prompts);
  return runOnStream(stream, experiment, outDir);
}

/** Runs an experiment on a stream already read (a sweep over sizes and policies reads its input once). */
export async function runOnStream(stream: RequestStream, experiment: OfflineExperiment, outDir: string, options: SimulateOptions & { ceiling?: Ceiling; modelCache?: string } = {}): Promise<OfflineRun> {
  const dir = resolve(outDir);
  // Policy lightgbm: its model is trained first (into outDir/lightgbm/), on what experiment.lightgbm says.
  const trained = experiment.policy === 'lightgbm' && !options.lightgbm ? await trainLightgbmPolicy(stream, experiment, dir, options.modelCache) : undefined;
  const simulation = simulateOffline(stream, experiment, trained ? { ...options, lightgbm: trained.model } : options);
  const lightgbm = trained ? { ...trained.facts, evaluated: evaluatedFigures(simulation.records, trained.facts.evaluated_from) } : undefined;
  await mkdir(dir, { recursive: true });
  await writeRequests(join(dir, 'requests.jsonl'), simulation);
  await writeMetrics(join(dir, 'metrics.jsonl'), simulation);
  const result = offlineResult(simulation, { requests: 'requests.jsonl', metrics: 'metrics.jsonl' }, { ceiling: options.ceiling, lightgbm });
  const resultPath = join(dir, 'result.json');
  await writeJsonAtomic(resultPath, result);
  return { result, resultPath, simulation };
}

async function writeRequests(path: string, sim: OfflineSimulation): Promise<void> {
  const out = createWriteStream(path);
  const r = sim.records;
  let buffer = '';
  for (let i = 0; i < r.size; i++) {
    buffer += `${JSON.stringify(r.record(i))}\n`;
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
}

/** metrics.jsonl as a live client writes it: a scrape before the run and one after (no server, so no scrapes during). */
async function writeMetrics(path: string, sim: OfflineSimulation): Promise<void> {
  const time = new Date().toISOString();
  const lines = [
    { phase: 'before', time, elapsed_s: null, metrics: parseMetrics(sim.metricsBefore) },
    { phase: 'after', time, elapsed_s: sim.outcome.endS, metrics: parseMetrics(sim.metricsAfter) },
  ];
  const out = createWriteStream(path);
  out.end(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  await once(out, 'finish');
}
