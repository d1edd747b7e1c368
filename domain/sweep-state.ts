// A sweep's bookkeeping as a pure reducer: which experiments finished and how, which run, how many
// were skipped because an earlier run had done them, and the progress figures made from that.
// SweepWorkflow holds one SweepState, applies these functions to it, and carries it whole across
// continue-as-new, so what is carried is this one type, not a list kept by hand. Workflow-safe: no
// Node APIs, no clocks (callers pass `now`).
import type { ResolvedSweep } from './config/resolved.ts';
import type { ExperimentStatus } from './outcome.ts';

export interface FinishedExperiment {
  status: ExperimentStatus;
  seconds: number;
}

/** A sweep's counts and lists, known from its start (before its config is resolved). */
export interface SweepBook {
  results_dir: string;
  started_ms: number;
  /** By experiment id: every experiment that ended, the skipped ones included (as succeeded). */
  finished: Record<string, FinishedExperiment>;
  /** Children started and not yet heard from. */
  running: string[];
  /** Experiments whose outcome said they had succeeded before this sweep started (not run again). */
  skipped: number;
}

/** Everything a sweep carries across continue-as-new. */
export interface SweepState extends SweepBook {
  resolved: ResolvedSweep;
}

/** State carried by a kvsweep from before `skipped` was carried (its runs lose that count). */
export type CarriedSweepState = Omit<SweepState, 'skipped'> & { skipped?: number };

export type SweepPhase = 'resolving' | 'running' | 'summarising' | 'done' | 'cancelling';

export interface SweepProgress {
  sweep_id: string;
  tag: string;
  results_dir: string;
  started_at: string;
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  running: number;
  waiting: number;
  skipped_already_done: number;
  running_ids: string[];
  eta_seconds: number | null;
  phase: SweepPhase;
}

export function newSweepBook(resultsDir: string, startedMs: number): SweepBook {
  return { results_dir: resultsDir, started_ms: startedMs, finished: {}, running: [], skipped: 0 };
}

/** The state a new run of the sweep goes on from (a copy: the carried input stays as it was). */
export function resumeSweepState(carried: CarriedSweepState): SweepState {
  return { ...carried, finished: { ...carried.finished }, running: [...carried.running], skipped: carried.skipped ?? 0 };
}

/** Experiments that had succeeded in the results folder before the sweep started: never run. */
export function skipAlreadyDone(state: SweepBook, ids: string[]): void {
  for (const id of ids) state.finished[id] = { status: 'succeeded', seconds: 0 };
  state.skipped += ids.length;
}

export function markRunning(state: SweepBook, id: string): void {
  if (!state.running.includes(id)) state.running.push(id);
}

export function isRunning(state: SweepBook, id: string): boolean {
  return state.running.includes(id);
}

/** Takes an experiment off the running list; true if it was on it. */
export function stopRunning(state: SweepBook, id: string): boolean {
  const index = state.running.indexOf(id);
  if (index < 0) return false;
  state.running.splice(index, 1);
  return true;
}

/** Records how an experiment ended (a later report of the same experiment replaces an earlier one). */
export function markFinished(state: SweepBook, id: string, finished: FinishedExperiment): void {
  stopRunning(state, id);
  state.finished[id] = finished;
}

/** Experiments neither finished nor running, in the sweep's order. */
export function startableIds(state: SweepBook, ids: readonly string[]): string[] {
  return ids.filter((id) => !(id in state.finished) && !isRunning(state, id));
}

/** Experiments not finished (running or waiting to start). */
export function remainingCount(state: SweepBook, total: number): number {
  return total - Object.keys(state.finished).length;
}

/** The progress query's answer. The ETA counts only experiments run by this sweep, not skipped ones. */
export function progressOf(state: SweepBook, view: { sweep_id: string; tag: string; total: number; phase: SweepPhase; now: number }): SweepProgress {
  const finished = Object.values(state.finished);
  const count = (status: ExperimentStatus) => finished.filter((f) => f.status === status).length;
  const done = finished.length - state.skipped;
  const remaining = remainingCount(state, view.total);
  const elapsedS = (view.now - state.started_ms) / 1000;
  return {
    sweep_id: view.sweep_id,
    tag: view.tag,
    results_dir: state.results_dir,
    started_at: new Date(state.started_ms).toISOString(),
    total: view.total,
    succeeded: count('succeeded'),
    failed: count('failed'),
    cancelled: count('cancelled'),
    running: state.running.length,
    waiting: remaining - state.running.length,
    skipped_already_done: state.skipped,
    running_ids: state.running.slice(0, 50),
    eta_seconds: done > 0 && remaining > 0 ? Math.round((elapsedS / done) * remaining) : null,
    phase: view.phase,
  };
}

/** One line for the Web UI's current details. */
export function describeProgress(p: SweepProgress): string {
  return `${p.succeeded + p.failed + p.cancelled}/${p.total} done (${p.succeeded} ok, ${p.failed} failed), ${p.running} running; results in ${p.results_dir}`;
}
