// Offline experiments through the sweep workflow, end to end on a real Temporal dev server with the
// CLI's local worker: `kvsweep simulate --yaml` on an old-tool simulation file (15 experiments,
// lightgbm trained by the real library in kvsweep's model), no GPU lease asked for, the same results
// layout as a live sweep, figures equal to the offline runner's own; `kvsweep run --env offline`
// and `resume`: a fault fails that experiment only, and a resume never simulates again what
// succeeded.
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostActivities } from '../../activities/host.ts';
import type { HostProcesses } from '../../activities/host-processes.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, WorkflowTypes, experimentWorkflowId } from '../../domain/names.ts';
import type { ExperimentOutcome } from '../../domain/outcome.ts';
import { offlineRunOf } from '../../offline/from-spec.ts';
import { runOfflineExperiment } from '../../offline/run.ts';
import { projectRoot } from '../../platform/paths.ts';
import { stringify } from 'yaml';
import { SMALL_TRACE } from '../support/sweeps.ts';
import { runKvsweep } from '../support/processes.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let temporal: TestTemporal;
beforeAll(async () => {
  temporal = await useTemporal();
}, 120_000);
afterAll(async () => {
  await temporal?.close();
});

const outcomeOf = (dir: string, id: string) => JSON.parse(readFileSync(join(dir, id, 'outcome.json'), 'utf8')) as ExperimentOutcome;
const envFor = (dir: string, tag: string) => ({
  TEMPORAL_ADDRESS: temporal.address,
  KVSWEEP_HOME: join(dir, 'home'),
  KVSWEEP_LOCAL_HOST_ID: `offline-${tag}-${process.pid}`,
});

/** Whether an experiment workflow's history holds a signal to another workflow (a lease request to the pool). */
async function signalsSent(workflowId: string): Promise<number> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId === GPU_POOL_WORKFLOW_ID).length;
}

