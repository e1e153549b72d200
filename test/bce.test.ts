// Weighted BCE with logits: reference vs finite differences, GPU vs reference.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, expectClose, finiteDifference, rng } from './harness.js';
import { bce } from '../src/kernels/bce.js';
import { refBce } from '../src/kernels/ref/bce.js';

function inputs(n: number, seed: number) {
  const r = rng(seed);
  const z = randomArray(n, seed, -8, 8);
  if (n > 3) { z[0] = 60; z[1] = -60; z[2] = 0; } // extreme logits: the stable form stays finite
  const y = Float32Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
  const w = Float32Array.from({ length: n }, () => (r() < 0.2 ? 0 : r() < 0.5 ? 1 : 0.5));
  return { z, y, w };
}

describe('bce', () => {
  it('reference gradient matches finite differences', () => {
    const { z, y, w } = inputs(23, 3);
    const z64 = Float64Array.from(z);
    const fd = finiteDifference((x) => refBce(x, y, w, 50).loss, z64);
    // central differences of a smooth function with eps 1e-6: error ~1e-8 relative.
    expectClose(refBce(z64, y, w, 50).dz, fd, { atol: 1e-7, rtol: 1e-5 }, 'bce ref vs fd');
  });

  it('GPU loss, counts and dlogits match the reference on odd sizes; accumulate adds', async () => {
    const rt = await getRuntime();
    for (const n of [1, 5, 1000, 9001]) {
      const { z, y, w } = inputs(n, n);
      if (n === 1) w[0] = 1;
      const tz = rt.upload(z, [n]), ty = rt.upload(y, [n]), tw = rt.upload(w, [n]), dz = rt.empty([n]);
      const b = await bce(rt, { logits: tz, target: ty, weight: tw, dlogits: dz }, { lambda: 50 });
      await rt.run(...b.forward, ...b.backward);
      const want = refBce(z, y, w, 50);
      const out = await rt.read(b.out);
      // f32 sums of n terms of size ≤ 60 (tree order): relative error ~1e-6.
      expectClose(out.slice(0, 6), [want.loss, want.lossSum, want.weightSum, want.correct, want.count, want.scale], { atol: 1e-5, rtol: 1e-5 }, `bce out n=${n}`);
      // one sigmoid in f32 per element, times scale: absolute error ~ulp(scale).
      expectClose(await rt.read(dz), want.dz, { atol: 1e-6 * want.scale, rtol: 1e-5 }, `bce dz n=${n}`);
      const acc = await bce(rt, { logits: tz, target: ty, weight: tw, dlogits: dz }, { lambda: 50, accumulate: true });
      await rt.run(...acc.forward, ...acc.backward);
      expectClose(await rt.read(dz), Array.from(want.dz, (x) => 2 * x), { atol: 2e-6 * want.scale, rtol: 1e-5 }, `bce accumulate n=${n}`);
      b.release();
      acc.release();
      rt.release(tz, ty, tw, dz);
    }
  });

  it('all-zero weights give zero loss and zero gradients (no NaN)', async () => {
    const rt = await getRuntime();
    const n = 17;
    const tz = rt.upload(randomArray(n, 1), [n]), ty = rt.upload(new Float32Array(n), [n]), tw = rt.zeros([n]), dz = rt.empty([n]);
    const b = await bce(rt, { logits: tz, target: ty, weight: tw, dlogits: dz }, { lambda: 50 });
    await rt.run(...b.forward, ...b.backward);
    expect(Array.from(await rt.read(b.out))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(await rt.read(dz)).every((x) => x === 0)).toBe(true);
    b.release();
    rt.release(tz, ty, tw, dz);
  });

  it('rejects mismatched shapes, naming the op', async () => {
    const rt = await getRuntime();
    const a = rt.empty([10]), c = rt.empty([9]);
    await expect(bce(rt, { logits: a, target: a, weight: c })).rejects.toThrow(/bce: weight has shape \[9\], logits \[10\]/);
    rt.release(a, c);
  });
});
