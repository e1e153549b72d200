// Interleaved matmul tile probe (see bench/RESULTS.md): builds every candidate tile first,
// then ROUNDS rounds timing each in turn (REPS launches per sample), and prints each
// candidate's fastest time — interleaving keeps comparisons usable on a shared machine.
// Bundle and run (from the repository root; scratch/ is git-ignored):
//   node -e "import('./build.mjs').then(m=>require('fs').writeFileSync('scratch/shaders.mjs', m.shaderModuleSource()))"
//   npx esbuild bench/matmul-tiles.ts --bundle --platform=node --format=esm --outfile=scratch/matmul-tiles.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   node scratch/matmul-tiles.mjs lavapipe 1024 1024 1024 0 0 '[{"TM":8,"TN":4,"WGX":8,"WGY":1},{"TM":4,"TN":8,"WGX":8,"WGY":8}]'
// Arguments: adapter, M, K, N, transA (0/1), transB (0/1), JSON list of MatmulTile.
import { Runtime } from '../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../src/kernels/sources.js';
import { matmul, type MatmulTile } from '../src/kernels/matmul.js';
import type { Op } from '../src/gpu/runtime.js';
const [ad, Ms, Ks, Ns, tAs, tBs, tilesJ] = process.argv.slice(2);
const rt = await Runtime.create({ adapter: ad as never, sources: SHADER_SOURCES });
const M = +Ms, K = +Ks, N = +Ns, transA = tAs === '1', transB = tBs === '1';
const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => (((i * 7919 + s) % 211) / 211 - 0.5));
const A = rt.upload(fill(M * K, 1), transA ? [K, M] : [M, K]), B = rt.upload(fill(K * N, 2), transB ? [N, K] : [K, N]);
const C = rt.empty([M, N]);
const tiles = JSON.parse(tilesJ) as MatmulTile[];
const ops: Op[] = [];
for (const tile of tiles) { const op = await matmul(rt, A, B, C, { transA, transB, tile }); await rt.run(op); ops.push(op); }
const reps = +(process.env.REPS ?? 2), rounds = +(process.env.ROUNDS ?? 6);
const best = tiles.map(() => Infinity), all: number[][] = tiles.map(() => []);
for (let r = 0; r < rounds; r++)
  for (const [i, op] of ops.entries()) {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) rt.record(op);
    await rt.sync();
    const ms = (performance.now() - t0) / reps;
    best[i] = Math.min(best[i], ms); all[i].push(ms);
  }
for (const [i, t] of tiles.entries()) {
  const s = [...all[i]].sort((a, b) => a - b);
  console.log(JSON.stringify(t).padEnd(60), 'min', best[i].toFixed(1), 'med', s[s.length >> 1].toFixed(1), 'GF(min)', (2 * M * N * K / best[i] / 1e6).toFixed(2));
}
process.exit(0);
