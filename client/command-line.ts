// Commander, configured the same way for every kvsweep command: errors become UserError (the
// entry prints them and exits 2), --help prints and exits 0.
import { Command, CommanderError } from 'commander';
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
