// What a hidden-dropout pass costs on lavapipe: the dropout kernel at `mini`'s [4096, 256]
// with p = 0.1 (a Philox draw per four elements) against p = 0 (the same pass over memory,
// a copy, no draw), alternating, 4 rounds (bench/RESULTS.md, thirteenth session: the pass,
// not the draw, is most of it — so the dropout moved into the LayerNorms' passes). Bundle
// and run from the repository root as bench/probes/optimizer-cost.ts says:
//   npx esbuild bench/probes/dropout-pass.ts --bundle --platform=node --format=esm --outfile=scratch/dropout-pass.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   node scratch/dropout-pass.mjs
import { Runtime } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { dropout } from '../../src/kernels/dropout.js';
import { timeOps } from '../harness.js';

const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
const N = 4096, H = 256;
const x = rt.upload(new Float32Array(N * H).map((_, i) => Math.sin(i)), [N, H]), out = rt.empty([N, H]), rng = rt.upload([1, 2], [2], 'u32');
const drawn = await dropout(rt, x, out, { rate: 0.1, rng, stream: 0 });
const copied = await dropout(rt, x, out, { rate: 0, rng, stream: 0 });
for (let r = 0; r < 4; r++) {
  const a = await timeOps(rt, [drawn], { minSampleMs: 50, samples: 3 });
  const b = await timeOps(rt, [copied], { minSampleMs: 50, samples: 3 });
  console.log(`p=0.1 ${a.toFixed(3)} ms   p=0 (copy) ${b.toFixed(3)} ms`);
}
process.exit(0);
