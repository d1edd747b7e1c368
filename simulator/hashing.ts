// Prefix identity, as vLLM's prefix cache defines it: block i's hash is a hash of (block i-1's hash,
// the token ids of block i), so equal hashes mean equal whole prefixes, not just equal blocks. The
// LMCache tier uses the same chain at its chunk size. Hashes are 53-bit integers (two 32-bit lanes),
// so they are exact JavaScript numbers and cheap Map keys; collisions are negligible at simulator
// sizes (millions of blocks against 2^53).

/** A 32-bit finaliser (murmur3's fmix32): spreads every input bit over the output. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The hash that precedes the first block of every sequence. */
export const ROOT_HASH = 0x1f2e3d4c;

const TWO_32 = 0x1_0000_0000;

/** Hash of the tokens [start, end) chained onto `parent`. */
export function chainHash(parent: number, tokens: ArrayLike<number>, start: number, end: number): number {
  let a = (parent % TWO_32) ^ 0x811c9dc5;
  let b = Math.floor(parent / TWO_32) ^ 0x9747b28c ^ (end - start);
  for (let i = start; i < end; i++) {
    const t = tokens[i]!;
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul((b ^ t) + 0x7f4a7c15, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = mix32(a ^ b);
  b = mix32(b + a);
  return (b & 0x1f_ffff) * TWO_32 + a;
}

/**
 * Extends `hashes` (the chain of the full units of `size` tokens already hashed) to cover every
 * full unit of `tokens`. Incremental: a sequence that grows by a token at a time hashes each unit
 * once.
 */
export function extendChain(hashes: number[], tokens: ArrayLike<number>, size: number): number[] {
  const full = Math.floor(tokens.length / size);
  for (let i = hashes.length; i < full; i++) {
    hashes.push(chainHash(i === 0 ? ROOT_HASH : hashes[i - 1]!, tokens, i * size, (i + 1) * size));
  }
  return hashes;
}
