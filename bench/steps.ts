// The time of one optimizer step (forward, backward, clipping, AdamW: one submit) per
// pre-training objective, on prepared data (`electrolite bench steps` uses the bundled corpus
// as `npm start` prepares it, or --data; src/cli/bench.ts). This is the cost side of the
// paper's question (which objective buys the most accuracy per unit of compute), measured on
// this adapter. All objectives run in one process, one after another, so their figures are
// side by side. The first two steps (compilation, autotuning) are not timed; the median of
// `steps` single-step samples is reported. `profile` N > 0 also times every op of the step and
// lists the N slowest with their phase and share of the sum, each phase's total and each
// kernel's (an op's label without its layer number or chunk): inside whole steps from GPU
// timestamps where the adapter has 'timestamp-query' (the median of 5 steps per op: the
// caches and threads as a step leaves them, and the ops' sum is the step), else each op on
// its own (3 submits, the fastest: warm caches, so the sum falls short of the step).
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
  /** f32 (default) or mixed precision. */
  precision?: Precision;
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
  precision: Precision;
  batch: number;
  seqLen: number;
  ms: number;
  tokensPerSecond: number;
  /** This objective's step time over MLM's (same attention setting, same run). */
  vsMlm?: number;
  /**
   * With --profile: how the ops were timed, how many there are, their sum, each phase's
   * sum, the slowest ops and the slowest kernels (ops summed by label without layer or chunk).
   */
  profile?: { method: ProfileMethod; count: number; sumMs: number; phases: Record<string, number>; ops: OpTime[]; kernels: { kernel: string; phase: string; count: number; ms: number }[] };
}

/** How a profile timed the ops: inside whole steps (GPU timestamps) or each on its own. */
export type ProfileMethod = 'in-step' | 'alone';

export interface OpTime {
  label: string;
  phase: string;
  ms: number;
}

/** Rounds of a whole step an in-step profile takes each op's median over. */
const IN_STEP_ROUNDS = 5;

/**
 * Every op of the step timed, slowest first: inside whole steps by GPU timestamps (median of
 * IN_STEP_ROUNDS) where the adapter has them, else alone (fastest of 3 submits of one launch).
 */
async function profileStep(rt: Runtime, tr: Trainer): Promise<{ method: ProfileMethod; ops: OpTime[] }> {
  const phased = tr.stepPhases().flatMap(({ phase, ops }) => ops.map((op) => ({ phase, op })));
  const times: number[][] = phased.map(() => []);
  const method: ProfileMethod = rt.caps.timestamps ? 'in-step' : 'alone';
  if (method === 'in-step') {
    for (let r = 0; r < IN_STEP_ROUNDS; r++) {
      const spans = await rt.timeInStep(phased.map((p) => p.op));
      spans.forEach((s, i) => times[i].push(s.endMs - s.startMs));
    }
  } else {
    for (const [i, { op }] of phased.entries())
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        rt.record(op);
        await rt.sync();
        times[i].push(performance.now() - t0);
      }
  }
  const ops = phased.map(({ phase, op }, i) => ({ label: op.label, phase, ms: Number((method === 'in-step' ? median(times[i]) : Math.min(...times[i])).toFixed(3)) }));
  return { method, ops: ops.sort((a, b) => b.ms - a.ms) };
}

/** An op's kernel: its label without layer numbers or chunk indices (encoder.layer.3.query → encoder.layer.*.query). */
export function kernelOf(label: string): string {
  return label.replace(/\.\d+\./g, '.*.').replace(/\[[^\]]*\]/g, '');
}

