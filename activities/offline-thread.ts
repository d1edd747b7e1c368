// One offline simulation thread: runs the experiments the pool hands it, one at a time, in the
// cache model each spec names, and answers with the result folder or the failure.
import { parentPort } from 'node:worker_threads';
import type { ExperimentSpec } from '../domain/experiment.ts';
import { UserError } from '../domain/errors.ts';
import { offlineRunOf } from '../offline/from-spec.ts';
import { runOldSimulatorExperiment } from '../offline/old-simulator/experiment.ts';
import { runOfflineExperiment } from '../offline/run.ts';

export interface ThreadTask {
  task_id: number;
  spec: ExperimentSpec;
  out_dir: string;
}
export type ThreadAnswer = { task_id: number; ok: true } | { task_id: number; ok: false; message: string; user_error: boolean; stack: string[] };

async function run(task: ThreadTask): Promise<void> {
  const plan = offlineRunOf(task.spec);
  if (plan.cache_model === 'kvsweep') await runOfflineExperiment(plan.experiment, task.out_dir);
  else await runOldSimulatorExperiment(plan.input, task.out_dir);
}

parentPort!.on('message', (task: ThreadTask) => {
  run(task).then(
    () => parentPort!.postMessage({ task_id: task.task_id, ok: true } satisfies ThreadAnswer),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      const stack = (e.stack ?? '').split('\n').slice(1, 9).map((l) => l.trim());
      parentPort!.postMessage({ task_id: task.task_id, ok: false, message: e.message, user_error: e instanceof UserError, stack } satisfies ThreadAnswer);
    },
  );
});
