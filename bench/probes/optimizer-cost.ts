// What the optimizer (clipping's partial sums and finalize, one AdamW per parameter) costs
// inside a whole step: `tiny` MLM and RTS at batch 32 on the bundled corpus, steps timed
// alternately with and without the optimizer's ops, 10 rounds, medians (bench/RESULTS.md,
// 2026-12-06). Bundle and run from the repository root (scratch/ is git-ignored), after
// `npm start` or `bench steps` has prepared the corpus:
//   node -e "import('./build.mjs').then(m=>require('fs').writeFileSync('scratch/shaders.mjs', m.shaderModuleSource()))"
//   npx esbuild bench/probes/optimizer-cost.ts --bundle --platform=node --format=esm --outfile=scratch/optimizer-cost.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   LP_NUM_THREADS=8 node scratch/optimizer-cost.mjs
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { Trainer } from '../../src/train/trainer.js';
import { pretrainingTask } from '../../src/train/pretraining.js';
import { stepBenchConfig } from '../steps.js';
import { median } from '../harness.js';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
for (const objective of ['mlm', 'rts'] as const) {
  const c = stepBenchConfig({ objective, preset: 'tiny', data: process.env.HOME + '/.cache/electrolite/data/sotu-v8192-t128', run: mkdtempSync(join(tmpdir(), 'hs-')), batch: 32, steps: 6 });
  const tr = await Trainer.forTask(rt, pretrainingTask(c), c, {});
  // A probe, not an API: it swaps the trainer's recorded optimizer ops in and out.
  const full = (tr as any).optimizerOps.slice();
  for (let s = 0; s < 2; s++) tr.runStep();
  await rt.sync();
  const with_: number[] = [], without: number[] = [];
  for (let r = 0; r < 10; r++) for (const keep of [true, false]) {
    (tr as any).optimizerOps = keep ? full : [];
    const t0 = performance.now(); tr.runStep(); await rt.sync();
    (keep ? with_ : without).push(performance.now() - t0);
  }
  console.log(objective, 'with optimizer', median(with_).toFixed(1), 'without', median(without).toFixed(1), 'ops', full.length);
}
process.exit(0);
