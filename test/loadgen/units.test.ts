// Pure parts: Prometheus names, per-run cache figures, schedules, the deadline heap, prompt text.
import { describe, expect, it } from 'vitest';
import { counterNames, flattenMetrics, parseMetrics } from '../../loadgen/prometheus.ts';
import { computeCacheStatistics, type ScrapeSummary } from '../../loadgen/cache-stats.ts';
import { busiest10Ms, scheduleTimes, serverRoot, warmConnections } from '../../loadgen/run.ts';
import { DeadlineHeap } from '../../loadgen/deadline-heap.ts';
import { PromptBuilder, ASSUMED_CALIBRATION } from '../../loadgen/prompt.ts';
import type { TraceTurn } from '../../loadgen/trace-parse.ts';

const VLLM_TEXT = `# HELP vllm:prefix_cache_queries_total Prefix cache queries
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1000.0
vllm:prefix_cache_queries_total{engine="1",model_name="m"} 500.0
# HELP vllm:prefix_cache_queries_created created
# TYPE vllm:prefix_cache_queries_created gauge
vllm:prefix_cache_queries_created{engine="0",model_name="m"} 1.7e9
# TYPE vllm:prefix_cache_hits counter
vllm:prefix_cache_hits_total{engine="0",model_name="m"} 300
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
lmcache:num_hit_tokens 55
lmcache:retrieve_hit_rate 0.5
`;
// llm-d-inference-sim style: counters without _total, deprecated gauge name.
const SIM_TEXT = `# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries{model_name="m"} 42
vllm:gpu_cache_usage_perc{model_name="m"} 0.5
`;

describe('prometheus', () => {
  it.each([
    [VLLM_TEXT, { 'vllm:prefix_cache_queries': 1500, 'vllm:prefix_cache_hits': 300, 'vllm:kv_cache_usage_perc': 0.25, 'lmcache:num_hit_tokens': 55, 'lmcache:retrieve_hit_rate': 0.5 }],
    [SIM_TEXT, { 'vllm:prefix_cache_queries': 42, 'vllm:gpu_cache_usage_perc': 0.5 }],
  ])('flattens to base names, sums label sets, drops _created', (text, expected) => {
    expect(flattenMetrics(parseMetrics(text))).toEqual(expected);
  });
  it('knows which series are counters', () => {
    expect([...counterNames(parseMetrics(VLLM_TEXT))].sort()).toEqual(['lmcache:num_hit_tokens', 'vllm:prefix_cache_hits', 'vllm:prefix_cache_queries']);
  });
  // prometheus_client in multiprocess mode (vLLM 0.32 CPU with PROMETHEUS_MULTIPROC_DIR, seen
  // here): a histogram's _sum first, `le` among the sorted labels, gauges with a pid label. The
  // parsing library threw on the whole scrape, which left every figure of a run null.
  const MULTIPROCESS_TEXT = `# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 0.34
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.01",model_name="m"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 3.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 3.0
# HELP vllm:prefix_cache_queries_total Prefix cache queries
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="m"} 324.0
# HELP lmcache:local_cache_usage Local cache usage
# TYPE lmcache:local_cache_usage gauge
lmcache:local_cache_usage{pid="31",worker_id="0"} 1024.0
lmcache:local_cache_usage{pid="32",worker_id="1"} 2048.0
`;
  it('reads a multiprocess-mode scrape whose histograms put _sum before the buckets', () => {
    const parsed = parseMetrics(MULTIPROCESS_TEXT);
    expect(flattenMetrics(parsed)).toEqual({ 'vllm:prefix_cache_queries': 324, 'lmcache:local_cache_usage': 3072 });
    expect(parsed['vllm:time_to_first_token_seconds']!.samples[0]).toEqual({ buckets: { '0.01': 0, '+Inf': 3 } });
  });
});

