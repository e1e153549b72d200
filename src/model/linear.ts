// PyTorch's Linear on the GPU, forward and backward, over the matmul family: y = x·Wᵀ + b
// with W stored [out, in] as Hugging Face stores it; the weight and bias gradients come from
// weightAndBiasGrad (one product that also sums dy's columns, or the product and a column-sum
// pass, whichever the adapter runs faster for the shape; fixed orders, no atomics).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { asView, matmul, type Activation, type MatmulLimit, type MatrixView, type MatrixOperand } from '../kernels/matmul.js';
import { weightAndBiasGrad } from '../kernels/weight-grad.js';

/** A 2-D window of a row-major buffer: `rows`×`cols` starting at `offset`, rows `ld` apart. */
export function view2d(t: Tensor, rows: number, cols: number, ld = cols, offset = 0): MatrixView {
  return { tensor: t, batch: [1, 1], rows, cols, ld, batchStrides: [0, 0], offset };
}

/**
 * Rows that are B sequences of `seqLen` positions, those at or past lengths[b] padding: a
 * layer given it computes no padded row (its output there is zero) — ~18 % of the bundled
 * corpus's positions at 128.
 */
export interface Padding {
  /** [B] u32 (or non-negative i32): sequence b's at lengths[offset + b]. */
  lengths: Tensor;
  offset?: number;
  seqLen: number;
}

/**
 * Rows of which only the first count = tensor[offset] (a u32 only the GPU knows: the MLM
 * selection's) are real, the rest zero: a layer given it computes only those, and its
 * output's other rows are zero.
 */
export interface CountedRows {
  count: Tensor;
  offset?: number;
}

/** The rows a layer skips: each sequence's padding, or all past a count. */
export type RowLimit = Padding | CountedRows;

/** A [B·T, cols] operand as a batch of B matrices of T rows, and the limit that skips each one's padded rows. */
function bySequence(x: MatrixOperand, pad: Padding, label: string): MatrixView {
  const v = asView(label, 'operand', x), T = pad.seqLen, B = pad.lengths.size - (pad.offset ?? 0);
  if (v.batch[0] * v.batch[1] !== 1 || v.rows !== B * T) throw new Error(`${label}: padding needs ${B}·${T} rows of one matrix, got ${v.rows} rows in a batch of ${v.batch[0] * v.batch[1]}`);
  return { ...v, batch: [1, B], rows: T, batchStrides: [0, T * v.ld] };
}

/** A product's operands (its A and C, row-aligned) and limit on M for `rows`. */
function limitRows(rows: RowLimit, x: MatrixOperand, y: MatrixOperand, label: string): { x: MatrixOperand; y: MatrixOperand; limit: MatmulLimit } {
  if ('seqLen' in rows) return { x: bySequence(x, rows, label), y: bySequence(y, rows, label), limit: { dims: ['M'], tensor: rows.lengths, offset: rows.offset, per: 1 } };
  return { x, y, limit: { dims: ['M'], tensor: rows.count, offset: rows.offset } };
}

/**
 * y = x·Wᵀ + b (PyTorch's Linear; W is [out, in]); with `rows`, the skipped rows of y are zero. With `activation` and `preActivation`: y =
 * act(x·Wᵀ + b), the values before the activation stored in `preActivation` (for backward).
 */
export function linearForward(rt: Runtime, x: MatrixOperand, W: Tensor, b: Tensor, y: MatrixOperand, label: string, activation: Activation = 'none', preActivation?: Tensor, rows?: RowLimit): Promise<Op> {
  const o = { transB: true, bias: b, activation, label, preActivationOut: preActivation };
  if (!rows) return matmul(rt, x, W, y, o);
  const r = limitRows(rows, x, y, label);
  return matmul(rt, r.x, W, r.y, { ...o, limit: r.limit });
}

/**
 * Backward of y = x·Wᵀ + b: dW += dyᵀ·x and db += Σ_rows dy, and dx (= dy·W) written or, with
 * `accumulateDx`, added; with `rows` (dy zero on the skipped rows), dx's skipped rows are zero
 * (kept with accumulateDx) and cost no products, and dW skips them (for padding: sequences of
 * a multiple of 4 positions).
 */
export async function linearBackward(
  rt: Runtime,
  a: { dy: MatrixOperand; x: MatrixOperand; W: Tensor; dW: Tensor; db: Tensor; dx: MatrixOperand | null; accumulateDx?: boolean; label: string; rows?: RowLimit },
): Promise<Op[]> {
  const ops: Op[] = [];
  const label = `${a.label}.dx`, accumulate = Boolean(a.accumulateDx);
  if (a.dx && a.rows) {
    const r = limitRows(a.rows, a.dy, a.dx, label);
    ops.push(await matmul(rt, r.x, a.W, r.y, { accumulate, label, limit: r.limit }));
  } else if (a.dx) ops.push(await matmul(rt, a.dy, a.W, a.dx, { accumulate, label }));
  // dW sums over the rows: the skipped ones (zero in dy) are left out.
  const rowLimit = !a.rows ? undefined : 'seqLen' in a.rows ? (a.rows.seqLen % 4 === 0 ? { tensor: a.rows.lengths, offset: a.rows.offset, segment: a.rows.seqLen } : undefined) : { tensor: a.rows.count, offset: a.rows.offset };
  ops.push(...(await weightAndBiasGrad(rt, { dy: a.dy, x: a.x, dW: a.dW, db: a.db, accumulate: true, label: a.label, rowLimit })));
  return ops;
}
