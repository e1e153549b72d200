// GELU (erf and tanh forms) forward/backward against float64 references, the reference
// backward against finite differences; dropout: exact host-twin mask, keep rate within 4σ,
// backward reproduces the forward's mask, determinism, rate 0 is the identity.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, randomNormal, expectClose, finiteDifference } from './harness.js';
import { gelu, geluBackward } from '../src/kernels/gelu.js';
import { dropout, dropoutBackward, dropoutRng } from '../src/kernels/dropout.js';
import { refGelu, refGeluBackward } from '../src/kernels/ref/gelu.js';
import { refDropout, refDropoutKeep } from '../src/kernels/ref/dropout.js';
import { fromF16, toF16 } from '../src/gpu/tensor.js';

describe('gelu', () => {
  for (const form of ['erf', 'tanh'] as const) {
    // Sizes that are multiples of 4 (8, 1000, 4100) take the kernel's vec4 path.
    it(`${form} forward and backward match the float64 reference on odd and vec4 sizes`, async () => {
      const rt = await getRuntime();
      for (const n of [1, 7, 8, 1000, 1001, 4100]) {
        const x = randomArray(n, n + 1, -6, 6);
        if (n >= 1000) x.set([0, -0, 20, -20, 100, -100, 1e-8, -1e-8], 0);
        const dy = randomNormal(n, n + 2);
        const tx = rt.upload(x, [n]), tdy = rt.upload(dy, [n]), y = rt.empty([n]), dx = rt.empty([n]);
        await rt.run(await gelu(rt, tx, y, { form }), await geluBackward(rt, tx, tdy, dx, { form }));
        // GPU erf (A&S 7.1.26) is within 1.5e-7 of erf; exp/tanh in f32: ~1e-6 at |x| ≤ 6, outputs ≤ 100.
        expectClose(await rt.read(y), refGelu(x, form), { atol: 2e-6, rtol: 2e-6 }, `gelu ${form} n=${n}`);
        expectClose(await rt.read(dx), refGeluBackward(x, dy, form), { atol: 5e-6, rtol: 1e-5 }, `gelu ${form} backward n=${n}`);
        rt.release(tx, tdy, y, dx);
      }
    });

    it(`${form}: the reference backward matches finite differences`, () => {
      const x = Float64Array.from(randomArray(41, 3, -5, 5));
      const dy = randomNormal(41, 4);
      const fd = finiteDifference((v) => refGelu(v, form).reduce((s, y, i) => s + y * dy[i], 0), x);
      // float64 central differences, step 1e-6.
      expectClose(refGeluBackward(x, dy, form), fd, { atol: 1e-7, rtol: 1e-6 }, `gelu ${form} reference vs FD`);
    });
  }

  it('rejects mismatched shapes naming the op', async () => {
    const rt = await getRuntime();
    const x = rt.empty([3, 4]), y = rt.empty([13]);
    await expect(() => gelu(rt, x, y)).toThrow(/gelu\.erf: out \[13\] must have the shape of x \[3, 4\]/);
    await expect(() => geluBackward(rt, x, y, x, { form: 'tanh' })).toThrow(/gelu\.tanh\.backward: dy \[13\] must have the shape of x \[3, 4\]/);
    rt.release(x, y);
  });
});

