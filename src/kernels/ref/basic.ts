// Float64 references for the basic kernels. Plain loops, written for clarity: these are
// what the GPU kernels are tested against.

export function refBinary(op: 'add' | 'sub' | 'mul' | 'div' | 'max', a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : op === 'div' ? x / y : Math.max(x, y);
  }
  return out;
}

export function refAffine(a: ArrayLike<number>, alpha: number, beta: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = alpha * a[i] + beta;
  return out;
}

export function refReduceRows(op: 'sum' | 'max' | 'mean', x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = op === 'max' ? -Infinity : 0;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c];
      acc = op === 'max' ? Math.max(acc, v) : acc + v;
    }
    out[r] = op === 'mean' ? acc / cols : acc;
  }
  return out;
}

/** C[M,N] = A[M,K]·B[K,N] in float64. */
export function refMatmul(A: ArrayLike<number>, B: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k];
      for (let j = 0; j < N; j++) C[i * N + j] += a * B[k * N + j];
    }
  return C;
}

export function refTanh(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (x) => Math.tanh(x));
}

/** dx = dy · (1 − y²) with y = tanh(x). */
export function refTanhBackward(y: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(y, (v, i) => dy[i] * (1 - v * v));
}

/**
 * query_rows (src/kernels/gather.ts): the first `count` entries of a sorted list of rows of a
 * [B·T] batch regrouped per sequence — rows[b·T + j] the j-th of sequence b (0xffffffff past
 * its count n_b), limits = [min(lengths[b], T)…, n_b…].
 */
export function refQueryRows(list: ArrayLike<number>, count: number, lengths: ArrayLike<number>, T: number): { rows: Uint32Array; limits: Uint32Array } {
  const B = lengths.length, rows = new Uint32Array(B * T).fill(0xffffffff), limits = new Uint32Array(2 * B);
  for (let b = 0; b < B; b++) limits[b] = Math.min(lengths[b], T);
  for (let k = 0; k < Math.min(count, list.length); k++) {
    const b = Math.floor(list[k] / T);
    rows[b * T + limits[B + b]++] = list[k];
  }
  return { rows, limits };
}
