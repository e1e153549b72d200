// Fine-tuning: a second kind of graph on the same trainer (src/train/trainer.ts). The encoder
// of a pre-training run, of a Hugging Face checkpoint, or of nothing (random: the floor every
// study reports) gets BertForSequenceClassification's head (src/model/classifier.ts) and is
// trained on a task's train split — AdamW with warm-up and linear decay, dropout — then
// evaluated on the validation split after every epoch; the best epoch by the task's main
// metric is kept. With a grid of learning rates (the default) each one is a run of its own,
// the best validation score picks one, and only then is the held-out test split scored (it
// plays no part in any choice). Batches group examples of similar length (HF's
// group_by_length): each batch runs on the graph of the shortest of a few lengths that holds
// it (quarters of the longest encoded example, at most --max-len), so short batches do not
// pay for the long ones' padding; attention skips the padded keys that remain.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { sequenceLengths } from '../kernels/lengths.js';
import { xentTotals } from '../kernels/xent.js';
import { ATTENTION_MAX_T } from '../kernels/attention.js';
import { encoderParams, makeConfig, PRESETS, type EncoderConfig, type PresetName } from '../model/config.js';
import { buildClassificationHead, classificationHeadParams, type ClassificationKind } from '../model/classifier.js';
import { Encoder } from '../model/encoder.js';
import type { Evaluation, GraphMetrics, HostArray, TrainGraph } from '../model/graph.js';
import { ratio } from '../model/metrics.js';
import { shuffledOrder } from '../data/loader.js';
import { WordPieceTokenizer } from '../data/tokenizer.js';
import { writeFileAtomic } from '../data/atomic.js';
import { directoryTokenizer, readHfCheckpoint, writeHfCheckpoint } from '../io/hf.js';
import { isRunDir, loadRunModel, runTokenizer, writeHfTokenizer } from '../io/export.js';
import { fromFloat32, saveSafetensors, loadSafetensors, toFloat32, type SafeTensor } from '../io/safetensors.js';
import { Trainer, TrainingError } from '../train/trainer.js';
import type { BatchSource, OptimizerConfig, TrainingTask } from '../train/task.js';
import { encodeExample, loadTask, type Task, type TaskExample, type TaskOptions } from './tasks.js';
import { taskMetrics } from './metrics.js';

const NONE = 0xffffffff;

/** The learning rates tried when none is given: at small scale the rate decides more than the objective. */
export const DEFAULT_LR_GRID = [1e-4, 3e-4, 1e-3, 3e-3];

export interface FinetuneConfig {
  /** A pre-training run, a Hugging Face directory, or 'scratch:PRESET' (with `tokenizer`). */
  model: string;
  /** The run's checkpoint step (default: its newest). */
  step?: number;
  /** For scratch: a prepared data directory or Hugging Face directory holding the vocabulary. */
  tokenizer?: string;
  task: string;
  taskOptions: TaskOptions;
  out: string;
  epochs: number;
  /** The grid tried (one value: that rate only). */
  lrs: number[];
  batch: number;
  maxLen: number;
  /** Warm-up as a fraction of the steps. */
  warmup: number;
  seed: number;
  weightDecay: number;
  clip: number;
  /** Batches of similar length on graphs of their length (default); false: every batch [B, longest], in plain shuffled (training) or split (evaluation) order. */
  lengthGroups?: boolean;
  /** Dropout override (default: the model's). */
  dropout?: number;
  /** N examples of a split only, a fixed seeded sample (quick experiments, tests); default all. */
  limit?: Partial<Record<'train' | 'validation' | 'test', number>>;
  /** An already resolved starting point (the study's snapshots); else `model` is resolved. */
  start?: StartingPoint;
}

/** A split's examples, or a fixed sample of `n` of them in their order (the same for every seed and run). */
export function sampleSplit<T>(xs: T[], n: number | undefined): T[] {
  if (n === undefined || n >= xs.length) return xs;
  return [...shuffledOrder(xs.length, 0x11a1, 0)].slice(0, n).sort((a, b) => a - b).map((i) => xs[i]);
}

/** Where fine-tuning starts: a config, the encoder's values (none for scratch) and the tokenizer. */
export interface StartingPoint {
  source: string;
  kind: 'run' | 'hf' | 'scratch';
  config: EncoderConfig;
  encoder?: Map<string, Float32Array>;
  tokenizer: WordPieceTokenizer;
  step?: number;
}

