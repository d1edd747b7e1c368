// A live progress bar for a sweep (done, failed, running, ETA), drawn with cli-progress on a TTY;
// silent otherwise, so logs and pipes get only the final summary.
import cliProgress from 'cli-progress';
import type { SweepProgress } from '../workflows/sweep.ts';

function formatEta(seconds: number | null): string {
  if (seconds === null) return '--';
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

export class ProgressDisplay {
  private bar: cliProgress.SingleBar | undefined;

  constructor(private readonly interactive: boolean) {}

  update(progress: SweepProgress): void {
    if (!this.interactive || progress.total === 0) return;
    const done = progress.succeeded + progress.failed + progress.cancelled;
    const payload = {
      failed: progress.failed,
      running: progress.running,
      waiting: progress.waiting,
      eta_text: formatEta(progress.eta_seconds),
    };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: ' {bar} {value}/{total} done | {failed} failed | {running} running | {waiting} waiting | ETA {eta_text}',
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(progress.total, done, payload);
    } else {
      this.bar.setTotal(progress.total);
      this.bar.update(done, payload);
    }
  }

  /** The last frame, from the sweep's result: the polls may have missed the final completions. */
  complete(total: number, done: number, failed: number): void {
    if (!this.bar) return;
    this.bar.setTotal(total);
    this.bar.update(done, { failed, running: 0, waiting: 0, eta_text: '0s' });
  }

  finish(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
