// `kvsweep run` end to end: the real CLI, the real Temporal dev server, a real worker (the local
// one run --gpus starts), the simulator and the load generator as real processes.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { SummaryFile } from '../../domain/summary.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { projectRoot } from '../../platform/paths.ts';
import { markedProcesses, runKvsweep, startKvsweep } from '../support/processes.ts';
import { FAST_SIM_ARGS, writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let temporal: TestTemporal;
let home: string;
// Its own local host id: another local stack on this machine must not look like ours.
const localHost = `e2e-local-${process.pid}`;
const env = () => ({ TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: home, KVSWEEP_LOCAL_HOST_ID: localHost });

beforeAll(async () => {
  temporal = await useTemporal();
  home = mkdtempSync(join(tmpdir(), 'kvsweep-home-'));
});
afterAll(async () => {
  await temporal?.close();
});

/** summary.json, checked against its one schema (what the sweep wrote must be what it defines). */
function readSummary(resultsDir: string): Array<Record<string, any>> {
  return SummaryFile.parse(JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')));
}

function resultsDirFrom(output: string): string {
  const match = /^Results:\s+(\S+)$/m.exec(output);
  if (!match) throw new Error(`no results folder in:\n${output}`);
  return match[1]!;
}

// Each test runs a whole sweep through the CLI, a local worker and real processes: minutes on a busy machine.
describe('kvsweep run --gpus', { timeout: 240_000 }, () => {
  it('runs every experiment, writes the results in the old shape, and leaves no process behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-run-'));
    const yaml = writeSweepFile({ tag: 'e2e', dir, cacheSizes: [0.001, 0.05], strategies: ['lru', 'conversation_aware'] });
    const sweepId = `e2e-${Date.now()}`;
    const { code, output } = await runKvsweep(['run', '--yaml', yaml, '--gpus', '2', '--sweep-id', sweepId], env());
    expect(code, output).toBe(0);
    expect(output).toMatch(/Total experiments:\s+4/);
    expect(output).toMatch(/Successful:\s+4/);
    expect(output).toMatch(/Failed:\s+0/);
    expect(output).toMatch(/Average execution time:\s+\d+\.\d s/);
    const resultsDir = resultsDirFrom(output);
    expect(resultsDir).toMatch(/\/logs\/e2e_\d{4}-\d\d-\d\d$/);
    const summary = readSummary(resultsDir);
    expect(summary).toHaveLength(4);
    for (const entry of summary) {
      expect(Object.keys(entry).slice(0, 8)).toEqual(['experiment_id', 'timestamp', 'configuration', 'benchmark_results', 'cache_statistics', 'conversation_features', 'execution_success', 'execution_time_seconds']);
      expect(entry.execution_success).toBe(true);
      // The old runner's keys beside kvsweep's, same values: its scripts read these.
      const { configuration: c, benchmark_results: b, cache_statistics: s } = entry;
      expect([c.model_name, c.request_rate_per_second, c.cache_eviction_strategy, c.max_prompt_count, c.experiment_tag]).toEqual([c.model, c.request_rate, c.eviction_strategy, c.num_prompts, 'e2e']);
      expect([b.successful_requests, b.benchmark_duration, b.total_generated_tokens]).toEqual([20, b.duration, b.total_output_tokens]);
      expect([s.vllm_queries, s.vllm_hits, s.vllm_hit_rate]).toEqual([s.prefix_cache_queries, s.prefix_cache_hits, s.prefix_cache_hit_rate]);
      expect(s.lmcache_hit_rate).toBeGreaterThanOrEqual(0);
      expect(entry.benchmark_results.completed).toBe(20);
      expect(entry.benchmark_results.failed).toBe(0);
      expect(entry.benchmark_results.mean_ttft_ms).toBeGreaterThan(0);
      expect(entry.cache_statistics.prefix_cache_reset).toBe('ok');
      const folder = join(resultsDir, entry.experiment_id);
      for (const file of ['server.log', 'client.log', 'result.json', 'requests.jsonl', 'metrics.jsonl', 'outcome.json']) {
        expect(existsSync(join(folder, file)), `${folder}/${file}`).toBe(true);
      }
      expect(readFileSync(join(folder, 'server.log'), 'utf8')).toContain('Application startup complete');
      const command = JSON.parse(readFileSync(join(folder, 'server-command.json'), 'utf8'));
      expect(command.env.CUDA_VISIBLE_DEVICES).toMatch(/^[01]$/);
      expect(command.env.LMCACHE_MAX_LOCAL_CPU_SIZE).toBe(String(entry.configuration.cache_size_gb));
      // Prometheus multiprocess mode in a folder of this server start, gone after the teardown;
      // LMCache's series, the fork-style statistics endpoint and the failed allocations of its log.
      expect(command.env.PROMETHEUS_MULTIPROC_DIR).toBe(join(folder, 'server-scratch'));
      expect(existsSync(join(folder, 'server-scratch'))).toBe(false);
      expect(entry.cache_statistics.lmcache_retrieve_hit_rate).not.toBeUndefined();
      expect(entry.cache_statistics.lmcache_stats_endpoint).toBe('ok');
      expect(entry.cache_statistics.lmcache_stats_requests).toBe(20);
      // The old runner's LMCache keys come from the fork's endpoint when it answers, as its client read them.
      expect([s.lmcache_requests, s.lmcache_queries, s.lmcache_hit_rate, s.lmcache_retrieved_rate]).toEqual([s.lmcache_stats_requests, s.lmcache_stats_query_tokens, s.lmcache_stats_hit_rate, s.lmcache_stats_retrieved_rate]);
      expect(entry.conversation_features.conversation_requests).toBe(20);
      expect(entry.cache_statistics.lmcache_failed_allocations).toBeTypeOf('number');
    }
    const csv = readFileSync(join(resultsDir, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(5);
    expect(new Set(csv[0]!.split(',')).size).toBe(csv[0]!.split(',').length);
    // A larger CPU tier never lowers the external hit rate of the same trace and policy.
    for (const strategy of ['lru', 'conversation_aware']) {
      const rate = (size: number) => summary.find((e) => e.configuration.cache_size_gb === size && e.configuration.eviction_strategy === strategy)!.cache_statistics.external_prefix_cache_hit_rate as number;
      expect(rate(0.05)).toBeGreaterThanOrEqual(rate(0.001));
    }
    expect(markedProcesses(localHost)).toEqual([]);
    // First leases are asked for by the sweep, in one signal per batch of children it starts;
    // the experiments do not ask again (a signal and a workflow task each, saved).
    const signalsSent = async (workflowId: string) =>
      (await temporal.client.workflow.getHandle(workflowId).fetchHistory()).events!
        .map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName)
        .filter((name): name is string => Boolean(name));
    expect((await signalsSent(sweepId)).filter((name) => name === 'requestLeases')).toHaveLength(1);
    for (const entry of summary) expect(await signalsSent(`${sweepId}/${entry.experiment_id}`)).not.toContain('requestLease');
  });

  it('rejects a bad config before anything starts: no workflow, exit 2, the file and the YAML path named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bad-'));
    const yaml = writeSweepFile({ tag: 'bad', dir });
    const text = readFileSync(yaml, 'utf8').replace('num_prompts: 100', 'num_promts: 100');
    const badYaml = join(dir, 'bad.yaml');
    (await import('node:fs')).writeFileSync(badYaml, text);
    const sweepId = `bad-${Date.now()}`;
    const { code, output } = await runKvsweep(['run', '--yaml', badYaml, '--gpus', '1', '--sweep-id', sweepId], env());
    expect(code).toBe(2);
    expect(output).toContain('bad.yaml');
    expect(output).toContain('defaults.num_promts');
    expect(output).toContain('num_prompts');
    await expect(temporal.client.workflow.getHandle(sweepId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('passes YAML values to processes as literal argv and environment text, never through a shell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-literal-'));
    const marker = join(tmpdir(), `kvsweep-injected-${process.pid}-${Date.now()}`);
    const hostile = `$(touch ${marker})`;
    const yaml = writeSweepFile({ tag: 'literal', dir, serverArgs: ['--served-model-name', `x;${hostile}`], serverEnv: { KVSWEEP_PROBE: hostile } });
    const { code, output } = await runKvsweep(['run', '--yaml', yaml, '--gpus', '1', '--sweep-id', `literal-${Date.now()}`], env());
    expect(code, output).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const [entry] = readSummary(resultsDirFrom(output));
    const command = JSON.parse(readFileSync(join(resultsDirFrom(output), entry!.experiment_id, 'server-command.json'), 'utf8'));
    expect(command.argv).toContain(`x;${hostile}`);
    expect(command.env.KVSWEEP_PROBE).toBe(hostile);
    // The client asked for the model by that literal name and the simulator served it.
    expect(entry!.benchmark_results.completed).toBe(20);
  });

  it('runs an external client from its argv template and collects its result.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-external-'));
    const client = join(projectRoot, 'test', 'fixtures', 'clients', 'mini_bench.py');
    const yaml = writeSweepFile({ tag: 'external', dir, client: { argv: ['python3', client, '{base_url}', '{model}', '{dataset}', '{result_dir}', '{num_prompts}'] } });
    const { code, output } = await runKvsweep(['run', '--yaml', yaml, '--gpus', '1', '--sweep-id', `external-${Date.now()}`], env());
    expect(code, output).toBe(0);
    const [entry] = readSummary(resultsDirFrom(output));
    expect(entry!.benchmark_results.completed).toBe(20);
    expect(entry!.benchmark_results.failed).toBe(0);
    expect(entry!.benchmark_results.mean_e2el_ms).toBeGreaterThan(0);
    const folder = join(resultsDirFrom(output), entry!.experiment_id);
    expect(readFileSync(join(folder, 'client-progress.jsonl'), 'utf8')).toContain('"completed": 20');
  });

  it('fails one experiment with its cause and log tail, never the sweep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-fault-'));
    const yaml = writeSweepFile({
      tag: 'fault',
      dir,
      extraDatasets: [{ path: 'chat-small.csv', name: 'broken', cache_sizes: [0.01], request_rates: [10], server_extra_args: [...FAST_SIM_ARGS, '--fail-startup'] }],
    });
    const { code, output } = await runKvsweep(['run', '--yaml', yaml, '--gpus', '2', '--sweep-id', `fault-${Date.now()}`], env());
    expect(code, output).toBe(1);
    expect(output).toMatch(/Successful:\s+1/);
    expect(output).toMatch(/Failed:\s+1/);
    const summary = readSummary(resultsDirFrom(output));
    const broken = summary.find((e) => e.experiment_id.includes('broken'))!;
    expect(broken.execution_success).toBe(false);
    // The process failure's one wording (platform/process-failure.ts): how, the command, the log.
    expect(broken.error).toMatch(/^server exited with code 1 during start-up: \S+ \S+kvsweep\.js sim serve .*--fail-startup/);
    expect(broken.error).toContain(`log: ${join(resultsDirFrom(output), broken.experiment_id, 'server.log')}`);
    const outcome = JSON.parse(readFileSync(join(resultsDirFrom(output), broken.experiment_id, 'outcome.json'), 'utf8'));
    expect(outcome.attempts[0].log_tail.join('\n')).toMatch(/fail/i);
    expect(markedProcesses(localHost)).toEqual([]);
  });

  it('Ctrl-C stops following and the local worker, exits 130, and leaves the sweep in Temporal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-interrupt-'));
    // Slow replay: the experiment is still running when the interrupt comes.
    const yaml = writeSweepFile({ tag: 'interrupt', dir, rates: [0.2] });
    const sweepId = `interrupt-${Date.now()}`;
    const interruptHost = `${localHost}-interrupt`;
    const run = startKvsweep(['run', '--yaml', yaml, '--gpus', '1', '--sweep-id', sweepId], { ...env(), KVSWEEP_LOCAL_HOST_ID: interruptHost });
    const deadline = Date.now() + 90_000;
    while (markedProcesses(interruptHost).length < 2 && Date.now() < deadline && run.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(markedProcesses(interruptHost).length, run.output()).toBeGreaterThanOrEqual(2); // its server and client
    run.child.kill('SIGINT');
    expect(await run.exited, run.output()).toBe(130);
    expect(run.output()).toContain('Interrupted: stopping the local worker; the sweep waits in Temporal');
    expect(markedProcesses(interruptHost)).toEqual([]);
    const sweep = temporal.client.workflow.getHandle(sweepId);
    expect((await sweep.describe()).status.name).toBe('RUNNING');
    // Not to be picked up by another test's worker: the sweep and its experiment end here.
    await sweep.terminate('test: interrupted on purpose');
    for (const spec of expandSweep((await planSweep(yaml)).resolved)) await temporal.client.workflow.getHandle(`${sweepId}/${spec.id}`).terminate('test: interrupted on purpose').catch(() => undefined);
  });
});
