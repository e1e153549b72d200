// What every pre-training objective shares: the context it is built in, the step graph it
// builds (a TrainGraph with the pre-training fields tests and tools look at), position
// selection, and the two graph shapes — a vocabulary head at the selected positions (MLM,
// SLM) and a detection head at every real position (RTS, C-RTS). ELECTRA composes its own
// (src/objectives/electra.ts). docs/objectives.md gives the exact definitions.
//
// Randomness: every draw is Philox keyed by (seed, the step uniform's counter, position)
// with one stream per use, so a step's corruption is a pure function of the seed and step.
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import type { AttentionAlgorithm } from '../kernels/attention.js';
import { bceTotals } from '../kernels/bce.js';
import { sequenceLengths } from '../kernels/lengths.js';
import { detectLabels, selectionCapacity, selectionCounts, selectPositions, vocabTables, type CrtsState, type Selection, type VocabTables } from '../kernels/sampling.js';
import { xentTotals } from '../kernels/xent.js';
import { mlmHeadParams, type EncoderConfig, type ParamSpec } from '../model/config.js';
import type { MixedPrecision } from '../model/precision.js';
import { detectionHeadForwardFlops, encoderForwardFlops, mlmHeadForwardFlops } from '../model/flops.js';

/** Forward FLOPs per token of an encoder with the detection head at every position (RTS, C-RTS). */
export const detectionFlopsPerToken = (cfg: EncoderConfig, T: number) => encoderForwardFlops(cfg, T) + detectionHeadForwardFlops(cfg);
export { encoderForwardFlops, mlmHeadForwardFlops, detectionHeadForwardFlops };
import type { Encoder, EncoderShare } from '../model/encoder.js';
import type { Evaluation, GraphMetrics, GraphStateTensor, HostArray, TrainGraph } from '../model/graph.js';
import type { DetectionHead, MlmHead } from '../model/heads.js';
import { buildEncoderWithHead } from '../model/assembly.js';
import { addConfusion, binaryMetrics, emptyConfusion, ratio } from '../model/metrics.js';
import type { ModelParams } from '../model/params.js';

/** ELECTRA's and the paper's weight of the detection loss (RTS and C-RTS use it too). */
export const DETECTION_LAMBDA = 50;

/** Counter streams of the objectives' draws (selection sub 0 and corruption sub 1 share stream values). */
export const STREAM = { select: 1, corrupt: 2, crts: 3, gumbel: 4, unigram: 5 } as const;

/** RTS's replacement generators: uniform over non-special ids (the paper's) or unigram count^α. */
export const RTS_GENERATORS = ['uniform', 'unigram'] as const;
export type RtsGenerator = (typeof RTS_GENERATORS)[number];

/** An objective's own settings (each objective declares which it takes). */
export interface ObjectiveSettings {
  /** ELECTRA: the generator's hidden size, heads and FFN as a fraction of the discriminator's. */
  generatorSize?: number;
  /** RTS: the replacement generator and, for 'unigram', α in count^α. */
  rtsGenerator?: RtsGenerator;
  unigramAlpha?: number;
}

/** Statistics of the prepared data an objective may need. */
export interface ObjectiveStatistics {
  /** C-RTS: token → cluster (special ids −1) and K. */
  clusters?: { assignment: ArrayLike<number>; k: number };
  /** RTS with the unigram generator: one count per id. */
  unigram?: ArrayLike<number>;
}
export type StatisticName = keyof ObjectiveStatistics;

/** Everything an objective's graph is built from. */
export interface ObjectiveContext {
  rt: Runtime;
  /** The (discriminator's) encoder config; an evaluation graph gets it with dropout 0. */
  cfg: EncoderConfig;
  params: ModelParams;
  batch: number;
  seqLen: number;
  /** The step uniform shared with AdamW: the counter of every draw. */
  step: GPUBuffer;
  /** u32 [seed, micro-batch] of hidden dropout. */
  dropoutRng: Tensor;
  seed: number;
  /** Selection probability p. */
  maskProb: number;
  special: { pad: number; mask: number; ids: number[] };
  /** Loss weight of one micro-batch (1 / accumulation). */
  lossScale: number;
  mode: 'train' | 'eval';
  attention?: AttentionAlgorithm | 'auto';
  /** What the training and evaluation graphs' encoders share, per encoder kind (EncoderShare). */
  encoderShare: { generator: EncoderShare; discriminator: EncoderShare };
  settings: ObjectiveSettings;
  statistics: ObjectiveStatistics;
  /** When building the evaluation graph: the training graph, whose state it shares (C-RTS counts). */
  training?: PretrainGraph;
  /** Mixed precision (f16 activations, loss-scaled gradients); absent: f32. */
  mixed?: MixedPrecision;
}

