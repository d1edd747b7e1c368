// Commander, configured the same way for every kvsweep command: errors become UserError (the
// entry prints them and exits 2), --help prints and exits 0. Flag values are checked by the parsers
// below while commander parses, so a bad value stops the command before it starts anything, and the
// message names the flag (`option '--wait <seconds>' argument 'abc' is invalid. expected ...`).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { UserError } from '../domain/errors.ts';

/** Thrown for --help/--version: the entry exits 0 without printing more. */
export class HelpShown extends UserError {
  constructor() {
    super('', 0);
  }
}

export function parseCommand(program: Command, argv: string[]): Command {
  program.exitOverride().configureOutput({ outputError: () => {} });
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) throw new HelpShown();
      throw new UserError(`${program.name()}: ${error.message.replace(/^error: /, '')} (see --help)`, 2);
    }
    throw error;
  }
  return program;
}

/** A plain decimal number: Number() alone would take '', ' ', '0x10' and '1e3'. */
function decimal(value: string): number {
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
}

/** `--gpus N|auto`: a GPU count, or every GPU nvidia-smi lists. */
export function gpusFlag(value: string): string {
  if (value === 'auto' || /^\d+$/.test(value)) return value;
  throw new InvalidArgumentError("expected a whole number of GPUs or 'auto'");
}

export function positiveNumber(value: string): number {
  const n = decimal(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = decimal(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number >= 0');
  return n;
}

export function positiveInteger(value: string): number {
  const n = decimal(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number > 0');
  return n;
}

export function portNumber(value: string): number {
  const n = decimal(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number (1-65535)');
  return n;
}
