// The weight gradient's product with K in per-sequence segments (matmul limit.segment):
// dW = dyᵀ·x with the row sums, over 32 sequences of 128 rows, without a limit, with every
// segment full (the loop's own cost) and with lengths of the bundled corpus's spread
// (mean 105), 5 alternating rounds, medians (bench/RESULTS.md, twelfth session).
// Bundle and run as bench/probes/optimizer-cost.ts says:
//   npx esbuild bench/probes/dw-segments.ts --bundle --platform=node --format=esm --outfile=scratch/dw-segments.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   LP_NUM_THREADS=8 node scratch/dw-segments.mjs
import { Runtime } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { matmul } from '../../src/kernels/matmul.js';
import { timeOp, tuningInput } from '../../src/kernels/autotune.js';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
const T = 128, B = 32, K = B * T;
const real = Uint32Array.from({ length: B }, (_, b) => [128, 111, 96, 120, 65, 127, 105, 88][b % 8]);
for (const [M, N] of [[512, 128], [128, 512], [384, 128]]) {
  const A = rt.upload(tuningInput(K * M), [K, M]), Bm = rt.upload(tuningInput(K * N), [K, N]), C = rt.empty([M, N]), R = rt.empty([M]);
  const full = rt.upload(new Uint32Array(B).fill(T), [B], 'u32'), part = rt.upload(real, [B], 'u32');
  const base = { transA: true, accumulate: true, rowSumsOut: { tensor: R } };
  const ops = {
    none: await matmul(rt, A, Bm, C, base),
    segFull: await matmul(rt, A, Bm, C, { ...base, limit: { dims: ['K'], tensor: full, segment: T } }),
    segReal: await matmul(rt, A, Bm, C, { ...base, limit: { dims: ['K'], tensor: part, segment: T } }),
  };
  const t: Record<string, number[]> = {};
  for (let r = 0; r < 5; r++) for (const [k, op] of Object.entries(ops)) (t[k] ??= []).push(await timeOp(rt, op));
  const med = (x: number[]) => x.sort((a, b) => a - b)[2].toFixed(2);
  console.log(`dW ${M}x${K}x${N}:`, Object.entries(t).map(([k, v]) => `${k} ${med(v)} ms`).join(', '));
}
process.exit(0);
