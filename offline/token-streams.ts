// Prefix identity without token ids. A live replay sends turn N of a conversation as turn N-1's
// prompt, its reply and the new message, so every conversation is one token stream that only
// grows, and distinct conversations share no full block (their texts differ from the first
// message on). Block i of a stream is therefore named by (conversation, i): its hash chains
// block i-1's hash with the conversation's key and the block's index, as vLLM chains hashes of
// token ids, so equal hashes still mean equal whole prefixes. Each block is hashed once, when the
// stream first reaches it, and a turn reuses the chain of the turns before it. When a turn's
// prompt does not extend the stream (a failed turn's message is not in the next prompt; a given
// prompt shorter than the stream), the stream diverges there: later blocks get a new salt.
import { mix32 } from '../simulator/hashing.ts';

const TWO_32 = 0x1_0000_0000;

/** The hash of a block or chunk: a 53-bit number, like the simulator's token-id chain. */
export function streamHash(parent: number, key: number, index: number, salt: number): number {
  const lo = parent >>> 0;
  const hi = (parent - lo) / TWO_32;
  let a = mix32(lo + Math.imul(key, 0x85ebca6b) + Math.imul(index, 0x9e3779b1));
  let b = mix32((hi ^ salt) + Math.imul(key ^ a, 0xc2b2ae35) + 0x7f4a7c15);
  a = mix32(a ^ Math.imul(b, 0x85ebca6b));
  b = mix32(b + a);
  return (b & 0x1f_ffff) * TWO_32 + a;
}

/** The parent of every stream's first block (as the simulator's ROOT_HASH). */
const ROOT = 0x1f2e3d4c;

/** One conversation's stream: the chains of its full blocks and chunks, and how far it is valid. */
export class TokenStream {
  /** Tokens of the stream that a next prompt may share (what the conversation has seen so far). */
  length = 0;
  readonly blocks: number[] = [];
  readonly chunks: number[] = [];
  private salt = 0;
  /** Tokens the chains were extended for (may pass `length` while a turn is in flight). */
  private hashedTo = 0;

  constructor(
    private readonly key: number,
    private readonly blockSize: number,
    private readonly chunkSize: number,
  ) {}

  /**
   * Chains for a turn whose prompt of `prompt` tokens shares min(prompt, length) tokens with the
   * stream, followed by a reply of `reply` tokens. The arrays are the stream's own: a turn must
   * not outlive the next turn's call.
   */
  extend(prompt: number, reply: number): void {
    const shared = Math.min(prompt, this.length);
    if (this.hashedTo > shared) {
      // Content after `shared` is new: drop the blocks holding any of it and rename the rest.
      this.blocks.length = Math.min(this.blocks.length, Math.floor(shared / this.blockSize));
      this.chunks.length = Math.min(this.chunks.length, Math.floor(shared / this.chunkSize));
      this.salt = mix32(this.salt + 0x6b43a9b5);
      this.hashedTo = shared;
    }
    const end = prompt + reply;
    if (end > this.hashedTo) {
      grow(this.blocks, Math.floor(end / this.blockSize), this.key, this.salt);
      grow(this.chunks, Math.floor(end / this.chunkSize), this.key ^ 0x5bd1e995, this.salt);
      this.hashedTo = end;
    }
  }
}

function grow(chain: number[], size: number, key: number, salt: number): void {
  for (let i = chain.length; i < size; i++) chain.push(streamHash(i === 0 ? ROOT : chain[i - 1]!, key, i, salt));
}
