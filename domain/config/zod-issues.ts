// Zod issues -> config problems: YAML words (list, mapping), the path of the value at fault (not of
// the union around it), "did you mean" for unknown keys, and never the rejected value itself, which
// may be a token or a password.
import { z } from 'zod';
import { didYouMean, type ConfigProblem, type PathSegment } from './problems.ts';

type Issue = z.core.$ZodIssue;

/** What a value is, in YAML terms, without showing it. */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isFinite(value) ? 'a number' : 'a non-finite number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

const expectedWords: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'null',
};

function expectedName(expected: string): string {
  return expectedWords[expected] ?? expected;
}

/** The object schemas reachable at `path` of `schema`, for the keys an unknown key could have meant. */
function objectShapesAt(schema: z.core.$ZodType, path: readonly PathSegment[]): string[][] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return objectShapesAt(def.innerType as z.core.$ZodType, path);
    case 'pipe':
      return objectShapesAt(def.in as z.core.$ZodType, path);
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap((option) => objectShapesAt(option, path));
    case 'object': {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      if (path.length === 0) return [Object.keys(shape)];
      const [head, ...rest] = path;
      const next = typeof head === 'string' ? shape[head] : undefined;
      return next ? objectShapesAt(next, rest) : [];
    }
    case 'array':
      return typeof path[0] === 'number' ? objectShapesAt(def.element as z.core.$ZodType, path.slice(1)) : [];
    case 'record':
      return path.length > 0 ? objectShapesAt(def.valueType as z.core.$ZodType, path.slice(1)) : [];
    default:
      return [];
  }
}

function knownKeysAt(schema: z.core.$ZodType, path: readonly PathSegment[]): string[] {
  return [...new Set(objectShapesAt(schema, path).flat())];
}

/**
 * The branch of a failed union the user meant: one that got past the shape check (no type error
 * at its root), preferring one with no error at its root at all (`[rank]` is a list of modes with
 * a bad element, not a bad single mode).
 */
function chosenBranch(issue: Extract<Issue, { code: 'invalid_union' }>): Issue[] | undefined {
  const atRoot = (branch: Issue[], code?: string) =>
    branch.some((inner) => inner.path.length === 0 && (code === undefined || inner.code === code));
  const shaped = issue.errors.filter((branch) => !atRoot(branch, 'invalid_type'));
  return shaped.find((branch) => !atRoot(branch)) ?? shaped[0];
}

function flatten(issues: readonly Issue[], prefix: PathSegment[]): Array<{ issue: Issue; path: PathSegment[] }> {
  const out: Array<{ issue: Issue; path: PathSegment[] }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = issue.input === undefined ? undefined : chosenBranch(issue);
      if (branch) {
        out.push(...flatten(branch, path));
        continue;
      }
    }
    out.push({ issue, path });
  }
  return out;
}

function unionExpectation(issue: Extract<Issue, { code: 'invalid_union' }>): string {
  if (issue.message !== 'Invalid input') return issue.message;
  const expected = issue.errors
    .flatMap((branch) => branch.filter((inner) => inner.path.length === 0 && inner.code === 'invalid_type'))
    .map((inner) => (inner as Extract<Issue, { code: 'invalid_type' }>).expected);
  const words = [...new Set(expected.map((e) => (e === 'array' ? 'a list of them' : expectedName(e))))];
  return `expected ${words.join(' or ')}, got ${describeKind(issue.input)}`;
}

function bound(issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean }, direction: 'min' | 'max'): string {
  const limit = String(direction === 'min' ? issue.minimum : issue.maximum);
  if (direction === 'min') return issue.inclusive === false ? `> ${limit}` : `>= ${limit}`;
  return issue.inclusive === false ? `< ${limit}` : `<= ${limit}`;
}

