// The lines `plan` and `run` print besides the experiments: the notices of the config pipeline
// (one line each) and, for `plan`, what each dataset file holds.
import type { DatasetSummary } from '../config-files/datasets.ts';
import { displayPath } from '../config-files/load-sweep.ts';
import { formatNotice, type ConfigNotice } from '../domain/config/problems.ts';

/** `notice: sweep.yaml:22:7: experiments.datasets[1]: request_rates is empty: no experiments from this entry`. */
export function noticeLines(notices: readonly ConfigNotice[]): string[] {
  return notices.map((notice) => `notice: ${formatNotice(notice)}`);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** One line per dataset file: rows, conversations and dropped rows (or a log's requests). */
export function datasetLines(datasets: readonly DatasetSummary[], cwd: string): string[] {
  return datasets.map((d) => {
    const name = displayPath(d.path, cwd);
    switch (d.format) {
      case 'trace_csv': {
        const dropped = d.dropped_missing_query + d.dropped_non_positive_query;
        const why = dropped === 0 ? '' : ` (query length empty or NaN: ${d.dropped_missing_query}, <= 0: ${d.dropped_non_positive_query})`;
        const defaulted = d.defaulted_reply_length === 0 ? '' : `, ${d.defaulted_reply_length} without a reply length (128 used)`;
        return `trace ${name}: ${plural(d.rows, 'row')}, ${plural(d.conversations, 'conversation')}, ${dropped} dropped${why}${defaulted}`;
      }
      case 'server_log': {
        const long = d.long_requests === 0 ? '' : `, ${d.long_requests} over 16,384 tokens`;
        return `server log ${name}: ${plural(d.requests, 'request')}${long}, ${plural(d.conversations, 'conversation')}; ` +
          `client log ${displayPath(d.client_log, cwd)}: ${d.client_sends} sends, ${d.client_dones} dones`;
      }
      case 'requests_jsonl':
        return `requests.jsonl ${name}: ${plural(d.requests, 'request')}, ${plural(d.conversations, 'conversation')}`;
    }
  });
}
