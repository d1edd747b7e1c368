// The layers of a sweep file (top level < defaults < an experiment's defaults < a dataset entry)
// and how a setting is read from them: the innermost layer that gives it wins, with the YAML path
// of where it was given, for messages. Pure.
import type { PathSegment } from './problems.ts';
import type { Defaults } from './schema.ts';

export type Settings = Defaults & { model_name?: string | undefined };

export interface Layer {
  path: PathSegment[];
  values: Settings;
}

/** A value and where in the file it was given. */
export interface Located<T> {
  value: T;
  path: PathSegment[];
}

/** The innermost layer's value of `key`, or undefined when no layer gives it. */
export function pick<K extends keyof Settings>(layers: readonly Layer[], key: K): Located<NonNullable<Settings[K]>> | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    const value = layer.values[key];
    if (value !== undefined) return { value: value as NonNullable<Settings[K]>, path: [...layer.path, key] };
  }
  return undefined;
}

/** Elements of a one-or-list value, each with its own path. */
export function elements<T>(located: Located<T | T[]>): Array<Located<T>> {
  if (!Array.isArray(located.value)) return [{ value: located.value, path: located.path }];
  return located.value.map((value, i) => ({ value, path: [...located.path, i] }));
}
