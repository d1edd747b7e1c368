// The simulator's deterministic tokenizer and ChatML chat template (documented in docs/simulator.md).
// Design goal: a reply the simulator generates, once a client appends it to the conversation and
// sends it back, must tokenize to exactly the tokens the simulator counted, at exactly the place
// they were generated. Hence: special tokens and newlines are hard boundaries (text on either side
// of them tokenizes independently), and reply pieces are words of <= 10 letters, each with at most
// one leading space, never two punctuation pieces in a row.

/** Letters in one token at most; longer runs of letters are split. */
const MAX_LETTERS = 10;
/** Punctuation or whitespace characters in one token at most. */
const MAX_OTHER = 4;
export const VOCAB_SIZE = 151_000;

export const SPECIAL_TOKENS = { '<|endoftext|>': 151_643, '<|im_start|>': 151_644, '<|im_end|>': 151_645 } as const;
type Special = keyof typeof SPECIAL_TOKENS;

// One alternative per token class, tried in order: special token, newline, letters with an optional
// leading space, one digit with an optional leading space, punctuation with an optional leading
// space (never running into a special token), other whitespace.
const PIECE = /<\|(?:endoftext|im_start|im_end)\|>|\n|[ ]?\p{L}+|[ ]?\p{N}|[ ]?(?:(?!<\|(?:endoftext|im_start|im_end)\|>)[^\s\p{L}\p{N}])+|\s/gu;

/** The id of one piece: FNV-1a of its UTF-16 code units, folded into the vocabulary. */
export function pieceId(piece: string): number {
  const special = SPECIAL_TOKENS[piece as Special];
  if (special !== undefined) return special;
  let h = 0x811c9dc5;
  for (let i = 0; i < piece.length; i++) {
    h ^= piece.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % VOCAB_SIZE;
}

/** Splits text into pieces (the strings of its tokens); concatenated they give the text back. */
export function pieces(text: string): string[] {
  const out: string[] = [];
  PIECE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let run = ''; // consecutive single whitespace characters, merged up to MAX_OTHER
  while ((m = PIECE.exec(text)) !== null) {
    const p = m[0];
    if (p.length === 1 && p !== '\n' && /\s/.test(p)) {
      run += p;
      if (run.length === MAX_OTHER) {
        out.push(run);
        run = '';
      }
      continue;
    }
    if (run) {
      out.push(run);
      run = '';
    }
    const limit = p.startsWith('<|') ? p.length : /\p{L}/u.test(p) ? MAX_LETTERS : MAX_OTHER;
    const lead = p.charCodeAt(0) === 32 && p.length > 1 ? 1 : 0;
    if (p.length - lead <= limit) {
      out.push(p);
      continue;
    }
    for (let i = 0; i < p.length; ) {
      const end = i === 0 ? limit + lead : i + limit;
      out.push(p.slice(i, end));
      i = end;
    }
  }
  if (run) out.push(run);
  return out;
}

/** Token ids of a text. */
export function tokenize(text: string, into: number[] = []): number[] {
  for (const p of pieces(text)) into.push(pieceId(p));
  return into;
}

export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * ChatML, as Qwen2.5 uses it, without a default system prompt:
 * `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n` when a
 * reply is wanted. Content is used as it is (no trimming).
 */
export function renderChat(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  let text = '';
  for (const m of messages) text += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (addGenerationPrompt) text += '<|im_start|>assistant\n';
  return text;
}

/** Token ids of the templated conversation; equal to tokenize(renderChat(...)), built part by part. */
export function tokenizeChat(messages: readonly ChatMessage[], addGenerationPrompt = true): number[] {
  const ids: number[] = [];
  const start = SPECIAL_TOKENS['<|im_start|>'];
  const end = SPECIAL_TOKENS['<|im_end|>'];
  const newline = pieceId('\n');
  for (const m of messages) {
    ids.push(start);
    tokenize(m.role, ids);
    ids.push(newline);
    tokenize(m.content, ids);
    ids.push(end, newline);
  }
  if (addGenerationPrompt) {
    ids.push(start);
    tokenize('assistant', ids);
    ids.push(newline);
  }
  return ids;
}
