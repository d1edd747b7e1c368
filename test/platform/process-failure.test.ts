// The one wording of process failures: what failed and how, the command, the cause, the log.
import { describe, expect, it } from 'vitest';
import { formatCommand, formatProcessFailure } from '../../platform/process-failure.ts';

const argv = ['/usr/bin/node', '/opt/kvsweep/bin/kvsweep.js', 'sim', 'serve', 'sim-small', '--port', '8001'];

describe('formatProcessFailure', () => {
  it('an exit code, with when it happened', () => {
    expect(formatProcessFailure({ what: 'server', end: { kind: 'exited', exitCode: 1, signal: undefined }, during: 'during start-up', argv, logPath: '/r/e1/server.log' })).toMatchInlineSnapshot(`
      "server exited with code 1 during start-up: /usr/bin/node /opt/kvsweep/bin/kvsweep.js sim serve sim-small --port 8001
      log: /r/e1/server.log"
    `);
  });

  it('a signal beats the (absent) exit code', () => {
    expect(formatProcessFailure({ what: 'client', end: { kind: 'exited', exitCode: undefined, signal: 'SIGKILL' }, argv: ['python3', 'bench.py'], logPath: '/r/e1/client.log' })).toMatchInlineSnapshot(`
      "client was killed by SIGKILL: python3 bench.py
      log: /r/e1/client.log"
    `);
  });

  it('a program that could not be started, with the reason the OS gave', () => {
    expect(formatProcessFailure({ what: 'server', end: { kind: 'not-started', reason: 'spawn vllm ENOENT' }, argv: ['vllm', 'serve', 'Qwen/Qwen3-8B'], logPath: '/r/e1/server.log' })).toMatchInlineSnapshot(`
      "server could not be started: vllm serve Qwen/Qwen3-8B
      spawn vllm ENOENT
      log: /r/e1/server.log"
    `);
  });

  it('a time-out says what was awaited', () => {
    expect(formatProcessFailure({ what: 'server', end: { kind: 'timed-out', afterS: 600, awaited: 'its log never matched /Application startup complete/' }, argv: ['vllm', 'serve', 'm'] })).toMatchInlineSnapshot(`
      "server not ready after 600 s: vllm serve m
      its log never matched /Application startup complete/"
    `);
  });

  it('a process that would not stop; without a known command or log, only what is known', () => {
    expect(formatProcessFailure({ what: 'processes of lease sweep/x/e1#1', end: { kind: 'not-stopped', reason: 'process group 4242 is still alive 5 s after SIGKILL' } })).toMatchInlineSnapshot(`
      "processes of lease sweep/x/e1#1 did not stop
      process group 4242 is still alive 5 s after SIGKILL"
    `);
  });
});

describe('formatCommand', () => {
  it('quotes only what a shell would split or expand', () => {
    expect(formatCommand(['vllm', 'serve', '--kv-transfer-config', '{"kv_connector":"LMCacheConnectorV1"}', "it's", 'a b', '$(x)', 'k=v,w'])).toMatchInlineSnapshot(
      `"vllm serve --kv-transfer-config '{"kv_connector":"LMCacheConnectorV1"}' 'it'\\''s' 'a b' '$(x)' k=v,w"`,
    );
  });
});
