// A linear layer's weight and bias gradients, dW (+)= dyᵀ·x and db (+)= Σ_rows dy, by the
// route measured faster on this adapter for the shape class:
//  - 'row-sums': one product that also sums dy's columns from the values it loads
//    (matmul's rowSumsOut), no pass of its own over dy;
//  - 'column-sum': the product, then a column-sum pass (colsum.ts).
// Neither wins everywhere: on lavapipe the row sums keep the product's largest tile from
// unrolling, so where that tile is the product's best the separate pass is cheaper
// (bench/RESULTS.md, eleventh session). Both are deterministic (fixed summation orders).
import type { Op, Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { asView, matmul, shapeClass, type MatrixOperand } from './matmul.js';
import { columnSum } from './colsum.js';
import { autotune, timeOps, tuningInput, type AutotuneOptions } from './autotune.js';

export type BiasGradRoute = 'row-sums' | 'column-sum';
export const BIAS_GRAD_ROUTES: readonly BiasGradRoute[] = ['row-sums', 'column-sum'];
/** Kernel name in the autotune cache; bump when either route's performance changes. */
export const BIAS_GRAD_TUNE_KEY = 'bias-grad@1';

export interface WeightGradArgs {
  /** The layer's output gradient [rows, out]. */
  dy: MatrixOperand;
  /** The layer's input [rows, in]. */
  x: MatrixOperand;
  /** [out, in]. */
  dW: MatrixOperand;
  /** f32, out values from dbOffset. */
  db: Tensor;
  dbOffset?: number;
  /** Add to dW and db instead of overwriting them. */
  accumulate: boolean;
  /**
   * Rows capped at run time by `tensor[offset]` (u32; matmul's limit on K): the rows of dy
   * from there on are zero (the MLM head's unselected capacity), so the product skips them.
   * With `segment`: the rows are sequences of that many, sequence s capped by
   * tensor[offset + s] (its length: padded rows of dy are zero).
   */
  rowLimit?: { tensor: Tensor; offset?: number; segment?: number };
  label: string;
  autotune?: AutotuneOptions;
}

/** The ops of dW (+)= dyᵀ·x and db (+)= Σ_rows dy, by the route tuned for this shape. */
export async function weightAndBiasGrad(rt: Runtime, a: WeightGradArgs): Promise<Op[]> {
  const dy = asView(a.label, 'dy', a.dy), x = asView(a.label, 'x', a.x);
  const route = await biasGradRoute(rt, { out: dy.cols, rows: dy.rows, inp: x.cols, dtypeDy: dy.tensor.dtype, dtypeX: x.tensor.dtype }, a.autotune);
  return biasGradOps(rt, a, route);
}

async function biasGradOps(rt: Runtime, a: WeightGradArgs, route: BiasGradRoute): Promise<Op[]> {
  const limit = a.rowLimit ? { dims: ['K' as const], ...a.rowLimit } : undefined;
  const mm = { transA: true, accumulate: a.accumulate, label: `${a.label}.dW`, autotune: a.autotune, limit };
  if (route === 'row-sums') return [await matmul(rt, a.dy, a.x, a.dW, { ...mm, rowSumsOut: { tensor: a.db, offset: a.dbOffset } })];
  return [await matmul(rt, a.dy, a.x, a.dW, mm), ...(await columnSum(rt, a.dy, a.db, { accumulate: a.accumulate, dbOffset: a.dbOffset, label: `${a.label}.db` }))];
}

/** The faster route for this shape class (measured on a capped proxy shape, then cached; 'row-sums' when tuning is off). */
export async function biasGradRoute(
  rt: Runtime,
  s: { out: number; rows: number; inp: number; dtypeDy: Tensor['dtype']; dtypeX: Tensor['dtype'] },
  opts: AutotuneOptions = {},
): Promise<BiasGradRoute> {
  const M = Math.min(s.out, 256), N = Math.min(s.inp, 256), K = Math.min(s.rows, 512);
  const r = await autotune<BiasGradRoute>(
    rt,
    {
      kernel: BIAS_GRAD_TUNE_KEY,
      shapeClass: shapeClass({ M: s.out, N: s.inp, K: s.rows, transA: true, transB: false, dtypeA: s.dtypeDy, dtypeB: s.dtypeX }),
      candidates: BIAS_GRAD_ROUTES,
      fallback: 'row-sums',
      async measure(route, best) {
        const dy = rt.upload(tuningInput(K * M), [K, M], s.dtypeDy, 'autotune.dy'), x = rt.upload(tuningInput(K * N), [K, N], s.dtypeX, 'autotune.x');
        const dW = rt.empty([M, N], 'f32', 'autotune.dW'), db = rt.empty([M], 'f32', 'autotune.db');
        try {
          return await timeOps(rt, await biasGradOps(rt, { dy, x, dW, db, accumulate: true, label: 'autotune', autotune: opts }, route), { abandonAbove: 3 * best });
        } finally {
          rt.release(dy, x, dW, db);
        }
      },
    },
    opts,
  );
  return r.choice;
}
