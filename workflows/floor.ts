// Reference workflows for the orchestration benchmark (bench/orchestration-floor.ts), not part of
// the product bundle: the least any design with one child workflow and five host activities per
// experiment costs Temporal. No pool, no signals, no files: the sweep awaits each child's result.
import { executeChild, proxyActivities } from '@temporalio/workflow';

export interface FloorSweepInput {
  experiments: number;
  /** Children running at once (the GPUs of the main benchmark's hosts). */
  window: number;
  host_queues: string[];
}

type FloorActivities = Record<'startServer' | 'awaitServerReady' | 'runClient' | 'collectResults' | 'teardownServer', () => Promise<void>>;

export async function FloorExperimentWorkflow(taskQueue: string): Promise<void> {
  const host = proxyActivities<FloorActivities>({ taskQueue, startToCloseTimeout: '1 minute' });
  await host.startServer();
  await host.awaitServerReady();
  await host.runClient();
  await host.collectResults();
  await host.teardownServer();
}

export async function FloorSweepWorkflow(input: FloorSweepInput): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < input.experiments) {
      const i = next++;
      await executeChild(FloorExperimentWorkflow, { workflowId: `${input.experiments}-floor-${i}`, args: [input.host_queues[i % input.host_queues.length]!] });
      done++;
    }
  };
  await Promise.all(Array.from({ length: input.window }, lane));
  return done;
}
