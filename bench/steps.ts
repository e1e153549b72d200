// `electrolite bench steps [--adapter A] [--json] [--preset tiny] [--batch 8]
//   [--objectives mlm,slm,rts,crts,electra] [--steps 6] [--attention auto|fused|materialized|both]
//   [--data DIR]`: the time of one optimizer step (forward, backward, clipping, AdamW: one
// submit) per pre-training objective, on the bundled corpus as `npm start` prepares it
// (or --data). This is the cost side of the paper's question (which objective buys the most
// accuracy per unit of compute), measured on this adapter. All objectives run in one process,
// one after another, so their figures are side by side. The first two steps (compilation,
// autotuning) are not timed; the median of `--steps` single-step samples is reported.
// --profile N also times every op of the step on its own (3 runs each, the fastest) and
// prints the N slowest with their phase and share of the sum, and each phase's total.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, ADAPTER_OPTION, UsageError } from '../src/cli/args.js';
import { cliRuntime } from '../src/cli/runtime.js';
import { demoDataDir, DEMO_DATA } from '../src/cli/demo.js';
import { prepare } from '../src/data/prepare.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { OBJECTIVES, type ObjectiveName } from '../src/objectives/objective.js';
import { PRESETS, type PresetName } from '../src/model/config.js';
import { ATTENTION_ALGORITHMS, type AttentionAlgorithm } from '../src/kernels/attention.js';
import { setAutotuneDefaults } from '../src/kernels/autotune.js';
import { median } from './harness.js';
import type { Runtime } from '../src/gpu/runtime.js';

export interface StepResult {
  objective: ObjectiveName;
  attention: AttentionAlgorithm | 'auto';
  preset: PresetName;
  batch: number;
  seqLen: number;
  ms: number;
  tokensPerSecond: number;
  /** This objective's step time over MLM's (same attention setting, same run). */
  vsMlm?: number;
  /** With --profile: each phase's summed op times, and the slowest ops. */
  profile?: { phases: Record<string, number>; ops: { label: string; phase: string; ms: number }[] };
}

/** Every op of the step timed alone (fastest of 3 submits of one launch), slowest first. */
async function profileStep(rt: Runtime, tr: Trainer): Promise<{ label: string; phase: string; ms: number }[]> {
  const out: { label: string; phase: string; ms: number }[] = [];
  for (const { phase, ops } of tr.stepPhases())
    for (const op of ops) {
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        rt.record(op);
        await rt.sync();
        best = Math.min(best, performance.now() - t0);
      }
      out.push({ label: op.label, phase, ms: Number(best.toFixed(3)) });
    }
  return out.sort((a, b) => b.ms - a.ms);
}

