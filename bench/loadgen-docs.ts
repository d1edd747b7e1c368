// Writes the `## Load generator` section of docs/benchmarks.md from the benchmark's results,
// replacing only that section (the file is shared with the other components' sections).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

const HEADING = '## Load generator';

const f = (v: unknown, digits = 2): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

/** The ramp's rates that missed below the highest sustained rate of their scheduler, as text. */
function missedBelow(r: Record<string, any>): string {
  const best = r.max_sustained_rate as Record<string, number>;
  const missed = (r.ramp as any[]).filter((x) => x.rate < (best[x.policy] ?? 0) && !sustainedRow(x));
  return missed.length === 0 ? ' (none did here)' : ` (here: ${missed.map((x) => `${x.rate} req/s ${x.policy}, p99 ${f(x.send_p99_ms, 2)} ms`).join('; ')})`;
}

function sustainedRow(x: any): boolean {
  return x.failed === 0 && x.send_p99_ms !== null && x.send_p99_ms <= 1 && x.achieved >= 0.97 * x.rate;
}

function rateTable(runs: any[]): string[] {
  return [
    '| scheduler | target req/s | achieved req/s | failed | p50 ms | p99 ms | max ms | p99 after 1st s ms | late > 1 ms: 1st s / after | client CPU % | simulator CPU % | TTFT p50 ms | load avg | sustained |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...runs.map((x) => {
      const ok = sustainedRow(x);
      return `| ${x.policy} | ${x.rate} | ${f(x.achieved, 0)} | ${x.failed} | ${f(x.send_p50_ms, 3)} | ${f(x.send_p99_ms, 3)} | ${f(x.send_max_ms, 1)} | ${f(x.send_p99_after_1s_ms, 3)} | ${x.late_first_s ?? '-'} / ${x.late_after_1s ?? '-'} | ${f(x.client_cpu_percent, 0)} | ${f(x.simulator_cpu_percent, 0)} | ${f(x.ttft_p50_ms, 1)} | ${f(x.load_average, 1)} | ${ok ? 'yes' : 'no'} |`;
    }),
    '',
  ];
}

