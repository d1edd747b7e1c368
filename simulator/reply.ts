// The text the simulated model "generates": a deterministic function of (seed, prompt, position),
// like greedy decoding of a fixed model, built only from pieces that tokenize back to themselves
// (see tokenizer.ts): words of 4-6 letters with one leading space (none on the first word of a
// chat reply), and a comma or full stop now and then, never two in a row.
import { pieceId } from './tokenizer.ts';
import { mix32 } from './hashing.ts';

const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';
const WORD_COUNT = 1024;

/** One piece of reply vocabulary with its token id and its JSON string literal (for fast SSE). */
export interface ReplyPiece {
  readonly text: string;
  readonly id: number;
  readonly json: string;
}

function piece(text: string): ReplyPiece {
  return { text, id: pieceId(text), json: JSON.stringify(text) };
}

function buildWords(): string[] {
  const words = new Set<string>();
  let state = 12345;
  while (words.size < WORD_COUNT) {
    state = mix32(state + 0x9e3779b9);
    const syllables = 2 + (state % 2); // 2 or 3 syllables: 4 or 6 letters
    let w = '';
    let s = state;
    for (let i = 0; i < syllables; i++) {
      s = mix32(s + i + 1);
      w += CONSONANTS[s % CONSONANTS.length]! + VOWELS[(s >>> 8) % VOWELS.length]!;
    }
    words.add(w);
  }
  return [...words];
}

const WORDS = buildWords();
/** Words with a leading space: every word of a reply but the first of a chat reply. */
const SPACED = WORDS.map((w) => piece(` ${w}`));
const BARE = WORDS.map((w) => piece(w));
const PUNCTUATION = [piece(','), piece('.')];

/**
 * Picks the piece at position `index` of a reply. `previousWasPunctuation` keeps punctuation from
 * following punctuation (two in a row would tokenize as one piece). `bareFirst` drops the leading
 * space of the first word (chat replies start right after the template's newline).
 */
export function replyPiece(seed: number, promptKey: number, index: number, previousWasPunctuation: boolean, bareFirst: boolean): ReplyPiece {
  const h = mix32(mix32(seed ^ promptKey) + Math.imul(index + 1, 0x9e3779b1));
  if (index > 0 && !previousWasPunctuation && h % 11 === 0) return PUNCTUATION[(h >>> 4) & 1]!;
  const w = (h >>> 8) % WORD_COUNT;
  return index === 0 && bareFirst ? BARE[w]! : SPACED[w]!;
}

/** True when the reply piece is punctuation (for the next call's `previousWasPunctuation`). */
export function isPunctuation(p: ReplyPiece): boolean {
  return p === PUNCTUATION[0] || p === PUNCTUATION[1];
}

/**
 * Where the model would emit its end-of-sequence token on its own, when `ignore_eos` is off: a
 * deterministic length in [1, 512] per (seed, prompt), so replies without a `max_tokens` end.
 */
export function naturalLength(seed: number, promptKey: number): number {
  return 1 + (mix32(seed ^ promptKey ^ 0x5bd1e995) % 512);
}
