// Column sums (bias gradients) against the float64 reference: odd shapes, one and two
// passes, strided views (row stride > cols, offset, stacked batches), accumulate,
// bit-identical reruns, bad inputs.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, expectClose } from './harness.js';
import { columnSum } from '../src/kernels/colsum.js';
import { refColumnSum } from '../src/kernels/ref/colsum.js';
import type { MatrixView } from '../src/kernels/matmul.js';

// Sums of ≤ 700 f32 terms |x| < 1: rounding error ≪ 1e-6·rows.
const tol = (rows: number) => ({ atol: 1e-6 * rows + 1e-6, rtol: 1e-6 });

describe('colsum', () => {
  it('odd shapes, one pass and two passes (several row blocks, last one short)', async () => {
    const rt = await getRuntime();
    let seed = 1;
    for (const [rows, cols] of [[1, 1], [7, 13], [65, 3], [301, 67], [700, 130]] as const)
      for (const rowsPerBlock of [undefined, 64, 5]) {
        const x = randomArray(rows * cols, seed++);
        const tx = rt.upload(x, [rows, cols]), db = rt.upload(randomArray(cols, seed++), [cols]);
        const ops = await columnSum(rt, tx, db, { rowsPerBlock });
        expect(ops.length).toBe(rowsPerBlock && rows > rowsPerBlock ? 2 : 1);
        await rt.run(...ops);
        expectClose(await rt.read(db), refColumnSum(x, rows, cols), tol(rows), `${rows}x${cols} rowsPerBlock ${rowsPerBlock}`);
        rt.release(tx, db);
      }
  });

  it('dbOffset writes a slice of a longer db and leaves the rest alone (one and two passes)', async () => {
    const rt = await getRuntime();
    const [rows, cols, total, off] = [37, 9, 30, 13];
    const x = randomArray(rows * cols, 60), d0 = randomArray(total, 61);
    const tx = rt.upload(x, [rows, cols]), db = rt.upload(d0, [total]);
    for (const [rowsPerBlock, accumulate] of [[undefined, false], [8, true]] as const) {
      rt.write(db, d0);
      await rt.run(...(await columnSum(rt, tx, db, { dbOffset: off, rowsPerBlock, accumulate })));
      const want = Float64Array.from(d0);
      const sums = refColumnSum(x, rows, cols);
      for (let c = 0; c < cols; c++) want[off + c] = sums[c] + (accumulate ? d0[off + c] : 0);
      expectClose(await rt.read(db), want, tol(rows), `dbOffset ${off} rowsPerBlock ${rowsPerBlock} accumulate ${accumulate}`);
    }
    await expect(columnSum(rt, tx, db, { dbOffset: 25 })).rejects.toThrow(/colsum: db has shape \[30\], expected \[9\] .* from offset 25/);
    rt.release(tx, db);
  });

  it('accumulate (db += Σ) and a 3-D tensor [b, t, c]', async () => {
    const rt = await getRuntime();
    const [b, t, c] = [3, 11, 21];
    const x = randomArray(b * t * c, 40), d0 = randomArray(c, 41);
    const tx = rt.upload(x, [b, t, c]), db = rt.upload(d0, [c]);
    for (const rowsPerBlock of [undefined, 4]) {
      rt.write(db, d0);
      await rt.run(...(await columnSum(rt, tx, db, { accumulate: true, rowsPerBlock })));
      expectClose(await rt.read(db), refColumnSum(x, b * t, c, c, 0, d0), tol(b * t), `accumulate rowsPerBlock ${rowsPerBlock}`);
    }
    rt.release(tx, db);
  });

  it('strided views: a column slice of a wider buffer (ld > cols, offset) and stacked batches', async () => {
    const rt = await getRuntime();
    const [rows, ld, cols, off] = [37, 29, 10, 7];
    const x = randomArray(off + rows * ld, 50);
    const tx = rt.upload(x, [x.length, 1]), db = rt.zeros([cols]);
    const view: MatrixView = { tensor: tx, batch: [1, 1], rows, cols, ld, batchStrides: [0, 0], offset: off };
    for (const rowsPerBlock of [undefined, 8]) {
      await rt.run(...(await columnSum(rt, view, db, { rowsPerBlock })));
      expectClose(await rt.read(db), refColumnSum(x, rows, cols, ld, off), tol(rows), `slice rowsPerBlock ${rowsPerBlock}`);
    }
    // [2, 3] batches of 6 rows, stacked: the same as 36 rows.
    const stacked: MatrixView = { tensor: tx, batch: [2, 3], rows: 6, cols, ld, batchStrides: [18 * ld, 6 * ld], offset: off };
    await rt.run(...(await columnSum(rt, stacked, db)));
    expectClose(await rt.read(db), refColumnSum(x, 36, cols, ld, off), tol(36), 'stacked batches');
    rt.release(tx, db);
  });

  it('is bit-identical run to run', async () => {
    const rt = await getRuntime();
    const x = randomArray(513 * 33, 60);
    const tx = rt.upload(x, [513, 33]), db = rt.zeros([33]);
    const ops = await columnSum(rt, tx, db, { rowsPerBlock: 100 });
    await rt.run(...ops);
    const a = await rt.read(db);
    await rt.run(...ops);
    expect(Array.from(await rt.read(db))).toEqual(Array.from(a));
    rt.release(tx, db);
  });

  it('rejects bad inputs with the op and the shapes', async () => {
    const rt = await getRuntime();
    const tx = rt.zeros([5, 7]), db = rt.zeros([6]), v = rt.zeros([7]);
    await expect(columnSum(rt, tx, db)).rejects.toThrow(/colsum: db has shape \[6\], expected \[7\]/);
    await expect(columnSum(rt, v, v)).rejects.toThrow(/colsum: dy must have at least 2 dimensions/);
    const bad: MatrixView = { tensor: tx, batch: [1, 1], rows: 5, cols: 7, ld: 7, batchStrides: [0, 0], offset: 1 };
    await expect(columnSum(rt, bad, rt.zeros([7]))).rejects.toThrow(/colsum: dy's view reaches element 35, beyond its tensor of 35/);
    const gappy: MatrixView = { tensor: tx, batch: [1, 2], rows: 2, cols: 7, ld: 7, batchStrides: [0, 21], offset: 0 };
    await expect(columnSum(rt, gappy, rt.zeros([7]))).rejects.toThrow(/not stacked rows/);
    await expect(columnSum(rt, tx, rt.zeros([7]), { rowsPerBlock: 0 })).rejects.toThrow(/rowsPerBlock must be a positive integer/);
    rt.release(tx, db, v);
  });
});
