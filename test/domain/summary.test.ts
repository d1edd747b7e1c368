// summary.json carries the old Python runner's keys beside kvsweep's, with the same values, from
// one mapping (domain/summary.ts) that docs/report.md shows as a table; summary.csv names no
// column twice and writes booleans as true/false.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { summaryCsv } from '../../activities/summary-files.ts';
import { ExperimentOutcome } from '../../domain/records.ts';
import { configurationOf } from '../../domain/outcome.ts';
import { OLD_KEYS, SummaryEntry, summaryEntryOf } from '../../domain/summary.ts';
import { plan, sweepWith } from '../config/support.ts';
import { projectRoot } from '../../platform/paths.ts';
import { FAILED_ID, FIXTURE } from '../report/fixture.ts';

const outcomeOf = (id: string) => ExperimentOutcome.parse(JSON.parse(readFileSync(join(FIXTURE, id, 'outcome.json'), 'utf8')));
const LRU = 'sim-small_chat-a_c0.005gb_r10_lru';
const context = { experiment_tag: 'reportfix' };

/** The old runner's keys (its result_reader.py and print_statistics.py), section by section. */
const OLD_RUNNER_KEYS = {
  configuration: ['model_name', 'cache_size_gb', 'request_rate_per_second', 'dataset_type', 'dataset_file_path', 'max_prompt_count', 'time_limit_seconds', 'gpu_memory_size_gb', 'cache_eviction_strategy', 'enable_mock_decoding', 'experiment_tag'],
  benchmark_results: [
    'successful_requests', 'benchmark_duration', 'total_input_tokens', 'total_generated_tokens', 'request_throughput', 'input_throughput', 'output_throughput',
    ...['mean', 'median', 'p99'].flatMap((s) => ['ttft', 'tpot', 'itl'].map((m) => `${s}_${m}_ms`)),
  ],
  cache_statistics: ['vllm_queries', 'vllm_hits', 'vllm_hit_rate', 'vllm_preemptions', 'lmcache_requests', 'lmcache_queries', 'lmcache_hits', 'lmcache_retrieved_tokens', 'lmcache_hit_rate', 'lmcache_retrieved_rate'],
} as const;

describe('summary entries', () => {
  it("carry every key of the old runner's summary.json, in its order of sections", () => {
    const entry = summaryEntryOf(outcomeOf(LRU), context);
    expect(Object.keys(entry).slice(0, 8)).toEqual(['experiment_id', 'timestamp', 'configuration', 'benchmark_results', 'cache_statistics', 'conversation_features', 'execution_success', 'execution_time_seconds']);
    for (const [section, keys] of Object.entries(OLD_RUNNER_KEYS)) {
      for (const key of keys) expect(entry[section as keyof typeof OLD_RUNNER_KEYS], `${section}.${key}`).toHaveProperty([key]);
    }
    expect(OLD_KEYS.map((k) => `${k.section}.${k.key}`).sort()).toEqual(Object.entries(OLD_RUNNER_KEYS).flatMap(([s, keys]) => keys.map((k) => `${s}.${k}`)).sort());
    expect(SummaryEntry.parse(entry)).toEqual(entry);
  });

  it("give the old keys kvsweep's values", () => {
    const outcome = outcomeOf(LRU);
    const { configuration: c, benchmark_results: b, cache_statistics: s } = summaryEntryOf(outcome, context);
    expect([c.model_name, c.request_rate_per_second, c.dataset_file_path, c.max_prompt_count, c.time_limit_seconds, c.cache_eviction_strategy, c.enable_mock_decoding])
      .toEqual([c.model, c.request_rate, c.dataset_path, c.num_prompts, c.time_limit, c.eviction_strategy, c.mock_decoding]);
    expect(c).toMatchObject({ model_name: 'sim-small', cache_size_gb: 0.005, cache_eviction_strategy: 'lru', enable_mock_decoding: false, experiment_tag: 'reportfix', dataset_type: 'conversational_csv' });
    // No hbm_size_gb in this (older) outcome: null, not a made-up size.
    expect(c.gpu_memory_size_gb).toBeNull();
    expect([b.successful_requests, b.benchmark_duration, b.total_generated_tokens]).toEqual([b.completed, b.duration, b.total_output_tokens]);
    expect(b.input_throughput).toBeCloseTo((b.total_input_tokens as number) / (b.duration as number), 9);
    expect([s.vllm_queries, s.vllm_hits, s.vllm_hit_rate, s.vllm_preemptions]).toEqual([s.prefix_cache_queries, s.prefix_cache_hits, s.prefix_cache_hit_rate, s.preemptions]);
    // Without /lmcache/stats: LMCache's Prometheus counters over the run.
    expect([s.lmcache_queries, s.lmcache_hits, s.lmcache_retrieved_tokens, s.lmcache_hit_rate]).toEqual([s.lmcache_num_lookup_tokens, s.lmcache_num_lookup_hits, s.lmcache_num_hit_tokens, s.lmcache_lookup_hit_rate]);
    expect(s.lmcache_retrieved_rate).toBe((s.lmcache_num_hit_tokens as number) / (s.lmcache_num_lookup_tokens as number));
    expect(s.lmcache_requests).toBeNull();
    // The kvsweep keys themselves are untouched.
    expect(Object.entries(outcome.cache_statistics).every(([k, v]) => s[k] === v)).toBe(true);
  });

  it("prefer the LMCache fork's /lmcache/stats figures, as the old client did, and copy conversation_* figures", () => {
    const outcome = outcomeOf(LRU);
    outcome.cache_statistics = {
      ...outcome.cache_statistics,
      lmcache_stats_requests: 42, lmcache_stats_query_tokens: 9000, lmcache_stats_hit_tokens: 4500, lmcache_stats_retrieved_tokens: 4000,
      lmcache_stats_hit_rate: 0.5, lmcache_stats_retrieved_rate: 0.4444, conversation_requests: 40, conversation_nonzero_turn_ratio: '0.42',
    };
    const entry = summaryEntryOf(outcome, context);
    expect(entry.cache_statistics).toMatchObject({ lmcache_requests: 42, lmcache_queries: 9000, lmcache_hits: 4500, lmcache_retrieved_tokens: 4000, lmcache_hit_rate: 0.5, lmcache_retrieved_rate: 0.4444 });
    expect(entry.conversation_features).toEqual({ conversation_requests: 40, conversation_nonzero_turn_ratio: '0.42' });
  });

  it('take gpu_memory_size_gb from hbm_size_gb (the sweep file\'s hbm_size), and leave figures of a failed experiment null', () => {
    const outcome = outcomeOf(FAILED_ID);
    outcome.configuration = { ...outcome.configuration, hbm_size_gb: 80 };
    const entry = summaryEntryOf(outcome, { experiment_tag: null });
    expect(entry.configuration.gpu_memory_size_gb).toBe(80);
    expect(entry.configuration.experiment_tag).toBeNull();
    expect(entry.benchmark_results.successful_requests).toBeNull();
    expect(entry.benchmark_results.input_throughput).toBeNull();
    expect(entry.cache_statistics.lmcache_hit_rate).toBeNull();
    expect(entry).toMatchObject({ status: 'failed', execution_success: false, attempts: 2, conversation_features: {} });
  });
});

