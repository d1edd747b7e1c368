// Prefix identity without token ids: a conversation's turns extend one chain, conversations share
// nothing, and a prompt that does not extend the stream renames what follows the shared part.
import { describe, expect, it } from 'vitest';
import { TokenStream } from '../../offline/token-streams.ts';

describe('TokenStream', () => {
  it('extends one chain per conversation: turn 2 starts with exactly the blocks turn 1 covered', () => {
    const s = new TokenStream(7, 16, 256);
    s.extend(100, 40); // prompt 100 + reply 40 = 140 tokens: 8 full blocks
    const turn1 = [...s.blocks];
    expect(turn1).toHaveLength(8);
    s.length = 140;
    s.extend(180, 20); // the history (140) plus the new message: 200 tokens, 12 blocks
    expect(s.blocks).toHaveLength(12);
    expect(s.blocks.slice(0, 8)).toEqual(turn1);
    expect(s.chunks).toHaveLength(0);
    s.length = 200;
    s.extend(600, 10);
    expect(s.chunks).toHaveLength(2);
  });

  it('gives different conversations different hashes from the first block on', () => {
    const streams = Array.from({ length: 2000 }, (_, c) => new TokenStream(c * 2654435761, 16, 256));
    const seen = new Set<number>();
    let bad = 0;
    for (const s of streams) {
      s.extend(600, 0);
      for (const h of [...s.blocks, ...s.chunks]) {
        if (!Number.isSafeInteger(h) || h < 0) bad++;
        seen.add(h);
      }
    }
    expect(bad).toBe(0);
    expect(seen.size).toBe(2000 * (37 + 2));
  });

  it('renames the blocks after the shared part when a prompt does not extend the stream', () => {
    const s = new TokenStream(3, 16, 32);
    s.extend(100, 50); // a turn that failed: the stream stays at length 0 + ...
    const failed = [...s.blocks];
    s.length = 64; // what the conversation really has seen (an earlier turn's 64 tokens)
    s.extend(120, 10);
    // The first 64 tokens (4 blocks) are the same content; block 4 onwards is new content.
    expect(s.blocks.slice(0, 4)).toEqual(failed.slice(0, 4));
    for (let i = 4; i < failed.length; i++) expect(s.blocks[i]).not.toBe(failed[i]);
    expect(s.blocks).toHaveLength(8);
  });
});
