// The f16 outputs of the row and elementwise kernels (LayerNorm forward and backward with
// dropout, GELU both ways, dropout, the f32 → f16 cast with values past f16's range), dumped
// as decimal strings for comparison across checkouts: a change to how these kernels move f16
// data must leave every bit as it was (bench/RESULTS.md, fifteenth session). Bundle it in each
// checkout with that checkout's shaders (as bench/probes/optimizer-cost.ts says), run each
// with its own output file, and compare the two files (e.g. `cmp`).
//   npx esbuild bench/probes/f16-bits.ts --bundle --platform=node --format=esm --outfile=scratch/f16-bits.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   node scratch/f16-bits.mjs /tmp/bits-this.json
import { Runtime } from '../../src/gpu/runtime.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { layerNorm, layerNormBackward } from '../../src/kernels/layernorm.js';
import { gelu, geluBackward } from '../../src/kernels/gelu.js';
import { dropout } from '../../src/kernels/dropout.js';
import { castToF16 } from '../../src/kernels/elementwise.js';
import { fill } from '../harness.js';
import { writeFileSync } from 'node:fs';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
const out: Record<string, string[]> = {};
const dump = async (name: string, t: Tensor) => { out[name] = Array.from(await rt.read(t), (v) => (Object.is(v, -0) ? '-0' : String(v))); };
for (const [N, H] of [[37, 64], [16, 256], [5, 12]]) {
  const NH = N * H, rng = rt.upload(Uint32Array.from([3, 9]), [2], 'u32'), dropoutOpts = { rate: 0.1, rng, stream: 0 };
  const sc = (d: Float32Array, k: number) => d.map((v) => v * k);
  const x = rt.upload(sc(fill(NH, 1), 3), [N, H], 'f16'), r = rt.upload(fill(NH, 7), [N, H], 'f16'), g = rt.upload(fill(H, 2), [H]), b = rt.upload(fill(H, 3), [H]);
  const y = rt.empty([N, H], 'f16'), s = rt.empty([N, H], 'f16'), st = rt.empty([N, 2]);
  await rt.run(await layerNorm(rt, x, g, b, y, st, { residual: r, sum: s, dropout: dropoutOpts }));
  await dump(`ln.y.${H}`, y); await dump(`ln.s.${H}`, s);
  const dy = rt.upload(fill(NH, 4), [N, H], 'f16'), dx = rt.empty([N, H], 'f16'), dxd = rt.empty([N, H], 'f16'), dg = rt.empty([H]), db = rt.empty([H]);
  for (const op of await layerNormBackward(rt, { dy, x: s, gamma: g, stats: st, dx, dgamma: dg, dbeta: db, dropout: { options: dropoutOpts, dx: dxd } })) await rt.run(op);
  await dump(`ln.dx.${H}`, dx); await dump(`ln.dxd.${H}`, dxd);
  await dump(`ln.dg.${H}`, dg);
  const o = rt.empty([N, H], 'f16');
  await rt.run(await gelu(rt, x, o)); await dump(`gelu.${H}`, o);
  await rt.run(await geluBackward(rt, x, dy, o)); await dump(`gelub.${H}`, o);
  await rt.run(await dropout(rt, x, o, dropoutOpts)); await dump(`drop.${H}`, o);
  const big = rt.upload(sc(fill(NH, 5), 2e5), [N, H]);
  await rt.run(await castToF16(rt, big, o)); await dump(`cast.${H}`, o);
}
writeFileSync(process.argv[2], JSON.stringify(out));
console.log('dumped', Object.keys(out).length);
