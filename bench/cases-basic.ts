// Benchmark cases for the basic kernels: square matmuls and bandwidth-bound ops.
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { matmul } from '../src/kernels/matmul.js';
import { binary } from '../src/kernels/elementwise.js';
import { reduceRows } from '../src/kernels/reduce.js';

export function basicCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const n of [256, 512, 1024]) {
    cases.push({
      kernel: 'matmul',
      shape: `${n}x${n}x${n}`,
      flops: 2 * n * n * n,
      async setup(rt) {
        const A = rt.upload(fill(n * n, 1), [n, n]), B = rt.upload(fill(n * n, 2), [n, n]), C = rt.empty([n, n]);
        return { ops: [await matmul(rt, A, B, C)], release: () => rt.release(A, B, C) };
      },
    });
  }
  // A small-BERT activation: batch 32 × seq 128 × hidden 256.
  const n = 32 * 128 * 256;
  cases.push({
    kernel: 'elementwise.add',
    shape: `[${n}]`,
    bytes: 3 * 4 * n,
    async setup(rt) {
      const a = rt.upload(fill(n, 1), [n]), b = rt.upload(fill(n, 2), [n]), o = rt.empty([n]);
      return { ops: [await binary(rt, 'add', a, b, o)], release: () => rt.release(a, b, o) };
    },
  });
  cases.push({
    kernel: 'reduce_rows.sum',
    shape: '[4096, 256]',
    bytes: 4 * 4096 * 256,
    async setup(rt) {
      const x = rt.upload(fill(4096 * 256, 3), [4096, 256]), o = rt.empty([4096]);
      return { ops: [await reduceRows(rt, 'sum', x, o)], release: () => rt.release(x, o) };
    },
  });
  return cases;
}
