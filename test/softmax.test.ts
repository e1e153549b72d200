// Row softmax forward/backward on every row layout vs float64 references; the reference
// backward vs finite differences; subgroup variant vs plain; −∞ rows; shape errors.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomNormal, expectClose, finiteDifference } from './harness.js';
import { softmax, softmaxBackward } from '../src/kernels/softmax.js';
import { refSoftmax, refSoftmaxBackward } from '../src/kernels/ref/softmax.js';
import type { RowVariant } from '../src/kernels/reduce.js';
import { fromF16, toF16 } from '../src/gpu/tensor.js';
import type { Runtime } from '../src/gpu/runtime.js';

function variants(rt: Runtime): RowVariant[] {
  return rt.caps.subgroups ? ['per-invocation', 'plain', 'subgroups'] : ['per-invocation', 'plain'];
}

describe('softmax', () => {
  it('forward and backward match the float64 reference, every layout', async () => {
    const rt = await getRuntime();
    for (const variant of variants(rt))
      for (const [rows, cols, scale] of [[1, 1, 1], [3, 7, 1], [9, 129, 0.125], [2, 1000, 1], [37, 13, 2]] as const) {
        const x = randomNormal(rows * cols, rows * cols, 3), dy = randomNormal(rows * cols, cols);
        const tx = rt.upload(x, [rows, cols]), tdy = rt.upload(dy, [rows, cols]), y = rt.empty([rows, cols]), dx = rt.empty([rows, cols]);
        await rt.run(await softmax(rt, tx, y, { scale, variant }), await softmaxBackward(rt, y, tdy, dx, { scale, variant }));
        const what = `${rows}x${cols} scale=${scale} ${variant}`;
        const ry = refSoftmax(x, rows, cols, scale);
        // exp in f32 (a few ulp) and a row sum of ≤1000 terms: ~1e-6 relative.
        expectClose(await rt.read(y), ry, { atol: 1e-7, rtol: 2e-5 }, `y ${what}`);
        // Backward from the GPU's y (so only the backward's own rounding is measured).
        const gy = await rt.read(y);
        expectClose(await rt.read(dx), refSoftmaxBackward(gy, dy, rows, cols, scale), { atol: 1e-6, rtol: 1e-4 }, `dx ${what}`);
        rt.release(tx, tdy, y, dx);
      }
  });

  it('the reference backward matches finite differences', () => {
    const rows = 3, cols = 6, scale = 0.7;
    const x = Float64Array.from(randomNormal(rows * cols, 1)), dy = randomNormal(rows * cols, 2);
    const y = refSoftmax(x, rows, cols, scale);
    const fd = finiteDifference((v) => refSoftmax(v, rows, cols, scale).reduce((s, yy, i) => s + yy * dy[i], 0), x);
    // float64 central differences, step 1e-6.
    expectClose(refSoftmaxBackward(y, dy, rows, cols, scale), fd, { atol: 1e-8, rtol: 1e-6 }, 'softmax reference vs FD');
  });

  it('rows of −∞ give zeros; large logits do not overflow', async () => {
    const rt = await getRuntime();
    const x = Float32Array.from([-Infinity, -Infinity, -Infinity, 1e30, 1e30, -1e30]);
    const tx = rt.upload(x, [2, 3]), y = rt.empty([2, 3]);
    await rt.run(await softmax(rt, tx, y));
    expect(Array.from(await rt.read(y))).toEqual([0, 0, 0, 0.5, 0.5, 0]);
    rt.release(tx, y);
  });

  it('the subgroup variant agrees with the plain one and is deterministic', async () => {
    const rt = await getRuntime();
    if (!rt.caps.subgroups) return expect(() => softmax(rt, rt.empty([1, 2]), rt.empty([1, 2]), { variant: 'subgroups' })).toThrow(/softmax: the 'subgroups' variant needs/);
    const rows = 21, cols = 517;
    const x = randomNormal(rows * cols, 8, 4);
    const tx = rt.upload(x, [rows, cols]), a = rt.empty([rows, cols]), b = rt.empty([rows, cols]);
    await rt.run(await softmax(rt, tx, a, { variant: 'subgroups' }), await softmax(rt, tx, b, { variant: 'plain' }));
    // Different reduction trees: agree to f32 rounding.
    const first = Float32Array.from(await rt.read(a));
    expectClose(first, await rt.read(b), { atol: 1e-7, rtol: 1e-5 }, 'subgroups vs plain');
    // Deterministic: the subgroup variant again gives the same bits.
    await rt.run(await softmax(rt, tx, a, { variant: 'subgroups' }));
    expect(Float32Array.from(await rt.read(a))).toEqual(first);
    rt.release(tx, a, b);
  });

  it('rejects mismatched shapes naming the op', async () => {
    const rt = await getRuntime();
    const x = rt.empty([3, 4]), y = rt.empty([4, 4]);
    await expect(() => softmax(rt, x, y)).toThrow(/softmax: y \[4, 4\] must have the shape of x \[3, 4\]/);
    await expect(() => softmaxBackward(rt, x, x, y)).toThrow(/softmax\.backward: dx \[4, 4\] must have the shape of y \[3, 4\]/);
    rt.release(x, y);
  });
});

describe('softmax f16 storage (lavapipe; adapters without shader-f16 refuse f16 tensors)', () => {
  it('forward and backward on f16 tensors match the references, every layout', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    const r16 = (a: Float32Array) => fromF16(toF16(a));
    for (const variant of variants(rt)) {
      const rows = 7, cols = 131;
      const x = r16(randomNormal(rows * cols, 3, 2)), dy = r16(randomNormal(rows * cols, 4));
      const tx = rt.upload(x, [rows, cols], 'f16'), tdy = rt.upload(dy, [rows, cols], 'f16'), y = rt.empty([rows, cols], 'f16'), dx = rt.empty([rows, cols], 'f16');
      await rt.run(await softmax(rt, tx, y, { variant }), await softmaxBackward(rt, y, tdy, dx, { variant }));
      const gy = await rt.read(y);
      // f16 outputs: half an ulp relative (4.9e-4), plus f16 spacing for tiny probabilities.
      expectClose(gy, refSoftmax(x, rows, cols), { atol: 1e-5, rtol: 1e-3 }, `y f16 ${variant}`);
      expectClose(await rt.read(dx), refSoftmaxBackward(gy, dy, rows, cols), { atol: 1e-5, rtol: 2e-3 }, `dx f16 ${variant}`);
      rt.release(tx, tdy, y, dx);
    }
  });
});
