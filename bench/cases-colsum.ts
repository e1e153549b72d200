// Column sums (bias gradients db = Σ_rows dy) at a training step's shapes, against the
// old route (a matmul onesᵀ·dy, M = 1) and TensorFlow.js's tf.sum(dy, 0).
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
  return cases;
}
