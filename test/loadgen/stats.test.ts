// Statistics with numpy's conventions (what `vllm bench serve` uses), and the result aggregation.
import { describe, expect, it } from 'vitest';
import { mean, percentileSorted, std, summarize } from '../../loadgen/stats.ts';
import { aggregate, formatResultBlock, type RunFacts } from '../../loadgen/aggregate.ts';
import { ASSUMED_CALIBRATION } from '../../loadgen/prompt.ts';
import { LoadgenResult, type RequestRecord } from '../../loadgen/result-schema.ts';
import { computeCacheStatistics } from '../../loadgen/cache-stats.ts';

describe('percentileSorted (numpy linear)', () => {
  it.each([
    [[1], 50, 1],
    [[1], 99, 1],
    [[1, 2], 50, 1.5],
    [[1, 2, 3], 50, 2],
    [[1, 2, 3, 4], 50, 2.5],
    [[1, 2, 3, 4], 90, 3.7],
    [[1, 2, 3, 4], 99, 3.97],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 100, 4],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100.5], 90, 91.05],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100.5], 99.9, 100.4055],
  ])('%j p%d = %d', (values, p, expected) => {
    expect(percentileSorted(values, p)).toBeCloseTo(expected, 9);
  });
  it('is NaN without samples', () => {
    expect(percentileSorted([], 50)).toBeNaN();
  });
});

describe('mean, std (population), summarize', () => {
  it.each([
    [[1, 2, 3, 4], 2.5, Math.sqrt(1.25)],
    [[5, 5, 5], 5, 0],
    [[2], 2, 0],
  ])('%j', (values, m, s) => {
    expect(mean(values)).toBeCloseTo(m, 12);
    expect(std(values)).toBeCloseTo(s, 12);
  });
  it('sorts its input and gives nulls when empty', () => {
    expect(summarize([4, 1, 3, 2])).toMatchObject({ count: 4, median: 2.5, min: 1, max: 4, percentiles: { p90: 3.7 } });
    expect(summarize([])).toMatchObject({ count: 0, mean: null, median: null, std: null, max: null, percentiles: { p99: null } });
  });
});

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    index: 0,
    conversation: 'c',
    turn: 1,
    status: 'ok',
    scheduled_ms: 0,
    due_ms: 0,
    sent_ms: 0,
    send_error_ms: 0,
    ttft_ms: 10,
    itl_ms: [2, 2, 2],
    e2el_ms: 16,
    prompt_tokens: 100,
    expected_prompt_tokens: 100,
    message_tokens: null,
    cached_tokens: 0,
    output_tokens: 4,
    requested_output_tokens: 4,
    http_status: 200,
    error: null,
    ...overrides,
  };
}

const emptyScrapes = { before: null, after: null, peak: {}, counters: new Set<string>(), scrapes: 0, failedScrapes: 2, lastError: 'ECONNREFUSED' };

function facts(overrides: Partial<RunFacts> = {}): RunFacts {
  return {
    date: '2025-01-01T00:00:00.000Z',
    baseUrl: 'http://127.0.0.1:1',
    model: 'm',
    dataset: 'd.csv',
    arrival: 'trace',
    requestRate: 1,
    seed: 0,
    mockDecoding: false,
    timeLimitS: null,
    timeLimitReached: false,
    interrupted: false,
    firstSendMs: 0,
    lastSendMs: 1000,
    endMs: 2000,
    maxConcurrent: 2,
    calibration: ASSUMED_CALIBRATION,
    messageSizes: null,
    reasoning: null,
    cacheStatistics: computeCacheStatistics(emptyScrapes, { status: 'unsupported', http_status: 404, detail: '' }),
    client: { cpu_percent: 12, event_loop_delay_ms: { p50: 10, p99: 11, max: 12 }, metrics_sampler: 'worker', warm_up_requests: 0, gc_pacing: { enabled: true, collections: 3, pause_ms_total: 3.3, pause_ms_max: 1.4 } },
    files: { requests: 'requests.jsonl', metrics: 'metrics.jsonl' },
    ...overrides,
  };
}

