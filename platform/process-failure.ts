// One wording for every process kvsweep starts and watches (servers, clients, the Temporal dev
// server): what failed and how, the command, the underlying cause, where its log is. The same
// order as execa's lib/return/message.js, so a failure reads alike wherever it surfaces
// (outcome.json, the summary, the report, the terminal).

/** How the process failed. */
export type ProcessEnd =
  /** It ran and ended (a code, or a signal). */
  | { kind: 'exited'; exitCode: number | undefined; signal: string | undefined }
  /** It could not be started at all (missing program, no permission). */
  | { kind: 'not-started'; reason: string }
  /** It ran, but did not do what was awaited within the time allowed. */
  | { kind: 'timed-out'; afterS: number; awaited: string }
  /** It was told to stop and did not. */
  | { kind: 'not-stopped'; reason: string };

export interface ProcessFailure {
  /** The process, in a word or two: `server`, `client`, `the Temporal dev server`. */
  what: string;
  end: ProcessEnd;
  /** When, if it matters: `during start-up`, `during the run`. */
  during?: string;
  /** The argv that started it; unknown for a process an earlier worker started. */
  argv?: readonly string[];
  logPath?: string;
}

/** `exited with code 3`, `was killed by SIGKILL`, ... */
export function describeExit(exit: { exitCode: number | undefined; signal: string | undefined }): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return exit.exitCode === undefined ? 'exited' : `exited with code ${exit.exitCode}`;
}

function how(end: ProcessEnd): string {
  switch (end.kind) {
    case 'exited':
      return describeExit(end);
    case 'not-started':
      return 'could not be started';
    case 'timed-out':
      return `not ready after ${end.afterS} s`;
    case 'not-stopped':
      return 'did not stop';
  }
}

function cause(end: ProcessEnd): string | undefined {
  switch (end.kind) {
    case 'not-started':
    case 'not-stopped':
      return end.reason;
    case 'timed-out':
      return end.awaited;
    case 'exited':
      return undefined;
  }
}

/** One argument as a reader would paste it into a POSIX shell (display only: nothing runs it). */
function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line of an argv, for messages. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

/**
 * The message of a process failure, one fact a line:
 * `<what> <how>[ <during>][: <command>]`, then the cause, then `log: <path>`.
 */
export function formatProcessFailure(failure: ProcessFailure): string {
  const head = [failure.what, how(failure.end), failure.during].filter(Boolean).join(' ');
  const lines = [failure.argv && failure.argv.length > 0 ? `${head}: ${formatCommand(failure.argv)}` : head];
  const reason = cause(failure.end);
  if (reason) lines.push(reason);
  if (failure.logPath) lines.push(`log: ${failure.logPath}`);
  return lines.join('\n');
}
