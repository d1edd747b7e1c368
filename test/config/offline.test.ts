// The config side of the offline simulator: the `offline` environment, what each dataset file
// holds (trace CSV, the old LMCache server log with its client log, a kvsweep requests.jsonl),
// how plan reads each in full, and the rules an environment definition must follow.
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, hermetic, plan, problemsOf, scratchDir, sweepWith, TRACE_PATH } from './support.ts';

const scratch: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const s of scratch.splice(0)) s.cleanup();
});

function workspace() {
  const s = scratchDir();
  scratch.push(s);
  return s;
}

const SERVER_LOG = 'logs/server_tiny.log';
const REQUESTS = 'runs/requests.jsonl';

describe('dataset formats, detected when the sweep is planned', () => {
  type Row = [path: string, format: string, summary: Record<string, unknown>];
  const rows: Row[] = [
    ['traces/tiny-chat.csv', 'trace_csv', { format: 'trace_csv', rows: 4, rows_read: 4, conversations: 2, dropped_missing_query: 0, dropped_non_positive_query: 0, defaulted_reply_length: 0 }],
    [SERVER_LOG, 'server_log', { format: 'server_log', requests: 3, conversations: 2, long_requests: 0, client_log: join(FIXTURES, 'logs/client_tiny.log'), client_sends: 3, client_dones: 3 }],
    [REQUESTS, 'requests_jsonl', { format: 'requests_jsonl', requests: 3, conversations: 2 }],
  ];
  it.each(rows)('%s is %s, and plan reports what it holds', async (path, format, summary) => {
    const { experiments, datasets } = await plan(sweepWith({ path }), { env: 'offline' });
    expect(experiments[0]!.dataset).toEqual({ name: expect.any(String), path: join(FIXTURES, path), format });
    expect(datasets).toEqual([{ path: join(FIXTURES, path), ...summary }]);
  });

  it.each([[SERVER_LOG, 'an LMCache server log'], [REQUESTS, 'the requests.jsonl of an earlier kvsweep run']])(
    '%s in a server environment is an error: it is an input of the offline simulator',
    async (path, what) => {
      expect(await problemsOf(sweepWith({ path }))).toEqual([
        `sweep.yaml: experiments.datasets[0].path: is ${what}${what.startsWith('an LMCache') ? " (the old tool's simulator input)" : ''}: an input of the offline simulator (--env offline or kvsweep simulate), not of environment 'lmcache', which replays trace CSVs against a server`,
      ]);
    },
  );

  it('a trace CSV is replayed offline too, and a file named twice is read once', async () => {
    const { datasets, experiments } = await plan(
      { model_name: 'qwen-8b', experiments: { datasets: [{ path: 'traces/tiny-chat.csv', cache_sizes: [1], request_rates: [1] }, { path: 'traces/tiny-chat.csv', name: 'again', cache_sizes: [2], request_rates: [1] }] } },
      { env: 'offline' },
    );
    expect(datasets).toHaveLength(1);
    expect(experiments.map((e) => [e.id, e.server, e.offline?.cache_model])).toEqual([
      ['qwen-8b_tiny-chat_c1gb_r1_lru', null, 'kvsweep'],
      ['qwen-8b_again_c2gb_r1_lru', null, 'kvsweep'],
    ]);
  });
});

