// One worker per host id: a second one would take the first one's servers for orphans and stop
// them, and book the same GPUs. It is refused with the owner named; a dead owner's lock is taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRange } from '../support/ports.ts';
import { runKvsweep, startWorker, type TestProcess } from '../support/processes.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let temporal: TestTemporal;
const hostId = `lock-${process.pid}`;
beforeAll(async () => {
  temporal = await useTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

describe('the host lock', { timeout: 120_000 }, () => {
  it('refuses a second worker for the same host, and takes over after the first one dies', async () => {
    const portBase = await freePortRange(200);
    const first: TestProcess = await startWorker({ address: temporal.address, hostId, gpus: 1, gpuClass: hostId, portBase });
    const second = await runKvsweep(['worker', '--gpus', '1', '--host-id', hostId, '--port-base', String(portBase)], { TEMPORAL_ADDRESS: temporal.address }, 60_000);
    expect(second.code).toBe(2);
    expect(second.output).toContain(`a kvsweep worker for host '${hostId}' already runs on this machine (pid ${first.child.pid})`);
    await first.kill('SIGKILL');
    const third = await startWorker({ address: temporal.address, hostId, gpus: 1, gpuClass: hostId, portBase });
    await third.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });
});
