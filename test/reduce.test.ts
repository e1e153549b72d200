// Reductions: row sum/max/mean/sumsq/argmax, whole-tensor sum/sumsq/max, integer counts,
// each on every row layout this adapter has (per-invocation, workgroup tree, subgroups),
// against float64 references; subgroup variant vs plain; argmax ties; shape errors.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, randomInt, expectClose } from './harness.js';
import { argmaxRows, count, partialCount, reduceAll, reducePartials, reduceRows, type RowVariant } from '../src/kernels/reduce.js';
import { refArgmaxRows, refCount, refReduceAll, refRowReduce } from '../src/kernels/ref/reduce.js';
import type { Runtime } from '../src/gpu/runtime.js';

function variants(rt: Runtime): RowVariant[] {
  return rt.caps.subgroups ? ['per-invocation', 'plain', 'subgroups'] : ['per-invocation', 'plain'];
}

const SHAPES = [[1, 1], [3, 5], [17, 129], [5, 1000], [70, 3]] as const;

describe('reduce_rows', () => {
  for (const op of ['sum', 'max', 'mean', 'sumsq'] as const) {
    it(`${op} over rows of odd length, every layout`, async () => {
      const rt = await getRuntime();
      for (const variant of variants(rt))
        for (const [rows, cols] of SHAPES) {
          const x = randomArray(rows * cols, rows * 100 + cols);
          const tx = rt.upload(x, [rows, cols]), out = rt.empty([rows]);
          await rt.run(await reduceRows(rt, op, tx, out, { variant }));
          // Up to 1000 f32 terms |x| < 1: error ~ sqrt(n)·ulp·n worst case ≪ 1e-4.
          expectClose(await rt.read(out), refRowReduce(op, x, rows, cols), { atol: 1e-4, rtol: 1e-5 }, `${op} ${rows}x${cols} ${variant}`);
          rt.release(tx, out);
        }
    });
  }

  it('the subgroup variant agrees with the plain tree and is deterministic', async () => {
    const rt = await getRuntime();
    if (!rt.caps.subgroups) return expect(() => reduceRows(rt, 'sum', rt.empty([2, 2]), rt.empty([2]), { variant: 'subgroups' })).toThrow(/needs the adapter feature 'subgroups'/);
    const rows = 33, cols = 777;
    const x = randomArray(rows * cols, 9);
    const tx = rt.upload(x, [rows, cols]), a = rt.empty([rows]), b = rt.empty([rows]);
    const sg = await reduceRows(rt, 'sum', tx, a, { variant: 'subgroups' });
    await rt.run(sg, await reduceRows(rt, 'sum', tx, b, { variant: 'plain' }));
    const first = Float32Array.from(await rt.read(a));
    // Different summation trees: agree to f32 rounding of ~777 terms.
    expectClose(first, await rt.read(b), { atol: 2e-5, rtol: 1e-5 }, 'subgroups vs plain');
    await rt.run(sg);
    expect(Float32Array.from(await rt.read(a))).toEqual(first);
    rt.release(tx, a, b);
  });

  it('argmax resolves ties to the lowest index, every layout', async () => {
    const rt = await getRuntime();
    for (const variant of variants(rt))
      for (const [rows, cols] of [[1, 1], [7, 13], [19, 300], [4, 65]] as const) {
        // Few distinct values so that ties are common.
        const x = Float32Array.from(randomInt(rows * cols, rows + cols, 0, 5));
        const tx = rt.upload(x, [rows, cols]), out = rt.empty([rows], 'u32');
        await rt.run(await argmaxRows(rt, tx, out, { variant }));
        expect(Array.from(await rt.read(out)), `argmax ${rows}x${cols} ${variant}`).toEqual(Array.from(refArgmaxRows(x, rows, cols)));
        rt.release(tx, out);
      }
    // A row of equal values → index 0; a late unique maximum is found; a row of −∞ → 0 (and its max is −∞).
    const x = new Float32Array(3 * 100).fill(-2);
    x[100 + 99] = 5;
    x.fill(-Infinity, 200);
    const tx = rt.upload(x, [3, 100]), out = rt.empty([3], 'i32'), mx = rt.empty([3]);
    await rt.run(await argmaxRows(rt, tx, out), await reduceRows(rt, 'max', tx, mx));
    expect(Array.from(await rt.read(out))).toEqual([0, 99, 0]);
    expect(Array.from(await rt.read(mx))).toEqual([-2, 5, -Infinity]);
    rt.release(tx, out, mx);
  });

  it('rejects bad shapes naming the op and shapes', async () => {
    const rt = await getRuntime();
    const x = rt.empty([4, 6]), out = rt.empty([5]), outU = rt.empty([5], 'u32');
    await expect(() => reduceRows(rt, 'sum', x, out)).toThrow(/reduce_rows\.sum: out has 5 elements \(\[5\]\), expected 4/);
    await expect(() => argmaxRows(rt, x, outU)).toThrow(/reduce_rows\.argmax: out has 5 elements/);
    await expect(() => argmaxRows(rt, x, out)).toThrow(/reduce_rows\.argmax: out has dtype f32, expected u32 or i32/);
    rt.release(x, out, outU);
  });
});

