// Column sums (bias gradients db = Σ_rows dy) at a training step's shapes, against the
// old route (a matmul onesᵀ·dy, M = 1) and TensorFlow.js's tf.sum(dy, 0); and a linear
// layer's weight and bias gradients as the model takes them (one product with rowSumsOut)
// against the product followed by a column sum.
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { columnSum } from '../src/kernels/colsum.js';
import { matmul } from '../src/kernels/matmul.js';

export function colsumCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const [rows, cols] of [[512, 128], [512, 512], [4096, 256], [4096, 1024]] as const) {
    const shape = `[${rows}, ${cols}]`, bytes = 4 * rows * cols;
    cases.push({
      kernel: 'colsum',
      shape,
      bytes,
      async setup(rt) {
        const x = rt.upload(fill(rows * cols, 5), [rows, cols]), o = rt.empty([cols]);
        return { ops: await columnSum(rt, x, o), release: () => rt.release(x, o), output: o };
      },
      tfjs: { setup: (tf) => { const x = tf.tensor(fill(rows * cols, 5), [rows, cols]); return { run: () => tf.sum(x, 0), dispose: () => x.dispose() }; } },
    });
    cases.push({
      kernel: 'colsum (matmul onesᵀ·dy)',
      shape,
      bytes,
      async setup(rt) {
        const x = rt.upload(fill(rows * cols, 5), [rows, cols]), ones = rt.upload(new Float32Array(rows).fill(1), [rows, 1]), o = rt.empty([1, cols]);
        return { ops: [await matmul(rt, ones, x, o, { transA: true })], release: () => rt.release(x, ones, o), output: o };
      },
    });
  }
  // dW = dyᵀ·x and db = Σ_rows dy for a `tiny` step's FFN (4096 tokens, 128 → 512) and the MLM
  // decoder (615 selected rows, vocabulary 8192, hidden 128).
  for (const [rows, out, inp] of [[4096, 512, 128], [615, 8192, 128]] as const) {
    const shape = `dy [${rows}, ${out}], x [${rows}, ${inp}]`, flops = 2 * rows * out * inp;
    const inputs = (rt: Parameters<BenchCase['setup']>[0]) => ({
      dy: rt.upload(fill(rows * out, 6), [rows, out]), x: rt.upload(fill(rows * inp, 7), [rows, inp]), dW: rt.empty([out, inp]), db: rt.empty([out]),
    });
    cases.push({
      kernel: 'linear dW+db (rowSumsOut)',
      shape,
      flops,
      async setup(rt) {
        const { dy, x, dW, db } = inputs(rt);
        return { ops: [await matmul(rt, dy, x, dW, { transA: true, accumulate: true, rowSumsOut: { tensor: db } })], release: () => rt.release(dy, x, dW, db), output: db };
      },
    });
    cases.push({
      kernel: 'linear dW then colsum db',
      shape,
      flops,
      async setup(rt) {
        const { dy, x, dW, db } = inputs(rt);
        const ops = [await matmul(rt, dy, x, dW, { transA: true, accumulate: true }), ...(await columnSum(rt, dy, db, { accumulate: true }))];
        return { ops, release: () => rt.release(dy, x, dW, db), output: db };
      },
    });
  }
  return cases;
}