function messageOf(issue: Issue, path: PathSegment[]): Pick<ConfigProblem, 'message' | 'suggestions' | 'hint'> {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) {
        return { message: `missing required key '${String(path[path.length - 1])}'` };
      }
      return { message: `expected ${expectedName(issue.expected)}, got ${describeKind(issue.input)}` };
    case 'too_small':
      if (issue.origin === 'array') return { message: 'must not be an empty list' };
      if (issue.origin === 'string') return { message: 'must not be empty' };
      return { message: `must be ${bound(issue, 'min')}` };
    case 'too_big':
      return { message: `must be ${bound(issue, 'max')}` };
    case 'invalid_value': {
      const choices = issue.values.map((v) => String(v));
      const suggestions = typeof issue.input === 'string' ? didYouMean(issue.input, choices) : [];
      return { message: `must be one of ${choices.join(', ')}`, suggestions };
    }
    case 'invalid_union':
      if (issue.input === undefined) return { message: `missing required key '${String(path[path.length - 1])}'` };
      return { message: unionExpectation(issue) };
    case 'invalid_format':
      if (issue.format === 'starts_with') return { message: `must start with '${(issue as { prefix?: string }).prefix}'` };
      return { message: issue.message };
    case 'invalid_key':
      return { message: `key ${issue.issues.map((inner) => inner.message).join('; ')}` };
    case 'custom': {
      const params = (issue.params ?? {}) as { suggestions?: string[]; hint?: string };
      return { message: issue.message, suggestions: params.suggestions, hint: params.hint };
    }
    default:
      return { message: issue.message };
  }
}

export interface ZodProblemContext {
  file: string;
  schema: z.core.$ZodType;
  /** Path of the validated value inside its file (when a schema validates a part of it). */
  basePath?: PathSegment[];
  /** Place name -> keys allowed there, to say where a misplaced key belongs. */
  keyPlaces?: Record<string, readonly string[]>;
}

/** Turns a failed parse into problems, one per fault. */
export function problemsFromZod(error: z.ZodError, context: ZodProblemContext): ConfigProblem[] {
  const base = context.basePath ?? [];
  const problems: ConfigProblem[] = [];
  for (const { issue, path } of flatten(error.issues, [])) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(context.schema, path);
      for (const key of issue.keys) {
        const places = Object.entries(context.keyPlaces ?? {})
          .filter(([, keys]) => keys.includes(key))
          .map(([place]) => place);
        problems.push({
          file: context.file,
          path: [...base, ...path, key],
          message: `unknown key '${key}'`,
          suggestions: didYouMean(key, known),
          ...(places.length > 0 ? { hint: `'${key}' belongs in ${places.join(' or ')}` } : {}),
        });
      }
      continue;
    }
    const { message, suggestions, hint } = messageOf(issue, path);
    problems.push({
      file: context.file,
      path: [...base, ...path],
      message,
      ...(suggestions && suggestions.length > 0 ? { suggestions } : {}),
      ...(hint ? { hint } : {}),
    });
  }
  return withoutMissingMisspelled(problems);
}

/**
 * `dataset:` written for `datasets:` yields "unknown key 'dataset' (did you mean 'datasets'?)"
 * and "missing required key 'datasets'": the first says it all.
 */
function withoutMissingMisspelled(problems: ConfigProblem[]): ConfigProblem[] {
  const parent = (p: ConfigProblem) => JSON.stringify(p.path.slice(0, -1));
  return problems.filter((problem) => {
    if (!problem.message.startsWith('missing required key')) return true;
    const key = problem.path[problem.path.length - 1];
    return !problems.some(
      (other) => other.message.startsWith('unknown key') && parent(other) === parent(problem) && other.suggestions?.includes(String(key)),
    );
  });
}

/** Parses `data` with `schema`, returning the value or the problems. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  data: unknown,
  context: Omit<ZodProblemContext, 'schema'>,
): { ok: true; value: z.infer<T> } | { ok: false; problems: ConfigProblem[] } {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: problemsFromZod(result.error, { ...context, schema }) };
}
