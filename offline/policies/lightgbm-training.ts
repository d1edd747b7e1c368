// Training the lightgbm policy's model for one experiment of kvsweep's model: events from an lru
// replay of the same engine (the first part of this input, or all of another), the real library
// through offline/lightgbm/train.ts (models cached by their training rows), and what result.json
// says of it: the mode, what was trained on, what was evaluated, and the evaluated part's hit rates.
import { join } from 'node:path';
import type { OfflineExperiment } from '../experiment.ts';
import { loadRequestStream, type RequestStream } from '../inputs/index.ts';
import type { LightgbmModel } from '../lightgbm/model.ts';
import { trainScorer } from '../lightgbm/train.ts';
import type { OfflineRecords } from '../records.ts';
import { simulateOffline } from '../simulate.ts';
import { trainingEvents } from './lightgbm.ts';

export interface LightgbmFacts {
  mode: string;
  trained_on: string;
  evaluated_on: string;
  /** First request (0-based, in arrival order) of the evaluated part. */
  evaluated_from: number;
  model_path: string;
  training_rows: number;
  training_seconds: number;
  lightgbm_version: string;
  /** Hit rates over the evaluated part only (cached / prompt tokens of its completed requests). */
  evaluated: { requests: number; hit_rate: number | null; gpu_hit_rate: number | null; cpu_hit_rate: number | null };
}

export interface TrainedPolicy {
  model: LightgbmModel;
  facts: Omit<LightgbmFacts, 'evaluated'>;
}

/** The completed turns of an lru replay of `stream` with the experiment's engine, as training events up to request `upTo`. */
function eventsOf(stream: RequestStream, e: OfflineExperiment, upTo: number) {
  const sim = simulateOffline(stream, { ...e, policy: 'lru', input: { kind: stream.kind, path: stream.path } });
  return trainingEvents(sim.records, stream.conversation, stream.turn, upTo);
}

export async function trainLightgbmPolicy(stream: RequestStream, e: OfflineExperiment, workDir: string, modelCache?: string): Promise<TrainedPolicy> {
  const s = e.lightgbm;
  let events;
  let trainedOn: string;
  let evaluatedFrom: number;
  if (s.train_on) {
    const other = await loadRequestStream(s.train_on, null);
    events = eventsOf(other, e, other.size);
    trainedOn = `all ${other.size} requests of ${s.train_on.path}`;
    evaluatedFrom = 0;
  } else {
    evaluatedFrom = Math.floor(s.train_fraction * stream.size);
    events = eventsOf(stream, e, evaluatedFrom);
    trainedOn = `requests 1-${evaluatedFrom} of ${stream.size} (the first ${s.train_fraction} of this input)`;
  }
  const trained = await trainScorer(events, s.mode, join(workDir, 'lightgbm'), modelCache);
  return {
    model: trained.model,
    facts: {
      mode: s.mode,
      trained_on: trainedOn,
      evaluated_on: evaluatedFrom === 0 ? `all ${stream.size} requests of this input` : `requests ${evaluatedFrom + 1}-${stream.size} (the cache warmed by the ones before)`,
      evaluated_from: evaluatedFrom,
      model_path: trained.modelPath,
      training_rows: trained.report.rows,
      training_seconds: trained.trainingSeconds,
      lightgbm_version: trained.report.lightgbm_version,
    },
  };
}

/** Hit rates of the requests from `from` on. */
export function evaluatedFigures(records: OfflineRecords, from: number): LightgbmFacts['evaluated'] {
  let prompt = 0;
  let gpu = 0;
  let cached = 0;
  let requests = 0;
  for (let i = from; i < records.size; i++) {
    if (records.statusOf(i) !== 'ok') continue;
    requests++;
    prompt += records.promptTokens[i]!;
    gpu += records.gpuHitTokens[i]!;
    cached += records.cachedTokens[i]!;
  }
  const share = (n: number) => (prompt > 0 ? n / prompt : null);
  return { requests, hit_rate: share(cached), gpu_hit_rate: share(gpu), cpu_hit_rate: share(cached - gpu) };
}
