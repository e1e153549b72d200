// Whether a step's wall time is its ops' work: `tiny` MLM and RTS at batch 32 on the bundled
// corpus, each round one step timed on the wall clock, then the same ops in one submit with
// GPU timestamps around each — their span, their sum (span − sum = time between ops) and the
// largest gaps (bench/RESULTS.md, twelfth session). Bundle and run from the repository root
// as bench/probes/optimizer-cost.ts says (scratch/ is git-ignored):
//   npx esbuild bench/probes/step-span.ts --bundle --platform=node --format=esm --outfile=scratch/step-span.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   LP_NUM_THREADS=8 node scratch/step-span.mjs          (PRESET=mini for `mini`)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { Trainer } from '../../src/train/trainer.js';
import { pretrainingTask } from '../../src/train/pretraining.js';
import { stepBenchConfig } from '../steps.js';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
for (const objective of ['mlm', 'rts'] as const) {
  const c = stepBenchConfig({ objective, preset: (process.env.PRESET ?? 'tiny') as 'tiny' | 'mini', data: process.env.HOME + '/.cache/electrolite/data/sotu-v8192-t128', run: mkdtempSync(join(tmpdir(), 'hs-')), batch: 32, steps: 6 });
  const tr = await Trainer.forTask(rt, pretrainingTask(c), c, {});
  for (let s = 0; s < 2; s++) tr.runStep();
  await rt.sync();
  const ops = tr.stepPhases().flatMap((p) => p.ops);
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    tr.runStep();
    const host = performance.now() - t0; // recording and submitting, before the GPU starts
    await rt.sync();
    const wall = performance.now() - t0;
    const t1 = performance.now();
    const spans = await rt.timeInStep(ops);
    const wall2 = performance.now() - t1;
    const sum = spans.reduce((a, s) => a + s.endMs - s.startMs, 0);
    const span = Math.max(...spans.map((s) => s.endMs)) - Math.min(...spans.map((s) => s.startMs));
    let gaps: number[] = [];
    for (let i = 1; i < spans.length; i++) gaps.push(spans[i].startMs - spans[i - 1].endMs);
    gaps.sort((a, b) => b - a);
    console.log(objective, `step wall ${wall.toFixed(1)} (record + submit ${host.toFixed(1)}); timed submit wall ${wall2.toFixed(1)}, span ${span.toFixed(1)}, sum ${sum.toFixed(1)}, ops ${spans.length}, gap total ${(span - sum).toFixed(1)}, largest gaps ${gaps.slice(0, 5).map((g) => g.toFixed(2)).join(' ')}, median gap ${gaps[gaps.length >> 1].toFixed(3)}`);
  }
}
process.exit(0);