/** A step's readout: the loss as trained, accuracy, overflowed selections; ELECTRA's two losses. */
export interface PretrainMetrics extends GraphMetrics {
  overflow: number;
  electra?: { genLoss: number; discLoss: number; genAccuracy: number };
}

/** Validation metrics: mean loss, pooled accuracy; F1 of "replaced" for detection; ELECTRA's generator's. */
export interface PretrainEval {
  loss: number;
  accuracy: number;
  genLoss?: number;
  genAccuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
}

/** What one validation batch's metrics were computed from (evaluation's onBatch). */
export interface EvalBatch {
  index: number;
  /** The batch's own loss and accuracy, as the step readout derives them from the kernels' totals. */
  readout: PretrainMetrics;
  /** Detection objectives: the head's logits, targets (1 = replaced) and weights (0 = ignored) at every position. */
  detection?: { logits: Float32Array; target: Float32Array; weight: Float32Array };
  /** MLM/SLM's head or ELECTRA's generator: xent's stats, the selection's labels (original ids) and its count of rows. */
  selection?: { stats: Float32Array; labels: Uint32Array; count: number };
}

/** The corruption a step applied: what the encoder reads and what the losses compare with. */
export interface Corruption {
  /** u32 [B, T]: the (first) encoder's input. */
  inputIds: Tensor;
  selection: Selection;
  vocab: VocabTables;
  /** Detection: f32 [N] targets (1 = replaced) and weights (1 at real, non-special positions). */
  target?: Tensor;
  weight?: Tensor;
  crts?: CrtsState;
  /** ELECTRA: the discriminator's input (the generator's samples at the selected positions). */
  electra?: { discIds: Tensor };
}

export interface PretrainGraph extends TrainGraph<PretrainMetrics, PretrainEval> {
  /** u32 [B, T]: the clean batch, written each micro-batch (inputs.ids). */
  ids: Tensor;
  lengths: Tensor;
  types: Tensor;
  objective: Corruption;
  /** The encoder that is pre-trained (ELECTRA's discriminator). */
  encoder: Encoder;
  mlm?: MlmHead;
  detection?: DetectionHead;
  evaluation(opts?: { onBatch?: (b: EvalBatch) => void }): Evaluation<PretrainEval>;
}

/** An objective: its parameters, option rules, data needs, and how it builds its step graph. */
export interface ObjectiveModule {
  /** One line for help text. */
  summary: string;
  /** The head a pre-trained model of this objective carries (what export and predict use). */
  head: 'mlm' | 'detection';
  /** The ObjectiveSettings fields this objective takes; any other set field is refused. */
  settings: readonly (keyof ObjectiveSettings)[];
  statistics(s: ObjectiveSettings): readonly StatisticName[];
  /** Parameters beyond the encoder's: its head (ELECTRA: and its generator). */
  params(cfg: EncoderConfig, s: ObjectiveSettings): ParamSpec[];
  /** What checkpoints record of the settings; `checkResume` compares a checkpoint's with this run's. */
  checkpointState(cfg: EncoderConfig, s: ObjectiveSettings): Record<string, unknown>;
  checkResume?(saved: Record<string, unknown>, cfg: EncoderConfig, s: ObjectiveSettings, where: string): void;
  /** Forward model FLOPs per token of a sequence of T with selection probability p (src/model/flops.ts). */
  forwardFlopsPerToken(cfg: EncoderConfig, s: ObjectiveSettings, T: number, p: number): number;
  build(ctx: ObjectiveContext): Promise<PretrainGraph>;
}

// ---- pieces every objective builds on --------------------------------------------------------

/** The clean batch's tensors, the vocabulary tables and the selection, with the ops that fill them. */
export async function selectionBase(ctx: ObjectiveContext) {
  const { rt, batch: B, seqLen: T } = ctx;
  const ids = rt.empty([B, T], 'u32', 'batch.ids');
  const lengths = rt.empty([B], 'u32', 'batch.lengths');
  const types = rt.zeros([B, T], 'u32', 'batch.types');
  const vt = vocabTables(rt, ctx.cfg.vocabSize, ctx.special.ids);
  const N = B * T;
  const selectOptions = { p: ctx.maskProb, capacity: selectionCapacity(N, ctx.maskProb), seed: ctx.seed, stream: STREAM.select };
  if (!(ctx.maskProb > 0 && ctx.maskProb < 1)) throw new Error(`selection probability must be in (0, 1), got ${ctx.maskProb}`);
  const sel = await selectPositions(rt, ids, vt, ctx.step, selectOptions);
  // Lengths come from the ids on the GPU: only token ids (and counters) go up per step.
  const ops: Op[] = [await sequenceLengths(rt, ids, lengths, ctx.special.pad), ...sel.ops];
  const own: { release(): void }[] = [sel, vt];
  return { ids, lengths, types, vt, sel, N, selectOptions, ops, own, tensors: [ids, lengths, types] };
}
export type SelectionBase = Awaited<ReturnType<typeof selectionBase>>;

