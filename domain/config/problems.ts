// Config problems as data, and the one place that turns them into text. Every check of the config
// layer collects problems instead of stopping at the first, so a user fixes a file in one pass.
// Pure (bundled into workflow code through expand.ts): no Node APIs.
import { UserError } from '../errors.ts';

/** One segment of a YAML path: a mapping key or a list index. */
export type PathSegment = string | number;

export interface ConfigProblem {
  /** The file as the user knows it (or a pseudo name such as `<workflow input>`). */
  file: string;
  /** Where in the document; [] is the top level. */
  path: PathSegment[];
  /** 1-based, when the source text is known. */
  line?: number;
  column?: number;
  /** What is wrong, without the offending value when it could be a secret. */
  message: string;
  /** Close spellings of an unknown key or value. */
  suggestions?: string[];
  /** Extra guidance (where a key belongs, which key to use instead). */
  hint?: string;
}

/**
 * Not a fault: what planning did on the user's behalf that changes what runs (an old default
 * applied, an entry that adds no experiment, a key with no effect in this environment). `plan` and
 * `run` print each on one line; the sweep keeps them.
 */
export interface ConfigNotice {
  file: string;
  path: PathSegment[];
  line?: number;
  column?: number;
  message: string;
}

/** `experiments[0].datasets[1].cache_sizes[2]`; the empty path is the top level. */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return '(top level)';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** One line per problem: `file:line:col: path: message (did you mean 'x'?) hint`. */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  let text = `${where}: ${formatPath(problem.path)}: ${problem.message}`;
  if (problem.suggestions && problem.suggestions.length > 0) {
    text += ` (did you mean ${problem.suggestions.map((s) => `'${s}'`).join(' or ')}?)`;
  }
  if (problem.hint) text += `; ${problem.hint}`;
  return text;
}

/** One line: `file:line:col: path: message`, as problems are written. */
export function formatNotice(notice: ConfigNotice): string {
  const where = notice.line === undefined ? notice.file : `${notice.file}:${notice.line}:${notice.column ?? 1}`;
  return `${where}: ${formatPath(notice.path)}: ${notice.message}`;
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  const files = [...new Set(problems.map((p) => p.file))];
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const head = `invalid sweep config (${count} in ${files.join(', ')}):`;
  return [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n');
}

/** Bad config input: carries every problem found, as data; the message lists them all. */
export class ConfigError extends UserError {
  override name = 'ConfigError';
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(formatProblems(problems), 2);
    this.problems = problems;
  }
}

/** Throws a ConfigError when any problem was found. */
export function throwIfProblems(problems: readonly ConfigProblem[]): void {
  if (problems.length > 0) throw new ConfigError([...problems]);
}

/** The same fault found twice (a shared layer, checked once per dataset) is reported once. */
export function dedupeProblems<T extends ConfigNotice>(problems: readonly T[]): T[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}\u0000${formatPath(p.path)}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/**
 * Known names close to `input`: a small edit distance, or one contains the other
 * (`cache_size` -> `cache_sizes`, `rate` -> `request_rates`). Best first, at most two.
 */
export function didYouMean(input: string, known: readonly string[]): string[] {
  const needle = input.toLowerCase();
  const scored = known
    .map((name) => {
      const candidate = name.toLowerCase();
      const distance = editDistance(needle, candidate);
      const contains = needle.length >= 3 && (candidate.includes(needle) || needle.includes(candidate));
      const close = distance <= Math.max(2, Math.floor(candidate.length / 3));
      return { name, score: close ? distance : contains ? 100 + distance : Infinity };
    })
    .filter((s) => s.score !== Infinity)
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return scored.slice(0, 2).map((s) => s.name);
}
