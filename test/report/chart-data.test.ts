// Data preparation of the report: reading summary.json leniently, grouping by model and dataset,
// one line per strategy, missing figures, scales, table cells. Pure functions, no rendering.
import { describe, expect, it } from 'vitest';
import { buildChartGroups, CACHE_METRICS, LMCACHE_METRICS, seriesLabels, strategyLabel, uniqueSlug } from '../../report/chart-data.ts';
import { figureSpec } from '../../report/chart-specs.ts';
import { experimentRows, formatFigure, TABLE_COLUMNS } from '../../report/experiment-table.ts';
import { notPlottedLines } from '../../report/html.ts';
import { prefixSvgIds } from '../../report/render.ts';
import { parseSummary } from '../../report/summary-entries.ts';
import { entry } from './entries.ts';

const pointsOf = (group: ReturnType<typeof buildChartGroups>[number], metric: string) =>
  group.points.filter((p) => p.metric === metric).map((p) => [p.series, p.cache_size_gb, p.value]);

describe('parseSummary', () => {
  it('reads the old runner\'s entries: status from execution_success, no attempts or hosts', () => {
    const old = { experiment_id: 'a', timestamp: 't', configuration: { cache_size_gb: 1 }, benchmark_results: { mean_ttft_ms: 5 }, cache_statistics: {}, execution_success: false, execution_time_seconds: 3 };
    const [parsed] = parseSummary(JSON.stringify([old, { ...old, experiment_id: 'b', execution_success: true }]), 'x/summary.json');
    expect(parsed).toMatchObject({ experiment_id: 'a', status: 'failed', attempts: null, hosts: [], error: null, results_path: null });
    expect(parseSummary(JSON.stringify([{ ...old, execution_success: true }]), 'f')[0]!.status).toBe('succeeded');
  });

  it('counts a list of attempt records and treats missing blocks as empty', () => {
    const [parsed] = parseSummary(JSON.stringify([{ experiment_id: 'a', attempts: [{}, {}], cache_statistics: null }]), 'f');
    expect(parsed).toMatchObject({ attempts: 2, cache_statistics: {}, benchmark_results: {}, configuration: {}, status: 'unknown' });
  });

  it('names the file and the problem when it is not a list of experiments', () => {
    expect(() => parseSummary('{"experiment_id": "a"}', '/r/summary.json')).toThrowErrorMatchingInlineSnapshot(`
      [UserError: report: /r/summary.json is not a kvsweep summary (a list of experiments):
      ✖ Invalid input: expected array, received object]
    `);
    expect(() => parseSummary('[{"experiment_id": 3}]', '/r/summary.json')).toThrow(/at \[0\]\.experiment_id/);
    expect(() => parseSummary('not json', '/r/summary.json')).toThrow(/^report: \/r\/summary\.json is not JSON/);
  });
});