/** Detection targets and weights, and the op that labels them from the corrupted ids. */
export async function detectionTargets(ctx: ObjectiveContext, base: SelectionBase, corrupted: Tensor) {
  const target = ctx.rt.empty([base.N], 'f32', 'objective.target');
  const weight = ctx.rt.empty([base.N], 'f32', 'objective.weight');
  base.tensors.push(target, weight);
  return { target, weight, op: await detectLabels(ctx.rt, base.ids, corrupted, base.vt, target, weight, ctx.step) };
}

const trainMode = (ctx: ObjectiveContext) => ctx.mode === 'train';

/** The fields of a PretrainGraph every objective fills the same way. */
function graphFrame(base: SelectionBase) {
  return {
    inputs: { ids: base.ids },
    ids: base.ids,
    lengths: base.lengths,
    types: base.types,
  };
}

/** Reads of one batch: the selection's meta first, then the head's totals. */
export function readSelection(values: HostArray[]): number {
  return selectionCounts(values[0]).overflow;
}

/**
 * MLM / SLM: the encoder over the corrupted ids, the vocabulary head at the selected
 * positions (sparse cross-entropy, decoder tied to the word embeddings).
 */
export async function vocabularyGraph(ctx: ObjectiveContext, base: SelectionBase, corruptOps: Op[]): Promise<PretrainGraph> {
  const { rt, cfg, lossScale: scale } = ctx;
  const sel = base.sel;
  const model = await buildEncoderWithHead(rt, cfg, ctx.params, '', { ids: sel.outIds, types: base.types, lengths: base.lengths }, { kind: 'mlm', targets: sel, lossWeight: scale }, encoderOptions(ctx, 'discriminator'));
  const cap = sel.capacity;
  const read = (values: HostArray[]): PretrainMetrics => {
    const x = xentTotals(values[1], cap);
    return { loss: x.loss / scale, accuracy: ratio(x.correct, x.valid), overflow: readSelection(values) };
  };
  return {
    ...graphFrame(base),
    objective: { inputIds: sel.outIds, selection: sel, vocab: base.vt },
    encoder: model.encoder,
    mlm: model.head,
    forward: [...base.ops, ...corruptOps, ...model.forward],
    backward: model.backward,
    setStep: (micro) => model.encoder.setStep(micro),
    stepTargets: () => model.encoder.stepTargets(),
    metrics: { tensors: [sel.meta, model.head.xent.stats], read },
    evaluation: (opts = {}) => vocabularyEvaluation(rt, [sel.meta, model.head.xent.stats], read, cap, sel, opts.onBatch),
    state: {},
    release() {
      model.release();
      for (const o of base.own) o.release();
      rt.release(...base.tensors);
    },
  };
}

/** Mean loss and pooled accuracy over the batches' selected positions. */
function vocabularyEvaluation(rt: Runtime, tensors: Tensor[], read: (v: HostArray[]) => PretrainMetrics, cap: number, sel: Selection, onBatch?: (b: EvalBatch) => void): Evaluation<PretrainEval> {
  let loss = 0, n = 0, correct = 0, valid = 0;
  return {
    tensors: onBatch ? [...tensors, sel.labels] : tensors,
    add(values) {
      const readout = read(values);
      const x = xentTotals(values[1], cap);
      loss += readout.loss;
      correct += x.correct;
      valid += x.valid;
      onBatch?.({ index: n, readout, selection: { stats: values[1] as Float32Array, labels: values[2] as Uint32Array, count: selectionCounts(values[0]).count } });
      n++;
    },
    result: () => ({ loss: loss / n, accuracy: ratio(correct, valid) }),
  };
}

/**
 * RTS / C-RTS: detection targets from the corrupted ids, the encoder over them, the detection
 * head at every real position (BCE × λ); `afterForward` (C-RTS's count update) runs after the
 * head's forward in training graphs.
 */