const encoderOnly = (params: Map<string, Float32Array>) => new Map([...params].filter(([k]) => k.startsWith('embeddings.') || k.startsWith('encoder.')));

/** Resolve --model: a run directory, a Hugging Face directory, or scratch:PRESET. */
export function startingPoint(model: string, opts: { step?: number; tokenizer?: string } = {}): StartingPoint {
  const scratch = /^scratch:(.+)$/.exec(model);
  let p: StartingPoint;
  if (scratch) {
    const preset = scratch[1];
    if (!(preset in PRESETS)) throw new Error(`--model ${model}: unknown preset '${preset}' (expected scratch:${Object.keys(PRESETS).join(', scratch:')})`);
    if (!opts.tokenizer) throw new Error(`--model ${model} needs --tokenizer DIR (a prepared data directory or a Hugging Face directory with vocab.txt or tokenizer.json)`);
    const tokenizer = directoryTokenizer(opts.tokenizer);
    p = { source: model, kind: 'scratch', config: makeConfig(preset as PresetName, { vocabSize: tokenizer.size }), tokenizer };
  } else if (!existsSync(model)) {
    throw new Error(`--model ${model}: neither a run directory, a Hugging Face directory nor scratch:PRESET`);
  } else if (isRunDir(model)) {
    const m = loadRunModel(model, opts.step);
    p = { source: model, kind: 'run', config: m.config, encoder: encoderOnly(m.params), tokenizer: runTokenizer(m.run), step: m.step };
  } else if (existsSync(join(model, 'config.json'))) {
    if (opts.step !== undefined) throw new Error(`--step applies to a run directory; ${model} is a Hugging Face directory`);
    const ck = readHfCheckpoint(model);
    p = { source: model, kind: 'hf', config: ck.config, encoder: encoderOnly(ck.params), tokenizer: opts.tokenizer ? directoryTokenizer(opts.tokenizer) : directoryTokenizer(model) };
  } else throw new Error(`--model ${model}: neither a run directory (config.json with an objective, checkpoints/), a Hugging Face directory (config.json) nor scratch:PRESET`);
  if (p.tokenizer.size > p.config.vocabSize)
    throw new Error(`${model}: the tokenizer has ${p.tokenizer.size} tokens but the model's vocabulary only ${p.config.vocabSize}: fine-tune with the tokenizer the model was trained with`);
  return p;
}

/** A split encoded for the graph: [CLS] a [SEP] (b [SEP]) per example, and the labels. */
export interface EncodedSplit {
  examples: TaskExample[];
  ids: number[][];
  types: number[][];
}

function encodeSplit(tok: WordPieceTokenizer, examples: TaskExample[], maxLen: number): EncodedSplit {
  const enc = examples.map((ex) => encodeExample(tok, ex, maxLen));
  return { examples, ids: enc.map((e) => e.ids), types: enc.map((e) => e.types) };
}

/**
 * The sequence lengths fine-tuning builds graphs for: quarters of the longest example T,
 * rounded up to 8 (a batch pads to at most about T/4 more than its longest; four graphs).
 */
export function lengthBuckets(T: number): number[] {
  const qs = [1, 2, 3].map((q) => Math.min(T, Math.max(8, Math.ceil((q * T) / 4 / 8) * 8)));
  return [...new Set([...qs, T])].sort((a, b) => a - b);
}

/** Batches per pool: a pool of shuffled examples is sorted by length, then cut into batches. */
const LENGTH_POOL = 16;

/** The order evaluation batches a split in: by length (stable) when grouped, else as it is; results go back to the split's order. */
const byLength = new WeakMap<EncodedSplit, number[]>();
function evaluationOrder(split: EncodedSplit, grouped: boolean): number[] {
  if (!grouped) return split.ids.map((_, i) => i);
  let o = byLength.get(split);
  if (!o) byLength.set(split, (o = split.ids.map((_, i) => i).sort((a, b) => split.ids[a].length - split.ids[b].length || a - b)));
  return o;
}

