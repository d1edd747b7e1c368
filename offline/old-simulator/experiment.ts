// One experiment of the old simulator's model: read the events, train the LightGBM scorer when the
// policy needs one, replay, write result.json (and requests.jsonl) into the experiment's folder.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../platform/files.ts';
import { readLightgbmModel } from '../lightgbm/model.ts';
import { trainScorer } from '../lightgbm/train.ts';
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import { OldCacheModel, type CacheCounts } from './cache-model.ts';
import { readLogPair, type OldEventStream } from './log-pair.ts';
import { LruPolicy, ScoredPolicy, type Policy } from './policies.ts';
import { buildResult, traceFacts } from './result.ts';
import { OldSimulatorInput, type OldSimulatorFigures, type OldSimulatorSettings, type OldSource } from './schema.ts';
import { lightgbmScorer, oracleScorer, ruleScorer, type EventScorer } from './scorers.ts';
import { convertTrace } from './trace-csv.ts';

export function readOldSource(source: OldSource): OldEventStream {
  return source.kind === 'log-pair' ? readLogPair(source.server_log) : convertTrace(source.path, source.decode_tokens_per_second);
}

/** Index of the first event of send number `sendIndex` (0-based), or events.length. */
function eventIndexOfSend(events: readonly ConversationEvent[], sendIndex: number): number {
  let sends = 0;
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.kind === 'send' && sends++ === sendIndex) return i;
  }
  return events.length;
}

function sendCount(events: readonly ConversationEvent[]): number {
  let n = 0;
  for (const e of events) if (e.kind === 'send') n++;
  return n;
}

interface Scoring {
  scorer: EventScorer | undefined;
  lightgbm: OldSimulatorFigures['lightgbm'];
  /** First request counted (0-based). */
  windowFrom: number;
}

export interface OldSimulatorOptions {
  /** Folder of trained LightGBM models reused across experiments (default <data dir>/cache/lightgbm). */
  modelCache?: string;
}

async function prepareScoring(s: OldSimulatorSettings, events: ConversationEvent[], outDir: string, options: OldSimulatorOptions): Promise<Scoring> {
  const sends = sendCount(events);
  const fromFraction = (f: number) => Math.floor(f * sends);
  let windowFrom = s.evaluate_from === undefined ? 0 : fromFraction(s.evaluate_from);
  if (s.policy === 'lru') return { scorer: undefined, lightgbm: null, windowFrom };
  if (s.policy === 'conversation_aware') return { scorer: ruleScorer(), lightgbm: null, windowFrom };
  if (s.policy === 'oracle') return { scorer: oracleScorer(events), lightgbm: null, windowFrom };
  const { mode, training } = s.lightgbm;
  const workDir = join(outDir, 'lightgbm');
  if (training.kind === 'model') {
    const model = readLightgbmModel(training.path);
    const lightgbm = { mode, trained_on: `the model ${training.path}`, model_path: training.path, training_seconds: 0, report: null };
    return { scorer: lightgbmScorer(model), lightgbm, windowFrom };
  }
  let trainEvents: ConversationEvent[];
  let trainedOn: string;
  if (training.kind === 'split') {
    const firstEvaluated = fromFraction(training.fraction);
    trainEvents = events.slice(0, eventIndexOfSend(events, firstEvaluated));
    trainedOn = `requests 1-${firstEvaluated} of ${sends} (the first ${training.fraction} of this input, ${trainEvents.length} events)`;
    if (s.evaluate_from === undefined) windowFrom = firstEvaluated;
  } else if (training.kind === 'old-tool') {
    trainEvents = events.slice(0, training.max_events);
    trainedOn = `the first ${trainEvents.length} events of this input (as the old tool; evaluated in-sample)`;
  } else {
    const other = readOldSource(training.source);
    trainEvents = other.events;
    trainedOn = `all ${other.events.length} events of ${other.source.files[0]}`;
  }
  const trained = await trainScorer(trainEvents, mode, workDir, options.modelCache);
  const lightgbm = { mode, trained_on: trainedOn, model_path: trained.modelPath, training_seconds: trained.trainingSeconds, report: trained.report };
  return { scorer: lightgbmScorer(trained.model), lightgbm, windowFrom };
}

function policyFor(scorer: EventScorer | undefined): Policy {
  return scorer ? new ScoredPolicy(scorer) : new LruPolicy();
}

function counts(c: CacheCounts) {
  return {
    requests: c.requests,
    hits: c.hits,
    hit_ratio: c.requests > 0 ? c.hits / c.requests : null,
    lookup_tokens: c.lookupTokens,
    hit_tokens: c.hitTokens,
    token_hit_ratio: c.lookupTokens > 0 ? c.hitTokens / c.lookupTokens : null,
  };
}

async function writeRequests(path: string, model: OldCacheModel): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < model.promptTokens.length; i++) {
    lines.push(`{"index":${i},"prompt_tokens":${model.promptTokens[i]},"hit_tokens":${model.hitTokensPerRequest[i]}}`);
  }
  await writeFile(path, lines.length > 0 ? lines.join('\n') + '\n' : '');
}

/**
 * Runs one experiment of the old simulator's model and writes `outDir/result.json` (the load
 * generator's fields, hit ratios as the external tier's, latencies null) with an `old_simulator`
 * block of the model's own figures, which it also returns.
 */
export async function runOldSimulatorExperiment(input: OldSimulatorInput, outDir: string, options: OldSimulatorOptions = {}): Promise<OldSimulatorFigures> {
  const s = OldSimulatorInput.parse(input);
  await mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  const stream = readOldSource(s.source);
  const t1 = performance.now();
  const scoring = await prepareScoring(s, stream.events, outDir, options);
  const t2 = performance.now();
  const model = new OldCacheModel({
    cacheSizeGb: s.cache_size_gb,
    bytesPerToken: s.bytes_per_token,
    policy: policyFor(scoring.scorer),
    scorer: scoring.scorer,
    windowFrom: scoring.windowFrom,
    recordRequests: s.record_requests,
  });
  model.replay(stream.events);
  const t3 = performance.now();
  const replaySeconds = (t3 - t2) / 1000;
  const all = counts(model.all);
  const description = scoring.windowFrom === 0 ? `all ${all.requests} requests` : `requests ${scoring.windowFrom + 1}-${all.requests} of ${all.requests} (the earlier ones only warm the cache)`;
  const figures: OldSimulatorFigures = {
    cache_model: 'old-simulator',
    policy: s.policy,
    cache_size_gb: s.cache_size_gb,
    bytes_per_token: s.bytes_per_token,
    capacity_bytes: model.capacityBytes,
    source: stream.source,
    events: stream.events.length,
    all,
    evaluated: { ...counts(model.window), from_request: scoring.windowFrom, description },
    evictions: model.evictions,
    duplicate_tails: model.duplicateTails,
    peak_usage: model.capacityBytes > 0 ? model.peakBytes / model.capacityBytes : 0,
    lightgbm: scoring.lightgbm,
    seconds: { read: (t1 - t0) / 1000, train: (t2 - t1) / 1000, replay: replaySeconds },
    replay_requests_per_second: replaySeconds > 0 ? all.requests / replaySeconds : null,
  };
  const requestsFile = 'requests.jsonl';
  if (s.record_requests) await writeRequests(join(outDir, requestsFile), model);
  await writeJsonAtomic(join(outDir, 'result.json'), buildResult(figures, traceFacts(stream.events), s.model_name, s.record_requests ? requestsFile : ''));
  return figures;
}