/** The ops' times summed per phase and kernel, slowest kernel first. */
export function byKernel(ops: OpTime[]): { kernel: string; phase: string; count: number; ms: number }[] {
  const m = new Map<string, { kernel: string; phase: string; count: number; ms: number }>();
  for (const op of ops) {
    const kernel = kernelOf(op.label), key = `${op.phase} ${kernel}`;
    const e = m.get(key) ?? { kernel, phase: op.phase, count: 0, ms: 0 };
    e.count++;
    e.ms += op.ms;
    m.set(key, e);
  }
  return [...m.values()].map((e) => ({ ...e, ms: Number(e.ms.toFixed(3)) })).sort((a, b) => b.ms - a.ms);
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
 * A trainer built for `c`, after 2 untimed steps (compilation, autotuning); `task` and
 * `store` as Trainer.forTask takes them (the web page's fetched corpus and a run in memory).
 * `peakBytes()`: the pool's high-water mark since this returned, less what was live before
 * the trainer was built — its parameters, gradients, optimizer state, activations and any
 * transient of a step; not the autotuner's candidates.
 */
export async function warmTrainer(rt: Runtime, c: TrainConfig, opts: { task?: TrainingTask<PretrainGraph>; store?: RunStore } = {}): Promise<{ tr: Trainer; peakBytes: () => number }> {
  const before = rt.pool.getStats().liveBytes;
  const tr = await Trainer.forTask(rt, opts.task ?? pretrainingTask(c), c, { store: opts.store });
  for (let s = 0; s < 2; s++) tr.runStep();
  await rt.sync();
  rt.pool.resetPeak();
  return { tr, peakBytes: () => rt.pool.getStats().peakLiveBytes - before };
}

/** The wall time of one more optimizer step (one submit, waited for), ms. */
export async function timeStep(rt: Runtime, tr: Trainer): Promise<number> {
  const t0 = performance.now();
  tr.runStep();
  await rt.sync();
  return performance.now() - t0;
}

/** warmTrainer, then the median of `steps` single-step submits, and the peak bytes over them. */
export async function timeTrainerSteps(rt: Runtime, c: TrainConfig, steps: number, opts: { task?: TrainingTask<PretrainGraph>; store?: RunStore } = {}): Promise<{ tr: Trainer; ms: number; peakBytes: number }> {
  const { tr, peakBytes } = await warmTrainer(rt, c, opts);
  const times: number[] = [];
  for (let s = 0; s < steps; s++) times.push(await timeStep(rt, tr));
  return { tr, ms: median(times), peakBytes: peakBytes() };
}

export async function benchSteps(rt: Runtime, o: StepBenchOptions): Promise<StepBenchReport> {
  const { data, preset, batch, steps, objectives, attentions } = o;
  const precision = o.precision ?? 'f32';
  const profileTop = o.profile ?? 0;
  const say = o.log ?? (() => {});
  const table = o.table;
  setAutotuneDefaults({ log: say });
  say(`adapter: ${rt.gpu.adapter.description} (${rt.gpu.kind}); ${preset}, batch ${batch}, ${precision}; median of ${steps} steps after 2 untimed ones`);
  table?.(`${'objective'.padEnd(10)} ${'attention'.padEnd(13)} ${'ms/step'.padStart(9)} ${'tokens/s'.padStart(9)}  ×mlm\n`);
  const results: StepResult[] = [];
  const runRoot = mkdtempSync(join(tmpdir(), 'electrolite-bench-steps-'));
  try {
    for (const attention of attentions)
      for (const objective of objectives) {
        const c = stepBenchConfig({ objective, preset, data, run: join(runRoot, `${objective}-${attention}`), batch, steps, attention, precision });
        const mark = rt.pool.mark();
        const { tr, ms } = await timeTrainerSteps(rt, c, steps);
        const prof = profileTop > 0 ? await profileStep(rt, tr) : null;
        rt.pool.releaseSince(mark); // this trainer's tensors: the next objective reuses the buffers
        const seqLen = tr.seqLen;
        const r: StepResult = { objective, attention, preset, precision, batch, seqLen, ms: Number(ms.toFixed(2)), tokensPerSecond: Math.round((batch * seqLen * 1000) / ms) };
        if (prof) {
          const { method, ops } = prof;
          const phases: Record<string, number> = {};
          for (const { phase } of tr.stepPhases()) phases[phase] = Number(ops.filter((op) => op.phase === phase).reduce((t, op) => t + op.ms, 0).toFixed(3));
          const sumMs = Number(ops.reduce((a, op) => a + op.ms, 0).toFixed(3));
          r.profile = { method, count: ops.length, sumMs, phases, ops: ops.slice(0, profileTop), kernels: byKernel(ops).slice(0, profileTop) };
        }
        const mlm = results.find((x) => x.objective === 'mlm' && x.attention === attention);
        if (mlm) r.vsMlm = Number((ms / mlm.ms).toFixed(2));
        results.push(r);
        table?.(`${objective.padEnd(10)} ${attention.padEnd(13)} ${ms.toFixed(1).padStart(9)} ${String(r.tokensPerSecond).padStart(9)}  ${r.vsMlm !== undefined ? `${r.vsMlm.toFixed(2)}×` : ''}\n`);
        if (table && r.profile) {
          const p = r.profile, share = (ms: number) => `${((100 * ms) / p.sumMs).toFixed(1).padStart(5)} %`;
          const how = p.method === 'in-step' ? `inside the step (GPU timestamps, median of ${IN_STEP_ROUNDS} steps)` : 'alone (fastest of 3 submits each; no timestamp-query here)';
          table(`    ops timed ${how}: ${p.count}, sum ${p.sumMs.toFixed(1)} ms (${Object.entries(p.phases).map(([ph, t]) => `${ph} ${t.toFixed(1)}`).join(', ')})\n`);
          for (const op of p.ops) table(`    ${op.ms.toFixed(2).padStart(8)} ms ${share(op.ms)}  ${op.phase.padEnd(9)} ${op.label}\n`);
          table(`    by kernel (ops summed over layers and chunks):\n`);
          for (const k of p.kernels) table(`    ${k.ms.toFixed(2).padStart(8)} ms ${share(k.ms)}  ${k.phase.padEnd(9)} ${k.kernel}${k.count > 1 ? ` ×${k.count}` : ''}\n`);
        }
      }
  } finally {
    rmSync(runRoot, { recursive: true, force: true });
  }
  return { adapter: { ...rt.gpu.adapter, kind: rt.gpu.kind, backend: rt.gpu.backend }, results };
}
