// The worker's host-time placeholders: {port} {gpus} {first_gpu} {scratch_dir}, offsets on the
// numeric ones, the LMCache fork's statistics URL an environment names, and the client flag it
// becomes; a bad offset is a config error before anything starts.
import { afterAll, describe, expect, it } from 'vitest';
import { fillPlaceholders, renderClientCommand, renderLmcacheStatsUrl, renderServerCommand, usesScratchDir } from '../../domain/server-command.ts';
import { plan, problemsOf, scratchDir, sweepWith } from '../config/support.ts';

const scratch: Array<{ cleanup: () => void }> = [];
afterAll(() => scratch.forEach((s) => s.cleanup()));

describe('host placeholders', () => {
  it('fills {first_gpu}, offsets and leaves other braces alone', () => {
    const values = { port: '8123', gpus: '3,5', first_gpu: '3' };
    expect(fillPlaceholders('http://h:{first_gpu+9000}/x?g={gpus}&p={port+1}', values)).toBe('http://h:9003/x?g=3,5&p=8124');
    expect(fillPlaceholders('{"a":{"b":1}} {unknown} {gpus+1}', values)).toBe('{"a":{"b":1}} {unknown} {gpus+1}');
  });

  it('lmcache: PROMETHEUS_MULTIPROC_DIR is the scratch folder, and the fork URL lands on 9000 + the first GPU', async () => {
    const { experiments } = await plan(sweepWith({}, { environment: 'lmcache' }));
    const spec = experiments[0]!;
    expect(usesScratchDir(spec)).toBe(true);
    const host = { port: 8001, gpuIds: ['2', '3'], kvsweepArgv: ['node', 'kvsweep.js'], scratchDir: '/r/exp/server-scratch' };
    expect(renderServerCommand(spec, host).env).toMatchObject({ PROMETHEUS_MULTIPROC_DIR: '/r/exp/server-scratch', CUDA_VISIBLE_DEVICES: '2,3' });
    const url = renderLmcacheStatsUrl(spec, host);
    expect(url).toBe('http://127.0.0.1:9002/lmcache/stats');
    const argv = renderClientCommand(spec, spec.client, { baseUrl: 'http://127.0.0.1:8001', resultDir: '/r/exp', kvsweepArgv: ['kv'], lmcacheStatsUrl: url });
    expect(argv.slice(-2)).toEqual(['--lmcache-stats-url', 'http://127.0.0.1:9002/lmcache/stats']);
  });

  it('vllm names no statistics URL and needs no scratch folder', async () => {
    const { experiments } = await plan(sweepWith({}, { environment: 'vllm' }));
    const spec = experiments[0]!;
    expect(usesScratchDir(spec)).toBe(false);
    expect(renderLmcacheStatsUrl(spec, { port: 1, gpuIds: ['0'], kvsweepArgv: [] })).toBeNull();
    expect(renderClientCommand(spec, spec.client, { baseUrl: 'b', resultDir: 'r', kvsweepArgv: [] })).not.toContain('--lmcache-stats-url');
  });

  it('an offset on a placeholder that is not a number, or a misspelt host placeholder, is a config error', async () => {
    const s = scratchDir();
    scratch.push(s);
    s.write(
      'environments.yaml',
      [
        'environments:',
        '  fork:',
        "    command: [vllm, serve, '{model_path}', --port, '{port}']",
        "    lmcache_stats_url: 'http://127.0.0.1:{first_gpus+9000}/lmcache/stats'",
        "    env: {X: '{gpus+1}'}",
        '    strategies: [lru]',
        '    ready_pattern: ready',
        '    ready_timeout: 60',
      ].join('\n'),
    );
    const problems = await problemsOf(sweepWith({}, { environment: 'fork' }), { userConfigDir: s.dir });
    expect(problems.join('\n')).toContain('environments.fork.lmcache_stats_url: {first_gpus+9000}: only {port} and {first_gpu} take an offset');
    expect(problems.join('\n')).toContain('unknown placeholder {first_gpus}');
    expect(problems.join('\n')).toContain('environments.fork.env.X: {gpus+1}: only {port} and {first_gpu} take an offset');
  });
});
