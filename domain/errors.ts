// Errors the user can act on. Only the CLI entry prints them and picks the exit code; everything
// else throws them with the message already complete (what failed, where, why).

/** An error caused by the user's input or environment, printed without a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
