// PyTorch's Linear on the GPU, forward and backward, over the matmul family: y = x·Wᵀ + b
// with W stored [out, in] as Hugging Face stores it; the weight and bias gradients come from
// weightAndBiasGrad (one product that also sums dy's columns, or the product and a column-sum
// pass, whichever the adapter runs faster for the shape; fixed orders, no atomics).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { matmul, type Activation, type MatrixView, type MatrixOperand } from '../kernels/matmul.js';
import { weightAndBiasGrad } from '../kernels/weight-grad.js';

/** A 2-D window of a row-major buffer: `rows`×`cols` starting at `offset`, rows `ld` apart. */
export function view2d(t: Tensor, rows: number, cols: number, ld = cols, offset = 0): MatrixView {
  return { tensor: t, batch: [1, 1], rows, cols, ld, batchStrides: [0, 0], offset };
}

/**
 * y = x·Wᵀ + b (PyTorch's Linear; W is [out, in]). With `activation` and `preActivation`: y =
 * act(x·Wᵀ + b), the values before the activation stored in `preActivation` (for backward).
 */
export function linearForward(rt: Runtime, x: MatrixOperand, W: Tensor, b: Tensor, y: MatrixOperand, label: string, activation: Activation = 'none', preActivation?: Tensor): Promise<Op> {
  return matmul(rt, x, W, y, { transB: true, bias: b, activation, label, preActivationOut: preActivation });
}

/** Backward of y = x·Wᵀ + b: dW += dyᵀ·x and db += Σ_rows dy, and dx (= dy·W) written or, with `accumulateDx`, added */
export async function linearBackward(
  rt: Runtime,
  a: { dy: MatrixOperand; x: MatrixOperand; W: Tensor; dW: Tensor; db: Tensor; dx: MatrixOperand | null; accumulateDx?: boolean; label: string },
): Promise<Op[]> {
  const ops: Op[] = [];
  if (a.dx) ops.push(await matmul(rt, a.dy, a.W, a.dx, { accumulate: Boolean(a.accumulateDx), label: `${a.label}.dx` }));
  ops.push(...(await weightAndBiasGrad(rt, { dy: a.dy, x: a.x, dW: a.dW, db: a.db, accumulate: true, label: a.label })));
  return ops;
}
