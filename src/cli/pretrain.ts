// `electrolite pretrain`: pre-train an encoder with one objective on prepared data.
import { parse, ADAPTER_OPTION, UsageError } from './args.js';
import { cliRuntime } from './runtime.js';
import { Progress } from './progress.js';
import { Trainer, TrainingError, type TrainConfig, type StepReadout } from '../train/trainer.js';
import { parseObjective, RTS_GENERATORS, type RtsGenerator } from '../objectives/objective.js';
import { DEFAULT_UNIGRAM_ALPHA } from '../kernels/unigram.js';
import { ATTENTION_ALGORITHMS } from '../kernels/attention.js';
import { PRESETS, parseGeneratorSize, type PresetName } from '../model/config.js';
import { parseBudget } from '../train/budget.js';
import { learningRate } from '../train/schedule.js';
import type { Runtime } from '../gpu/runtime.js';

export const PRETRAIN_OPTIONS = {
  ...ADAPTER_OPTION,
  objective: { type: 'string' },
  model: { type: 'string', default: 'tiny' },
  data: { type: 'string' },
  out: { type: 'string' },
  budget: { type: 'string', default: '200' },
  batch: { type: 'string', default: '32' },
  accumulate: { type: 'string', default: '1' },
  lr: { type: 'string', default: '5e-4' },
  warmup: { type: 'string' },
  schedule: { type: 'string', default: 'linear' },
  seed: { type: 'string', default: '1337' },
  'mask-prob': { type: 'string', default: '0.15' },
  'weight-decay': { type: 'string', default: '0.01' },
  clip: { type: 'string', default: '1.0' },
  'log-every': { type: 'string', default: '10' },
  'eval-every': { type: 'string', default: '100' },
  'eval-batches': { type: 'string', default: '4' },
  'checkpoint-every': { type: 'string', default: '100' },
  dropout: { type: 'string' },
  'pre-ln': { type: 'boolean' },
  // Overrides of the preset's sizes.
  layers: { type: 'string' },
  hidden: { type: 'string' },
  heads: { type: 'string' },
  ffn: { type: 'string' },
  'max-positions': { type: 'string' },
  'generator-size': { type: 'string' },
  generator: { type: 'string' },
  alpha: { type: 'string' },
  resume: { type: 'boolean' },
  'init-from': { type: 'string' },
  attention: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

function num(name: string, v: string | undefined, opts: { int?: boolean; min?: number } = {}): number {
  const x = Number(v);
  if (v === undefined || !Number.isFinite(x) || (opts.int && !Number.isInteger(x)) || (opts.min !== undefined && x < opts.min))
    throw new UsageError(`pretrain: --${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got '${v}'`);
  return x;
}

export function trainConfigFromArgs(values: Record<string, string | boolean | undefined>): TrainConfig {
  if (!values.objective) throw new UsageError('pretrain: --objective is required (mlm, slm, rts, crts, electra)');
  if (!values.data) throw new UsageError('pretrain: --data DIR is required (a folder made by `electrolite prepare`)');
  if (!values.out) throw new UsageError('pretrain: --out RUN is required (the run directory)');
  let objective;
  try {
    objective = parseObjective(String(values.objective));
  } catch (e) {
    throw new UsageError(`pretrain: ${(e as Error).message}`);
  }
  const preset = String(values.model);
  if (!(preset in PRESETS)) throw new UsageError(`pretrain: unknown model preset '${preset}' (expected one of ${Object.keys(PRESETS).join(', ')})`);
  const schedule = String(values.schedule);
  if (!['linear', 'cosine', 'constant'].includes(schedule)) throw new UsageError(`pretrain: --schedule must be linear, cosine or constant, got '${schedule}'`);
  let budget;
  try {
    budget = parseBudget(String(values.budget));
  } catch (e) {
    throw new UsageError(`pretrain: ${(e as Error).message}`);
  }
  let model: TrainConfig['model'] = values.dropout !== undefined ? { hiddenDropout: num('dropout', values.dropout as string), attentionDropout: num('dropout', values.dropout as string) } : undefined;
  if (values['pre-ln']) model = { ...model, preLayerNorm: true }; // pre-LN encoder (src/model/encoder.ts); recorded in the run's config.json
  const sizes = { layers: 'numLayers', hidden: 'hiddenSize', heads: 'numHeads', ffn: 'intermediateSize', 'max-positions': 'maxPositions' } as const;
  for (const [flag, field] of Object.entries(sizes))
    if (values[flag] !== undefined) model = { ...model, [field]: num(flag, values[flag] as string, { int: true, min: 1 }) };
  const c: TrainConfig = {
    objective,
    preset: preset as PresetName,
    model,
    data: String(values.data),
    run: String(values.out),
    ...(values['init-from'] ? { initFrom: String(values['init-from']) } : {}),
    batch: num('batch', values.batch as string, { int: true, min: 1 }),
    accumulate: num('accumulate', values.accumulate as string, { int: true, min: 1 }),
    lr: num('lr', values.lr as string, { min: 0 }),
    schedule: schedule as TrainConfig['schedule'],
    budget,
    seed: num('seed', values.seed as string, { int: true, min: 0 }),
    maskProb: num('mask-prob', values['mask-prob'] as string),
    weightDecay: num('weight-decay', values['weight-decay'] as string, { min: 0 }),
    clip: num('clip', values.clip as string),
    logEvery: num('log-every', values['log-every'] as string, { int: true, min: 1 }),
    evalEvery: num('eval-every', values['eval-every'] as string, { int: true, min: 0 }),
    evalBatches: num('eval-batches', values['eval-batches'] as string, { int: true, min: 1 }),
    checkpointEvery: num('checkpoint-every', values['checkpoint-every'] as string, { int: true, min: 0 }),
  };
  if (values['generator-size'] !== undefined) {
    if (objective !== 'electra') throw new UsageError(`pretrain: --generator-size applies to --objective electra only, not ${objective}`);
    try {
      c.generatorSize = parseGeneratorSize(String(values['generator-size']));
    } catch (e) {
      throw new UsageError(`pretrain: --generator-size: ${(e as Error).message}`);
    }
  }
  if (values.attention !== undefined) {
    const a = String(values.attention);
    if (a !== 'auto' && !(ATTENTION_ALGORITHMS as readonly string[]).includes(a))
      throw new UsageError(`pretrain: unknown --attention '${a}' (expected auto, ${ATTENTION_ALGORITHMS.join(', ')})`);
    c.attention = a as TrainConfig['attention'];
  }
  if (values.generator !== undefined || values.alpha !== undefined) {
    const g = String(values.generator ?? 'uniform');
    if (objective !== 'rts') throw new UsageError(`pretrain: --generator and --alpha apply to --objective rts only, not ${objective}`);
    if (!(RTS_GENERATORS as readonly string[]).includes(g)) throw new UsageError(`pretrain: unknown --generator '${g}' (expected one of ${RTS_GENERATORS.join(', ')})`);
    if (values.alpha !== undefined && g !== 'unigram') throw new UsageError(`pretrain: --alpha applies to --generator unigram only`);
    c.rtsGenerator = g as RtsGenerator;
    if (g === 'unigram') {
      const a = num('alpha', String(values.alpha ?? DEFAULT_UNIGRAM_ALPHA));
      if (!(a >= 0 && a <= 1)) throw new UsageError(`pretrain: --alpha must be in [0, 1], got '${values.alpha}'`);
      c.unigramAlpha = a;
    }
  }
  return c;
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
}

/** The training loop with logging, evaluation, checkpoints and the NaN stop. */
export async function runPretraining(rt: Runtime, c: TrainConfig, opts: { resume?: boolean; quiet?: boolean; warmup?: number } = {}): Promise<PretrainSummary> {
  const tr = await Trainer.create(rt, { ...c, warmupSteps: opts.warmup ?? c.warmupSteps }, { resume: opts.resume });
  if (tr.initReport) process.stderr.write(tr.initReport + '\n');
  const tokensPerStep = c.batch * c.accumulate * tr.manifest.seqLen;
  const progress = new Progress({ label: `${c.objective} ${c.preset}`, total: tr.totalSteps, logEveryMs: opts.quiet ? 1e9 : 5000 });
  // A time budget counts from the first step (after compilation and autotuning); the
  // schedule is fitted to it once the first steps are timed.
  let deadline = Infinity;
  let fitted = c.budget.kind !== 'time';
  let timedFrom = 0;
  let firstLoss = NaN, lastLoss = NaN, lastEval: Record<string, number> | null = null;
  let electra: PretrainSummary['electra'];
  const t0 = performance.now();
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
    const secs = (performance.now() - t0) / 1000;
    const tps = ((step - startStep) * tokensPerStep) / secs;
    tr.log.write({ kind: 'train', step, loss: m.loss, accuracy: m.accuracy, ...(m.electra ?? {}), lr: learningRate(tr.schedule(), step - 1), gradNorm: m.gradNorm, tokensPerSecond: tps, overflow: m.overflow });
    if (!opts.quiet) progress.update(step, m.electra ? { loss: m.loss, gen: m.electra.genLoss, disc: m.electra.discLoss, acc: m.accuracy, 'tok/s': tps } : { loss: m.loss, acc: m.accuracy, 'tok/s': tps });
  };
  /** Wait for the outstanding readout; stop if it showed divergence. */
  const drain = async () => {
    if (pending) await pending;
    pending = null;
    if (diverged) throw diverged;
  };
  while (tr.step < tr.totalSteps && performance.now() < deadline) {
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
        timedFrom = performance.now();
        deadline = timedFrom + c.budget.seconds * 1000;
      } else if (tr.step === startStep + 4) {
        await rt.sync();
        const perStep = (performance.now() - timedFrom) / 3000;
        tr.fitToTime((deadline - performance.now()) / 1000, perStep);
        progress.setTotal(tr.totalSteps);
        fitted = true;
      }
    }
    if (c.evalEvery > 0 && tr.step % c.evalEvery === 0) {
      await drain();
      const e = await tr.evaluate();
      if (e) {
        lastEval = { ...e } as unknown as Record<string, number>;
        tr.log.write({ kind: 'eval', ...e });
      }
    }
    if (c.checkpointEvery > 0 && tr.step % c.checkpointEvery === 0) {
      await drain(); // never checkpoint a diverged model
      lastCheckpoint = await tr.checkpoint();
    }
  }
  await drain();
  progress.done();
  const e = await tr.evaluate();
  if (e) {
    lastEval = { ...e } as unknown as Record<string, number>;
    tr.log.write({ kind: 'eval', ...e });
  }
  lastCheckpoint = await tr.checkpoint();
  const seconds = (performance.now() - t0) / 1000;
  return { steps: tr.step, firstLoss, lastLoss, ...(electra ? { electra } : {}), eval: lastEval, seconds, tokensPerSecond: ((tr.step - startStep) * tokensPerStep) / seconds, checkpoint: lastCheckpoint };
}

