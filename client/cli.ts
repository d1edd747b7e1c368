// The kvsweep command line: picks a command module by its first word and loads it lazily, so
// `kvsweep sim serve` does not pay for Temporal's client and `kvsweep run` not for the simulator.
// Only this entry turns errors into exit codes; command modules return a code or throw.
import { UserError } from '../domain/errors.ts';

type CommandMain = (argv: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<CommandMain> }> = {
  run: { summary: 'run a sweep from a YAML file (resumes a sweep id that exists)', load: async () => (await import('./commands/run.ts')).main },
  plan: { summary: 'validate a sweep YAML and list its experiments, without side effects', load: async () => (await import('./commands/plan.ts')).main },
  status: { summary: 'show the progress of a sweep', load: async () => (await import('./commands/status.ts')).main },
  resume: { summary: 'rerun the failed and unfinished experiments of a sweep', load: async () => (await import('./commands/resume.ts')).main },
  cancel: { summary: 'cancel a sweep and tear down its servers', load: async () => (await import('./commands/cancel.ts')).main },
  worker: { summary: 'run a worker for this host and its GPUs', load: async () => (await import('./commands/worker.ts')).main },
  server: { summary: 'start the embedded Temporal dev server (Web UI included)', load: async () => (await import('./commands/server.ts')).main },
  demo: { summary: 'run the demo sweep on the simulator (what bare `kvsweep` does)', load: async () => (await import('./commands/demo.ts')).main },
  report: { summary: 'write the HTML report and plots of a results folder', load: async () => (await import('./commands/report.ts')).main },
  sim: { summary: 'the vLLM-compatible simulator (`kvsweep sim serve MODEL ...`)', load: async () => (await import('../simulator/cli.ts')).main },
  loadgen: { summary: 'replay a conversation trace against an OpenAI-compatible server', load: async () => (await import('../loadgen/cli.ts')).main },
  trace: { summary: 'synthesise or inspect conversation traces', load: async () => (await import('../loadgen/trace-cli.ts')).main },
  simulate: { summary: "replay a trace offline through kvsweep's cache model (sizes x policies, no server)", load: async () => (await import('./commands/simulate.ts')).main },
  search: { summary: 'find the knee of hit rate over cache size per dataset x rate x policy (offline bisection)', load: async () => (await import('./commands/search.ts')).main },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: kvsweep [command] [options]',
    '',
    'With no command, runs the demo sweep (configs/demo.yaml) on the simulator.',
    'The old runner\'s shape `kvsweep --yaml FILE --gpus N` is the same as `kvsweep run`.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `kvsweep <command> --help` for the options of one command.',
  ].join('\n');
}

/** Runs one CLI invocation and returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) return await (await commands.demo!.load())([]);
    if (first === '--help' || first === '-h' || first === 'help') {
      console.log(usage());
      return 0;
    }
    if (first.startsWith('-')) return await (await commands.run!.load())(argv);
    const command = commands[first];
    if (!command) {
      console.error(`kvsweep: unknown command '${first}'\n\n${usage()}`);
      return 2;
    }
    return await (await command.load())(rest);
  } catch (error) {
    if (error instanceof UserError) {
      if (error.message) console.error(`kvsweep: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}