describe('configurationOf', () => {
  it("records the spec's hbm_size_gb (null for a spec planned before it existed)", async () => {
    const { experiments } = await plan(sweepWith());
    const spec = experiments[0]!;
    expect(configurationOf(spec).hbm_size_gb).toBeNull();
    expect(configurationOf({ ...spec, hbm_size_gb: 141 } as typeof spec).hbm_size_gb).toBe(141);
  });
});

describe('summary.csv', () => {
  const ids = [LRU, FAILED_ID, 'sim-small_chat-a_c0.02gb_r10_conversation_aware'];
  const rows = () => parse(summaryCsv(ids.map((id) => summaryEntryOf(outcomeOf(id), context)))) as string[][];

  it('names no column twice: each key under its section', () => {
    const [header] = rows();
    expect(new Set(header).size).toBe(header!.length);
    for (const column of ['configuration.request_rate', 'benchmark_results.request_rate', 'configuration.num_prompts', 'benchmark_results.num_prompts', 'configuration.request_rate_per_second', 'cache_statistics.vllm_hit_rate']) {
      expect(header).toContain(column);
    }
  });

  it('writes booleans as true and false, never an empty cell for false', () => {
    const [header, ...body] = rows();
    const column = (name: string) => body.map((row) => row[header!.indexOf(name)]);
    expect(column('execution_success')).toEqual(['true', 'false', 'true']);
    expect(column('configuration.mock_decoding')).toEqual(['false', 'false', 'false']);
    expect(column('configuration.use_conversation_eviction')).toEqual(['false', 'false', 'true']);
    expect(column('configuration.enable_mock_decoding')).toEqual(['false', 'false', 'false']);
    // Missing figures are empty cells; lists are JSON.
    expect(column('benchmark_results.mean_ttft_ms')[1]).toBe('');
    expect(column('hosts')[0]).toBe('["local-vm"]');
  });
});

/** `a.{x,y}_{1,2}` -> a.x_1, a.x_2, a.y_1, a.y_2 (how the docs' table writes families of keys). */
function expandBraces(text: string): string[] {
  const match = /\{([^}]*)\}/.exec(text);
  if (!match) return [text];
  return match[1]!.split(',').flatMap((part) => expandBraces(text.slice(0, match.index) + part + text.slice(match.index + match[0].length)));
}

describe('docs/report.md', () => {
  it('has the mapping table: every old key, with the kvsweep key it is read from', () => {
    const docs = readFileSync(join(projectRoot, 'docs', 'report.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const line of docs.split('\n')) {
      const cell = /^\| `([^`]+)` \|/.exec(line)?.[1];
      if (cell) for (const key of expandBraces(cell)) rows.set(key, line);
    }
    for (const mapping of OLD_KEYS) {
      const row = rows.get(`${mapping.section}.${mapping.key}`);
      expect(row, `${mapping.section}.${mapping.key}`).toBeDefined();
      const source = 'rename' in mapping ? mapping.rename : 'sources' in mapping ? mapping.sources.join('`, else `') : null;
      if (source !== null && source !== mapping.key) expect(row, mapping.key).toContain(`\`${source}\``);
    }
  });
});