/**
 * Batches of a split, a pure function of (epoch, step). Train: the epoch's seeded shuffle,
 * without its last partial batch, is cut into pools of LENGTH_POOL batches; each pool is
 * sorted by length and cut into batches, and the batches are shuffled (similar lengths
 * together, the order still random); not grouped, the shuffle is cut into batches as it
 * is. Evaluation: every example once, in evaluationOrder, padded with [PAD] rows of no
 * label. Each batch takes the shortest graph length that holds it.
 */
function splitBatches(split: EncodedSplit, B: number, lengths: readonly number[], pad: number, kind: ClassificationKind, o: { shuffle: boolean; seed: number; grouped: boolean }): BatchSource {
  const n = split.examples.length;
  const stepsPerEpoch = o.shuffle ? Math.floor(n / B) : Math.ceil(n / B);
  const len = (i: number) => split.ids[i].length;
  let cached: { epoch: number; batches: number[][] } | null = null;
  const batchesOf = (epoch: number): number[][] => {
    if (cached?.epoch === epoch) return cached.batches;
    let batches: number[][] = [];
    if (o.shuffle && !o.grouped) {
      const order = [...shuffledOrder(n, o.seed, epoch)];
      for (let b = 0; b + B <= n; b += B) batches.push(order.slice(b, b + B));
    } else if (o.shuffle) {
      const order = [...shuffledOrder(n, o.seed, epoch)].slice(0, stepsPerEpoch * B);
      for (let p = 0; p < order.length; p += LENGTH_POOL * B) {
        // A stable sort: examples of one length stay in shuffled order (split files are often sorted by label).
        const pool = order.slice(p, p + LENGTH_POOL * B).sort((a, b) => len(a) - len(b));
        for (let b = 0; b < pool.length; b += B) batches.push(pool.slice(b, b + B));
      }
      // A second stream of the same seed shuffles the batches.
      batches = [...shuffledOrder(batches.length, o.seed ^ 0x5eed, epoch)].map((k) => batches[k]);
    } else {
      const order = evaluationOrder(split, o.grouped);
      for (let b = 0; b < n; b += B) batches.push(order.slice(b, b + B));
    }
    cached = { epoch, batches };
    return batches;
  };
  const seqLen = (epoch: number, step: number) => {
    const longest = Math.max(...batchesOf(epoch)[step].map(len));
    return lengths.find((t) => t >= longest)!;
  };
  return {
    stepsPerEpoch,
    seqLen,
    batch(epoch, step) {
      const rows = batchesOf(epoch)[step], T = seqLen(epoch, step);
      const ids = new Uint32Array(B * T).fill(pad), types = new Uint32Array(B * T);
      const labels = kind === 'regression' ? new Float32Array(B) : new Uint32Array(B).fill(NONE);
      rows.forEach((i, b) => {
        ids.set(split.ids[i], b * T);
        types.set(split.types[i], b * T);
        labels[b] = split.examples[i].label;
      });
      return { ids, types, labels };
    },
  };
}

/** A fine-tuning step's readout and an evaluation's results. */
export interface FinetuneMetrics extends GraphMetrics {}
export type FinetuneEval = Record<string, number>;

export interface FinetuneGraph extends TrainGraph<FinetuneMetrics, FinetuneEval> {
  encoder: Encoder;
  logits: Tensor;
  evaluation(opts?: { split?: EncodedSplit }): Evaluation<FinetuneEval>;
}