export async function benchSteps(argv: string[]): Promise<number> {
  const { values } = parse('bench steps', argv, {
    ...ADAPTER_OPTION,
    json: { type: 'boolean' },
    preset: { type: 'string', default: 'tiny' },
    batch: { type: 'string', default: '8' },
    objectives: { type: 'string', default: OBJECTIVES.join(',') },
    steps: { type: 'string', default: '6' },
    attention: { type: 'string', default: 'auto' },
    data: { type: 'string' },
    profile: { type: 'string' },
  });
  const preset = values.preset as PresetName;
  if (!(preset in PRESETS)) throw new UsageError(`bench steps: unknown --preset '${preset}' (expected ${Object.keys(PRESETS).join(', ')})`);
  const batch = Number(values.batch), steps = Number(values.steps);
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`bench steps: --batch must be a positive integer, got '${values.batch}'`);
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`bench steps: --steps must be a positive integer, got '${values.steps}'`);
  const profileTop = values.profile === undefined ? 0 : Number(values.profile);
  if (!Number.isInteger(profileTop) || profileTop < 0) throw new UsageError(`bench steps: --profile must be a number of ops ≥ 0, got '${values.profile}'`);
  const objectives = values.objectives!.split(',').map((o) => o.trim()) as ObjectiveName[];
  for (const o of objectives) if (!OBJECTIVES.includes(o)) throw new UsageError(`bench steps: unknown objective '${o}' (expected ${OBJECTIVES.join(', ')})`);
  const att = values.attention!;
  if (att !== 'auto' && att !== 'both' && !(ATTENTION_ALGORITHMS as readonly string[]).includes(att))
    throw new UsageError(`bench steps: unknown --attention '${att}' (expected auto, both, ${ATTENTION_ALGORITHMS.join(', ')})`);
  const attentions: (AttentionAlgorithm | 'auto')[] = att === 'both' ? [...ATTENTION_ALGORITHMS] : [att as AttentionAlgorithm | 'auto'];
  const json = Boolean(values.json);
  const say = (line: string) => process.stderr.write(line + '\n');

  let data = values.data;
  if (!data) {
    data = demoDataDir();
    const s = await prepare({ corpus: [DEMO_DATA.corpus], out: data, vocabSize: DEMO_DATA.vocabSize, seqLen: DEMO_DATA.seqLen });
    say(`data: ${s.reused ? 'reused' : 'prepared'} ${data}`);
  }
  const rt = await cliRuntime(values.adapter, json);
  setAutotuneDefaults({ log: say });
  say(`adapter: ${rt.gpu.adapter.description} (${rt.gpu.kind}); ${preset}, batch ${batch}; median of ${steps} steps after 2 untimed ones`);
  if (!json) process.stdout.write(`${'objective'.padEnd(10)} ${'attention'.padEnd(13)} ${'ms/step'.padStart(9)} ${'tokens/s'.padStart(9)}  ×mlm\n`);
  const results: StepResult[] = [];
  const runRoot = mkdtempSync(join(tmpdir(), 'electrolite-bench-steps-'));
  try {
    for (const attention of attentions)
      for (const objective of objectives) {
        const c: TrainConfig = {
          objective, preset, data, run: join(runRoot, `${objective}-${attention}`), batch, accumulate: 1, lr: 1e-4, schedule: 'linear',
          budget: { kind: 'steps', steps: steps + 2 }, seed: 1, maskProb: 0.15, weightDecay: 0.01, clip: 1,
          logEvery: 1000, evalEvery: 0, evalBatches: 1, checkpointEvery: 0, attention,
        };
        const mark = rt.pool.mark();
        const tr = await Trainer.create(rt, c);
        for (let s = 0; s < 2; s++) tr.runStep();
        await rt.sync();
        const times: number[] = [];
        for (let s = 0; s < steps; s++) {
          const t0 = performance.now();
          tr.runStep();
          await rt.sync();
          times.push(performance.now() - t0);
        }
        const ops = profileTop > 0 ? await profileStep(rt, tr) : [];
        rt.pool.releaseSince(mark); // this trainer's tensors: the next objective reuses the buffers
        const ms = median(times), seqLen = tr.manifest.seqLen;
        const r: StepResult = { objective, attention, preset, batch, seqLen, ms: Number(ms.toFixed(2)), tokensPerSecond: Math.round((batch * seqLen * 1000) / ms) };
        if (profileTop > 0) {
          const phases: Record<string, number> = {};
          for (const { phase } of tr.stepPhases()) phases[phase] = Number(ops.filter((o) => o.phase === phase).reduce((t, o) => t + o.ms, 0).toFixed(3));
          r.profile = { phases, ops: ops.slice(0, profileTop) };
        }
        const mlm = results.find((x) => x.objective === 'mlm' && x.attention === attention);
        if (mlm) r.vsMlm = Number((ms / mlm.ms).toFixed(2));
        results.push(r);
        if (!json) process.stdout.write(`${objective.padEnd(10)} ${attention.padEnd(13)} ${ms.toFixed(1).padStart(9)} ${String(r.tokensPerSecond).padStart(9)}  ${r.vsMlm !== undefined ? `${r.vsMlm.toFixed(2)}×` : ''}\n`);
        if (!json && r.profile) {
          const sum = ops.reduce((a, o) => a + o.ms, 0);
          process.stdout.write(`    ops timed alone: ${ops.length}, sum ${sum.toFixed(1)} ms (${Object.entries(r.profile.phases).map(([p, t]) => `${p} ${t.toFixed(1)}`).join(', ')})\n`);
          for (const o of r.profile.ops) process.stdout.write(`    ${o.ms.toFixed(2).padStart(8)} ms ${((100 * o.ms) / sum).toFixed(1).padStart(5)} %  ${o.phase.padEnd(9)} ${o.label}\n`);
        }
      }
  } finally {
    rmSync(runRoot, { recursive: true, force: true });
  }
  if (json) process.stdout.write(JSON.stringify({ adapter: { ...rt.gpu.adapter, kind: rt.gpu.kind, backend: rt.gpu.backend }, results }, null, 2) + '\n');
  rt.destroy();
  return 0;
}