describe('aggregate', () => {
  const records = [
    record({ index: 0, sent_ms: 0, send_error_ms: 0.2, ttft_ms: 10, itl_ms: [2, 2, 2], e2el_ms: 16, output_tokens: 4, prompt_tokens: 100, expected_prompt_tokens: 98 }),
    record({ index: 1, sent_ms: 500, send_error_ms: 0.4, ttft_ms: 20, itl_ms: [4], e2el_ms: 24, output_tokens: 2, prompt_tokens: 50, expected_prompt_tokens: 50 }),
    record({ index: 2, sent_ms: 1000, send_error_ms: 0.6, status: 'failed', ttft_ms: null, itl_ms: [], e2el_ms: null, output_tokens: null, prompt_tokens: null, http_status: 500, error: 'HTTP 500: boom' }),
    record({ index: 3, status: 'not_started', due_ms: null, sent_ms: null, send_error_ms: null, ttft_ms: null, itl_ms: [], e2el_ms: null, output_tokens: null, prompt_tokens: null }),
  ];
  const result = aggregate(records, facts());

  it('computes vLLM-named figures from completed requests only', () => {
    expect(result).toMatchObject({
      duration: 2,
      completed: 2,
      failed: 1,
      aborted: 0,
      not_started: 1,
      num_prompts: 4,
      total_input_tokens: 150,
      total_output_tokens: 6,
      request_throughput: 1,
      output_throughput: 3,
      total_token_throughput: 78,
      mean_ttft_ms: 15,
      median_ttft_ms: 15,
      std_ttft_ms: 5,
      // TPOT excludes the first token: (16 - 10) / 3 = 2 and (24 - 20) / 1 = 4.
      mean_tpot_ms: 3,
      mean_itl_ms: 2.5,
      median_itl_ms: 2,
      mean_e2el_ms: 20,
      max_concurrent_requests: 2,
      errors: { 'HTTP 500: boom': 1 },
    });
    expect(result['p99_itl_ms']).toBeCloseTo(3.94, 9);
    expect(result.achieved_request_rate).toBe(2);
    expect(result.send_time_error_ms.median).toBeCloseTo(0.4, 12);
    expect(result.prompt_size.error_tokens.mean).toBe(1);
    expect(result.max_output_tokens_per_s).toBe(6);
    expect(result.cache_statistics.notes[0]).toMatch(/could not be read.*ECONNREFUSED/);
  });

  it('matches the exported schema, and round-trips through JSON', () => {
    expect(LoadgenResult.parse(JSON.parse(JSON.stringify(result)))).toEqual(result);
    expect(LoadgenResult.parse(aggregate([], facts({ firstSendMs: null, lastSendMs: null, requestRate: Number.POSITIVE_INFINITY })))).toMatchObject({
      request_rate: 'inf',
      mean_ttft_ms: null,
      duration: 0,
    });
  });

  it('still reads a result written before `interrupted` and `client` existed', () => {
    const { interrupted: _i, client: _c, ...older } = JSON.parse(JSON.stringify(result)) as Record<string, unknown>;
    expect(LoadgenResult.parse(older)).toMatchObject({ interrupted: false, client: { metrics_sampler: 'unknown' } });
  });

  it('still reads a result written before `client.gc_pacing` and `client.warm_up_requests` existed', () => {
    const older = JSON.parse(JSON.stringify(result)) as { client: Record<string, unknown> };
    delete older.client.gc_pacing;
    delete older.client.warm_up_requests;
    expect(LoadgenResult.parse(older).client).toMatchObject({
      metrics_sampler: 'worker',
      warm_up_requests: 0,
      gc_pacing: { enabled: false, collections: 0, pause_ms_total: 0, pause_ms_max: null },
    });
  });

  it('prints the console block as vllm bench serve lays it out', () => {
    const text = formatResultBlock(result);
    const lines = text.split('\n');
    expect(lines[0]).toBe('============ Serving Benchmark Result ============');
    expect(lines.at(-1)).toBe('='.repeat(50));
    expect(lines).toContain(`${'Successful requests:'.padEnd(40)} 2`);
    expect(lines).toContain(`${'Mean TTFT (ms):'.padEnd(40)} 15.00`);
    expect(lines).toContain('---------------Time to First Token----------------');
    expect(lines).toContain('-----Time per Output Token (excl. 1st token)------');
    expect(lines).toContain('---------------Inter-token Latency----------------');
    expect(lines).toContain('----------------End-to-end Latency----------------');
  });
});