export async function pretrainCommand(argv: string[]): Promise<number> {
  const { values } = parse('pretrain', argv, PRETRAIN_OPTIONS);
  const c = trainConfigFromArgs(values);
  const rt = await cliRuntime(values.adapter);
  const warmup = values.warmup !== undefined ? num('warmup', values.warmup, { int: true, min: 0 }) : undefined;
  const s = await runPretraining(rt, c, { resume: Boolean(values.resume), quiet: Boolean(values.quiet), warmup });
  process.stdout.write(
    `\n${c.objective}${c.rtsGenerator === 'unigram' ? ` (unigram generator, alpha ${c.unigramAlpha})` : ''} on ${c.preset}: ${s.steps} steps in ${s.seconds.toFixed(1)} s (${s.tokensPerSecond.toFixed(0)} tokens/s)\n` +
      `  training loss ${s.firstLoss.toFixed(4)} → ${s.lastLoss.toFixed(4)}\n` +
      (s.electra
        ? `  generator (MLM) loss ${s.electra.first.genLoss.toFixed(4)} → ${s.electra.last.genLoss.toFixed(4)}, discriminator loss (×50) ${s.electra.first.discLoss.toFixed(4)} → ${s.electra.last.discLoss.toFixed(4)}\n`
        : '') +
      (s.eval ? `  validation: ${Object.entries(s.eval).filter(([k]) => k !== 'step').map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n` : '') +
      `  checkpoint ${s.checkpoint}\n  metrics ${c.run}/metrics.jsonl\n`,
  );
  rt.destroy();
  return 0;
}
