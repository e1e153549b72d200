// Benchmark cases for the basic kernels: bandwidth-bound ops (matmuls: cases-matmul.ts),
// each with its TensorFlow.js peer.
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { binary } from '../src/kernels/elementwise.js';
import { reduceRows } from '../src/kernels/reduce.js';

export function basicCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  // A small-BERT activation: batch 32 × seq 128 × hidden 256.
  const n = 32 * 128 * 256;
  cases.push({
    kernel: 'elementwise.add',
    shape: `[${n}]`,
    bytes: 3 * 4 * n,
    async setup(rt) {
      const a = rt.upload(fill(n, 1), [n]), b = rt.upload(fill(n, 2), [n]), o = rt.empty([n]);
      return { ops: [await binary(rt, 'add', a, b, o)], release: () => rt.release(a, b, o), output: o };
    },
    tfjs: { setup: (tf) => { const a = tf.tensor(fill(n, 1), [n]), b = tf.tensor(fill(n, 2), [n]); return { run: () => tf.add(a, b), dispose: () => (a.dispose(), b.dispose()) }; } },
  });
  cases.push({
    kernel: 'reduce_rows.sum',
    shape: '[4096, 256]',
    bytes: 4 * 4096 * 256,
    async setup(rt) {
      const x = rt.upload(fill(4096 * 256, 3), [4096, 256]), o = rt.empty([4096]);
      return { ops: [await reduceRows(rt, 'sum', x, o)], release: () => rt.release(x, o), output: o };
    },
    tfjs: { setup: (tf) => { const x = tf.tensor(fill(4096 * 256, 3), [4096, 256]); return { run: () => tf.sum(x, 1), dispose: () => x.dispose() }; } },
  });
  return cases;
}
