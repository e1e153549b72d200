// The GPU Philox is bit-identical to the host reference, and the fills have the right
// statistics.
import { describe, expect, it } from 'vitest';
import { getRuntime } from './harness.js';
import { randomBits, randomNormal, randomUniform } from '../src/kernels/random.js';
import { philox4x32_10 } from '../src/kernels/ref/rng.js';

describe('random (Philox4x32-10 on the GPU)', () => {
  it('raw bits equal the host reference exactly, for any seed/stream/offset', async () => {
    const rt = await getRuntime();
    const n = 1037;
    const out = rt.empty([n], 'u32');
    for (const s of [{ seed: 0 }, { seed: 1337, stream: 3, offset: 123456 }, { seed: 0xffffffff, stream: 7, offset: 0xfffffff0 }]) {
      await rt.run(await randomBits(rt, out, s));
      const got = await rt.read(out);
      for (let i = 0; i < n; i++) {
        const want = philox4x32_10([i, s.offset ?? 0, s.stream ?? 0, 0], [s.seed, 0])[0];
        if (got[i] !== want) throw new Error(`seed ${s.seed}: element ${i}: got ${got[i]}, expected ${want}`);
      }
    }
    rt.release(out);
  });

  it('uniform and normal fills have the right mean and spread (within 4σ), and repeat exactly', async () => {
    const rt = await getRuntime();
    const n = 100_003;
    const u = rt.empty([n]), z = rt.empty([n]);
    await rt.run(await randomUniform(rt, u, { seed: 7 }, -2, 2), await randomNormal(rt, z, { seed: 7, stream: 1 }, 0.5, 0.02));
    const uv = await rt.read(u), zv = await rt.read(z);
    let su = 0, sz = 0, sz2 = 0;
    for (let i = 0; i < n; i++) {
      expect(uv[i] >= -2 && uv[i] < 2).toBe(true);
      su += uv[i];
      sz += zv[i];
      sz2 += (zv[i] - 0.5) ** 2;
    }
    // uniform(-2, 2): σ = 4/√12; the mean of n draws has σ/√n.
    expect(Math.abs(su / n)).toBeLessThan((4 * (4 / Math.sqrt(12))) / Math.sqrt(n));
    expect(Math.abs(sz / n - 0.5)).toBeLessThan((4 * 0.02) / Math.sqrt(n));
    // sample variance of a normal: relative σ ≈ √(2/n).
    expect(Math.abs(Math.sqrt(sz2 / n) / 0.02 - 1)).toBeLessThan(4 * Math.sqrt(1 / (2 * n)));
    await rt.run(await randomNormal(rt, u, { seed: 7, stream: 1 }, 0.5, 0.02));
    expect(await rt.read(u)).toEqual(zv);
    rt.release(u, z);
  });
});
