// Trains a LightGBM eviction scorer on conversation events: builds the training rows here, runs
// the project's Python trainer (train_scorer.py, real `lightgbm`) with an argv array, and reads the
// model back for scoring in TypeScript.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { FEATURE_COUNT, FEATURE_NAMES } from './features.ts';
import { readLightgbmModel, type LightgbmModel } from './model.ts';
import { dataDir } from '../../platform/paths.ts';
import { writeFileAtomic } from '../../platform/files.ts';
import { provisionLightgbm, REQUIREMENTS_PATH, TRAIN_SCRIPT_PATH } from './provision.ts';
import { buildTrainingSet, type ConversationEvent } from './training-set.ts';

export const LIGHTGBM_MODES = ['regression', 'ranking', 'classification'] as const;
export const LightgbmMode = z.enum(LIGHTGBM_MODES);
export type LightgbmMode = z.infer<typeof LightgbmMode>;

/** What the trainer reports on stdout (its last line). */
export const TrainingReport = z.object({
  mode: LightgbmMode,
  rows: z.number().int(),
  never_again_rows: z.number().int(),
  clamped_labels: z.number().int(),
  label_mean: z.number(),
  trees: z.number().int(),
  importance_gain: z.record(z.string(), z.number()),
  lightgbm_version: z.string(),
  python_version: z.string(),
});
export type TrainingReport = z.infer<typeof TrainingReport>;

export interface TrainedScorer {
  model: LightgbmModel;
  modelPath: string;
  report: TrainingReport;
  trainingSeconds: number;
  /** The model came from the cache of earlier trainings on the same rows. */
  cached: boolean;
}

/** The training table (features + seconds to the next send) as the trainer's JSON input. */
function tableJson(mode: LightgbmMode, events: readonly ConversationEvent[]): { json: string; rows: number } {
  const set = buildTrainingSet(events);
  const rows: Array<Array<number | null>> = [];
  for (let r = 0; r < set.rows; r++) {
    rows.push([...set.features.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), set.secondsToNextSend[r]!]);
  }
  return { json: JSON.stringify({ mode, feature_names: FEATURE_NAMES, rows }), rows: set.rows };
}

/** Where trained models are kept by default: <data dir>/cache/lightgbm. */
export function defaultModelCache(): string {
  return join(dataDir(), 'cache', 'lightgbm');
}

/** Where a model trained on exactly these rows with this trainer is kept (same rows, same model). */
function cacheDirFor(cacheRoot: string, table: string): string {
  const hash = createHash('sha256').update(table).update(readFileSync(TRAIN_SCRIPT_PATH)).update(readFileSync(REQUIREMENTS_PATH)).digest('hex');
  return join(cacheRoot, hash.slice(0, 24));
}

/**
 * Trains a scorer and copies its model.txt and report.json into `workDir`. The training table,
 * the trainer's log and the model stay in a folder of `modelCache` named by the rows' hash, so a
 * model trained before on the same rows is reused (training is deterministic). Throws
 * LightgbmUnavailableError when no Python with lightgbm can be provisioned.
 */
export async function trainScorer(
  events: readonly ConversationEvent[],
  mode: LightgbmMode,
  workDir: string,
  modelCache = defaultModelCache(),
): Promise<TrainedScorer> {
  const started = performance.now();
  await mkdir(workDir, { recursive: true });
  const { json, rows } = tableJson(mode, events);
  if (rows === 0) throw new Error(`LightGBM training: the training events (${events.length}) hold no completed turn`);
  const modelPath = join(workDir, 'model.txt');
  const reportPath = join(workDir, 'report.json');
  const cacheDir = cacheDirFor(modelCache, json);
  const cached = existsSync(join(cacheDir, 'report.json'));
  if (!cached) await trainIntoCache(json, cacheDir);
  await copyFile(join(cacheDir, 'model.txt'), modelPath);
  await copyFile(join(cacheDir, 'report.json'), reportPath);
  const report = TrainingReport.parse(JSON.parse(await readFile(reportPath, 'utf8')));
  return { model: readLightgbmModel(modelPath), modelPath, report, trainingSeconds: (performance.now() - started) / 1000, cached };
}

/**
 * Trains in a folder of this run's own and renames it into the cache when whole: experiments of
 * one sweep that train on the same rows (the sizes of a mode) run at once, and one trainer
 * rewriting model.txt in a shared folder while another copied it gave a truncated model. The
 * first whole folder wins; a later one is dropped (training is deterministic).
 */
async function trainIntoCache(table: string, cacheDir: string): Promise<void> {
  const own = `${cacheDir}.training-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await runTrainer(table, own);
    await rename(own, cacheDir).catch(async () => {
      // Another run's folder is there: whole (report.json, written last) means done; else it is a
      // crashed run's remains, replaced.
      if (existsSync(join(cacheDir, 'report.json'))) return;
      await rm(cacheDir, { recursive: true, force: true });
      await rename(own, cacheDir);
    });
  } finally {
    await rm(own, { recursive: true, force: true });
  }
}

/** Runs train_scorer.py on the table; leaves training.json, trainer.log, model.txt and report.json (last) in `dir`. */
async function runTrainer(table: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { python } = await provisionLightgbm((line) => process.stderr.write(`kvsweep: ${line}\n`));
  const input = join(dir, 'training.json');
  await writeFile(input, table);
  const r = await execa(python, [TRAIN_SCRIPT_PATH, '--input', input, '--model', join(dir, 'model.txt')], { reject: false, all: true });
  await writeFile(join(dir, 'trainer.log'), r.all ?? '');
  if (r.exitCode !== 0) {
    const tail = (r.stderr || r.stdout).split('\n').slice(-12).join('\n');
    throw new Error(`LightGBM training failed (${python} ${TRAIN_SCRIPT_PATH}, exit ${r.exitCode ?? r.signal}; log ${join(dir, 'trainer.log')}):\n${tail}`);
  }
  const report = TrainingReport.parse(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''));
  await writeFileAtomic(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
}