export function renderSection(r: Record<string, any>): string {
  const lines: string[] = [
    HEADING,
    '',
    `Command: \`${r.command}\` (writes \`bench/results/loadgen.json\` and this section). Measured ${r.date} on ` +
      `${r.machine.cpus} cores (${r.machine.model}), Node ${r.machine.node}, against \`kvsweep sim serve ... --speed inf\` ` +
      'on the same machine; streaming chat requests of 20 prompt and 16 output tokens, Poisson arrivals, a fresh ' +
      '`kvsweep loadgen` process per row. Send-time error = actual send minus scheduled send, on the monotonic clock. ' +
      'The load average column is the machine\'s 1-minute load when the row started: other developers\' work shares these ' +
      '2 cores, and a starved client sends late however it schedules.' +
      (r.simulator_warmup
        ? ` Before the rows, one uncounted ${r.simulator_warmup.seconds} s run at ${r.simulator_warmup.rate} req/s warms the simulator up: its first run at a high rate is slow for about a second whatever the client, later runs are not (below, "How the load generator got there").`
        : ''),
    '',
    '`scheduler`: `default` is an ordinary process; `fifo` runs the client under SCHED_FIFO (`chrt -f 10 npx kvsweep loadgen ...`), ' +
      'which keeps other processes from taking its CPU at the moment a send is due.',
    '',
    'Runs of this benchmark at different times are not comparable on this shared machine (the aiperf and HTTP-client rows below, ' +
      'whose code does not change, show how fast the machine was): client variants are compared side by side, in interleaved ' +
      'rounds, with `bench/loadgen-compare.ts` (below, "How the load generator got there").',
    '',
    '### Send-time error at 500 req/s (goal: p99 <= 1 ms)',
    '',
    '| scheduler | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | p99 after 1st s ms | client CPU % | simulator CPU % | load avg |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...(r.at_500 as any[]).map((x) =>
      `| ${x.policy} | ${f(x.achieved, 1)} | ${f(x.send_p50_ms, 3)} | ${f(x.send_p99_ms, 3)} | ${f(x.send_p999_ms, 3)} | ${f(x.send_max_ms, 1)} | ${f(x.send_p99_after_1s_ms, 3)} | ${f(x.client_cpu_percent, 0)} | ${f(x.simulator_cpu_percent, 0)} | ${f(x.load_average, 1)} |`),
    '',
    `### Ramp, one run per rate: highest sustained rate ${Object.entries(r.max_sustained_rate as Record<string, number>).map(([p, v]) => `**${v} req/s** (${p})`).join(', ')}`,
    '',
    'Sustained = no failed request, achieved rate >= 97% of the target, send-time error p99 <= 1 ms; ' +
      'each rate is one run, so a rate below the highest sustained one can miss' +
      missedBelow(r) + '. ' +
      'A TTFT p50 far above a millisecond means the simulator, not the client, is behind (requests queue in it). ' +
      `Highest rate tried that ran without failures, whatever the send precision: ${f(r.max_achieved_rate, 0)} req/s ` +
      `(the ramp ends at ${(r.ramp as any[]).at(-1)?.rate ?? '-'} req/s, so this is a floor of the client's throughput, not its ceiling).`,
    '',
    ...(r.max_sustained_rate_after_1s
      ? [
          'Most late sends of a run fall in its first second (the simulator and the client starting up; below, ' +
            '"How the load generator got there"). The same test on the turns scheduled after the first second (a secondary figure; ' +
            `the goal is judged on the whole run above): ${Object.entries(r.max_sustained_rate_after_1s as Record<string, number>).map(([p, v]) => `${v} req/s (${p})`).join(', ')}.`,
          '',
        ]
      : []),
    ...rateTable(r.ramp as any[]),
    ...(r.goal_rate
      ? [
          `### The goal (>= ${r.goal_rate.rate} req/s at send-time p99 <= 1 ms), run again: ${Object.entries(r.goal_rate.held as Record<string, number>).map(([p, v]) => `**held in ${v} of ${(r.goal_rate.runs as any[]).filter((x) => x.policy === p).length} runs** (${p})`).join(', ')}`,
          '',
          `One row per rate is one sample on this machine, so the goal is judged here: ${r.goal_rate.rate} req/s run again, each time a fresh client process, same criterion (the ramp's row at that rate is one more sample).`,
          '',
          ...rateTable(r.goal_rate.runs as any[]),
        ]
      : []),
  ];
  if (r.reference) {
    lines.push('### Reference client: aiperf (PyPI), same simulator, same request shape', '');
    if (r.reference.error) lines.push(`Not run: ${r.reference.error}`, '');
    else {
      lines.push(
        `aiperf ${r.reference.version}, installed into \`.kvsweep/refclients/aiperf\` (git-ignored) with ` +
          '`python3 -m venv .kvsweep/refclients/aiperf && .kvsweep/refclients/aiperf/bin/pip install aiperf==0.13.0`. ' +
          'It reports no send-time error, so the comparison is on achieved request throughput at the same offered rates.',
        '',
        '| offered req/s | aiperf achieved req/s | errors | aiperf TTFT p50 ms |',
        '| --- | --- | --- | --- |',
        ...(r.reference.runs as any[]).map((x) => `| ${x.rate} | ${f(x.request_throughput, 0)} | ${x.errors} | ${f(x.ttft_p50_ms, 2)} |`),
        '',
        `Ratio: kvsweep's highest rate run without failures / aiperf's best achieved throughput = ${f(r.max_achieved_rate, 0)} / ${f(r.reference.best_request_throughput, 0)} = **${f(r.ratio_kvsweep_to_reference, 2)}x** ` +
          '(at least: aiperf levels off below the offered rate, kvsweep was not pushed to its ceiling).',
        '',
      );
    }
  }
  if (r.http_vs_fetch) {
    const h = r.http_vs_fetch;
    lines.push(
      '### HTTP clients: kvsweep\'s HTTP/1.1 connection, undici dispatch, Node http, fetch',
      '',
      `Closed loop, ${h.in_flight} streaming requests always in flight for ${h.seconds} s each, same simulator (the benchmark process's own CPU per request):`,
      '',
      '| client | req/s | CPU us / request |',
      '| --- | --- | --- |',
      ...(h.kvsweep_http1 ? [`| kvsweep's own HTTP/1.1 connection (loadgen/http1.ts), one per request in flight (the load generator) | ${f(h.kvsweep_http1.rps, 0)} | ${f(h.kvsweep_http1.cpu_us_per_request, 0)} |`] : []),
      `| undici \`Client.dispatch\`, one keep-alive connection per request in flight (the load generator before) | ${f(h.undici.rps, 0)} | ${f(h.undici.cpu_us_per_request, 0)} |`,
      `| Node \`http.request\`, keep-alive agent | ${f(h.http.rps, 0)} | ${f(h.http.cpu_us_per_request, 0)} |`,
      `| \`fetch\` | ${f(h.fetch.rps, 0)} | ${f(h.fetch.cpu_us_per_request, 0)} |`,
      '',
    );
  }
  if (r.trace_load) {
    const t = r.trace_load;
    lines.push('### Trace loading', '', `A ${t.rows.toLocaleString('en-US')}-row synthetic trace loads (streamed CSV parse, validation, sort) in ${f(t.seconds, 1)} s; resident memory grew by ${f(t.rss_growth_mb, 0)} MB.`, '');
  }
  return lines.join('\n');
}

export async function updateDocsSection(path: string, results: Record<string, unknown>): Promise<void> {
  const section = renderSection(results);
  const text = existsSync(path) ? await readFile(path, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(`\n${HEADING}\n`);
  let next: string;
  if (start === -1) next = `${text.trimEnd()}\n\n${section}`;
  else {
    const after = text.indexOf('\n## ', start + HEADING.length + 1);
    next = text.slice(0, start + 1) + section + (after === -1 ? '\n' : `\n${text.slice(after + 1)}`);
  }
  await writeFile(path, next.endsWith('\n') ? next : `${next}\n`);
}
