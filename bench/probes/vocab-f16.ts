// The MLM head's three vocabulary products with f32 or f16 inputs, and the cast of the tied
// decoder that f16 inputs would need each step (bench/RESULTS.md, fifteenth session: a lead
// measured and dropped). Shapes: the selection's 768 capacity rows with 500 selected (a row
// or K limit, as in a step), vocabulary 8192, hidden h (argument, default 256 = `mini`; 128 =
// `tiny`); three rounds over every case in turn, medians. Bundle and run from the repository
// root as bench/probes/optimizer-cost.ts says:
//   npx esbuild bench/probes/vocab-f16.ts --bundle --platform=node --format=esm --outfile=scratch/vocab-f16.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   node scratch/vocab-f16.mjs 256
import { Runtime } from '../../src/gpu/runtime.js';
import type { Op } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { matmul } from '../../src/kernels/matmul.js';
import { castToF16 } from '../../src/kernels/elementwise.js';
import { timeOps, fill, median } from '../harness.js';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
const h = Number(process.argv[2] ?? 256), S = 768, V = 8192, count = 500;
const meta = rt.upload(Uint32Array.from([count]), [1], 'u32');
const cases: { name: string; op: Op; flops: number }[] = [];
for (const dt of ['f32', 'f16'] as const) {
  const H = rt.upload(fill(S * h, 1), [S, h], dt), W = rt.upload(fill(V * h, 2), [V, h], dt), b = rt.upload(fill(V, 3), [V]);
  const Z = rt.empty([S, V]), dZ = rt.upload(fill(S * V, 4), [S, V]), dH = rt.empty([S, h], dt), dW = rt.empty([V, h]);
  const f = 2 * count * h * V;
  cases.push({ name: `logits ${dt}`, op: await matmul(rt, H, W, Z, { transB: true, bias: b, limit: { dims: ['M'], tensor: meta } }), flops: f });
  cases.push({ name: `dhidden ${dt}`, op: await matmul(rt, dZ, W, dH, { limit: { dims: ['M'], tensor: meta } }), flops: f });
  cases.push({ name: `dW ${dt}`, op: await matmul(rt, dZ, H, dW, { transA: true, limit: { dims: ['K'], tensor: meta } }), flops: f });
}
const Wm = rt.upload(fill(V * h, 2), [V, h]), W16 = rt.empty([V, h], 'f16');
cases.push({ name: 'cast W', op: await castToF16(rt, Wm, W16), flops: 0 });
const times = cases.map(() => [] as number[]);
for (let r = 0; r < 3; r++) for (const [i, c] of cases.entries()) times[i].push(await timeOps(rt, [c.op], { minSampleMs: 100, samples: 3 }));
for (const [i, c] of cases.entries()) { const ms = median(times[i]); console.log(`${c.name.padEnd(20)} ${ms.toFixed(2).padStart(8)} ms ${(c.flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s   rounds ${times[i].map((t) => t.toFixed(1)).join(' ')}`); }