describe('computeCacheStatistics', () => {
  const reset = { status: 'ok' as const, http_status: 200, detail: 'reset' };
  const summary = (over: Partial<ScrapeSummary>): ScrapeSummary => ({
    before: {}, after: {}, peak: {}, counters: new Set(), scrapes: 3, failedScrapes: 0, lastError: null, ...over,
  });
  it('takes deltas of counters and the peak of KV usage, with deprecated names', () => {
    const c = computeCacheStatistics(
      summary({
        before: { 'vllm:gpu_prefix_cache_queries': 100, 'vllm:gpu_prefix_cache_hits': 10, 'vllm:num_preemptions': 2, 'vllm:gpu_cache_usage_perc': 0 },
        after: { 'vllm:gpu_prefix_cache_queries': 300, 'vllm:gpu_prefix_cache_hits': 60, 'vllm:num_preemptions': 5, 'vllm:gpu_cache_usage_perc': 0.1 },
        peak: { 'vllm:gpu_cache_usage_perc': 0.7 },
      }),
      reset,
    );
    expect(c).toMatchObject({ prefix_cache_queries: 200, prefix_cache_hits: 50, prefix_cache_hit_rate: 0.25, preemptions: 3, peak_kv_cache_usage: 0.7, external_prefix_cache_hit_rate: null, lmcache: null });
    expect(c.metric_names.prefixQueries).toBe('vllm:gpu_prefix_cache_queries');
  });
  it('gives no delta, with a note, when a counter went down (server restarted)', () => {
    const c = computeCacheStatistics(summary({ before: { 'vllm:prefix_cache_queries': 100 }, after: { 'vllm:prefix_cache_queries': 5 } }), reset);
    expect(c.prefix_cache_queries).toBeNull();
    expect(c.notes.join()).toMatch(/went down/);
  });
  it('LMCache: counter deltas, gauge peaks, the hit rates they imply', () => {
    const c = computeCacheStatistics(
      summary({
        before: { 'lmcache:num_requested_tokens': 100, 'lmcache:num_hit_tokens': 10, 'lmcache:local_cache_usage': 1 },
        after: { 'lmcache:num_requested_tokens': 500, 'lmcache:num_hit_tokens': 110, 'lmcache:local_cache_usage': 2 },
        peak: { 'lmcache:local_cache_usage': 9 },
        counters: new Set(['lmcache:num_requested_tokens', 'lmcache:num_hit_tokens']),
      }),
      reset,
    );
    expect(c.lmcache).toEqual({ retrieve_hit_rate: 0.25, lookup_hit_rate: null, deltas: { num_requested_tokens: 400, num_hit_tokens: 100 }, peaks: { local_cache_usage: 9 } });
  });
});

describe('busiest10Ms and warmConnections', () => {
  it('opens as many connections as the busiest 10 ms of the schedule holds, 4 to 256', () => {
    expect(busiest10Ms(new Float64Array([0, 100, 200]))).toBe(1);
    expect(warmConnections(busiest10Ms(new Float64Array([0, 100, 200])))).toBe(4);
    // 30 requests inside [50, 59.9], the rest 20 ms apart.
    const times = [0, 20, 40, ...Array.from({ length: 30 }, (_, i) => 50 + i * 0.33), 80, 100];
    expect(busiest10Ms(new Float64Array(times))).toBe(30);
    expect(warmConnections(busiest10Ms(new Float64Array(times)))).toBe(30);
    // 10 ms apart exactly: never two in one window.
    expect(busiest10Ms(new Float64Array([0, 10, 20, 30]))).toBe(1);
    expect(busiest10Ms(new Float64Array(0))).toBe(0);
    expect(warmConnections(busiest10Ms(new Float64Array(1000)))).toBe(256);
  });
});

describe('scheduleTimes', () => {
  const turns: TraceTurn[] = [0, 1000, 1500, 4000].map((offsetMs, index) => ({
    index, offsetMs, conversationId: 'c', turn: index + 1, queryTokens: 1, replyTokens: 1, modelName: null, line: index + 2,
  }));
  it('trace: offsets divided by the rate (a speed factor)', () => {
    expect([...scheduleTimes(turns, 'trace', 2, 0)]).toEqual([0, 500, 750, 2000]);
    expect([...scheduleTimes(turns, 'trace', Number.POSITIVE_INFINITY, 0)]).toEqual([0, 0, 0, 0]);
  });
  it('poisson: seeded, starting at 0, mean gap 1/rate', () => {
    const many = Array.from({ length: 20_000 }, (_, index) => ({ ...turns[0]!, index }));
    const a = scheduleTimes(many, 'poisson', 100, 7);
    expect([...scheduleTimes(many, 'poisson', 100, 7)]).toEqual([...a]);
    expect([...scheduleTimes(many, 'poisson', 100, 8)]).not.toEqual([...a]);
    expect(a[0]).toBe(0);
    expect(a.at(-1)! / (many.length - 1)).toBeCloseTo(10, 0);
  });
});

