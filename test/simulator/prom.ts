// Reads /metrics text with a Prometheus text-format parser library (not our own code).
import { createRequire } from 'node:module';

interface Sample {
  value?: string;
  labels?: Record<string, string>;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

export function parseMetrics(text: string): Map<string, Family> {
  return new Map(parse(text).map((f) => [f.name, f]));
}

/** The value of the single (or first) sample of a counter or gauge. */
export function value(families: Map<string, Family>, name: string): number {
  const f = families.get(name);
  if (!f) throw new Error(`metric ${name} missing; have ${[...families.keys()].join(', ')}`);
  return Number(f.metrics[0]!.value);
}
