// The sequence-classification head on the GPU, as transformers' BertForSequenceClassification:
// BERT's pooler (the [CLS] row → dense + tanh), dropout, then a linear layer to the labels;
// softmax cross-entropy over the labels (the xent kernel, with the labels as its
// "vocabulary"), or MSE for regression (one output). Forward always writes the logits
// [B, L] (evaluation and prediction read them); with a dHidden it also builds the loss and
// the backward, which scatters the [CLS] rows' gradient into dHidden (zeros elsewhere).
// Parameter gradients accumulate (see encoder.ts).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { binary, affine, tanhForward, tanhBackward } from '../kernels/elementwise.js';
import { dropout, dropoutBackward } from '../kernels/dropout.js';
import { gatherRows, scatterRows } from '../kernels/gather.js';
import { reduceAll } from '../kernels/reduce.js';
import { xent, type XentOps } from '../kernels/xent.js';
import { HEAD_NAMES, type EncoderConfig, type ParamSpec } from './config.js';
import { DROPOUT_SITES } from './dropout-sites.js';
import { linearBackward, linearForward } from './linear.js';
import { grad, param, type ModelParams } from './params.js';

export type ClassificationKind = 'classification' | 'regression';

/** The head's parameters (BertForSequenceClassification's pooler and classifier; internal names without 'bert.'). */
export function classificationHeadParams(c: EncoderConfig, numLabels: number): ParamSpec[] {
  const h = c.hiddenSize, n = HEAD_NAMES.classification, normal = { kind: 'normal' as const, std: c.initializerRange };
  if (!Number.isInteger(numLabels) || numLabels < 1) throw new Error(`classification head: numLabels must be a positive integer, got ${numLabels}`);
  return [
    { name: `${n.pooler}.weight`, shape: [h, h], init: normal, decay: true },
    { name: `${n.pooler}.bias`, shape: [h], init: { kind: 'zeros' }, decay: false },
    { name: `${n.classifier}.weight`, shape: [numLabels, h], init: normal, decay: true },
    { name: `${n.classifier}.bias`, shape: [numLabels], init: { kind: 'zeros' }, decay: false },
  ];
}

export interface ClassificationTargets {
  /** u32 [B]: the flattened position of each sequence's [CLS] (b·T). */
  rows: Tensor;
  /** Classification: u32 [B] label indices (0xffffffff: a padding row, left out of the loss). Regression: f32 [B]. */
  labels: Tensor;
  /** Classification: u32 [≥1], meta[0] = B (xent's row count). */
  meta?: Tensor;
}

export interface ClassificationHead {
  forward: Op[];
  backward: Op[];
  /** f32 [B, L]: the logits (regression: the prediction, L = 1). */
  logits: Tensor;
  /** Classification with a loss: xent's stats (loss, #valid, #correct at [4B], [4B+2], [4B+3]). */
  xent?: XentOps;
  /** Regression with a loss: f32 [1], Σ(prediction − label)²; the loss is lossWeight · it / B. */
  squaredError?: Tensor;
  release(): void;
}

export interface ClassificationOptions {
  kind: ClassificationKind;
  numLabels: number;
  /** Hidden dropout on the pooled output (rate: the config's), from the dropout counter tensor. */
  dropoutRng: Tensor;
  streamBase?: number;
  /** Loss weight of one micro-batch (1 / accumulation). */
  lossWeight?: number;
}

export async function buildClassificationHead(rt: Runtime, cfg: EncoderConfig, p: ModelParams, hidden: Tensor, dHidden: Tensor | null, t: ClassificationTargets, o: ClassificationOptions): Promise<ClassificationHead> {
  const own: Tensor[] = [];
  const make = (shape: number[], label: string, dtype: 'f32' | 'u32' = 'f32') => {
    const x = rt.empty(shape, dtype, `classify.${label}`);
    own.push(x);
    return x;
  };
  const n = HEAD_NAMES.classification, h = cfg.hiddenSize, B = t.rows.size, L = o.numLabels, N = hidden.shape[0];
  if (o.kind === 'regression' && L !== 1) throw new Error(`classification head: regression has one output, got numLabels ${L}`);
  const P = (k: string) => param(p, k), G = (k: string) => grad(p, k);
  const rate = cfg.hiddenDropout, stream = DROPOUT_SITES.classifier(o.streamBase ?? 0);
  const cls = make([B, h], 'cls'), pre = make([B, h], 'pooler.pre'), pooled = make([B, h], 'pooled');
  const dropped = rate > 0 ? make([B, h], 'pooled.dropout') : pooled;
  const logits = make([B, L], 'logits');
  const forward: Op[] = [
    await gatherRows(rt, hidden, t.rows, cls),
    await linearForward(rt, cls, P(`${n.pooler}.weight`), P(`${n.pooler}.bias`), pre, 'classify.pooler'),
    await tanhForward(rt, pre, pooled),
    ...(rate > 0 ? [await dropout(rt, pooled, dropped, { rate, rng: o.dropoutRng, stream })] : []),
    await linearForward(rt, dropped, P(`${n.classifier}.weight`), P(`${n.classifier}.bias`), logits, 'classify.classifier'),
  ];
  const backward: Op[] = [];
  const head: ClassificationHead = { forward, backward, logits, release: () => (head.xent?.release(), rt.release(...own)) };
  if (!dHidden) return head;

  const lw = o.lossWeight ?? 1;
  const dDropped = make([B, h], 'd.dropped');
  if (o.kind === 'classification') {
    if (!t.meta) throw new Error('classification head: classification needs meta (the row count)');
    // The loss over the labels, its gradient into dDropped and the classifier's dW, db.
    head.xent = await xent(rt, { hidden: dropped, weight: P(`${n.classifier}.weight`), bias: P(`${n.classifier}.bias`), labels: t.labels, meta: t.meta, dHidden: dDropped, dWeight: G(`${n.classifier}.weight`), dBias: G(`${n.classifier}.bias`) }, { lossWeight: lw, accumulate: true });
    forward.push(...head.xent.forward);
    backward.push(...head.xent.backward);
  } else {
    // MSE: d = prediction − label; loss = lw · Σd² / B; dLogits = 2·lw·d / B.
    const diff = make([B, 1], 'diff'), sq = make([1], 'squared_error'), dLogits = make([B, 1], 'd.logits');
    head.squaredError = sq;
    forward.push(await binary(rt, 'sub', logits, t.labels, diff), ...(await reduceAll(rt, 'sumsq', diff, sq)));
    backward.push(
      await affine(rt, diff, dLogits, (2 * lw) / B),
      ...(await linearBackward(rt, { dy: dLogits, x: dropped, W: P(`${n.classifier}.weight`), dW: G(`${n.classifier}.weight`), db: G(`${n.classifier}.bias`), dx: dDropped, label: 'classify.classifier.backward' })),
    );
  }
  const dPooled = rate > 0 ? make([B, h], 'd.pooled') : dDropped;
  const dPre = make([B, h], 'd.pre'), dCls = make([B, h], 'd.cls'), inv = make([N], 'inv', 'u32');
  if (rate > 0) backward.push(await dropoutBackward(rt, dDropped, dPooled, { rate, rng: o.dropoutRng, stream }));
  backward.push(
    await tanhBackward(rt, pooled, dPooled, dPre),
    ...(await linearBackward(rt, { dy: dPre, x: cls, W: P(`${n.pooler}.weight`), dW: G(`${n.pooler}.weight`), db: G(`${n.pooler}.bias`), dx: dCls, label: 'classify.pooler.backward' })),
    ...(await scatterRows(rt, dCls, t.rows, inv, dHidden)),
  );
  return head;
}