describe('whole-tensor reductions', () => {
  for (const op of ['sum', 'sumsq', 'max'] as const) {
    it(`${op} of odd-sized tensors (one and several blocks)`, async () => {
      const rt = await getRuntime();
      for (const variant of variants(rt))
        for (const n of [1, 999, 4097, 70001]) {
          const x = randomArray(n, n + 7);
          const tx = rt.upload(x, [n]), out = rt.empty([1]);
          await rt.run(...(await reduceAll(rt, op, tx, out, { variant })));
          const want = refReduceAll(op, x);
          // Sums of 70001 terms |x|<1 in f32 blocks: error ≲ 1e-6·sqrt(n)·|partial|; 1e-3 abs is loose but meaningful.
          expectClose(await rt.read(out), [want], { atol: 1e-3, rtol: 1e-5 }, `${op} n=${n} ${variant}`);
          rt.release(tx, out);
        }
    });
  }

  it('partials of several tensors into one buffer give the global sum of squares', async () => {
    const rt = await getRuntime();
    const sizes = [5, 4096 * 3 + 1, 333];
    const xs = sizes.map((n, i) => randomArray(n, 50 + i));
    const counts = sizes.map(partialCount);
    const total = counts.reduce((s, c) => s + c, 0);
    const partials = rt.empty([1, total]), out = rt.empty([1]);
    const tensors = xs.map((x, i) => rt.upload(x, [sizes[i]]));
    const ops = [];
    let off = 0;
    for (let i = 0; i < xs.length; i++) {
      ops.push(await reducePartials(rt, 'sumsq', tensors[i], partials, off));
      off += counts[i];
    }
    ops.push(await reduceRows(rt, 'sum', partials, out));
    await rt.run(...ops);
    const want = xs.reduce((s, x) => s + refReduceAll('sumsq', x), 0);
    // ~12.6k squares in [0,1): f32 accumulation error ≪ 1e-3.
    expectClose(await rt.read(out), [want], { atol: 1e-3, rtol: 1e-5 }, 'global sumsq');
    await expect(() => reducePartials(rt, 'sumsq', tensors[1], partials, total - 1)).toThrow(/reduce_partials\.sumsq: x \[12289\] needs 4 partials at offset/);
    rt.release(partials, out, ...tensors);
  });
});

describe('counts', () => {
  it('equal, value, masked and ignored counts match the reference', async () => {
    const rt = await getRuntime();
    for (const n of [1, 13, 1001, 5003]) {
      const a = randomInt(n, n, 0, 4), b = randomInt(n, n + 1, -1, 4), mask = randomInt(n, n + 2, 0, 2);
      const ta = rt.upload(a, [n], 'i32'), tb = rt.upload(b, [n], 'i32'), tm = rt.upload(mask, [n], 'u32');
      const out = rt.upload([7, 7, 7, 7], [4], 'u32');
      const ops = [
        ...(await count(rt, ta, out, { b: tb, index: 0 })),
        ...(await count(rt, ta, out, { b: tb, mask: tm, ignore: -1, index: 1 })),
        ...(await count(rt, ta, out, { value: 2, index: 2 })),
        ...(await count(rt, ta, out, { value: 2, mask: tm, index: 3, accumulate: true })),
      ];
      await rt.run(...ops);
      const want = [refCount(a, { b }), refCount(a, { b, mask, ignore: -1 }), refCount(a, { value: 2 }), 7 + refCount(a, { value: 2, mask })];
      expect(Array.from(await rt.read(out)), `counts n=${n}`).toEqual(want);
      rt.release(ta, tb, tm, out);
    }
  });

  it('rejects mismatched sizes', async () => {
    const rt = await getRuntime();
    const a = rt.empty([10], 'u32'), b = rt.empty([11], 'u32'), out = rt.empty([1], 'u32');
    await expect(() => count(rt, a, out, { b })).rejects.toThrow(/reduce_count: a \[10\] and b \[11\] differ in size/);
    await expect(() => count(rt, a, out, { value: 1, index: 1 })).rejects.toThrow(/reduce_count: index 1 is outside out \[1\]/);
    rt.release(a, b, out);
  });
});

describe('accuracy from argmax and a masked count (how metrics use them)', () => {
  it('argmax of logits then count(pred == label, ignoring -100) in one submit', async () => {
    const rt = await getRuntime();
    const rows = 301, classes = 7;
    const logits = randomArray(rows * classes, 31);
    const pred = refArgmaxRows(logits, rows, classes);
    // Labels: the prediction for about half the rows, another class or -100 (ignored) otherwise.
    const labels = Int32Array.from(pred, (p, i) => (i % 5 === 0 ? -100 : i % 2 ? p : (p + 1) % classes));
    const tl = rt.upload(logits, [rows, classes]), tp = rt.empty([rows], 'i32'), ty = rt.upload(labels, [rows], 'i32'), out = rt.empty([2], 'u32');
    await rt.run(await argmaxRows(rt, tl, tp), ...(await count(rt, tp, out, { b: ty, ignore: -100, index: 0 })), ...(await count(rt, ty, out, { value: -100, index: 1 })));
    const [correct, ignored] = Array.from(await rt.read(out));
    expect(correct).toBe(refCount(Array.from(pred), { b: labels, ignore: -100 }));
    expect(ignored).toBe(Math.ceil(rows / 5));
    expect(correct).toBeGreaterThan(50);
    rt.release(tl, tp, ty, out);
  });
});
