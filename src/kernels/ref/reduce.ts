// Float64 references for the reductions (src/kernels/reduce.ts).
import { refReduceRows } from './basic.js';

export function refRowReduce(op: 'sum' | 'max' | 'mean' | 'sumsq', x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  if (op !== 'sumsq') return refReduceRows(op, x, rows, cols);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let c = 0; c < cols; c++) acc += x[r * cols + c] ** 2;
    out[r] = acc;
  }
  return out;
}

/** Index of each row's maximum, the lowest index on ties. */
export function refArgmaxRows(x: ArrayLike<number>, rows: number, cols: number): Uint32Array {
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c] > x[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

export function refReduceAll(op: 'sum' | 'sumsq' | 'max', x: ArrayLike<number>): number {
  let acc = op === 'max' ? -Infinity : 0;
  for (let i = 0; i < x.length; i++) acc = op === 'max' ? Math.max(acc, x[i]) : acc + (op === 'sumsq' ? x[i] * x[i] : x[i]);
  return acc;
}

export function refCount(a: ArrayLike<number>, opts: { b?: ArrayLike<number>; value?: number; mask?: ArrayLike<number>; ignore?: number }): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const target = opts.b ? opts.b[i] : opts.value!;
    if (a[i] !== target) continue;
    if (opts.mask && opts.mask[i] === 0) continue;
    if (opts.ignore !== undefined && (opts.b ? opts.b[i] : a[i]) === opts.ignore) continue;
    n++;
  }
  return n;
}
