// Bad flag values stop a command before it does anything: exit 2, the flag named, no Temporal
// server started, nothing written under KVSWEEP_HOME. The table runs the CLI in this process (the
// entry's own runCli); one case goes through bin/kvsweep.js to check the process's exit code.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../client/cli.ts';
import { isListening } from '../../platform/temporal.ts';
import { freePort } from '../support/ports.ts';
import { runKvsweep } from '../support/processes.ts';

const home = mkdtempSync(join(tmpdir(), 'kvsweep-flags-'));
let address: string;
const saved = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, KVSWEEP_HOME: process.env.KVSWEEP_HOME };

beforeAll(async () => {
  // Nothing listens here: a command that got past its flags would start a server or fail to connect.
  address = `127.0.0.1:${await freePort()}`;
  process.env.TEMPORAL_ADDRESS = address;
  process.env.KVSWEEP_HOME = home;
});
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** Runs the CLI in-process; returns the exit code and what it printed to stderr. */
async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
  try {
    return { code: await runCli(argv), stderr: errors.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('flag values are checked before any side effect', () => {
  it.each([
    ['cancel sweep/x --wait abc', "kvsweep: cancel: option '--wait <seconds>' argument 'abc' is invalid. expected a number >= 0 (see --help)"],
    ['cancel sweep/x --wait -5', "kvsweep: cancel: option '--wait <seconds>' argument '-5' is invalid. expected a number >= 0 (see --help)"],
    ['worker --port-count 1.5', "kvsweep: worker: option '--port-count <n>' argument '1.5' is invalid. expected a whole number > 0 (see --help)"],
    ['worker --port-count 0', "kvsweep: worker: option '--port-count <n>' argument '0' is invalid. expected a whole number > 0 (see --help)"],
    ['worker --port-base 70000', "kvsweep: worker: option '--port-base <port>' argument '70000' is invalid. expected a port number (1-65535) (see --help)"],
    ['worker --port-base 65000 --port-count 1000', 'kvsweep: worker: --port-base 65000 --port-count 1000 go past port 65535'],
    ['worker --heartbeat-timeout 1', "kvsweep: worker: option '--heartbeat-timeout <seconds>' argument '1' is invalid. expected at least 2 seconds (see --help)"],
    ['worker --teardown-grace soon', "kvsweep: worker: option '--teardown-grace <seconds>' argument 'soon' is invalid. expected a number > 0 (see --help)"],
    ['worker --host-id a/b', "kvsweep: worker: option '--host-id <id>' argument 'a/b' is invalid. expected only letters, digits, '.', '_' and '-' (it names the host's task queue) (see --help)"],
    ['worker --gpus two', "kvsweep: worker: option '--gpus <N|auto>' argument 'two' is invalid. expected a whole number of GPUs or 'auto' (see --help)"],
    ['run --yaml sweep.yaml --gpus 1.5', "kvsweep: run: option '--gpus <N|auto>' argument '1.5' is invalid. expected a whole number of GPUs or 'auto' (see --help)"],
    ['--yaml sweep.yaml --gpus x', "kvsweep: run: option '--gpus <N|auto>' argument 'x' is invalid. expected a whole number of GPUs or 'auto' (see --help)"],
    ['resume sweep/x --gpus -1', "kvsweep: resume: option '--gpus <N|auto>' argument '-1' is invalid. expected a whole number of GPUs or 'auto' (see --help)"],
    ['demo --gpus many', "kvsweep: demo: option '--gpus <N>' argument 'many' is invalid. expected a whole number of GPUs or 'auto' (see --help)"],
    ['server --ui-port 0', "kvsweep: server: option '--ui-port <port>' argument '0' is invalid. expected a port number (1-65535) (see --help)"],
    ['server --ui-port 80x', "kvsweep: server: option '--ui-port <port>' argument '80x' is invalid. expected a port number (1-65535) (see --help)"],
  ])('%s', async (line, message) => {
    const { code, stderr } = await cli(line.split(' '));
    expect(stderr).toBe(message);
    expect(code).toBe(2);
    expect(await isListening(address)).toBe(false);
    expect(readdirSync(home)).toEqual([]);
  });

  it('the process exits 2 with the message on stderr', async () => {
    const { code, output } = await runKvsweep(['cancel', 'sweep/x', '--wait', 'abc'], { TEMPORAL_ADDRESS: address, KVSWEEP_HOME: home }, 60_000);
    expect(output.trim()).toMatchInlineSnapshot(`"kvsweep: cancel: option '--wait <seconds>' argument 'abc' is invalid. expected a number >= 0 (see --help)"`);
    expect(code).toBe(2);
    expect(existsSync(join(home, 'logs'))).toBe(false);
  }, 60_000);
});
