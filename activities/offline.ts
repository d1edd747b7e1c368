// The offline queue's activity: one offline experiment (an ExperimentSpec of an environment of kind
// `offline`) run in kvsweep's engine or the old simulator's model, in a pool of threads (one per
// core: a replay is CPU-bound and synchronous, and the worker's own event loop must keep serving
// workflow tasks and heartbeats). It writes the experiment's result folder, as a live client does,
// and reads result.json back into the outcome's two blocks. Idempotent: a folder whose result.json
// exists (written last, atomically) is complete, and a retry or a resumed sweep reads it back.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ExperimentSpec } from '../domain/experiment.ts';
import { access } from 'node:fs/promises';
import { collectFrom, type CollectedResults } from './collect.ts';
import type { ThreadAnswer, ThreadTask } from './offline-thread.ts';

export interface SimulateOfflineInput {
  spec: ExperimentSpec;
  results_dir: string;
}
export interface SimulateOfflineResult extends CollectedResults {
  result_dir: string;
  /** False when an earlier run had already written the folder. */
  simulated: boolean;
}

/** Threads (and so concurrent offline activities) of a worker: the machine's cores, or KVSWEEP_OFFLINE_THREADS. */
export function offlineConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.KVSWEEP_OFFLINE_THREADS);
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
}

interface Pending {
  task: ThreadTask;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Threads started when first needed, reused, and replaced when one dies (failing only its task). */
export class OfflineThreadPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private started = 0;
  private nextId = 1;
  private closed = false;

  constructor(private readonly size: number) {}

  run(spec: ExperimentSpec, outDir: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ task: { task_id: this.nextId++, spec, out_dir: outDir }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const worker = this.idle.pop() ?? (this.started < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const pending = this.queue.shift()!;
      this.busy.set(worker, pending);
      worker.postMessage(pending.task);
    }
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(new URL('./offline-thread.mjs', import.meta.url));
    worker.unref();
    worker.on('message', (answer: ThreadAnswer) => {
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      this.idle.push(worker);
      if (pending) {
        if (answer.ok) pending.resolve();
        else pending.reject(failureOf(pending.task.spec, answer));
      }
      this.dispatch();
    });
    const lost = (error: Error) => {
      const pending = this.busy.get(worker);
      this.busy.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      this.started--;
      pending?.reject(ApplicationFailure.create({ type: 'OfflineThreadLost', message: `${pending.task.spec.id}: the simulation thread died: ${error.message}`, details: [{ log_tail: (error.stack ?? '').split('\n').slice(0, 8) }] }));
      this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      if (this.busy.has(worker) || this.idle.includes(worker)) lost(new Error(`exit code ${code}`));
    });
    return worker;
  }
}

/** A bad setting of the spec (UserError) fails the experiment at once; anything else may be retried. */
function failureOf(spec: ExperimentSpec, answer: Extract<ThreadAnswer, { ok: false }>): ApplicationFailure {
  const message = answer.message.startsWith(spec.id) ? answer.message : `${spec.id}: ${answer.message}`;
  return ApplicationFailure.create({
    type: answer.user_error ? 'OfflineExperimentError' : 'OfflineSimulationFailed',
    message,
    nonRetryable: answer.user_error,
    details: [{ log_tail: answer.user_error ? [] : [answer.message, ...answer.stack] }],
  });
}

export function createOfflineActivities(pool: OfflineThreadPool) {
  return {
    async simulateOffline(input: SimulateOfflineInput): Promise<SimulateOfflineResult> {
      const dir = join(input.results_dir, input.spec.id);
      const done = await access(join(dir, 'result.json')).then(() => true, () => false);
      if (!done) {
        const context = Context.current();
        // The thread does the work; the heartbeats say this worker still holds it.
        const beat = setInterval(() => context.heartbeat(), 1000);
        try {
          await Promise.race([pool.run(input.spec, dir), context.cancelled]);
        } finally {
          clearInterval(beat);
        }
      }
      return { ...(await collectFrom(dir)), result_dir: dir, simulated: !done };
    },
  };
}
