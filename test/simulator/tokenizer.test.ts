import { describe, expect, it } from 'vitest';
import { pieces, renderChat, tokenize, tokenizeChat, SPECIAL_TOKENS } from '../../simulator/tokenizer.ts';
import { isPunctuation, replyPiece, type ReplyPiece } from '../../simulator/reply.ts';

describe('tokenizer', () => {
  it('splits text into pieces that concatenate back to the text', () => {
    const texts = ['Hello, world!  How are   you?', 'abc123 x\n\ny\t z', 'supercalifragilistic word', 'éàü naïve café 日本語', '', '   ', '...!!!???'];
    for (const t of texts) expect(pieces(t).join('')).toBe(t);
  });

  it('gives words with one leading space one token, and splits long letter runs at 10', () => {
    expect(pieces('Hello world again')).toEqual(['Hello', ' world', ' again']);
    expect(pieces(' abcdefghijklmnop')).toEqual([' abcdefghij', 'klmnop']);
    expect(pieces('2024')).toEqual(['2', '0', '2', '4']);
    expect(pieces('a  b')).toEqual(['a', ' ', ' b']);
  });

  it('treats special tokens and newlines as boundaries', () => {
    expect(pieces('<|im_start|>user\nhi<|im_end|>\n')).toEqual(['<|im_start|>', 'user', '\n', 'hi', '<|im_end|>', '\n']);
    expect(tokenize('<|im_end|>')).toEqual([SPECIAL_TOKENS['<|im_end|>']]);
  });

  it('is deterministic and case sensitive', () => {
    expect(tokenize('Same text here')).toEqual(tokenize('Same text here'));
    expect(tokenize('word')).not.toEqual(tokenize('Word'));
  });

  it('builds the chat template part by part exactly as tokenizing the rendered text', () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Tell me  about\ncaches, please' },
      { role: 'assistant', content: 'kalo mira, tosu.' },
      { role: 'user', content: '' },
    ];
    expect(tokenizeChat(messages)).toEqual(tokenize(renderChat(messages)));
    expect(tokenizeChat(messages, false)).toEqual(tokenize(renderChat(messages, false)));
  });

  it('costs 5 tokens per message plus 3 for the generation prompt (documented overhead)', () => {
    const content = 'one two three';
    expect(tokenizeChat([{ role: 'user', content }]).length).toBe(5 + 3 + 3);
    expect(tokenizeChat([{ role: 'user', content }], false).length).toBe(5 + 3);
  });
});

describe('reply text', () => {
  function reply(seed: number, key: number, n: number, bareFirst: boolean): ReplyPiece[] {
    const out: ReplyPiece[] = [];
    for (let i = 0; i < n; i++) out.push(replyPiece(seed, key, i, i > 0 && isPunctuation(out[i - 1]!), bareFirst));
    return out;
  }

  it('re-tokenizes to exactly the generated tokens, for many prompts', () => {
    for (let key = 0; key < 200; key++) {
      const r = reply(7, key * 7919, 300, true);
      const text = r.map((p) => p.text).join('');
      expect(tokenize(text)).toEqual(r.map((p) => p.id));
    }
  });

  it('stays in place inside the chat template of the next turn', () => {
    const r = reply(1, 42, 64, true);
    const text = r.map((p) => p.text).join('');
    const turn1 = tokenizeChat([{ role: 'user', content: 'first question' }]);
    const turn2 = tokenizeChat([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: text },
      { role: 'user', content: 'second question' },
    ]);
    expect(turn2.slice(0, turn1.length + r.length)).toEqual([...turn1, ...r.map((p) => p.id)]);
  });

  it('depends on the seed and the prompt, and never starts a chat reply with a space', () => {
    const a = reply(1, 5, 20, true).map((p) => p.text).join('');
    expect(reply(1, 5, 20, true).map((p) => p.text).join('')).toBe(a);
    expect(reply(2, 5, 20, true).map((p) => p.text).join('')).not.toBe(a);
    expect(reply(1, 6, 20, true).map((p) => p.text).join('')).not.toBe(a);
    expect(a.startsWith(' ')).toBe(false);
    expect(reply(1, 5, 1, false)[0]!.text.startsWith(' ')).toBe(true);
  });
});