describe('a dataset file that cannot be used fails plan, naming the file, the line and the problem', () => {
  const header = '@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength\n';
  type Row = [name: string, files: Record<string, string>, path: string, env: string | undefined, message: RegExp];
  const rows: Row[] = [
    ['a bad timestamp', { 'bad.csv': `${header}2025-05-29 05:00:07,a,5,5\nsoon,a,5,5\n` }, 'bad.csv', undefined,
      /experiments\.datasets\[0\]\.path: trace .*bad\.csv line 3: bad @timestamp 'soon'/],
    ['more fields than the header', { 'wide.csv': `${header}2025-05-29 05:00:07,a,5,5,m,extra\n` }, 'wide.csv', undefined, /wide\.csv line 2: 6 fields, but the header names 4/],
    ['no usable row', { 'empty.csv': `${header}2025-05-29 05:00:07,a,,5\n2025-05-29 05:00:08,a,0,5\n` }, 'empty.csv', undefined,
      /empty\.csv has no usable rows: all 2 rows have an empty, NaN or <= 0 query length/],
    ['a .log with no on_lookup line', { 'server_x.log': 'INFO starting\n', 'client_x.log': '' }, 'server_x.log', 'offline', /has no '\[Observability\] on_lookup:' line/],
    ['a server log without its client log', { 'server_y.log': '[2025-05-29 05:00:09,857] LMCache INFO: [Observability] on_lookup: conv_1_1, num_tokens=5, hit_tokens=0, accumulated_hit_tokens=0, lookup_id=x\n' },
      'server_y.log', 'offline', /client log of server_y\.log \(the old simulator pairs the two\) not found: .*client_y\.log/],
    ['a requests.jsonl line that is no request', { 'requests.jsonl': '{"conversation":"a","turn":1}\n{"oops":true}\n' }, 'requests.jsonl', 'offline', /requests\.jsonl line 2: not a kvsweep request record/],
  ];
  it.each(rows)('%s', async (_name, files, path, env, message) => {
    const w = workspace();
    for (const [name, text] of Object.entries(files)) w.write(name, text);
    const problems = await problemsOf(sweepWith({ path: join(w.dir, path) }), env ? { env } : {});
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('rows with an empty or NaN query length are dropped and counted, not refused', async () => {
    const w = workspace();
    w.write('holes.csv', `${header}2025-05-29T05:00:07Z,a,5,\n2025-05-29T05:00:08Z,a,NaN,5\n2025-05-29T05:00:09Z,b,,5\n2025-05-29T05:00:10Z,b,-1,5\n`);
    const { datasets } = await plan(sweepWith({ path: join(w.dir, 'holes.csv') }));
    expect(datasets).toEqual([expect.objectContaining({ rows: 1, rows_read: 4, conversations: 1, dropped_missing_query: 2, dropped_non_positive_query: 1, defaulted_reply_length: 1 })]);
  });
});

describe('the offline environment and environment definitions', () => {
  it('offline runs oracle and lightgbm; its experiments have no server and carry the offline settings', async () => {
    const { experiments, resolved } = await plan(sweepWith({ path: SERVER_LOG, cache_eviction_strategy: ['ORACLE', 'LIGHTGBM'] }), { env: 'offline' });
    expect(resolved.environment.definition).toMatchObject({ kind: 'offline', strategies: ['lru', 'conversation_aware', 'oracle', 'lightgbm'], command: [] });
    expect(experiments.map((e) => [e.id, e.server === null, e.offline !== null])).toEqual([
      ['qwen-8b_server_tiny_c10gb_r1_oracle', true, true],
      ['qwen-8b_server_tiny_c10gb_r1_lightgbm-regression', true, true],
    ]);
  });

  type Row = [name: string, definition: Record<string, unknown>, message: string];
  const rows: Row[] = [
    ['an offline environment with a command', { kind: 'offline', strategies: ['lru'], command: ['x'] }, 'environments.yaml: environments.mine.command: an offline environment starts no server: remove it'],
    ['a server environment without a command', { strategies: ['lru'], ready_pattern: 'ready', ready_timeout: 5 }, 'environments.yaml: environments.mine.command: a server environment needs a command'],
    ['a server environment that claims oracle', { command: ['x'], strategies: ['lru', 'oracle'], ready_pattern: 'ready', ready_timeout: 5 },
      "environments.yaml: environments.mine.strategies[1]: eviction strategy 'oracle' exists offline only (it evicts by when each conversation comes back, which only a replay of a recorded dataset knows): run it with --env offline (or kvsweep simulate)"],
    ['an unknown placeholder in quantization_args', { command: ['x'], strategies: ['lru'], ready_pattern: 'r', ready_timeout: 5, quantization_args: ['-q', '{quant}'] },
      'environments.yaml: environments.mine.quantization_args[1]: unknown placeholder {quant}'],
  ];
  it.each(rows)('%s is an error', async (_name, definition, message) => {
    const w = workspace();
    const file = w.write('environments.yaml', JSON.stringify({ environments: { mine: definition } }));
    const problems = await problemsOf(sweepWith(), { environmentsFiles: [file], cwd: w.dir, baseDir: FIXTURES });
    expect(problems.map((p) => p.replace(/:\d+:\d+:/, ':'))).toEqual([expect.stringContaining(message)]);
  });
});

describe('experiment ids', () => {
  it('are what they were for every sweep that planned before; oracle ones read the same way', async () => {
    const w = workspace();
    mkdirSync(join(w.dir, 'data'));
    copyFileSync(TRACE_PATH, join(w.dir, 'data', 'chat.csv'));
    const config = {
      model_name: 'llama-70b',
      defaults: { use_conversation_evictions: [true, false] },
      experiments: { datasets: [{ path: 'data/chat.csv', cache_sizes: [128, 0.5], request_rates: [0.5, 1], mock_decoding: true }] },
    };
    const { experiments } = await plan(config, { ...hermetic, baseDir: w.dir });
    expect(experiments.map((e) => e.id)).toEqual([
      'llama-70b_chat_c128gb_r0.5_conversation_aware_mock',
      'llama-70b_chat_c128gb_r0.5_lru_mock',
      'llama-70b_chat_c128gb_r1_conversation_aware_mock',
      'llama-70b_chat_c128gb_r1_lru_mock',
      'llama-70b_chat_c0.5gb_r0.5_conversation_aware_mock',
      'llama-70b_chat_c0.5gb_r0.5_lru_mock',
      'llama-70b_chat_c0.5gb_r1_conversation_aware_mock',
      'llama-70b_chat_c0.5gb_r1_lru_mock',
    ]);
  });
});
