// Log lines in vLLM's shapes: `INFO 11-28 01:40:00 [sim] message` for the engine and API server,
// `INFO:     message` for uvicorn's. All on stdout, one write per line, so a log file or a ready
// pattern sees whole lines in order.

function stamp(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const log = {
  info(message: string): void {
    process.stdout.write(`INFO ${stamp()} [sim] ${message}\n`);
  },
  warn(message: string): void {
    process.stdout.write(`WARNING ${stamp()} [sim] ${message}\n`);
  },
  error(message: string): void {
    process.stdout.write(`ERROR ${stamp()} [sim] ${message}\n`);
  },
  /** LMCache's own shape: `[2025-05-29 05:00:09,857] LMCache WARNING: message`. */
  lmcache(level: 'INFO' | 'WARNING', message: string): void {
    const d = new Date();
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    const time = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
    process.stdout.write(`[${time}] LMCache ${level}: ${message} (simulated)\n`);
  },
  uvicorn(message: string): void {
    process.stdout.write(`INFO:     ${message}\n`);
  },
};
