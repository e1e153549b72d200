// Matmul benchmark cases: square f32 matmuls, and the matmuls of a small BERT step
// (hidden 256, FFN 1024, batch 32 × seq 128 → M = 4096 rows) with their backward
// transposes (Y = X·W: dX = dY·Wᵀ is NT, dW = Xᵀ·dY is TN). Shapes read M×K×N.
// Each f32 case has a TensorFlow.js peer (tf.matMul with the same transposes and inputs).
// Where the adapter has shader-f16, the same shapes with f16 inputs and f32 output (what a
// mixed-precision step multiplies); `tilingCases` times one case with every tile the
// autotuner would try on this adapter (`bench kernels --tilings`).
import type { Runtime } from '../src/gpu/runtime.js';
import type { DType } from '../src/gpu/tensor.js';
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { matmul, tileCandidates, type MatmulTile } from '../src/kernels/matmul.js';

/** Storage of a case's operands (f32 throughout by default) and a fixed tile (default: the autotuned one). */
export interface MatmulVariant {
  inputs?: DType;
  tile?: MatmulTile;
}

/** A tile as one word: TM×TN per invocation / WGX×WGY invocations, and its kind. */
export function tileName(t: MatmulTile): string {
  const kind = t.WGMEM ? `wgmem${t.BK ?? 16}` : t.SUBGROUP ? 'subgroup' : t.INTERLEAVE ? 'interleaved' : 'register';
  return `${t.TM}x${t.TN}/${t.WGX}x${t.WGY}/${kind}`;
}

export function matmulCase(kernel: string, M: number, K: number, N: number, transA = false, transB = false, v: MatmulVariant = {}): BenchCase {
  const aShape = transA ? [K, M] : [M, K], bShape = transB ? [N, K] : [K, N];
  const inputs = v.inputs ?? 'f32';
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
    ...(inputs === 'f16' ? { needs: 'f16' as const } : {}),
    ...(v.tile ? { tile: tileName(v.tile) } : {}),
    async setup(rt) {
      const [ha, hb] = data();
      const A = rt.upload(ha, aShape, inputs), B = rt.upload(hb, bShape, inputs), C = rt.empty([M, N]);
      return { ops: [await matmul(rt, A, B, C, { transA, transB, ...(v.tile ? { tile: v.tile } : {}) })], release: () => rt.release(A, B, C), output: C };
    },
    ...(inputs !== 'f32' || v.tile ? {} : { tfjs: {
      setup(tf) {
        const [ha, hb] = data();
        const A = tf.tensor(ha, aShape), B = tf.tensor(hb, bShape);
        return { run: () => tf.matMul(A, B, transA, transB), dispose: () => (A.dispose(), B.dispose()) };
      },
    } }),
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
  // f16 inputs, f32 output: the square 1024 and the FFN's forward and weight gradient.
  cases.push(matmulCase('matmul f16', 1024, 1024, 1024, false, false, { inputs: 'f16' }));
  cases.push(matmulCase('matmul f16 ffn_up', M, H, F, false, false, { inputs: 'f16' }));
  cases.push(matmulCase('matmul[TN] f16 ffn_up.dW', H, M, F, true, false, { inputs: 'f16' }));
  return cases;
}

/** One matmul case per tile the autotuner tries on this adapter (and per input storage the adapter has). */
export function tilingCases(rt: Runtime, base: { kernel: string; M: number; K: number; N: number; transA?: boolean; transB?: boolean }): BenchCase[] {
  const storages: DType[] = rt.caps.f16 ? ['f32', 'f16'] : ['f32'];
  return storages.flatMap((inputs) =>
    tileCandidates(rt).map((tile) =>
      matmulCase(inputs === 'f16' ? base.kernel.replace(/^\S+/, '$& f16') : base.kernel, base.M, base.K, base.N, base.transA, base.transB, { inputs, tile })));
}
