// Matmul benchmark cases: square f32 matmuls, and the matmuls of a small BERT step
// (hidden 256, FFN 1024, batch 32 × seq 128 → M = 4096 rows) with their backward
// transposes (Y = X·W: dX = dY·Wᵀ is NT, dW = Xᵀ·dY is TN). Shapes read M×K×N.
// Each has a TensorFlow.js peer (tf.matMul with the same transposes and inputs).
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { matmul } from '../src/kernels/matmul.js';

export function matmulCase(kernel: string, M: number, K: number, N: number, transA = false, transB = false): BenchCase {
  const aShape = transA ? [K, M] : [M, K], bShape = transB ? [N, K] : [K, N];
  let a: Float32Array | undefined, b: Float32Array | undefined;
  const data = () => {
    a ??= fill(M * K, 1);
    b ??= fill(K * N, 2);
    return [a, b] as const;
  };
  return {
    kernel,
    shape: `${M}x${K}x${N}`,
    flops: 2 * M * N * K,
    async setup(rt) {
      const [ha, hb] = data();
      const A = rt.upload(ha, aShape), B = rt.upload(hb, bShape), C = rt.empty([M, N]);
      return { ops: [await matmul(rt, A, B, C, { transA, transB })], release: () => rt.release(A, B, C), output: C };
    },
    tfjs: {
      setup(tf) {
        const [ha, hb] = data();
        const A = tf.tensor(ha, aShape), B = tf.tensor(hb, bShape);
        return { run: () => tf.matMul(A, B, transA, transB), dispose: () => (A.dispose(), B.dispose()) };
      },
    },
  };
}

export function matmulCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const n of [256, 512, 1024]) cases.push(matmulCase('matmul', n, n, n));
  const M = 32 * 128, H = 256, F = 1024;
  for (const [name, K, N] of [['qkv', H, 3 * H], ['out', H, H], ['ffn_up', H, F], ['ffn_down', F, H]] as const) {
    cases.push(matmulCase(`matmul ${name}`, M, K, N));
    cases.push(matmulCase(`matmul[NT] ${name}.dX`, M, N, K, false, true)); // dY[M,N]·W[K,N]ᵀ
    cases.push(matmulCase(`matmul[TN] ${name}.dW`, K, M, N, true, false)); // X[M,K]ᵀ·dY[M,N]
  }
  return cases;
}
