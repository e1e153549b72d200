// Sequence lengths computed on the GPU from padded ids equal the host's.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomInt } from './harness.js';
import { sequenceLengths } from '../src/kernels/lengths.js';

describe('sequence_lengths', () => {
  it('is one past the last non-pad id, at least 1, for odd batch shapes', async () => {
    const rt = await getRuntime();
    for (const [B, T] of [[1, 1], [3, 7], [70, 33]]) {
      const ids = Uint32Array.from(randomInt(B * T, B + T, 1, 50));
      const want = new Uint32Array(B);
      for (let b = 0; b < B; b++) {
        const keep = (b * 7) % (T + 1); // 0 … T real tokens, then padding (id 0)
        for (let t = keep; t < T; t++) ids[b * T + t] = 0;
        want[b] = Math.max(1, keep);
      }
      const ti = rt.upload(ids, [B, T], 'u32'), tl = rt.empty([B], 'u32');
      await rt.run(await sequenceLengths(rt, ti, tl, 0));
      expect(await rt.read(tl)).toEqual(want);
      rt.release(ti, tl);
    }
  });

  it('rejects mismatched shapes', async () => {
    const rt = await getRuntime();
    const ids = rt.empty([4, 5], 'u32'), l = rt.empty([3], 'u32');
    expect(() => sequenceLengths(rt, ids, l, 0)).toThrow('sequence_lengths: lengths [3] must have one entry per sequence of ids [4, 5]');
    rt.release(ids, l);
  });
});
