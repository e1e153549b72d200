// `electrolite pretrain`: pre-train an encoder with one objective on prepared data.
import { parse, ADAPTER_OPTION, UsageError, numberOption, type NumberSpec, requireOptions } from './args.js';
import { cliRuntime } from './runtime.js';
import { progressReporter } from './progress.js';
import { Trainer, type TrainConfig } from '../train/trainer.js';
import { pretrainingTask } from '../train/pretraining.js';
import { runPretraining } from '../train/loop.js';
import { checkObjectiveSettings, ObjectiveOptionError, parseObjective, type RtsGenerator } from '../objectives/registry.js';
import { DEFAULT_UNIGRAM_ALPHA } from '../kernels/unigram.js';
import { ATTENTION_ALGORITHMS } from '../kernels/attention.js';
import { PRESETS, parseGeneratorSize, type PresetName } from '../model/config.js';
import { parseBudget } from '../train/budget.js';
import { PRECISIONS, type Precision } from '../model/precision.js';

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
  overwrite: { type: 'boolean' },
  'init-from': { type: 'string' },
  attention: { type: 'string' },
  precision: { type: 'string', default: 'f32' },
  'loss-scale': { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

const num = (name: string, v: string | undefined, spec: NumberSpec = {}) => numberOption('pretrain', name, v, spec);

export function trainConfigFromArgs(values: Record<string, string | boolean | undefined>): TrainConfig {
  requireOptions('pretrain', values, {
    objective: ['', 'mlm, slm, rts, crts, electra'],
    data: ['DIR', 'a folder made by `electrolite prepare`'],
    out: ['RUN', 'the run directory'],
  });
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
  let model: TrainConfig['model'] = values.dropout !== undefined ? { hiddenDropout: num('dropout', values.dropout as string, { min: 0, below: 1 }), attentionDropout: num('dropout', values.dropout as string, { min: 0, below: 1 }) } : undefined;
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
    maskProb: num('mask-prob', values['mask-prob'] as string, { above: 0, below: 1 }),
    weightDecay: num('weight-decay', values['weight-decay'] as string, { min: 0 }),
    // 0 turns clipping off; a negative threshold is a mistake, not a way to say so.
    clip: num('clip', values.clip as string, { min: 0 }),
    logEvery: num('log-every', values['log-every'] as string, { int: true, min: 1 }),
    evalEvery: num('eval-every', values['eval-every'] as string, { int: true, min: 0 }),
    evalBatches: num('eval-batches', values['eval-batches'] as string, { int: true, min: 1 }),
    checkpointEvery: num('checkpoint-every', values['checkpoint-every'] as string, { int: true, min: 0 }),
  };
  if (values['generator-size'] !== undefined) {
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
  const precision = String(values.precision ?? 'f32');
  if (!(PRECISIONS as readonly string[]).includes(precision)) throw new UsageError(`pretrain: unknown --precision '${precision}' (expected ${PRECISIONS.join(' or ')})`);
  c.precision = precision as Precision;
  if (values['loss-scale'] !== undefined) {
    if (precision !== 'f16') throw new UsageError('pretrain: --loss-scale is for --precision f16 (dynamic loss scaling)');
    c.lossScale = { initial: num('loss-scale', String(values['loss-scale']), { above: 0 }) };
  }
  if (values.generator !== undefined) c.rtsGenerator = String(values.generator) as RtsGenerator;
  else if (values.alpha !== undefined) c.rtsGenerator = 'uniform';
  if (values.alpha !== undefined) c.unigramAlpha = num('alpha', String(values.alpha));
  else if (c.rtsGenerator === 'unigram') c.unigramAlpha = DEFAULT_UNIGRAM_ALPHA;
  // The objective's own rules (which settings it takes, their ranges), before any GPU work.
  try {
    checkObjectiveSettings(objective, c);
  } catch (e) {
    if (e instanceof ObjectiveOptionError) throw new UsageError(`pretrain: ${e.message}`);
    throw e;
  }
  return c;
}

export async function pretrainCommand(argv: string[]): Promise<number> {
  const { values } = parse('pretrain', argv, PRETRAIN_OPTIONS);
  const c = trainConfigFromArgs(values);
  if (values.warmup !== undefined) c.warmupSteps = num('warmup', values.warmup, { int: true, min: 0 });
  const opts = { resume: Boolean(values.resume), overwrite: Boolean(values.overwrite), warn: (m: string) => process.stderr.write(`warning: ${m}\n`) };
  // Everything that can be refused is refused before an adapter is taken: the data, the
  // objective's statistics, the run directory, a resume's settings.
  let task;
  try {
    task = pretrainingTask(c);
    Trainer.preflight(task, c, opts);
  } catch (e) {
    // The data, run directory or checkpoint named by the options cannot be used: the options' fault.
    if (e instanceof Error && !(e instanceof TypeError || e instanceof ReferenceError)) throw new UsageError(`pretrain: ${e.message}`);
    throw e;
  }
  const rt = await cliRuntime(values.adapter);
  const s = await runPretraining(rt, c, { ...opts, task, report: progressReporter(`${c.objective} ${c.preset}`, { quiet: Boolean(values.quiet) }) });
  process.stdout.write(
    `\n${c.objective}${c.rtsGenerator === 'unigram' ? ` (unigram generator, alpha ${c.unigramAlpha})` : ''} on ${c.preset}: ${s.steps} steps in ${s.seconds.toFixed(1)} s (${s.tokensPerSecond.toFixed(0)} tokens/s)\n` +
      `  training loss ${s.firstLoss.toFixed(4)} → ${s.lastLoss.toFixed(4)}\n` +
      (s.electra
        ? `  generator (MLM) loss ${s.electra.first.genLoss.toFixed(4)} → ${s.electra.last.genLoss.toFixed(4)}, discriminator loss (×50) ${s.electra.first.discLoss.toFixed(4)} → ${s.electra.last.discLoss.toFixed(4)}\n`
        : '') +
      (s.lossScale ? `  mixed precision: loss scale ${s.lossScale.scale}, ${s.lossScale.skipped} overflowed step${s.lossScale.skipped === 1 ? '' : 's'} skipped\n` : '') +
      (s.eval ? `  validation: ${Object.entries(s.eval).filter(([k]) => k !== 'step').map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n` : '') +
      `  checkpoint ${s.checkpoint}\n  metrics ${c.run}/metrics.jsonl\n`,
  );
  rt.destroy();
  return 0;
}
