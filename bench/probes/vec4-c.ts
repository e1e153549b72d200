// matmul's C stored as vec4s (VEC_C) against scalar stores, interleaved in one process: the
// same product written into a [M, N] tensor (vec4: its size a multiple of 4) and into a view
// of an [M·N + 1] tensor (scalar: the extra element rules vec4 out). Subgroup tile 16×4;
// the fastest of 16 rounds of two launches each (bench/RESULTS.md, 2026-12-06, eleventh
// session). Bundle and run like bench/matmul-tiles.ts:
//   node -e "import('./build.mjs').then(m=>require('fs').writeFileSync('scratch/shaders.mjs', m.shaderModuleSource()))"
//   npx esbuild bench/probes/vec4-c.ts --bundle --platform=node --format=esm --outfile=scratch/vec4-c.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs && node scratch/vec4-c.mjs
import { Runtime } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { matmul, type MatrixView } from '../../src/kernels/matmul.js';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => (((i * 7919 + s) % 211) / 211 - 0.5));
for (const [M, K, N, tB] of [[4096, 128, 512, 1], [616, 128, 8192, 1], [4096, 512, 128, 0]] as const) {
  const A = rt.upload(fill(M * K, 1), [M, K]), B = rt.upload(fill(K * N, 2), tB ? [N, K] : [K, N]);
  const Cv = rt.empty([M, N]), Cs = rt.empty([M * N + 1]);
  const view: MatrixView = { tensor: Cs, batch: [1, 1], rows: M, cols: N, ld: N, batchStrides: [0, 0], offset: 0 };
  const tile = { TM: 16, TN: 4, WGX: 8, WGY: 1, SUBGROUP: true };
  const ops = [await matmul(rt, A, B, Cv, { transB: !!tB, tile }), await matmul(rt, A, B, view, { transB: !!tB, tile })];
  for (const op of ops) await rt.run(op);
  const best = [Infinity, Infinity];
  for (let r = 0; r < 16; r++) for (const [i, op] of ops.entries()) {
    const t0 = performance.now(); rt.record(op); rt.record(op); await rt.sync(); best[i] = Math.min(best[i], (performance.now() - t0) / 2);
  }
  console.log(`${M}x${K}x${N}${tB ? ' NT' : ''}: vec4 C ${best[0].toFixed(2)} ms, scalar C ${best[1].toFixed(2)} ms`);
  rt.release(A, B, Cv, Cs);
}
process.exit(0);