describe('buildChartGroups', () => {
  it('makes one group per (model, dataset) in first-seen order, with file-safe unique slugs', () => {
    const entries = ['Qwen/Qwen3-8B-FP8', 'llama-8b'].flatMap((model) => ['sharegpt', 'lmsys', 'chat'].map((dataset) => entry({ model, dataset })));
    const groups = buildChartGroups(entries);
    expect(groups.map((g) => `${g.model} · ${g.dataset}`)).toEqual([
      'Qwen/Qwen3-8B-FP8 · sharegpt', 'Qwen/Qwen3-8B-FP8 · lmsys', 'Qwen/Qwen3-8B-FP8 · chat',
      'llama-8b · sharegpt', 'llama-8b · lmsys', 'llama-8b · chat',
    ]);
    expect(groups[0]!.slug).toBe('Qwen-Qwen3-8B-FP8_sharegpt');
    expect(new Set(groups.map((g) => g.slug)).size).toBe(6);
    for (const g of groups) expect(g.slug).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('draws one line per eviction strategy, points sorted by cache size, values from the right entry', () => {
    const entries = [40, 10, 20].flatMap((cache) => ['lru', 'conversation_aware'].map((strategy) => entry({ cache, strategy })));
    const [group] = buildChartGroups(entries);
    // conversation_aware always turns conversation eviction on: that does not make a second label.
    expect(group!.series).toEqual(['lru', 'conversation_aware']);
    expect(group!.cacheSizes).toEqual([10, 20, 40]);
    expect(pointsOf(group!, 'mean_ttft_ms').filter(([s]) => s === 'lru')).toEqual([['lru', 10, 123], ['lru', 20, 143], ['lru', 40, 183]]);
    expect(pointsOf(group!, 'external_hit_rate').filter(([s]) => s === 'conversation_aware').map(([, , v]) => v)).toEqual([0.1, 0.2, 0.4]);
    expect(group!.missing).toEqual([]);
  });

  it('keeps LightGBM modes apart and names a setting that varies within a strategy', () => {
    const labels = seriesLabels([
      entry({ strategy: 'lightgbm', lightgbmMode: 'ranking', rate: 1 }),
      entry({ strategy: 'lightgbm', lightgbmMode: 'regression', rate: 1 }),
      entry({ strategy: 'lru', rate: 1 }),
      entry({ strategy: 'lru', rate: 4 }),
    ]);
    expect([...labels.values()]).toEqual(['lightgbm (ranking) · rate 1', 'lightgbm (regression) · rate 1', 'lru · rate 1', 'lru · rate 4']);
    expect(strategyLabel({})).toBe('unknown strategy');
  });

  it('leaves out missing figures and says why: failed, not reported, no cache size', () => {
    const entries = [
      entry({ cache: 10 }),
      entry({ cache: 20, bench: { mean_ttft_ms: null, p99_ttft_ms: 'n/a' } }),
      entry({ cache: 40, status: 'failed' }),
      entry({ cache: null, strategy: 'conversation_aware' }),
    ];
    const [group] = buildChartGroups(entries, CACHE_METRICS);
    expect(pointsOf(group!, 'mean_ttft_ms')).toEqual([['lru', 10, 123]]);
    expect(pointsOf(group!, 'prefix_cache_hit_rate').map(([, c]) => c)).toEqual([10, 20]);
    const reasons = group!.missing.map((m) => `${m.experiment_id} ${m.metric} ${m.reason}`);
    expect(reasons).toContain('qwen-8b_chat_c20gb_r1_lru mean_ttft_ms not reported');
    expect(reasons).toContain('qwen-8b_chat_c20gb_r1_lru p99_ttft_ms not reported');
    expect(reasons.filter((r) => r.startsWith('qwen-8b_chat_c40gb_r1_lru'))).toHaveLength(4);
    expect(reasons.filter((r) => r.endsWith('no cache size'))).toHaveLength(4);
    // The entry without a cache size draws nothing, so its strategy gets no legend entry.
    expect(group!.series).toEqual(['lru']);
    const titles = new Map(CACHE_METRICS.map((m) => [m.key, m.title]));
    expect(notPlottedLines(group!.missing, titles)).toEqual([
      'qwen-8b_chat_c20gb_r1_lru: Mean TTFT not reported; P99 TTFT not reported',
      'qwen-8b_chat_c40gb_r1_lru (failed): no figures',
      'qwen-8b_chat_cnullgb_r1_conversation_aware (no cache size): no figures',
    ]);
  });

  it('takes LMCache\'s retrieve rate where vLLM reported no external hit rate', () => {
    const [group] = buildChartGroups([entry({ cache_statistics: { external_prefix_cache_hit_rate: null, lmcache_retrieve_hit_rate: 0.7 } })], CACHE_METRICS);
    expect(pointsOf(group!, 'external_hit_rate')).toEqual([['lru', 10, 0.7]]);
  });

  it("fills the Python runner's LMCache figures of an older kvsweep summary from LMCache's counters", () => {
    const older = { lmcache_hit_rate: undefined, lmcache_retrieved_rate: undefined, lmcache_lookup_hit_rate: 0.25, lmcache_num_hit_tokens: 300, lmcache_num_lookup_tokens: 1000 };
    const [group] = buildChartGroups([entry({ cache_statistics: older })], LMCACHE_METRICS);
    expect(pointsOf(group!, 'lmcache_hit_rate')).toEqual([['lru', 10, 0.25]]);
    expect(pointsOf(group!, 'lmcache_retrieved_rate')).toEqual([['lru', 10, 0.3]]);
  });

  it('uses a log cache-size axis only for positive sizes spanning 10x or more', () => {
    const scaleOf = (sizes: number[]) => buildChartGroups(sizes.map((cache) => entry({ cache })))[0]!.xScale;
    expect(scaleOf([1, 10, 100])).toBe('log');
    expect(scaleOf([0, 10, 100])).toBe('linear');
    expect(scaleOf([10, 20, 40])).toBe('linear');
    expect(scaleOf([10])).toBe('linear');
  });
});

describe('figureSpec', () => {
  it('gives a single cache size a domain around it and points on the line', () => {
    const [group] = buildChartGroups([entry({ cache: 8 }), entry({ cache: 8, strategy: 'conversation_aware' })]);
    const spec = figureSpec(group!, CACHE_METRICS, 'T', 2) as unknown as { concat: { mark: { point: unknown }; encoding: { x: { scale: { domain: number[] } } } }[] };
    expect(spec.concat).toHaveLength(4);
    expect(spec.concat[0]!.encoding.x.scale.domain).toEqual([0, 16]);
    expect(spec.concat[0]!.mark.point).toBeTruthy();
  });

  it('shows a panel without values as a note instead of empty axes', () => {
    const [group] = buildChartGroups([entry({ cache_statistics: { external_prefix_cache_hit_rate: null } })]);
    const spec = figureSpec(group!, CACHE_METRICS, 'T', 2) as unknown as { concat: { mark: { type: string } }[] };
    expect(spec.concat.map((panel) => panel.mark.type)).toEqual(['line', 'line', 'line', 'text']);
  });
});

describe('experiment table', () => {
  it('formats figures and marks missing ones with a dash', () => {
    expect([formatFigure(null, 'number'), formatFigure(1234.56, 'number'), formatFigure(12.345, 'number'), formatFigure(1.2345, 'number')]).toEqual(['—', '1,235', '12.3', '1.23']);
    expect([formatFigure(0.6329, 'percent'), formatFigure(3, 'integer')]).toEqual(['63.3%', '3']);
  });

  it('has a row for every experiment, failed ones with their error and attempts', () => {
    const rows = experimentRows([entry({ cache: 10 }), entry({ cache: 20, status: 'failed' })], new Map());
    const cell = (row: number, header: string) => rows[row]!.cells[TABLE_COLUMNS.findIndex((c) => c.header === header)];
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'failed']);
    expect([cell(0, 'mean TTFT ms'), cell(0, 'external hit'), cell(0, 'requests ok / failed'), cell(0, 'attempts')]).toEqual(['123', '10.0%', '100 / 0', '1']);
    expect([cell(1, 'mean TTFT ms'), cell(1, 'attempts'), cell(1, 'cache GB')]).toEqual(['—', '3', '20']);
    expect(rows[1]!.error).toBe('server exited with code 1 during start-up');
  });
});

describe('prefixSvgIds', () => {
  it('makes clip-path ids and their references unique per chart', () => {
    const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"></g><use href="#clip1"/></svg>';
    expect(prefixSvgIds(svg, 'g1-fig')).toBe('<svg><defs><clipPath id="g1-fig-clip1"><rect/></clipPath></defs><g clip-path="url(#g1-fig-clip1)"></g><use href="#g1-fig-clip1"/></svg>');
  });
});

describe('uniqueSlug', () => {
  it('numbers names that collide, ignoring case', () => {
    const taken = new Set<string>();
    expect([uniqueSlug('a/b', taken), uniqueSlug('a b', taken), uniqueSlug('A-B', taken), uniqueSlug('///', taken)]).toEqual(['a-b', 'a-b-2', 'A-B-3', 'group']);
  });
});
