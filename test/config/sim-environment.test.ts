// The `sim` environment's command must start kvsweep's real simulator: a flag the simulator does
// not know, or a ready pattern it never prints, would only show up when a sweep runs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { renderServerCommand } from '../../domain/server-command.ts';
import { plan, sweepWith } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const started: ResultPromise[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    child.kill('SIGKILL');
    await child.catch(() => {});
  }
});

describe('the sim environment', () => {
  it('starts the simulator with the planned argv and env, up to the ready pattern', async () => {
    const { experiments } = await plan(
      sweepWith({ cache_sizes: [0.02], cache_eviction_strategy: 'conversation_aware', server_extra_args: ['--num-gpu-blocks-override', '2048'] }, {
        environment: 'sim',
        model_name: 'sim-small',
      }),
    );
    const { ready_pattern } = experiments[0]!.server!;
    // What the worker does on its host: {kvsweep} -> this installation, {port} -> a port (0: any
    // free one), {scratch_dir} -> an empty folder made for this start.
    const scratchDir = mkdtempSync(join(tmpdir(), 'kvsweep-scratch-'));
    const { argv: hostArgv, env } = renderServerCommand(experiments[0]!, { port: 0, gpuIds: ['0'], kvsweepArgv: [process.execPath, join(ROOT, 'bin/kvsweep.js')], scratchDir });
    const child = execa(hostArgv[0]!, hostArgv.slice(1), { env, all: true, reject: false });
    started.push(child);
    const log = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.all!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (new RegExp(ready_pattern).test(text)) resolve(text);
      });
      void child.then((r) => reject(new Error(`simulator exited (${r.exitCode}) before it was ready:\n${text}`)));
    });
    expect(log).toContain('eviction conversation_aware');
    expect(log).toMatch(/LMCache CPU tier: 0\.020 GiB per device/);
    // Prometheus multiprocess mode, as in the lmcache environment, and the fork's statistics endpoint.
    expect(log).toContain('PROMETHEUS_MULTIPROC_DIR is set: /metrics shows the lmcache:* series');
    expect(log).toContain('--lmcache-stats-endpoint: GET /lmcache/stats answers');
  });
});
