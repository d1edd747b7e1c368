// KVSWEEP_PORT_BASE: where the local worker's servers take their ports.
import { describe, expect, it } from 'vitest';
import { localPortBase } from '../../client/local-stack.ts';

describe('KVSWEEP_PORT_BASE', () => {
  it("defaults to vLLM's port and takes a whole number that leaves room for the local worker's ports", () => {
    expect(localPortBase({})).toBe(8000);
    expect(localPortBase({ KVSWEEP_PORT_BASE: '' })).toBe(8000);
    expect(localPortBase({ KVSWEEP_PORT_BASE: '20000' })).toBe(20000);
  });
  it('rejects what is not a usable port range, naming the variable and the value', () => {
    for (const bad of ['80', 'abc', '8000.5', '65000']) {
      expect(() => localPortBase({ KVSWEEP_PORT_BASE: bad })).toThrow(new RegExp(`KVSWEEP_PORT_BASE=${bad.replace('.', '\\.')}: expected a whole number from 1024 to 64536`));
    }
  });
});
