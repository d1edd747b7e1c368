// `kvsweep cancel ID`: cancels a sweep. Each running experiment tears its server down and is
// recorded as cancelled; this command waits (up to --wait seconds) until the sweep has closed.
import { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { UserError } from '../../domain/errors.ts';
import { nonNegativeNumber, parseCommand } from '../command-line.ts';
import { connectClient } from '../../platform/temporal.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('cancel').description('cancel a sweep and tear down its servers').argument('<sweep-id>').option('--wait <seconds>', 'how long to wait for the sweep to close', nonNegativeNumber, 120);
  parseCommand(program, argv);
  const [sweepId] = program.args as [string];
  const waitS = program.opts<{ wait: number }>().wait;
  const client = await connectClient();
  const handle = client.workflow.getHandle(sweepId);
  try {
    await handle.cancel();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UserError(`cancel: no running sweep '${sweepId}'`);
    throw error;
  }
  console.log(`Cancellation requested for ${sweepId}; waiting for its experiments to tear down...`);
  const deadline = Date.now() + waitS * 1000;
  for (;;) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      console.log(`${sweepId}: ${status.name}`);
      return 0;
    }
    if (Date.now() > deadline) {
      console.error(`${sweepId} is still closing after ${waitS} s; check it with \`kvsweep status ${sweepId}\``);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