describe('offline sweeps through Temporal', { timeout: 300_000 }, () => {
  it('simulate --yaml runs an old-tool simulation file: 15 experiments, no GPU lease, a live sweep\'s results layout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-offline-sweep-'));
    cpSync(join(projectRoot, 'test', 'config', 'fixtures', 'old-tool'), dir, { recursive: true });
    const sweepId = `sweep/offline-e2e/${Date.now()}`;
    const run = await runKvsweep(['simulate', '--yaml', 'offline-simulation.yaml', '--sweep-id', sweepId], envFor(dir, 'e2e'), 240_000, dir);
    // All 15 succeed, the lightgbm ones with a model the real library trained on the input's first half.
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Total experiments:\s+15/);
    expect(run.output).toMatch(/Successful:\s+15/);
    const { resolved, experiments } = await planSweep(join(dir, 'offline-simulation.yaml'), { env: 'offline' });
    expect(experiments).toHaveLength(15);
    const resultsDir = join(dir, 'out', resultsFolder(run.output, 'out'));
    for (const spec of experiments) {
      const outcome = outcomeOf(resultsDir, spec.id);
      expect(outcome.status, outcome.error ?? '').toBe('succeeded');
      if (spec.eviction_strategy === 'lightgbm') {
        const result = JSON.parse(readFileSync(join(resultsDir, spec.id, 'result.json'), 'utf8')) as { offline?: { lightgbm?: { mode?: string } } };
        expect(result.offline?.lightgbm?.mode).toBe(spec.lightgbm_mode);
      }
      for (const file of ['result.json', 'requests.jsonl', 'metrics.jsonl']) expect(existsSync(join(resultsDir, spec.id, file))).toBe(true);
      expect(outcome.cache_statistics.external_prefix_cache_hit_rate).toBeTypeOf('number');
      expect(await signalsSent(experimentWorkflowId(sweepId, spec.id))).toBe(0);
    }
    for (const file of ['summary.json', 'summary.csv', 'sweep.json', 'report.html']) expect(existsSync(join(resultsDir, file))).toBe(true);
    const summary = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as unknown[];
    expect(summary).toHaveLength(15);
    expect(resolved.environment.definition.kind).toBe('offline');

    // The figures are the offline runner's own for that experiment (the spec mapped as documented).
    const oracle = experiments.find((s) => s.eviction_strategy === 'oracle' && s.cache_size_gb === 20)!;
    const plan = offlineRunOf(oracle);
    if (plan.cache_model !== 'kvsweep') throw new Error('expected kvsweep\'s model');
    const direct = await runOfflineExperiment(plan.experiment, join(dir, 'direct'));
    expect(outcomeOf(resultsDir, oracle.id).cache_statistics.external_prefix_cache_hits).toBe(direct.result.cache_statistics.external_prefix_cache_hits);
    expect(outcomeOf(resultsDir, oracle.id).benchmark_results.completed).toBe(direct.result.completed);
  });

  it('run --env offline: a fault fails that experiment only; resume reruns it and never simulates again what succeeded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-offline-resume-'));
    cpSync(SMALL_TRACE, join(dir, 'flaky.csv'));
    cpSync(SMALL_TRACE, join(dir, 'chat-small.csv'));
    const yaml = join(dir, 'sweep.yaml');
    writeFileSync(
      yaml,
      stringify({
        tag: 'offline_resume',
        model_name: 'sim-small',
        log_base_dir: 'logs',
        defaults: { num_prompts: 100, time_limit: 60, max_attempts: 1 },
        experiments: {
          datasets: [
            { path: 'chat-small.csv', cache_sizes: [0.001, 0.05], request_rates: [10], cache_eviction_strategy: ['lru', 'conversation_aware'] },
            { path: 'flaky.csv', cache_sizes: [0.01], request_rates: [10], cache_eviction_strategy: ['lru', 'oracle'], cache_model: 'old-simulator' },
          ],
        },
      }),
    );
    const { resolved, experiments } = await planSweep(yaml, { env: 'offline' });
    const flaky = experiments.filter((s) => s.dataset.path.endsWith('flaky.csv')).map((s) => s.id);
    const steady = experiments.map((s) => s.id).filter((id) => !flaky.includes(id));
    expect(flaky).toHaveLength(2);
    expect(steady).toHaveLength(4);
    const sweepId = `sweep/offline-resume/${Date.now()}`;
    const env = envFor(dir, 'resume');
    const resultsDir = join(dir, 'results');

    // The trace goes missing after planning (a storage hiccup): its experiments fail with the
    // cause, the rest succeed. `resume` brings up the local worker an offline sweep needs.
    renameSync(join(dir, 'flaky.csv'), join(dir, 'flaky.csv.away'));
    await temporal.client.workflow.start(WorkflowTypes.sweep, { workflowId: sweepId, taskQueue: CONTROL_TASK_QUEUE, args: [{ resolved, results_dir: resultsDir }] });
    const first = await runKvsweep(['resume', sweepId], env, 240_000, dir);
    expect(first.code, first.output).toBe(1);
    expect(first.output).toMatch(/Successful:\s+4/);
    for (const id of flaky) {
      const outcome = outcomeOf(resultsDir, id);
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toContain(`${id}: cannot read the trace CSV ${join(dir, 'flaky.csv')}: no such file`);
    }
    const before = steady.map((id) => ({ id, outcome: outcomeOf(resultsDir, id), mtime: statSync(join(resultsDir, id, 'result.json')).mtimeMs }));
    for (const { outcome } of before) expect(outcome.status).toBe('succeeded');

    // The file is back: `run --env offline` with the same sweep id reruns the failed ones only;
    // the others' folders are untouched.
    renameSync(join(dir, 'flaky.csv.away'), join(dir, 'flaky.csv'));
    const second = await runKvsweep(['run', '--yaml', yaml, '--env', 'offline', '--sweep-id', sweepId], env, 240_000, dir);
    expect(second.code, second.output).toBe(0);
    for (const id of flaky) expect(outcomeOf(resultsDir, id).status).toBe('succeeded');
    for (const { id, outcome, mtime } of before) {
      expect(outcomeOf(resultsDir, id)).toEqual(outcome);
      expect(statSync(join(resultsDir, id, 'result.json')).mtimeMs).toBe(mtime);
    }
    const oldModel = JSON.parse(readFileSync(join(resultsDir, flaky[0]!, 'result.json'), 'utf8')) as { old_simulator?: { cache_model: string } };
    expect(oldModel.old_simulator?.cache_model).toBe('old-simulator');
    // The workflow is the same type a live experiment runs (visible with the sweep in the Web UI).
    const description = await temporal.client.workflow.getHandle(experimentWorkflowId(sweepId, flaky[0]!)).describe();
    expect(description.type).toBe(WorkflowTypes.experiment);
    expect(description.taskQueue).toBe(CONTROL_TASK_QUEUE);
  });
});

describe('an offline experiment on the server path', () => {
  it("a host's startServer refuses it before touching a process or a port", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-offline-host-'));
    cpSync(join(projectRoot, 'test', 'config', 'fixtures', 'old-tool'), dir, { recursive: true });
    const { experiments } = await planSweep(join(dir, 'offline-simulation.yaml'), { env: 'offline' });
    const host = createHostActivities({ hostId: 'h', incarnation: 'i', processes: {} as HostProcesses, portBase: 1, portCount: 1, kvsweepArgv: [], teardownGraceMs: 1 });
    const error = await host.startServer({ spec: experiments[0]!, sweep_id: 's', results_dir: '/nonexistent', attempt: 1, gpu_ids: ['0'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('OfflineExperiment');
  });
});

/** The results folder's name from the summary the command prints. */
function resultsFolder(output: string, base: string): string {
  const match = new RegExp(`Results:\\s+\\S*/${base}/(\\S+)`).exec(output);
  if (!match) throw new Error(`no results folder in:\n${output}`);
  return match[1]!;
}
