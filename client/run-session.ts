// One attached sweep session on the command line: bring up what runs locally (when asked), start
// or attach to the sweep, follow it, print the summary, and take down what it brought up.
import type { Client } from '@temporalio/client';
import type { ResolvedSweep } from '../domain/config/resolved.ts';
import { UserError } from '../domain/errors.ts';
import { offlineConcurrency } from '../activities/offline.ts';
import { startLocalStack, uiPortFor } from './local-stack.ts';
import { followSweep, loadSweepRecord, saveSweepRecord, startSweep, webUiLink } from './sweep-session.ts';
import { connectClient, isListening, splitAddress, temporalAddress, temporalNamespace } from '../platform/temporal.ts';
import { printSummary } from './summary-print.ts';

export interface SessionOptions {
  sweepId: string;
  resolved: ResolvedSweep;
  experiments: number;
  resultsDir: string;
  yamlPath: string | null;
  /** GPUs of a local worker to run for the session; null: rely on workers elsewhere. */
  gpus: string | null;
  /** Offline experiments: run a local worker (and the embedded server when none answers) even without --gpus. */
  offline?: boolean;
  detach: boolean;
  json: boolean;
}

/** The Web UI address: KVSWEEP_WEB_UI, else the dev server's convention (gRPC port + 1000). */
function webUiBase(address: string, startedUi: string | null): string {
  if (startedUi) return startedUi;
  if (process.env.KVSWEEP_WEB_UI) return process.env.KVSWEEP_WEB_UI.replace(/\/$/, '');
  const { host } = splitAddress(address);
  return `http://${host}:${uiPortFor(address)}`;
}

export async function runSweepSession(options: SessionOptions): Promise<number> {
  const address = temporalAddress();
  const local = options.gpus !== null || options.offline === true;
  if (!local && !(await isListening(address))) {
    throw new UserError(
      `no Temporal server answers at ${address} (TEMPORAL_ADDRESS). Start one with \`npx kvsweep server\` and workers with ` +
        '`npx kvsweep worker --gpus N`, or add --gpus N to run everything on this machine.',
    );
  }
  const say = (line: string) => (options.json ? console.error(line) : console.log(line));
  const stack = local ? await startLocalStack({ address, gpus: options.gpus, offline: options.offline ?? false, startServer: true }) : null;
  if (stack?.startedServer) say(`Started the embedded Temporal dev server at ${address}.`);
  if (stack?.worker) {
    const what = options.offline ? `offline experiments on ${offlineConcurrency()} threads` : `${stack.worker.registration()?.gpu_ids.length ?? 0} GPUs`;
    say(`Started a local worker (${what}); its log: ${stack.workerLog}`);
  }
  // Ctrl-C stops following (and the local worker); the sweep itself goes on in Temporal.
  const interrupt = new AbortController();
  const interruptedCode = local ? 130 : 0;
  const onInterrupt = () => {
    say(local ? '\nInterrupted: stopping the local worker; the sweep waits in Temporal until a worker runs again (`kvsweep resume ID`).' : '\nDetached: the sweep goes on in Temporal.');
    interrupt.abort();
  };
  process.once('SIGINT', onInterrupt);
  let client: Client | undefined;
  try {
    client = await connectClient(address);
    const earlier = loadSweepRecord(options.sweepId);
    const resultsDir = earlier?.results_dir ?? options.resultsDir;
    saveSweepRecord({ sweep_id: options.sweepId, results_dir: resultsDir, yaml_path: options.yamlPath, resolved: options.resolved, started_at: earlier?.started_at ?? new Date().toISOString() });
    const handle = await startSweep(client, { resolved: options.resolved, results_dir: resultsDir, yaml_path: options.yamlPath ?? undefined }, options.sweepId, options.experiments);
    const link = webUiLink(webUiBase(address, stack?.uiUrl ?? null), temporalNamespace(), options.sweepId);
    say(`Sweep ${options.sweepId}: ${options.experiments} experiments.`);
    say(`Web UI:  ${link}`);
    say(`Results: ${resultsDir}`);
    if (options.detach) {
      say(`Detached. Follow it with \`npx kvsweep status ${options.sweepId}\`; cancel with \`npx kvsweep cancel ${options.sweepId}\`.`);
      return 0;
    }
    if (interrupt.signal.aborted) return interruptedCode;
    const result = await followSweep(handle, { interactive: Boolean(process.stdout.isTTY) && !options.json, signal: interrupt.signal });
    if (result === undefined) return interruptedCode;
    if (options.json) console.log(JSON.stringify(result, null, 2));
    else printSummary(result, link);
    return result.counts.failed + result.counts.cancelled > 0 ? 1 : 0;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await client?.connection.close();
    await stack?.stop();
  }
}
