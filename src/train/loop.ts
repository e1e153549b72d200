// The pre-training loop over a Trainer: budgets (a time budget's schedule fitted once the
// first steps are timed, and again at REFIT_AT of the budget), metrics read without stalling
// the GPU, the NaN/Inf stop, evaluation and checkpoint cadence, and a final evaluation and
// checkpoint. Progress goes to a LoopReporter (the CLI's progress line), so this layer knows
// nothing of terminals.
import type { Runtime } from '../gpu/runtime.js';
import { Trainer, TrainingError, type TrainConfig, type StepReadout, type TrainerOptions } from './trainer.js';
import { pretrainingTask } from './pretraining.js';
import type { TrainingTask } from './task.js';
import type { PretrainGraph } from '../objectives/registry.js';
import { learningRate } from './schedule.js';

/** Where the loop reports: the steps the schedule spans (again when refitted), each logged step, the end, and one-off messages. */
export interface LoopReporter {
  total(steps: number): void;
  step(step: number, fields: Record<string, number>): void;
  done(): void;
  message(text: string): void;
}

export interface PretrainSummary {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  /** ELECTRA: the generator's and the discriminator's (×λ) losses at the first and last log. */
  electra?: { first: { genLoss: number; discLoss: number }; last: { genLoss: number; discLoss: number } };
  eval: Record<string, number> | null;
  seconds: number;
  tokensPerSecond: number;
  checkpoint: string;
  /** Mixed precision: the loss scale and the overflowed (skipped) steps at the last log. */
  lossScale?: { scale: number; skipped: number };
  /** The run ended on its `signal` before its budget (a clean stop: final evaluation and checkpoint as at the end). */
  stopped?: boolean;
}

/**
 * The share of a time budget after which its schedule is fitted again, to the mean step time
 * since the first fit: the three steps that first fit it can still be slow (shaders compiling,
 * caches cold; a study's run once ended after 413 of its 600 s). Early, so that nearly all of
 * the decay follows the refitted count; the default warm-up (6 % of the steps) follows it too,
 * so where the first fit was short the rate may step back into warm-up once, at the refit.
 */
export const REFIT_AT = 0.05;

/** Overflowed steps in a row at which mixed-precision training stops (the scale is then 2²⁴ times lower). */
export const MAX_OVERFLOW_RUN = 24;

/** The training loop with logging, evaluation, checkpoints and the NaN stop. */
/**
 * `signal`: stop cleanly before the budget is spent (the web page's Stop button): no new step
 * starts once it is aborted; the final evaluation and checkpoint run as at the end of a budget.
 */
