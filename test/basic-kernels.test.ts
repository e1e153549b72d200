// The first kernels, end to end through the harness: elementwise, row reduction, matmul,
// on seeded random inputs of odd sizes, against float64 references.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, expectClose } from './harness.js';
import { affine, binary, tanhBackward, tanhForward, BINARY_OPS, type BinaryOp } from '../src/kernels/elementwise.js';
import { reduceRows } from '../src/kernels/reduce.js';
import { matmul } from '../src/kernels/matmul.js';
import { gatherRows, queryRows, scatterRows } from '../src/kernels/gather.js';
import { refAffine, refBinary, refMatmul, refQueryRows, refReduceRows, refTanh, refTanhBackward } from '../src/kernels/ref/basic.js';
import { smokeRun } from '../src/kernels/smoke.js';

describe('elementwise', () => {
  for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
    it(`${op} matches the float64 reference on odd sizes`, async () => {
      const rt = await getRuntime();
      for (const n of [1, 7, 257, 1000]) {
        const a = randomArray(n, n * 3 + 1);
        const b = randomArray(n, n * 3 + 2, op === 'div' ? 0.5 : -1, op === 'div' ? 2 : 1);
        const ta = rt.upload(a, [n]), tb = rt.upload(b, [n]), out = rt.empty([n]);
        await rt.run(await binary(rt, op, ta, tb, out));
        // f32 rounding of one op: half an ulp relative.
        expectClose(await rt.read(out), refBinary(op, a, b), { atol: 1e-7, rtol: 1e-6 }, `${op} n=${n}`);
        rt.release(ta, tb, out);
      }
    });
  }

  it('tanh and its backward match the float64 reference (and the backward finite differences)', async () => {
    const rt = await getRuntime();
    for (const n of [1, 7, 257, 1000]) {
      const x = randomArray(n, n + 11, -4, 4), dy = randomArray(n, n + 12);
      const tx = rt.upload(x, [n]), tdy = rt.upload(dy, [n]), y = rt.empty([n]), dx = rt.empty([n]);
      await rt.run(await tanhForward(rt, tx, y), await tanhBackward(rt, y, tdy, dx));
      // f32 tanh: a few ulps; the backward reuses the f32 y.
      expectClose(await rt.read(y), refTanh(x), { atol: 1e-6, rtol: 1e-5 }, `tanh n=${n}`);
      expectClose(await rt.read(dx), refTanhBackward(refTanh(x), dy), { atol: 1e-6, rtol: 1e-5 }, `tanh backward n=${n}`);
      rt.release(tx, tdy, y, dx);
    }
    // The reference backward is the derivative: central differences in float64.
    for (const x of [-2.5, -0.3, 0, 0.7, 3]) {
      const h = 1e-6, fd = (Math.tanh(x + h) - Math.tanh(x - h)) / (2 * h);
      expect(refTanhBackward([Math.tanh(x)], [1])[0]).toBeCloseTo(fd, 8);
    }
  });

  it('affine covers arrays longer than one grid row (2-D dispatch)', async () => {
    const rt = await getRuntime();
    const n = 65535 * 256 + 300; // forces a second row of workgroups
    const a = randomArray(n, 5);
    const ta = rt.upload(a, [n]), out = rt.empty([n]);
    await rt.run(await affine(rt, ta, out, 1.5, -0.25));
    expectClose(await rt.read(out), refAffine(a, 1.5, -0.25), { atol: 1e-6, rtol: 1e-6 }, 'affine');
    rt.release(ta, out);
  });

  it('rejects mismatched sizes and dtypes, naming the op and shapes', async () => {
    const rt = await getRuntime();
    const a = rt.empty([3, 4]), b = rt.empty([5]), i = rt.empty([12], 'i32');
    await expect(() => binary(rt, 'add', a, b, a)).toThrow(/elementwise\.add: sizes differ: a \[3, 4\], b \[5\]/);
    await expect(() => binary(rt, 'add', a, i, a)).toThrow(/elementwise\.add: b has dtype i32, expected f32/);
    rt.release(a, b, i);
  });
});

describe('reduce_rows', () => {
  for (const op of ['sum', 'max', 'mean'] as const) {
    it(`${op} over rows of odd length`, async () => {
      const rt = await getRuntime();
      for (const [rows, cols] of [[1, 1], [3, 5], [17, 129], [5, 1000]]) {
        const x = randomArray(rows * cols, rows * 100 + cols);
        const tx = rt.upload(x, [rows, cols]), out = rt.empty([rows]);
        await rt.run(await reduceRows(rt, op, tx, out));
        // Sums of up to 1000 f32 terms in |x| < 1: absolute error grows ~ sqrt(n)·ulp.
        expectClose(await rt.read(out), refReduceRows(op, x, rows, cols), { atol: 1e-4, rtol: 1e-5 }, `${op} ${rows}x${cols}`);
        rt.release(tx, out);
      }
    });
  }

  it('rejects an output of the wrong size', async () => {
    const rt = await getRuntime();
    const x = rt.empty([4, 6]), out = rt.empty([5]);
    await expect(() => reduceRows(rt, 'sum', x, out)).toThrow(/out has 5 elements \(\[5\]\), expected 4/);
    rt.release(x, out);
  });
});

