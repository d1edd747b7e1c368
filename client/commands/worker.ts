// `kvsweep worker`: runs this host's worker until SIGINT/SIGTERM.
import { Command, InvalidArgumentError } from 'commander';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { hostname } from 'node:os';
import { UserError } from '../../domain/errors.ts';
import { isListening, temporalAddress, temporalNamespace } from '../../platform/temporal.ts';
import { resolveGpus } from '../../workers/gpus.ts';
import { startHostWorker } from '../../workers/host-worker.ts';
import { gpusFlag, parseCommand, portNumber, positiveInteger, positiveNumber } from '../command-line.ts';

function hostIdFlag(value: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(value)) throw new InvalidArgumentError("expected only letters, digits, '.', '_' and '-' (it names the host's task queue)");
  return value;
}

/** Host-loss detection needs a few heartbeats within the timeout. */
function heartbeatTimeout(value: string): number {
  const n = positiveNumber(value);
  if (n < 2) throw new InvalidArgumentError('expected at least 2 seconds');
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('worker')
    .description('Run the kvsweep worker of this host: its GPUs, and (unless --no-control) the sweep workflows.')
    .option('--gpus <N|auto>', 'GPUs to offer: a count (simulated devices when nvidia-smi is absent) or auto (nvidia-smi)', gpusFlag, 'auto')
    .option('--gpu-class <name>', 'GPU class this host offers (default: the nvidia-smi product name, or "simulated")')
    .option('--host-id <id>', 'stable name of this host; its task queue is kvsweep-host/<id>', hostIdFlag, hostname())
    .option('--no-control', 'do not run workflows and sweep-level activities here (GPU-only host)')
    .option('--port-base <port>', 'first port for servers on this host', portNumber, 8000)
    .option('--port-count <n>', 'ports available from the base', positiveInteger, 1000)
    .option('--heartbeat-timeout <seconds>', 'host-loss detection time (activities heartbeat well within it)', heartbeatTimeout, 15)
    .option('--teardown-grace <seconds>', 'SIGTERM-to-SIGKILL grace when stopping a server', positiveNumber, 10)
    .option('--verbose', "print the Temporal SDK's own log lines");
  const opts = parseCommand(program, argv).opts<{ gpus: string; gpuClass?: string; hostId: string; control: boolean; portBase: number; portCount: number; heartbeatTimeout: number; teardownGrace: number; verbose?: boolean }>();
  if (opts.portBase + opts.portCount - 1 > 65535) throw new UserError(`worker: --port-base ${opts.portBase} --port-count ${opts.portCount} go past port 65535`);
  const gpus = await resolveGpus(opts.gpus);
  if (gpus.ids.length === 0 && !opts.control) throw new UserError('worker: no GPUs (--gpus) and --no-control: this worker would have nothing to do');
  const address = temporalAddress();
  if (!(await isListening(address))) {
    throw new UserError(`no Temporal server answers at ${address} (TEMPORAL_ADDRESS); start one with \`npx kvsweep server\``);
  }
  Runtime.install({ logger: new DefaultLogger(opts.verbose ? 'INFO' : 'WARN') });
  const log = (line: string) => console.log(`[${new Date().toISOString()}] ${line}`);
  const worker = await startHostWorker({
    address,
    namespace: temporalNamespace(),
    hostId: opts.hostId,
    gpuIds: gpus.ids,
    gpuClass: opts.gpuClass ?? gpus.className ?? 'simulated',
    control: opts.control,
    portBase: opts.portBase,
    portCount: opts.portCount,
    heartbeatTimeoutS: opts.heartbeatTimeout,
    teardownGraceMs: opts.teardownGrace * 1000,
    cwd: process.cwd(),
    log,
  });
  const onSignal = (signal: string) => {
    log(`${signal}: leaving the pool and stopping`);
    void worker.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await worker.done;
  log('worker stopped');
  return 0;
}