describe('dropout', () => {
  // 30012, a multiple of 4, takes the kernel's vec4 path; 30011 its element-wise one.
  it.each([30011, 30012])('matches the host twin exactly; keep rate within 4σ; backward reproduces the mask (n = %i)', async (n) => {
    const rt = await getRuntime();
    // σ of the keep count ≥ 52: the 4σ check is tight enough to catch a wrong rate
    const x = randomNormal(n, 11), dy = randomNormal(n, 12);
    const tx = rt.upload(x, [n]), tdy = rt.upload(dy, [n]), y = rt.empty([n]), dx = rt.empty([n]);
    const seed = 1234, step = 7;
    const rng = dropoutRng(rt, seed, step);
    for (const rate of [0.1, 0.5, 0.9]) {
      const o = { rate, rng, stream: 3 };
      await rt.run(await dropout(rt, tx, y, o), await dropoutBackward(rt, tdy, dx, o));
      const got = await rt.read(y), gdx = await rt.read(dx);
      // Bit-identical to the host Philox twin.
      expect(Array.from(got)).toEqual(Array.from(refDropout(x, rate, seed, step, 3)));
      expect(Array.from(gdx)).toEqual(Array.from(refDropout(dy, rate, seed, step, 3)));
      const kept = refDropoutKeep(n, rate, seed, step, 3).reduce((s, k) => s + k, 0);
      const mean = n * (1 - rate), sigma = Math.sqrt(n * rate * (1 - rate));
      expect(Math.abs(kept - mean), `keep count ${kept} vs ${mean} ± 4·${sigma.toFixed(1)}`).toBeLessThan(4 * sigma);
      // The backward's zeros are exactly the forward's (x and dy are never 0 here).
      for (let i = 0; i < n; i++) if ((got[i] === 0) !== (gdx[i] === 0)) throw new Error(`mask differs at ${i} (rate ${rate})`);
    }
    // Determinism run to run; a new step gives a new mask; same step again the old one.
    const o = { rate: 0.5, rng, stream: 3 };
    const op = await dropout(rt, tx, y, o);
    await rt.run(op);
    const a = Float32Array.from(await rt.read(y));
    await rt.run(op);
    expect(Float32Array.from(await rt.read(y))).toEqual(a);
    rt.write(rng, [seed, step + 1]);
    await rt.run(op);
    const b = Float32Array.from(await rt.read(y));
    expect(b).not.toEqual(a);
    expect(Array.from(b)).toEqual(Array.from(refDropout(x, 0.5, seed, step + 1, 3)));
    rt.release(tx, tdy, y, dx, rng);
  });

  it.each([1001, 1000])('rate 0 is an exact identity (special values, n = %i)', async (n) => {
    const rt = await getRuntime();
    const x = randomNormal(n, 5);
    x.set([0, -0, Infinity, -Infinity, NaN, 1e-40, 3.4e38], 0);
    const tx = rt.upload(x, [n]), y = rt.empty([n]), rng = dropoutRng(rt, 9, 1);
    await rt.run(await dropout(rt, tx, y, { rate: 0, rng, stream: 0 }));
    const got = await rt.read(y);
    expect(new Uint32Array(Float32Array.from(got).buffer)).toEqual(new Uint32Array(x.buffer));
    rt.release(tx, y, rng);
  });

  it('rejects a bad rate and mismatched shapes', async () => {
    const rt = await getRuntime();
    const x = rt.empty([10]), y = rt.empty([11]), rng = dropoutRng(rt, 1);
    await expect(() => dropout(rt, x, x, { rate: 1, rng, stream: 0 })).toThrow(/dropout: rate must be in \[0, 1\), got 1/);
    await expect(() => dropoutBackward(rt, x, y, { rate: 0.1, rng, stream: 0 })).toThrow(/dropout\.backward: dx \[11\] must have the shape of dy \[10\]/);
    rt.release(x, y, rng);
  });
});

describe('f16 storage (lavapipe; adapters without shader-f16 refuse f16 tensors)', () => {
  // 1000, a multiple of 4, takes the kernels' vec4 paths; 1001 their element-wise ones.
  it.each([1001, 1000])('gelu and dropout on f16 tensors match the f32 references within f16 rounding (n = %i)', async (n) => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    const x = fromF16(toF16(randomArray(n, 21, -6, 6))), dy = fromF16(toF16(randomNormal(n, 22)));
    const tx = rt.upload(x, [n], 'f16'), tdy = rt.upload(dy, [n], 'f16'), y = rt.empty([n], 'f16'), dx = rt.empty([n], 'f16');
    for (const form of ['erf', 'tanh'] as const) {
      await rt.run(await gelu(rt, tx, y, { form }), await geluBackward(rt, tx, tdy, dx, { form }));
      // f16 results: half an ulp is 2^-11 relative (≈ 4.9e-4), plus f16's subnormal spacing near 0.
      expectClose(await rt.read(y), refGelu(x, form), { atol: 1e-4, rtol: 1e-3 }, `gelu ${form} f16`);
      expectClose(await rt.read(dx), refGeluBackward(x, dy, form), { atol: 1e-4, rtol: 1e-3 }, `gelu ${form} backward f16`);
    }
    const rng = dropoutRng(rt, 77, 3);
    await rt.run(await dropout(rt, tx, y, { rate: 0.3, rng, stream: 1 }));
    // Exact: the f32 product rounded to f16, as on the host.
    expect(Array.from(await rt.read(y))).toEqual(Array.from(fromF16(toF16(refDropout(x, 0.3, 77, 3, 1)))));
    await expect(() => gelu(rt, tx, rt.empty([n]))).toThrow(/gelu\.erf: out has dtype f32, expected f16/);
    rt.release(tx, tdy, y, dx, rng);
  });
});
