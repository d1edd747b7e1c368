// docker/temporal/setup-kvsweep.sh (docker-compose.yml's kvsweep-setup service) run by POSIX sh
// against a real Temporal dev server started WITHOUT kvsweep's search attributes: it creates the
// namespace, registers every attribute the compose file lists with its type, is idempotent, and
// refuses an attribute that exists with another type.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { temporalBinary } from '../../client/dev-server.ts';
import { projectRoot } from '../../platform/paths.ts';
import { isListening } from '../../platform/temporal.ts';
import { SearchAttributeTypes } from '../../domain/names.ts';
import { freePort } from '../support/ports.ts';

const SCRIPT = join(projectRoot, 'docker', 'temporal', 'setup-kvsweep.sh');
const NAMESPACE = 'kvsweep-compose-test';

let server: ChildProcess | undefined;
let address: string;
let output = '';

function composeAttributes(): string {
  const compose = parse(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { environment: Record<string, string> }> };
  return compose.services['kvsweep-setup']!.environment.KVSWEEP_SEARCH_ATTRIBUTES!;
}

function runSetup(attributes: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      [SCRIPT],
      {
        env: { ...process.env, TEMPORAL_CLI: temporalBinary(), TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: NAMESPACE, KVSWEEP_SEARCH_ATTRIBUTES: attributes, KVSWEEP_SETUP_DELAY_SECONDS: '1' },
        timeout: 180_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

function listAttributes(): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    execFile(temporalBinary(), ['operator', 'search-attribute', 'list', '--address', address, '--namespace', NAMESPACE, '--output', 'json'], (error, stdout) => {
      if (error) reject(error);
      else resolve((JSON.parse(stdout) as { customAttributes?: Record<string, string> }).customAttributes ?? {});
    });
  });
}

beforeAll(async () => {
  address = `127.0.0.1:${await freePort()}`;
  // A plain dev server: no --search-attribute flags, unlike kvsweep's own (client/dev-server.ts).
  server = spawn(temporalBinary(), ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', address.split(':')[1]!, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!(await isListening(address, 500))) {
    if (server.exitCode !== null) throw new Error(`the dev server exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the dev server did not answer at ${address}:\n${output}`);
    await sleep(200);
  }
});

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const gone = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    if (!(await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]))) server.kill('SIGKILL');
  }
});

it('creates the namespace and registers every search attribute the compose file lists', async () => {
  const first = await runSetup(composeAttributes());
  expect(first.code, first.output).toBe(0);
  expect(first.output).toContain(`kvsweep-setup: creating namespace ${NAMESPACE}`);
  const registered = await listAttributes();
  const expected = Object.fromEntries(Object.entries(SearchAttributeTypes).map(([name, type]) => [name, `INDEXED_VALUE_TYPE_${type.toUpperCase()}`]));
  expect(registered).toEqual(expect.objectContaining(expected));
}, 240_000);

it('is idempotent: a second run changes nothing and succeeds', async () => {
  const before = await listAttributes();
  const again = await runSetup(composeAttributes());
  expect(again.code, again.output).toBe(0);
  expect(again.output).toContain(`kvsweep-setup: namespace ${NAMESPACE} exists`);
  expect(await listAttributes()).toEqual(before);
}, 240_000);

it('fails at once when an attribute exists with another type', async () => {
  const started = Date.now();
  const clash = await runSetup('KvsweepTag=Double');
  expect(clash.code).not.toBe(0);
  expect(clash.output).toMatch(/KvsweepTag already exists and has different type Keyword/);
  expect(Date.now() - started).toBeLessThan(60_000);
}, 240_000);

it('rejects a malformed list', async () => {
  const bad = await runSetup('KvsweepTag');
  expect(bad.code).not.toBe(0);
  expect(bad.output).toContain("bad entry 'KvsweepTag' in KVSWEEP_SEARCH_ATTRIBUTES (expected Name=Type)");
}, 240_000);