export async function runPretraining(
  rt: Runtime,
  c: TrainConfig,
  opts: TrainerOptions & {
    report?: LoopReporter; task?: TrainingTask<PretrainGraph>; afterStep?: (tr: Trainer<PretrainGraph>) => Promise<void>; signal?: AbortSignal;
    /** Milliseconds, for the time budget and the summary (default performance.now; tests give their own). */
    clock?: () => number;
  } = {},
): Promise<PretrainSummary> {
  const report = opts.report;
  const now = opts.clock ?? (() => performance.now());
  const tr = await Trainer.forTask(rt, opts.task ?? pretrainingTask(c), c, opts);
  if (tr.initReport) report?.message(tr.initReport);
  const tokensPerStep = tr.tokensPerStep;
  report?.total(tr.totalSteps);
  // A time budget counts from the first step (after compilation and autotuning); the
  // schedule is fitted to it once the first steps are timed.
  let deadline = Infinity;
  let fitted = c.budget.kind !== 'time';
  let refitted = fitted;
  let timedFrom = 0;
  let fit = { step: 0, at: 0 };
  let firstLoss = NaN, lastLoss = NaN, lastEval: Record<string, number> | null = null;
  let electra: PretrainSummary['electra'];
  let lossScale: PretrainSummary['lossScale'];
  const t0 = now();
  const startStep = tr.step;
  let lastCheckpoint = '';
  // Metrics are read without stalling the pipeline: a log step's scalars are copied into a
  // mappable buffer inside its own submit and handled when they arrive; the loop waits for a
  // log interval's readout only when issuing the next one, so at most one interval of steps
  // is queued ahead of the GPU.
  let pending: Promise<void> | null = null;
  let diverged: TrainingError | null = null;
  const onMetrics = (step: number, m: StepReadout) => {
    if (diverged) return;
    // Mixed precision: an overflowed step is skipped and the loss scale lowered — expected now
    // and then; only a long run of them (the f16 forward itself overflowing) stops training.
    if (m.lossScale && m.lossScale.overflowRun >= MAX_OVERFLOW_RUN) {
      diverged = new TrainingError(
        `--precision f16: the gradients overflowed on ${m.lossScale.overflowRun} steps in a row up to step ${step} (loss scale down to ${m.lossScale.scale}, loss ${m.loss}): ` +
          `the f16 forward itself overflows. ${lastCheckpoint ? `The last good checkpoint is kept (${lastCheckpoint}); ` : ''}try a lower --lr, or --precision f32.`,
      );
      return;
    }
    if (m.lossScale) lossScale = { scale: m.lossScale.scale, skipped: m.lossScale.skipped };
    if (m.lossScale && m.nonfinite) {
      // The forward's loss is still that step's (only the scaled backward overflowed).
      if (Number.isFinite(m.loss)) {
        if (Number.isNaN(firstLoss)) firstLoss = m.loss;
        lastLoss = m.loss;
      }
      tr.log.write({ kind: 'skipped', step, loss: Number.isFinite(m.loss) ? m.loss : null, lossScale: m.lossScale.scale, skipped: m.lossScale.skipped });
      return;
    }
    if (!Number.isFinite(m.loss) || m.nonfinite) {
      diverged = new TrainingError(
        `non-finite ${m.nonfinite ? 'gradient' : 'loss'} at step ${step} (loss ${m.loss}, grad norm ${m.gradNorm}): stopping. ` +
          `${lastCheckpoint ? `The last good checkpoint is kept (${lastCheckpoint})` : 'No checkpoint was written before this'}; try a lower --lr or more warm-up.`,
      );
      return;
    }
    if (Number.isNaN(firstLoss)) firstLoss = m.loss;
    lastLoss = m.loss;
    if (m.electra) electra = { first: electra?.first ?? m.electra, last: m.electra };
    const secs = (now() - t0) / 1000;
    const tps = ((step - startStep) * tokensPerStep) / secs;
    const scaling = m.lossScale ? { lossScale: m.lossScale.scale, skipped: m.lossScale.skipped } : {};
    tr.log.write({ kind: 'train', step, loss: m.loss, accuracy: m.accuracy, ...(m.electra ?? {}), lr: learningRate(tr.schedule(), step - 1), gradNorm: m.gradNorm, tokensPerSecond: tps, overflow: m.overflow, ...scaling });
    report?.step(step, m.electra ? { loss: m.loss, gen: m.electra.genLoss, disc: m.electra.discLoss, acc: m.accuracy, 'tok/s': tps } : { loss: m.loss, acc: m.accuracy, 'tok/s': tps });
  };
  /** Wait for the outstanding readout; stop if it showed divergence. */
  const drain = async () => {
    if (pending) await pending;
    pending = null;
    if (diverged) throw diverged;
  };
  const stopped = () => opts.signal?.aborted === true;
  while (tr.step < tr.totalSteps && now() < deadline && !stopped()) {
    const step = tr.step + 1;
    const logNow = step % c.logEvery === 0 || step === tr.totalSteps;
    if (logNow) {
      const readout = tr.runStep({ metrics: true });
      await drain();
      pending = readout.then((m) => onMetrics(step, m));
    } else tr.runStep();
    if (!fitted && c.budget.kind === 'time') {
      if (tr.step === startStep + 1) {
        await rt.sync(); // the first step compiles pipelines: not representative
        timedFrom = now();
        deadline = timedFrom + c.budget.seconds * 1000;
      } else if (tr.step === startStep + 4) {
        await rt.sync();
        fit = { step: tr.step, at: now() };
        tr.fitToTime((deadline - fit.at) / 1000, (fit.at - timedFrom) / 3000);
        report?.total(tr.totalSteps);
        fitted = true;
      }
    } else if (!refitted && c.budget.kind === 'time' && tr.step >= fit.step + 3 && now() - timedFrom >= REFIT_AT * c.budget.seconds * 1000) {
      await rt.sync();
      const at = now();
      tr.fitToTime((deadline - at) / 1000, (at - fit.at) / 1000 / (tr.step - fit.step));
      report?.total(tr.totalSteps);
      refitted = true;
    }
    if (c.evalEvery > 0 && tr.step % c.evalEvery === 0) {
      await drain();
      const e = await tr.evaluate();
      if (e) {
        lastEval = { ...e } as unknown as Record<string, number>;
        tr.log.write({ kind: 'eval', ...e });
      }
    }
    // A caller's hook (the study's snapshots); it reads back only when it acts.
    if (opts.afterStep) await opts.afterStep(tr);
    if (c.checkpointEvery > 0 && tr.step % c.checkpointEvery === 0) {
      await drain(); // never checkpoint a diverged model
      lastCheckpoint = await tr.checkpoint();
    }
  }
  await drain();
  report?.done();
  const e = await tr.evaluate();
  if (e) {
    lastEval = { ...e } as unknown as Record<string, number>;
    tr.log.write({ kind: 'eval', ...e });
  }
  lastCheckpoint = await tr.checkpoint();
  const seconds = (now() - t0) / 1000;
  return {
    steps: tr.step, firstLoss, lastLoss, ...(electra ? { electra } : {}), ...(lossScale ? { lossScale } : {}), eval: lastEval, seconds,
    tokensPerSecond: ((tr.step - startStep) * tokensPerStep) / seconds, checkpoint: lastCheckpoint, ...(stopped() && tr.step < tr.totalSteps ? { stopped: true } : {}),
  };
}

