// Commander glue shared by `kvsweep loadgen` and `kvsweep trace`: option value parsers that name
// the flag in their errors, and a runner that turns commander's exits into return codes.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { UserError } from '../domain/errors.ts';

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

/** A positive number or `inf` (everything as fast as possible). */
export function rateValue(value: string): number {
  if (['inf', 'infinity'].includes(value.toLowerCase())) return Number.POSITIVE_INFINITY;
  return positiveNumber(value);
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0');
  return n;
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected an integer > 0');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

/**
 * Parses argv and runs the chosen action. Returns false when only help was shown; usage errors
 * become a UserError carrying commander's message (printed once, by the CLI entry).
 */
export async function parseCommand(command: Command, argv: string[]): Promise<boolean> {
  for (const c of [command, ...command.commands]) {
    c.exitOverride();
    c.configureOutput({ outputError: () => {} });
  }
  try {
    await command.parseAsync(argv, { from: 'user' });
    return true;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return false;
      // The entry prints `kvsweep: ` before the message already.
      throw new UserError(`${command.name().replace(/^kvsweep /, '')}: ${error.message.replace(/^error: /, '')} (see --help)`, 2);
    }
    throw error;
  }
}
