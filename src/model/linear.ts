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
  /** [B] u32 (or non-negative i32). */
  lengths: Tensor;
  seqLen: number;
}

/** A [B·T, cols] operand as a batch of B matrices of T rows, and the limit that skips each one's padded rows. */
function bySequence(x: MatrixOperand, pad: Padding, label: string): MatrixView {
  const v = asView(label, 'operand', x), T = pad.seqLen, B = pad.lengths.size;
  if (v.batch[0] * v.batch[1] !== 1 || v.rows !== B * T) throw new Error(`${label}: padding needs ${B}·${T} rows of one matrix, got ${v.rows} rows in a batch of ${v.batch[0] * v.batch[1]}`);
  return { ...v, batch: [1, B], rows: T, batchStrides: [0, T * v.ld] };
}
const paddedRows = (pad: Padding): MatmulLimit => ({ dims: ['M'], tensor: pad.lengths, per: 1 });

/**
 * y = x·Wᵀ + b (PyTorch's Linear; W is [out, in]); with `padding`, padded rows of y are zero. With `activation` and `preActivation`: y =
 * act(x·Wᵀ + b), the values before the activation stored in `preActivation` (for backward).
 */
export function linearForward(rt: Runtime, x: MatrixOperand, W: Tensor, b: Tensor, y: MatrixOperand, label: string, activation: Activation = 'none', preActivation?: Tensor, padding?: Padding): Promise<Op> {
  const o = { transB: true, bias: b, activation, label, preActivationOut: preActivation };
  if (padding) return matmul(rt, bySequence(x, padding, label), W, bySequence(y, padding, label), { ...o, limit: paddedRows(padding) });
  return matmul(rt, x, W, y, o);
}

/**
 * Backward of y = x·Wᵀ + b: dW += dyᵀ·x and db += Σ_rows dy, and dx (= dy·W) written or, with
 * `accumulateDx`, added; with `padding` (dy zero on padded rows), dx's padded rows are zero
 * (kept with accumulateDx) and cost no products, and dW skips them (sequences of a multiple
 * of 4 positions).
 */
export async function linearBackward(
  rt: Runtime,
  a: { dy: MatrixOperand; x: MatrixOperand; W: Tensor; dW: Tensor; db: Tensor; dx: MatrixOperand | null; accumulateDx?: boolean; label: string; padding?: Padding },
): Promise<Op[]> {
  const ops: Op[] = [];
  const label = `${a.label}.dx`, accumulate = Boolean(a.accumulateDx);
  if (a.dx && a.padding) ops.push(await matmul(rt, bySequence(a.dy, a.padding, label), a.W, bySequence(a.dx, a.padding, label), { accumulate, label, limit: paddedRows(a.padding) }));
  else if (a.dx) ops.push(await matmul(rt, a.dy, a.W, a.dx, { accumulate, label }));
  // dW sums over the rows: with padding, each sequence's padded rows (zero in dy) are skipped.
  const rowLimit = a.padding && a.padding.seqLen % 4 === 0 ? { tensor: a.padding.lengths, segment: a.padding.seqLen } : undefined;
  ops.push(...(await weightAndBiasGrad(rt, { dy: a.dy, x: a.x, dW: a.dW, db: a.db, accumulate: true, label: a.label, rowLimit })));
  return ops;
}
