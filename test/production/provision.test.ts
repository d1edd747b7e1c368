// scripts/provision-production.sh: cached after its first run, serialised by its lock, and the
// binaries it records run and are the versions docker-compose.yml names.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../platform/paths.ts';
import { productionRoot, provisionProduction, type Provisioned } from './stack.ts';

const SCRIPT = join(projectRoot, 'scripts', 'provision-production.sh');
const script = (args: string[] = []) => execa('bash', [SCRIPT, ...args], { reject: false, all: true, env: { KVSWEEP_PRODUCTION_DIR: productionRoot } });

describe('scripts/provision-production.sh', { timeout: 120_000 }, () => {
  let record: Provisioned;
  const holders: Array<() => void> = [];
  beforeAll(async () => {
    record = await provisionProduction();
  }, 70 * 60_000);
  afterEach(() => {
    for (const release of holders.splice(0)) release();
  });

  it('a second run finds every step cached and takes seconds', async () => {
    const again = await provisionProduction();
    expect(again.last_run.steps).toEqual({ postgresql: 'cached', 'temporal-server': 'cached', 'temporal-ui': 'cached' });
    expect(again.last_run.seconds - again.last_run.lock_wait_seconds).toBeLessThan(30);
    expect(again.temporal_server).toEqual(record.temporal_server);
  });

  it('records binaries that run: the server and schema tool of 1.32.0, the Web UI of 2.54.1', async () => {
    expect(record.temporal_server.version).toBe('v1.32.0');
    expect(record.temporal_ui.version).toBe('v2.54.1');
    const server = await execa(record.temporal_server.binary, ['--help'], { reject: false, all: true });
    expect(server.all).toContain('Temporal server');
    const tool = await execa(record.temporal_server.sql_tool, ['--help'], { reject: false, all: true });
    expect(tool.all).toContain('update-schema');
    expect(record.postgresql.version).toMatch(/^postgres \(PostgreSQL\) \d+/);
  });

  it('waits while another run holds the lock', async () => {
    const holder = spawn('flock', [join(productionRoot, '.lock'), '-c', 'echo held; sleep 3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    holders.push(() => holder.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      holder.once('exit', () => reject(new Error('the lock holder exited before holding the lock')));
    });
    const run = await script();
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).toContain('another provisioning run holds');
  });

  it('refuses an argument it does not know, saying so', async () => {
    const run = await script(['--only', 'ui']);
    expect(run.exitCode).toBe(1);
    expect(run.all).toContain('unknown argument: --only (this script takes none)');
  });
});
