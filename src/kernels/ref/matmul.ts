// Float64 reference of the matmul family (src/kernels/matmul.ts), written for clarity.
// C = act(alpha·op(A)·op(B) + bias + (accumulate ? C : 0)) over batched strided views.
import { geluErf, geluTanh } from './activations.js';
import type { MatrixLayout } from '../matmul.js';

/** A host-side view with the layout of a MatrixView (src/kernels/matmul.ts). */
export interface HostView extends MatrixLayout {
  data: ArrayLike<number>;
}

/** A packed [rows, cols] matrix, or a packed batch [n, rows, cols] when n is given. */
export function hostMatrix(data: ArrayLike<number>, rows: number, cols: number, n = 1): HostView {
  return { data, batch: [1, n], rows, cols, ld: cols, batchStrides: [0, rows * cols], offset: 0 };
}

export interface RefMatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: ArrayLike<number>;
  activation?: 'none' | 'gelu' | 'gelu_tanh';
  accumulate?: boolean;
  alpha?: number;
  /**
   * matmul's run-time limit, as values: batch entry b's listed dims capped by
   * values[⌊b / per⌋] (per default: all entries) — M or N capped: C's rows or columns from
   * it zero (kept with accumulate); K capped: terms from it dropped; with `segment`, term k
   * kept when k mod segment < values[⌊k / segment⌋]; `also`: other dims capped by
   * also.values[⌊b / per⌋].
   */
  limit?: { dims: readonly ('M' | 'N' | 'K')[]; values: ArrayLike<number>; per?: number; segment?: number; also?: { dims: readonly ('M' | 'N' | 'K')[]; values: ArrayLike<number> } };
}

function at(v: HostView, b: number, r: number, c: number): number {
  const total = v.batch[0] * v.batch[1];
  const bb = total === 1 ? 0 : b;
  const b1 = Math.floor(bb / v.batch[1]), b2 = bb % v.batch[1];
  return v.data[v.offset + b1 * v.batchStrides[0] + b2 * v.batchStrides[1] + r * v.ld + c];
}

/**
 * Returns the full data array of C after the op (a Float64Array copy of C.data with the
 * view's elements replaced). A and B with batch 1 are broadcast over C's batch; otherwise
 * A's and B's batch index is C's (flattened) batch index.
 */
export function refMatmulView(A: HostView, B: HostView, C: HostView, o: RefMatmulOptions = {}): Float64Array {
  const out = Float64Array.from(C.data);
  const M = C.rows, N = C.cols;
  const Kfull = o.transA ? A.rows : A.cols;
  const nb = C.batch[0] * C.batch[1];
  for (let b = 0; b < nb; b++) {
    const l = o.limit ? o.limit.values[Math.floor(b / (o.limit.per ?? nb))] : Infinity;
    const l2 = o.limit?.also ? o.limit.also.values[Math.floor(b / (o.limit.per ?? nb))] : Infinity;
    const capped = (d: 'M' | 'N' | 'K', x: number) => (o.limit?.dims.includes(d) ? Math.min(x, l) : o.limit?.also?.dims.includes(d) ? Math.min(x, l2) : x);
    const seg = o.limit?.segment;
    const K = seg ? Kfull : capped('K', Kfull), rowEnd = capped('M', M), colEnd = capped('N', N);
    const kept = (k: number) => !seg || k % seg < o.limit!.values[Math.floor(k / seg)];
    const b1 = Math.floor(b / C.batch[1]), b2 = b % C.batch[1];
    const cbase = C.offset + b1 * C.batchStrides[0] + b2 * C.batchStrides[1];
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          if (!kept(k)) continue;
          const a = o.transA ? at(A, b, k, m) : at(A, b, m, k);
          const bv = o.transB ? at(B, b, n, k) : at(B, b, k, n);
          s += a * bv;
        }
        const ci = cbase + m * C.ld + n;
        if (m >= rowEnd || n >= colEnd) {
          if (!o.accumulate) out[ci] = 0;
          continue;
        }
        let y = (o.alpha ?? 1) * s;
        if (o.bias) y += o.bias[n];
        if (o.accumulate) y += C.data[ci];
        if (o.activation === 'gelu') y = geluErf(y);
        else if (o.activation === 'gelu_tanh') y = geluTanh(y);
        out[ci] = y;
      }
  }
  return out;
}

/** Packed C[M,N] = op(A)·op(B) (+ epilogue) for plain 2-D arrays. */
export function refMatmulFull(A: ArrayLike<number>, B: ArrayLike<number>, M: number, K: number, N: number, o: RefMatmulOptions = {}, C0?: ArrayLike<number>): Float64Array {
  const a = o.transA ? hostMatrix(A, K, M) : hostMatrix(A, M, K);
  const b = o.transB ? hostMatrix(B, N, K) : hostMatrix(B, K, N);
  return refMatmulView(a, b, hostMatrix(C0 ?? new Float64Array(M * N), M, N), o);
}

/** Σ_k op(A)[m, k] for each row m of op(A) (A packed, K×M when transA), k below kLimit, added to `init` when given: matmul's rowSumsOut. */
export function refRowSums(A: ArrayLike<number>, M: number, K: number, transA = false, init?: ArrayLike<number>, kLimit = K): Float64Array {
  const out = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let s = init ? init[m] : 0;
    for (let k = 0; k < Math.min(K, kLimit); k++) s += transA ? A[k * M + m] : A[m * K + k];
    out[m] = s;
  }
  return out;
}
