// Small file helpers for results: atomic JSON writes (a reader never sees half a summary) and the
// tail of a log for error messages.
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';

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

/** Parsed JSON of a file, or undefined when it does not exist. */
export async function readJsonIfExists<T = unknown>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
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