export async function detectionGraph(
  ctx: ObjectiveContext,
  base: SelectionBase,
  corruptOps: Op[],
  extra: { crts?: CrtsState; afterForward?: (logits: Tensor) => Promise<Op[]>; state?: Record<string, GraphStateTensor>; release?: () => void } = {},
): Promise<PretrainGraph> {
  const { rt, cfg, lossScale: scale } = ctx;
  const sel = base.sel;
  const labels = await detectionTargets(ctx, base, sel.outIds);
  const targets = { target: labels.target, weight: labels.weight };
  const model = await buildEncoderWithHead(rt, cfg, ctx.params, '', { ids: sel.outIds, types: base.types, lengths: base.lengths }, { kind: 'detection', targets, lambda: DETECTION_LAMBDA * scale }, encoderOptions(ctx, 'discriminator'));
  const forward = [...base.ops, ...corruptOps, labels.op, ...model.forward];
  if (trainMode(ctx) && extra.afterForward) forward.push(...(await extra.afterForward(model.head.logits)));
  const read = (values: HostArray[]): PretrainMetrics => {
    const o = bceTotals(values[1]);
    return { loss: o.loss / scale, accuracy: ratio(o.correct, o.count), overflow: readSelection(values) };
  };
  const tensors = [sel.meta, model.head.bce.out];
  return {
    ...graphFrame(base),
    objective: { inputIds: sel.outIds, selection: sel, vocab: base.vt, ...targets, crts: extra.crts },
    encoder: model.encoder,
    detection: model.head,
    forward,
    backward: model.backward,
    setStep: (micro) => model.encoder.setStep(micro),
    stepTargets: () => model.encoder.stepTargets(),
    metrics: { tensors, read },
    evaluation: (opts = {}) => detectionEvaluation(tensors, model.head.logits, targets, read, opts.onBatch),
    state: extra.state ?? {},
    release() {
      model.release();
      extra.release?.();
      for (const o of base.own) o.release();
      rt.release(...base.tensors);
    },
  };
}

/**
 * Mean loss and, pooled over the batches' real positions, accuracy, precision, recall and F1
 * of "replaced" (src/model/metrics.ts). The logits, targets and weights are read after the
 * metric tensors; ELECTRA passes `selection` for its generator's loss and accuracy.
 */
export function detectionEvaluation(
  tensors: Tensor[],
  logits: Tensor,
  targets: { target: Tensor; weight: Tensor },
  read: (v: HostArray[]) => PretrainMetrics,
  onBatch?: (b: EvalBatch) => void,
  selection?: { labels: Tensor; statsIndex: number },
): Evaluation<PretrainEval> {
  const confusion = emptyConfusion();
  let loss = 0, genLoss = 0, n = 0, correct = 0, valid = 0;
  const k = tensors.length;
  return {
    tensors: [...tensors, logits, targets.target, targets.weight, ...(onBatch && selection ? [selection.labels] : [])],
    add(values) {
      const readout = read(values);
      loss += readout.loss;
      const [z, y, w] = values.slice(k, k + 3) as Float32Array[];
      addConfusion(confusion, z, y, w);
      const batch: EvalBatch = { index: n, readout, detection: { logits: z, target: y, weight: w } };
      if (readout.electra && selection) {
        genLoss += readout.electra.genLoss;
        const stats = values[selection.statsIndex] as Float32Array;
        const x = xentTotals(stats, (stats.length - 8) / 4);
        correct += x.correct;
        valid += x.valid;
        if (onBatch) batch.selection = { stats, labels: values[k + 3] as Uint32Array, count: selectionCounts(values[0]).count };
      }
      onBatch?.(batch);
      n++;
    },
    result: () => ({ loss: loss / n, ...binaryMetrics(confusion), ...(selection ? { genLoss: genLoss / n, genAccuracy: ratio(correct, valid) } : {}) }),
  };
}

/** Encoder options of the context for one encoder kind. */
export function encoderOptions(ctx: ObjectiveContext, kind: 'generator' | 'discriminator') {
  return { dropoutRng: ctx.dropoutRng, seed: ctx.seed, forwardOnly: !trainMode(ctx), attention: ctx.attention, share: ctx.encoderShare[kind], mixed: ctx.mixed };
}

/** An objective with a vocabulary head and no settings of its own (MLM, SLM): what differs is the corruption. */
export function vocabularyObjective(summary: string, corruption: (ctx: ObjectiveContext, base: SelectionBase) => Promise<Op>): ObjectiveModule {
  return {
    summary,
    head: 'mlm',
    settings: [],
    statistics: () => [],
    params: (cfg) => mlmHeadParams(cfg),
    checkpointState: () => ({}),
    // The vocabulary head runs at the selected positions only (a fraction p of the tokens).
    forwardFlopsPerToken: (cfg, _s, T, p) => encoderForwardFlops(cfg, T, p) + p * mlmHeadForwardFlops(cfg),
    async build(ctx) {
      const base = await selectionBase(ctx);
      return vocabularyGraph(ctx, base, [await corruption(ctx, base)]);
    },
  };
}