/** Host softmax over a logits row. */
function softmax(row: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** The fine-tuning task on the trainer: parameters, batches, the graph, what checkpoints record. */
/** The fine-tuning task; `test`: the held-out split's batches, built as validation's. */
export type FinetuneTask = TrainingTask<FinetuneGraph> & { test: BatchSource | null };

export function finetuningTask(task: Task, start: StartingPoint, c: FinetuneConfig & { splits: Record<string, EncodedSplit>; seqLen: number }): FinetuneTask {
  const kind: ClassificationKind = task.kind;
  const L = kind === 'regression' ? 1 : task.labels.length;
  const cfg: EncoderConfig = c.dropout !== undefined ? { ...start.config, hiddenDropout: c.dropout, attentionDropout: c.dropout } : start.config;
  const grouped = c.lengthGroups !== false;
  const B = c.batch, seqLens = grouped ? lengthBuckets(c.seqLen) : [c.seqLen], pad = start.tokenizer.special.pad;
  const train = splitBatches(c.splits.train, B, seqLens, pad, kind, { shuffle: true, seed: c.seed, grouped });
  if (train.stepsPerEpoch < 1) throw new TrainingError(`${task.name}: ${c.splits.train.examples.length} training examples cannot fill one batch of ${B}`);
  const evaluated = (split: EncodedSplit) => splitBatches(split, B, seqLens, pad, kind, { shuffle: false, seed: c.seed, grouped });
  const validation = evaluated(c.splits.validation);
  const identity = { task: task.name, labels: task.labels, kind, model: start.source, modelStep: start.step ?? null, config: cfg, seqLen: c.seqLen, seqLens };
  return {
    model: cfg,
    seqLen: c.seqLen,
    seqLens,
    params: [...encoderParams(cfg, ''), ...classificationHeadParams(cfg, L)],
    train,
    validation,
    test: c.splits.test ? evaluated(c.splits.test) : null,
    async build(b) {
      const { rt } = b;
      const mode = b.mode, T = b.seqLen;
      const encCfg = mode === 'train' ? cfg : { ...cfg, hiddenDropout: 0, attentionDropout: 0 };
      const ids = rt.empty([B, T], 'u32', 'finetune.ids'), types = rt.empty([B, T], 'u32', 'finetune.types'), lengths = rt.empty([B], 'u32', 'finetune.lengths');
      const labels = kind === 'regression' ? rt.empty([B], 'f32', 'finetune.labels') : rt.empty([B], 'u32', 'finetune.labels');
      const rows = rt.upload(Uint32Array.from({ length: B }, (_, i) => i * T), [B], 'u32', 'finetune.cls_rows');
      const meta = rt.upload([B, B, 0, 0], [4], 'u32', 'finetune.meta');
      // The head reads the [CLS] rows alone: the encoder's last FFN runs there only (EncoderOptions.outputRows).
      const outputRows = { list: rows, count: meta };
      const encoder = await Encoder.build(rt, encCfg, b.params, '', { ids, types, lengths }, { dropoutRng: b.dropoutRng, seed: c.seed, forwardOnly: mode === 'eval', share: b.encoderShare.discriminator, outputRows });
      const head = await buildClassificationHead(rt, encCfg, b.params, encoder.hidden, encoder.dHidden, { rows, labels, meta }, { kind, numLabels: L, dropoutRng: b.dropoutRng, lossWeight: b.lossScale });
      const forward = [await sequenceLengths(rt, ids, lengths, pad), ...encoder.forwardOps, ...head.forward];
      const backward = mode === 'train' ? [...head.backward, ...encoder.backwardOps] : [];
      const scale = b.lossScale;
      const metricTensors = head.xent ? [head.xent.stats] : head.squaredError ? [head.squaredError] : [head.logits];
      const read = (v: HostArray[]): FinetuneMetrics => {
        if (head.xent) {
          const x = xentTotals(v[0], B);
          return { loss: x.loss / scale, accuracy: ratio(x.correct, x.valid) };
        }
        return { loss: head.squaredError ? v[0][0] / B / scale : NaN, accuracy: NaN };
      };
      return {
        inputs: { ids, types, labels },
        encoder,
        logits: head.logits,
        forward,
        backward,
        setStep: (micro) => encoder.setStep(micro),
        stepTargets: () => encoder.stepTargets(),
        metrics: { tensors: metricTensors, read },
        evaluation: (opts = {}) => splitEvaluation(task, opts.split ?? c.splits.validation, head.logits, B, L, grouped),
        state: {},
        release() {
          head.release();
          encoder.release();
          rt.release(ids, types, lengths, labels, rows, meta);
        },
      };
    },
    initialize(rt, params) {
      if (!start.encoder) return { message: `${start.source}: the encoder starts from random initialisation (seed ${c.seed})`, record: { kind: 'init', source: start.source, fresh: 'all' } };
      for (const spec of params.specs) {
        const v = start.encoder.get(spec.name);
        if (!v) continue;
        if (v.length !== spec.shape.reduce((a, x) => a * x, 1)) throw new TrainingError(`${start.source}: '${spec.name}' has ${v.length} values, the model ${spec.shape.join('×')}`);
        rt.write(params.values.get(spec.name)!, v);
      }
      const missing = params.specs.filter((s) => (s.name.startsWith('embeddings.') || s.name.startsWith('encoder.')) && !start.encoder!.has(s.name)).map((s) => s.name);
      if (missing.length) throw new TrainingError(`${start.source}: the encoder lacks ${missing.length} tensors the model needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
      return { message: `${start.source}: encoder loaded (${start.encoder.size} tensors), classification head fresh`, record: { kind: 'init', source: start.source, loaded: start.encoder.size } };
    },
    checkpointState: () => identity,
    checkResume(saved, dir) {
      const diff = (Object.keys(identity) as (keyof typeof identity)[]).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(identity[k]));
      if (diff.length) throw new TrainingError(`${dir}: the checkpoint fine-tuned another setup (${diff.join(', ')} differ)`);
    },
    describe: () => ({ ...identity, taskOptions: c.taskOptions }),
  };
}

/** Loss, predictions and the task's metrics over a split (padding rows dropped). */
function splitEvaluation(task: Task, split: EncodedSplit, logits: Tensor, B: number, L: number, grouped: boolean): Evaluation<FinetuneEval> {
  // Batches come in evaluationOrder (splitBatches); predictions go back to the split's order.
  const n = split.examples.length, order = evaluationOrder(split, grouped);
  const preds: number[] = new Array(n), scores: number[] = new Array(n);
  let loss = 0, seen = 0;
  return {
    tensors: [logits],
    add([z]) {
      for (let b = 0; b < B && seen < n; b++, seen++) {
        const i = order[seen], ex = split.examples[i];
        if (task.kind === 'regression') {
          const y = z[b];
          preds[i] = y;
          loss += (y - ex.label) ** 2 / n;
        } else {
          const p = softmax(z.subarray(b * L, b * L + L));
          let arg = 0;
          for (let k = 1; k < L; k++) if (p[k] > p[arg]) arg = k;
          preds[i] = arg;
          scores[i] = p[L - 1]; // binary tasks: the probability of the last label (the positive one)
          loss += -Math.log(Math.max(p[ex.label], 1e-30)) / n;
        }
      }
    },
    result: () => ({ loss, ...taskMetrics(task, preds, task.kind === 'regression' ? undefined : scores, split.examples) }),
  };
}

export interface EpochResult {
  epoch: number;
  step: number;
  trainLoss: number;
  validation: FinetuneEval;
}

export interface LrResult {
  lr: number;
  run: string;
  /** The metric that chose the best epoch (the task's main one when the run was made). */
  metric: string;
  epochs: EpochResult[];
  best: { epoch: number; validation: FinetuneEval };
  test?: FinetuneEval;
}

export interface FinetuneResult {
  task: string;
  metric: string;
  model: string;
  labels: string[];
  splits: Record<string, number>;
  notes: string[];
  lrs: LrResult[];
  selected: { lr: number; epoch: number; validation: FinetuneEval; test?: FinetuneEval; split: 'test' | 'validation'; score: number };
}

export interface FinetuneReporter {
  message(text: string): void;
  epoch(lr: number, e: EpochResult): void;
}

/** Fine-tune on a task with every learning rate of the grid; pick by validation; score the test split once. */
/** The task, the starting point and the encoded splits a fine-tuning runs on (no GPU work). */
export function prepareFinetune(c: FinetuneConfig): { task: Task; start: StartingPoint; splits: Record<string, EncodedSplit>; seqLen: number } {
  const task = loadTask(c.task, c.taskOptions);
  const start = c.start ?? startingPoint(c.model, { step: c.step, tokenizer: c.tokenizer });
  const limit = Math.min(c.maxLen, start.config.maxPositions, ATTENTION_MAX_T);
  // A limit takes a fixed sample, not the first rows: files are often sorted by label.
  const take = (name: 'train' | 'validation' | 'test', xs: TaskExample[]) => encodeSplit(start.tokenizer, sampleSplit(xs, c.limit?.[name]), limit);
  const splits: Record<string, EncodedSplit> = { train: take('train', task.splits.train), validation: take('validation', task.splits.validation) };
  if (task.splits.test?.length) splits.test = take('test', task.splits.test);
  for (const [name, s] of Object.entries(splits)) if (!s.examples.length) throw new Error(`${task.name}: the ${name} split is empty`);
  // The graph's sequence length: the longest encoded example, within the limit.
  const seqLen = Math.max(...Object.values(splits).flatMap((s) => s.ids.map((x) => x.length)));
  return { task, start, splits, seqLen };
}

export async function finetune(rt: Runtime, c: FinetuneConfig, report?: FinetuneReporter): Promise<FinetuneResult> {
  const { task, start, splits, seqLen } = prepareFinetune(c);
  mkdirSync(c.out, { recursive: true });
  // The tokenizer beside the results: export and predict of the fine-tuned model read it here.
  writeHfTokenizer(c.out, start.tokenizer, start.config.maxPositions);
  const lrs: LrResult[] = [];
  for (const lr of c.lrs) {
    const run = join(c.out, `lr-${lr}`);
    lrs.push(await finetuneOne(rt, task, start, { ...c, splits, seqLen }, lr, run, report));
  }
  const pick = lrs.reduce((a, b) => (better(task, b.best.validation, a.best.validation) ? b : a));
  const split = pick.test ? 'test' : 'validation';
  const result: FinetuneResult = {
    task: task.name,
    metric: task.metric,
    model: start.source,
    labels: task.labels,
    splits: Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v.examples.length])),
    notes: [...task.notes, ...(pick.test ? [] : ['no labelled test split: the score reported is the validation score of the selected run'])],
    lrs,
    selected: { lr: pick.lr, epoch: pick.best.epoch, validation: pick.best.validation, test: pick.test, split, score: (pick.test ?? pick.best.validation)[task.metric] },
  };
  writeFileAtomic(join(c.out, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** Higher is better for every metric the tasks use (accuracy, F1, MCC, correlations, MAP, MRR, P@1). */
function better(task: Task, a: FinetuneEval, b: FinetuneEval): boolean {
  return a[task.metric] > b[task.metric];
}

/** How one learning rate's run optimises: AdamW, warm-up as a fraction of the epochs' steps, then linear decay. */
export function finetuneOptimizer(ft: TrainingTask<FinetuneGraph>, c: FinetuneConfig, lr: number, run: string): OptimizerConfig {
  const totalSteps = ft.train.stepsPerEpoch * c.epochs;
  return {
    run, batch: c.batch, accumulate: 1, lr, warmupSteps: Math.round(c.warmup * totalSteps), schedule: 'linear',
    budget: { kind: 'steps', steps: totalSteps }, seed: c.seed, weightDecay: c.weightDecay, clip: c.clip, evalBatches: ft.validation!.stepsPerEpoch,
  };
}

/** One learning rate: epochs with a validation pass each, the best epoch's parameters kept; the test split scored with them. */
async function finetuneOne(rt: Runtime, task: Task, start: StartingPoint, c: FinetuneConfig & { splits: Record<string, EncodedSplit>; seqLen: number }, lr: number, run: string, report?: FinetuneReporter): Promise<LrResult> {
  const done = join(run, 'lr-result.json');
  if (existsSync(done)) {
    const r = JSON.parse(readFileSync(done, 'utf8')) as LrResult;
    // Its best epoch (and the test score of that epoch's parameters) was chosen by r.metric:
    // under another metric the kept parameters may be the wrong epoch's.
    if (r.metric !== task.metric)
      throw new Error(`${done}: its best epoch was chosen by ${r.metric ?? 'an unrecorded metric'}, but ${task.name}'s main metric is ${task.metric}; move ${run} away to fine-tune it again`);
    report?.message(`${run}: finished earlier, reused`);
    return r;
  }
  const ft = finetuningTask(task, start, c);
  const stepsPerEpoch = ft.train.stepsPerEpoch;
  const totalSteps = stepsPerEpoch * c.epochs;
  const opt = finetuneOptimizer(ft, c, lr, run);
  const resume = existsSync(join(run, 'checkpoints'));
  const tr = await Trainer.forTask(rt, ft, opt, { resume, overwrite: !resume, warn: (m) => report?.message(`warning: ${m}`) });
  if (tr.initReport) report?.message(tr.initReport);
  const epochsPath = join(run, 'epochs.json');
  const epochs: EpochResult[] = resume && existsSync(epochsPath) ? (JSON.parse(readFileSync(epochsPath, 'utf8')) as EpochResult[]).filter((e) => e.step <= tr.step) : [];
  const bestPath = join(run, 'best', 'model.safetensors');
  while (tr.step < totalSteps) {
    let loss = 0, n = 0;
    const end = Math.min(totalSteps, (Math.floor(tr.step / stepsPerEpoch) + 1) * stepsPerEpoch);
    while (tr.step < end) {
      const m = await tr.runStep({ metrics: true });
      if (!Number.isFinite(m.loss) || m.nonfinite) throw new TrainingError(`${run}: non-finite ${m.nonfinite ? 'gradient' : 'loss'} at step ${tr.step} (lr ${lr}): fine-tuning stopped`);
      loss += m.loss;
      n++;
    }
    const validation = await tr.evaluateOn(ft.validation!);
    const e: EpochResult = { epoch: Math.round(tr.step / stepsPerEpoch), step: tr.step, trainLoss: loss / Math.max(1, n), validation: stripStep(validation) };
    epochs.push(e);
    tr.log.write({ kind: 'epoch', ...e });
    report?.epoch(lr, e);
    const best = epochs.reduce((a, b) => (better(task, b.validation, a.validation) ? b : a));
    if (best === e) saveModel(bestPath, await tr.parameters(), tr.params.specs);
    await tr.checkpoint();
    writeFileAtomic(epochsPath, JSON.stringify(epochs, null, 1) + '\n');
  }
  const best = epochs.reduce((a, b) => (better(task, b.validation, a.validation) ? b : a));
  let test: FinetuneEval | undefined;
  if (ft.test && c.splits.test) {
    // The best epoch's parameters on the held-out split, once.
    tr.loadParameters(loadModel(bestPath), bestPath);
    test = stripStep(await tr.evaluateOn(ft.test, undefined, { split: c.splits.test }));
  }
  const result: LrResult = { lr, run: resolve(run), metric: task.metric, epochs, best: { epoch: best.epoch, validation: best.validation }, ...(test ? { test } : {}) };
  writeFileAtomic(done, JSON.stringify(result, null, 1) + '\n');
  return result;
}

const stripStep = ({ step: _, ...rest }: Record<string, number>): FinetuneEval => rest;

function saveModel(path: string, values: Map<string, Float32Array>, specs: { name: string; shape: number[] }[]): void {
  const tensors: Record<string, SafeTensor> = {};
  for (const s of specs) tensors[s.name] = fromFloat32(values.get(s.name)!, s.shape);
  mkdirSync(join(path, '..'), { recursive: true });
  saveSafetensors(path, tensors);
}

function loadModel(path: string): Map<string, Float32Array> {
  return new Map(Object.entries(loadSafetensors(path).tensors).map(([k, t]) => [k, toFloat32(t, k)]));
}


/** True when `dir` holds a finished fine-tuning (its results.json with a selection). */
export function isFinetuneDir(dir: string): boolean {
  const p = join(dir, 'results.json');
  if (!existsSync(p)) return false;
  try {
    return typeof (JSON.parse(readFileSync(p, 'utf8')) as Partial<FinetuneResult>).selected?.lr === 'number';
  } catch {
    return false;
  }
}

/** The selected run's best model of a fine-tuning directory: config, labels, values, tokenizer. */
export function loadFinetuned(dir: string): { config: EncoderConfig; labels: string[]; regression: boolean; params: Map<string, Float32Array>; tokenizer: WordPieceTokenizer; result: FinetuneResult } {
  const result = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as FinetuneResult;
  const run = join(dir, `lr-${result.selected.lr}`);
  const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { config: EncoderConfig; labels: string[]; kind: ClassificationKind };
  const params = loadModel(join(run, 'best', 'model.safetensors'));
  return { config: cfg.config, labels: cfg.kind === 'regression' ? ['value'] : cfg.labels, regression: cfg.kind === 'regression', params, tokenizer: directoryTokenizer(dir), result };
}

/** A fine-tuned model as a Hugging Face BertForSequenceClassification directory. */
export function exportFinetuned(dir: string, out: string): { files: string[]; className: string } {
  const m = loadFinetuned(dir);
  if (m.config.preLayerNorm) throw new Error(`export: ${dir} fine-tuned a pre-LayerNorm encoder, which transformers' BERT (post-LayerNorm) cannot represent`);
  writeHfCheckpoint(out, 'bert-classifier', m.config, m.params, { labels: m.labels, regression: m.regression });
  return { files: ['model.safetensors', 'config.json', ...writeHfTokenizer(out, m.tokenizer, m.config.maxPositions)], className: 'BertForSequenceClassification' };
}