describe('matmul', () => {
  it('matches the float64 reference on random odd shapes', async () => {
    const rt = await getRuntime();
    for (const [M, K, N] of [[1, 1, 1], [3, 5, 7], [33, 17, 65], [64, 64, 64], [70, 129, 31]]) {
      const A = randomArray(M * K, M + K), B = randomArray(K * N, K + N + 1);
      const tA = rt.upload(A, [M, K]), tB = rt.upload(B, [K, N]), tC = rt.empty([M, N]);
      await rt.run(await matmul(rt, tA, tB, tC));
      // K products of |x|<1 accumulated in f32 with fma: error ~ K·ulp.
      expectClose(await rt.read(tC), refMatmul(A, B, M, K, N), { atol: 1e-5 * K, rtol: 1e-5 }, `matmul ${M}x${K}x${N}`);
      rt.release(tA, tB, tC);
    }
  });

  it('rejects mismatched inner dimensions with both shapes in the message', async () => {
    const rt = await getRuntime();
    const A = rt.empty([2, 3]), B = rt.empty([4, 5]), C = rt.empty([2, 5]);
    await expect(() => matmul(rt, A, B, C)).toThrow('matmul: inner dimensions differ: A [2, 3] · B [4, 5]');
    rt.release(A, B, C);
  });
});

describe('smoke check (what `npm start` runs before training)', () => {
  it('every kernel it checks, attention with both algorithms included, is within tolerance', async () => {
    const rt = await getRuntime();
    const results = await smokeRun(rt);
    expect(results.map((r) => r.kernel)).toEqual(expect.arrayContaining(['attention fused [2,19,2×32]', 'attention materialized [2,19,2×32]']));
    for (const r of results) expect(r.ok, `${r.kernel}: max abs err ${r.maxAbsErr} > ${r.tolerance}`).toBe(true);
  });
});

describe('gather_rows', () => {
  it('rows at a list (zero rows past the valid entries) and the way back (zeros elsewhere), width odd and a multiple of 4', async () => {
    const rt = await getRuntime();
    for (const width of [5, 16]) {
      const [rows, cap] = [19, 5];
      const x = randomArray(rows * width, 60 + width);
      const list = Uint32Array.from([4, 18, 0, 0xffffffff, 0xffffffff]);
      const tx = rt.upload(x, [rows, width]), tl = rt.upload(list, [cap], 'u32'), out = rt.upload(randomArray(cap * width, 61), [cap, width]);
      await rt.run(await gatherRows(rt, tx, tl, out));
      const want = new Float32Array(cap * width);
      list.forEach((r, k) => { if (r < rows) want.set(x.subarray(r * width, (r + 1) * width), k * width); });
      expect(Array.from(await rt.read(out)), `gather, width ${width}`).toEqual(Array.from(want));
      const dy = randomArray(cap * width, 62);
      const tdy = rt.upload(dy, [cap, width]), inv = rt.empty([rows], 'u32'), dx = rt.upload(randomArray(rows * width, 63), [rows, width]);
      await rt.run(...(await scatterRows(rt, tdy, tl, inv, dx)));
      const wantDx = new Float32Array(rows * width);
      list.forEach((r, k) => { if (r < rows) wantDx.set(dy.subarray(k * width, (k + 1) * width), r * width); });
      expect(Array.from(await rt.read(dx)), `scatter, width ${width}`).toEqual(Array.from(wantDx));
      rt.release(tx, tl, out, tdy, inv, dx);
    }
  });

  it('query_rows: a sorted selection regrouped per sequence, with each one\'s count beside its length', async () => {
    const rt = await getRuntime();
    // Sequences with none, one and many selected rows (the first and last positions
    // included), a length above T, entries past the count ignored, and a count above the
    // list's size capped to it.
    const T = 7, lengths = [7, 3, 9, 5];
    const sorted = [0, 6, 15, 16, 17, 18, 20, 22, 27];
    for (const [count, cap, countOffset] of [[9, 12, 0], [5, 12, 2], [40, 9, 1], [0, 12, 0]]) {
      const list = Uint32Array.from({ length: cap }, (_, k) => (k < sorted.length && k < count ? sorted[k] : k < sorted.length ? sorted[k] : 0xffffffff));
      const meta = new Uint32Array(4).fill(1234);
      meta[countOffset] = count;
      const tl = rt.upload(list, [cap], 'u32'), tm = rt.upload(meta, [4], 'u32'), tlen = rt.upload(Uint32Array.from(lengths), [4], 'u32');
      const rows = rt.upload(new Uint32Array(4 * T).fill(77), [4 * T], 'u32'), limits = rt.upload(new Uint32Array(8).fill(77), [8], 'u32');
      await rt.run(await queryRows(rt, { list: tl, count: tm, countOffset }, tlen, T, rows, limits));
      const want = refQueryRows(list, Math.min(count, cap), lengths, T);
      expect(Array.from(await rt.read(rows)), `rows, count ${count}`).toEqual(Array.from(want.rows));
      expect(Array.from(await rt.read(limits)), `limits, count ${count}`).toEqual(Array.from(want.limits));
      rt.release(tl, tm, tlen, rows, limits);
    }
    // The reference itself, by hand: sequence 2 holds rows 15..18 and 20 (positions 1..4, 6).
    const ref = refQueryRows(sorted, 9, lengths, T);
    expect(Array.from(ref.limits)).toEqual([7, 3, 7, 5, 2, 0, 5, 2]);
    expect(Array.from(ref.rows.subarray(14, 21))).toEqual([15, 16, 17, 18, 20, 0xffffffff, 0xffffffff]);
    const ids = rt.empty([4], 'u32'), f = rt.empty([4]);
    expect(() => queryRows(rt, { list: ids, count: ids }, ids, T, rt.empty([27], 'u32'), ids)).toThrow(/query_rows: rows \[27\] must have B·T = 28 entries/);
    expect(() => queryRows(rt, { list: ids, count: ids, countOffset: 4 }, ids, T, rt.empty([28], 'u32'), rt.empty([8], 'u32'))).toThrow(/countOffset 4 is outside/);
    expect(() => queryRows(rt, { list: f, count: ids }, ids, T, rt.empty([28], 'u32'), rt.empty([8], 'u32'))).toThrow(/list/);
  });
});
