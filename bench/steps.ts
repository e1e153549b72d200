// The time of one optimizer step (forward, backward, clipping, AdamW: one submit) per
// pre-training objective, on prepared data (`electrolite bench steps` uses the bundled corpus
// as `npm start` prepares it, or --data; src/cli/bench.ts). This is the cost side of the
// paper's question (which objective buys the most accuracy per unit of compute), measured on
// this adapter. All objectives run in one process, one after another, so their figures are
// side by side. The first two steps (compilation, autotuning) are not timed; the median of
// `steps` single-step samples is reported. `profile` N > 0 also times every op of the step on
// its own (3 runs each, the fastest) and lists the N slowest with their phase and share of
// the sum, and each phase's total.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { pretrainingTask } from '../src/train/pretraining.js';
import type { TrainingTask } from '../src/train/task.js';
import type { RunStore } from '../src/train/run-store.js';
import type { ObjectiveName, PretrainGraph } from '../src/objectives/registry.js';
import type { PresetName } from '../src/model/config.js';
import type { Precision } from '../src/model/precision.js';
import type { AttentionAlgorithm } from '../src/kernels/attention.js';
import { setAutotuneDefaults } from '../src/kernels/autotune.js';
import type { AcquiredDevice, AdapterDescription } from '../src/gpu/adapter.js';
import { median } from './harness.js';
import type { Runtime } from '../src/gpu/runtime.js';

export interface StepBenchOptions {
  /** A directory made by `prepare`. */
  data: string;
  preset: PresetName;
  batch: number;
  /** In this order; each objective's `vsMlm` needs MLM earlier in the list. */
  objectives: ObjectiveName[];
  /** Timed steps per objective (after 2 untimed ones). */
  steps: number;
  /** The attention settings to run the objectives with, one set after another. */
  attentions: (AttentionAlgorithm | 'auto')[];
  /** Profile each step's ops and keep the N slowest (0: no profile). */
  profile?: number;
  /** Notes and the autotuner's log, one line at a time (the CLI: stderr). */
  log?: (line: string) => void;
  /** Where the text table goes, row by row; none when absent (the CLI: stdout without --json). */
  table?: (text: string) => void;
}

export interface StepBenchReport {
  adapter: AdapterDescription & Pick<AcquiredDevice, 'kind' | 'backend'>;
  results: StepResult[];
}

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

/** The training config every step benchmark times: steps+2 of a linear schedule, no evaluation or checkpoints. */
export function stepBenchConfig(o: { objective: ObjectiveName; preset: PresetName; data: string; run: string; batch: number; steps: number; attention?: AttentionAlgorithm | 'auto'; precision?: Precision }): TrainConfig {
  return {
    precision: o.precision ?? 'f32',
    objective: o.objective, preset: o.preset, data: o.data, run: o.run, batch: o.batch, accumulate: 1, lr: 1e-4, schedule: 'linear',
    budget: { kind: 'steps', steps: o.steps + 2 }, seed: 1, maskProb: 0.15, weightDecay: 0.01, clip: 1,
    logEvery: 1000, evalEvery: 0, evalBatches: 1, checkpointEvery: 0, attention: o.attention ?? 'auto',
  };
}

/**
 * A trainer built for `c` and the median wall time of `steps` single-step submits after 2
 * untimed ones (compilation, autotuning); `task` and `store` as Trainer.forTask takes them
 * (the web page's fetched corpus and a run in memory). `peakBytes`: the pool's high-water mark over the
 * timed steps less what was live before the trainer was built — its parameters, gradients,
 * optimizer state, activations and any transient of a step; not the autotuner's candidates.
 */
export async function timeTrainerSteps(rt: Runtime, c: TrainConfig, steps: number, opts: { task?: TrainingTask<PretrainGraph>; store?: RunStore } = {}): Promise<{ tr: Trainer; ms: number; peakBytes: number }> {
  const before = rt.pool.getStats().liveBytes;
  const tr = await Trainer.forTask(rt, opts.task ?? pretrainingTask(c), c, { store: opts.store });
  for (let s = 0; s < 2; s++) tr.runStep();
  await rt.sync();
  rt.pool.resetPeak();
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    tr.runStep();
    await rt.sync();
    times.push(performance.now() - t0);
  }
  return { tr, ms: median(times), peakBytes: rt.pool.getStats().peakLiveBytes - before };
}

export async function benchSteps(rt: Runtime, o: StepBenchOptions): Promise<StepBenchReport> {
  const { data, preset, batch, steps, objectives, attentions } = o;
  const profileTop = o.profile ?? 0;
  const say = o.log ?? (() => {});
  const table = o.table;
  setAutotuneDefaults({ log: say });
  say(`adapter: ${rt.gpu.adapter.description} (${rt.gpu.kind}); ${preset}, batch ${batch}; median of ${steps} steps after 2 untimed ones`);
  table?.(`${'objective'.padEnd(10)} ${'attention'.padEnd(13)} ${'ms/step'.padStart(9)} ${'tokens/s'.padStart(9)}  ×mlm\n`);
  const results: StepResult[] = [];
  const runRoot = mkdtempSync(join(tmpdir(), 'electrolite-bench-steps-'));
  try {
    for (const attention of attentions)
      for (const objective of objectives) {
        const c = stepBenchConfig({ objective, preset, data, run: join(runRoot, `${objective}-${attention}`), batch, steps, attention });
        const mark = rt.pool.mark();
        const { tr, ms } = await timeTrainerSteps(rt, c, steps);
        const ops = profileTop > 0 ? await profileStep(rt, tr) : [];
        rt.pool.releaseSince(mark); // this trainer's tensors: the next objective reuses the buffers
        const seqLen = tr.seqLen;
        const r: StepResult = { objective, attention, preset, batch, seqLen, ms: Number(ms.toFixed(2)), tokensPerSecond: Math.round((batch * seqLen * 1000) / ms) };
        if (profileTop > 0) {
          const phases: Record<string, number> = {};
          for (const { phase } of tr.stepPhases()) phases[phase] = Number(ops.filter((op) => op.phase === phase).reduce((t, op) => t + op.ms, 0).toFixed(3));
          r.profile = { phases, ops: ops.slice(0, profileTop) };
        }
        const mlm = results.find((x) => x.objective === 'mlm' && x.attention === attention);
        if (mlm) r.vsMlm = Number((ms / mlm.ms).toFixed(2));
        results.push(r);
        table?.(`${objective.padEnd(10)} ${attention.padEnd(13)} ${ms.toFixed(1).padStart(9)} ${String(r.tokensPerSecond).padStart(9)}  ${r.vsMlm !== undefined ? `${r.vsMlm.toFixed(2)}×` : ''}\n`);
        if (table && r.profile) {
          const sum = ops.reduce((a, op) => a + op.ms, 0);
          table(`    ops timed alone: ${ops.length}, sum ${sum.toFixed(1)} ms (${Object.entries(r.profile.phases).map(([p, t]) => `${p} ${t.toFixed(1)}`).join(', ')})\n`);
          for (const op of r.profile.ops) table(`    ${op.ms.toFixed(2).padStart(8)} ms ${((100 * op.ms) / sum).toFixed(1).padStart(5)} %  ${op.phase.padEnd(9)} ${op.label}\n`);
        }
      }
  } finally {
    rmSync(runRoot, { recursive: true, force: true });
  }
  return { adapter: { ...rt.gpu.adapter, kind: rt.gpu.kind, backend: rt.gpu.backend }, results };
}
