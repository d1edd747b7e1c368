// YAML text -> plain data, keeping the document so that a problem's path can be turned back into a
// line and column. Syntax errors become problems too, without the source excerpt the yaml package
// adds to its messages (the excerpt could show a secret on the faulty line).
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigProblem, PathSegment } from './problems.ts';

export interface Position {
  line: number;
  column: number;
}

export interface YamlSource {
  file: string;
  data: unknown;
  problems: ConfigProblem[];
  /** Where a path points: the key of a mapping entry, the item of a list, else the nearest parent. */
  locate: (path: readonly PathSegment[]) => Position | undefined;
}

function firstLine(message: string): string {
  return message.replace(/ at line \d+, column \d+[\s\S]*$/, '').trim();
}

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // merge: PyYAML, which read the old runner's files, honours `<<: *anchor`; so does kvsweep.
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: true });
  const position = (offset: number | undefined): Position | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((error) => {
    const pos = position(error.pos[0]);
    return { file, path: pathAt(doc, error.pos[0]), message: `YAML: ${firstLine(error.message)}`, ...(pos ?? {}) };
  });
  const locate = (path: readonly PathSegment[]): Position | undefined => position(offsetOf(doc, path));
  if (problems.length > 0) return { file, data: undefined, problems, locate };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    problems.push({ file, path: [], message: `YAML: ${firstLine((error as Error).message)}` });
  }
  return { file, data, problems, locate };
}

function offsetOf(doc: Document, path: readonly PathSegment[]): number | undefined {
  let node = doc.contents as Node | null;
  let offset = node?.range?.[0];
  for (const segment of path) {
    if (node && isAlias(node)) node = (node.resolve(doc) as Node | undefined) ?? null;
    if (node && isMap(node)) {
      const pair = node.items.find((item) => String(isScalar(item.key) ? item.key.value : item.key) === String(segment));
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (node && isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** The path of the innermost entry around a text offset (to name where a syntax error is). */
function pathAt(doc: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node = doc.contents as Node | null;
  const contains = (n: Node | null | undefined) => !!n?.range && n.range[0] <= offset && offset <= n.range[2];
  while (node) {
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const keyStart = (item.key as Node | null)?.range?.[0];
        return (keyStart !== undefined && keyStart <= offset && (contains(item.key as Node) || contains(item.value as Node)));
      });
      if (!pair) break;
      path.push(isScalar(pair.key) ? String(pair.key.value) : String(pair.key));
      node = contains(pair.value as Node) ? (pair.value as Node) : null;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item as Node));
      if (index < 0) break;
      path.push(index);
      node = node.items[index] as Node;
    } else {
      break;
    }
  }
  return path;
}