describe('serverRoot', () => {
  it.each([
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000/', 'http://127.0.0.1:8000'],
    ['http://127.0.0.1:8000/v1', 'http://127.0.0.1:8000'],
    ['http://host:1/prefix/v1/', 'http://host:1/prefix'],
  ])('%s -> %s', (input, root) => {
    expect(serverRoot(input)).toBe(root);
  });
  it.each(['127.0.0.1:8000', 'ftp://x'])('rejects %s', (input) => {
    expect(() => serverRoot(input)).toThrow(/--base-url/);
  });
});

describe('DeadlineHeap', () => {
  it('pops by deadline, ties in id order', () => {
    const heap = new DeadlineHeap();
    const entries: Array<[number, number]> = [[5, 0], [1, 1], [5, 2], [0, 3], [1, 4], [3, 5], [0, 6], [5, 7]];
    for (const [k, id] of entries) heap.push(k, id);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop());
    expect(out).toEqual([3, 6, 1, 4, 5, 0, 2, 7]);
  });
});

describe('PromptBuilder', () => {
  it('same seed, conversation and turn: same text; otherwise different', () => {
    const p = new PromptBuilder(1, ASSUMED_CALIBRATION);
    expect(p.userMessage('a', 1, 50)).toBe(new PromptBuilder(1, ASSUMED_CALIBRATION).userMessage('a', 1, 50));
    expect(p.userMessage('a', 1, 50)).not.toBe(p.userMessage('b', 1, 50));
    expect(p.userMessage('a', 1, 50)).not.toBe(p.userMessage('a', 2, 50));
    expect(p.userMessage('a', 1, 50).split(' ')).toHaveLength(50);
  });
  it('sizes text with the calibration', () => {
    const p = new PromptBuilder(1, { ...ASSUMED_CALIBRATION, tokensPerWord: 1.25, interceptTokens: 1, templateBaseTokens: 8, templatePerMessageTokens: 5 });
    expect(p.wordsFor(101)).toBe(80);
    expect(p.wordsFor(0)).toBe(1);
    expect(p.expectedPromptTokens(100, 3)).toBe(118);
  });
});

describe('recordOutcome', () => {
  it('extends the history with the exchange while a later turn will send it, not after the last turn', async () => {
    const { prepareTurn, recordOutcome } = await import('../../loadgen/conversation.ts');
    const { RequestLog } = await import('../../loadgen/request-log.ts');
    const shape = { model: 'm', prompts: new PromptBuilder(1, ASSUMED_CALIBRATION), mockDecoding: false };
    const turn = (index: number, n: number): TraceTurn => ({ index, offsetMs: 0, conversationId: 'c', turn: n, queryTokens: 3, replyTokens: 2, modelName: null, line: index + 2 });
    const conversation = { turns: [0, 1], next: 0, messages: [] as { role: 'user' | 'assistant'; content: string }[], contentTokens: 0 };
    const outcome = { ok: true, aborted: false, httpStatus: 200, error: null, sentAt: 1, chunkTimes: [2, 3], endAt: 4, content: 'a b', promptTokens: 3, cachedTokens: 0, completionTokens: 2 };
    const log = new RequestLog([turn(0, 1), turn(1, 2)], new Float64Array(2), false);
    for (const index of [0, 1]) {
      const t = turn(index, index + 1);
      const prepared = prepareTurn(t, conversation, shape);
      log.setDue(index, 0);
      recordOutcome(log, index, prepared, outcome, conversation, 0);
      expect(log.statusOf(index)).toBe('ok');
      if (index === 0) {
        expect(conversation.messages).toEqual([prepared.message, { role: 'assistant', content: 'a b' }]);
        expect(JSON.parse(prepareTurn(turn(1, 2), { ...conversation, next: 1 }, shape).body).messages).toHaveLength(3);
      } else {
        expect(conversation.messages).toHaveLength(2);
      }
      conversation.next++;
    }
    expect(conversation.contentTokens).toBe(10);
  });
});
