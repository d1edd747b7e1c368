// Small file helpers for results: atomic JSON writes (a reader never sees half a summary), reads
// that parse with the record's schema (a truncated or hand-edited file is a problem with its path,
// never a value taken on trust), and the tail of a log for error messages.
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Writes a file by rename, so readers see the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${randomUUID()}.tmp`);
  await writeFile(temporary, content);
  await rename(temporary, path);
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** A record file read back: absent, valid, or there but unusable (with why, path included). */
export type RecordRead<T> = { state: 'missing' } | { state: 'valid'; value: T } | { state: 'invalid'; problem: string };

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The first few schema problems, one line: "status: expected ...; attempts: required". */
function schemaProblems(error: z.ZodError): string {
  const lines = error.issues.slice(0, 3).map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return lines.join('; ') + more;
}

/**
 * Reads a JSON record and parses it with its schema. Unreadable JSON (a file cut short by a
 * crash) and a shape the schema refuses are `invalid`, with a problem that names the file.
 * Errors other than "no such file" (permissions, I/O) are thrown.
 */
export async function readRecord<S extends z.ZodType>(path: string, schema: S): Promise<RecordRead<z.output<S>>> {
  const text = await readText(path);
  if (text === undefined) return { state: 'missing' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { state: 'invalid', problem: `${path} is not valid JSON (${(error as Error).message})` };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { state: 'invalid', problem: `${path} does not have the expected shape: ${schemaProblems(parsed.error)}` };
  return { state: 'valid', value: parsed.data };
}

/** JSON of a file whose shape the caller checks itself, or undefined when it does not exist. */
export async function readJsonIfExists(path: string): Promise<unknown> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message})`);
  }
}

/** The last `lines` lines of a file (reading at most its last 64 KiB); [] when it does not exist. */
export async function tailLines(path: string, lines = 30): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').replace(/\r/g, '');
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    // The first line may be cut by the 64 KiB window; drop it unless the file was read whole.
    if (length < size) all.shift();
    return all.slice(-lines).map((line) => (line.length > 500 ? `${line.slice(0, 500)}…` : line));
  } finally {
    await handle.close();
  }
}
