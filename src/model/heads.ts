// The heads on the GPU, forward and backward, each writing the encoder's dHidden:
//  - MLM (BertForMaskedLM's cls.predictions): evaluated only at the selected positions —
//    gather → dense + GELU + LayerNorm → decoder tied to the word embeddings + bias →
//    sparse softmax cross-entropy, chunked over the vocabulary; the same head under
//    ElectraForMaskedLM's names (HEAD_NAMES.generator, dense from the generator's hidden size
//    to the embedding size) for the ELECTRA generator;
//  - detection (ElectraForPreTraining's discriminator_predictions): every position —
//    dense + GELU → h×1 → weighted BCE with logits, ×λ.
// Each also has a logits-only form (no loss, no backward) for prediction: the MLM head's full
// vocabulary rows at chosen positions, the detection head's logit per position. The forward
// of the two forms is one piece of code.
// A head given no dHidden (a forward-only encoder's) builds no backward. Parameter gradients
// accumulate (see encoder.ts). In mixed precision the hidden states (and dHidden) are f16 and
// the head stays f32: the gather converts, the detection head's first matmul reads f16, and
// the loss's gradient seed is multiplied by the dynamic loss scale (`gradScale`).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { geluBackward } from '../kernels/gelu.js';
import { layerNorm, layerNormBackward } from '../kernels/layernorm.js';
import { matmul } from '../kernels/matmul.js';
import { xent, type XentOps } from '../kernels/xent.js';
import { bce, type BceOps } from '../kernels/bce.js';
import { gatherRows, scatterRows } from '../kernels/gather.js';
import { HEAD_NAMES, geluForm, type EncoderConfig, type HiddenAct, type MlmHeadNames } from './config.js';
import { grad, param, type ModelParams } from './params.js';
import { linearBackward, linearForward, view2d } from './linear.js';

export type { MlmHeadNames } from './config.js';
export const BERT_MLM_HEAD: MlmHeadNames = HEAD_NAMES.mlm;
/** ElectraForMaskedLM's generator head (ElectraGeneratorPredictions + generator_lm_head). */
export const GENERATOR_HEAD: MlmHeadNames = HEAD_NAMES.generator;

export interface HeadOps {
  forward: Op[];
  backward: Op[];
  release(): void;
}

export interface MlmHead extends HeadOps {
  /** xent's stats: per row (lse, loss, argmax, valid), then [w·mean, Σloss, #valid, #correct, #bad, scale]. */
  xent: XentOps;
  /** The forward ops before xent (gather, dense, GELU, LayerNorm): forward = prologue + xent.forward. */
  prologue: Op[];
}

export interface MlmTargets {
  /** u32 [cap]: selected flattened positions, 0xffffffff past the count. */
  list: Tensor;
  /** u32 [cap]: original ids there (the labels). */
  labels: Tensor;
  /** u32 [≥1]: [count, …]. */
  meta: Tensor;
}

export interface MlmHeadOptions {
  names?: MlmHeadNames;
  /** The head's GELU (default the config's; ElectraGeneratorPredictions uses erf whatever hidden_act says). */
  activation?: HiddenAct;
  label?: string;
}

/** Tensors made by a head, released with it. */
function arena(rt: Runtime, label: string) {
  const own: Tensor[] = [];
  const make = (shape: number[], name: string, dtype: 'f32' | 'u32' = 'f32') => {
    const x = rt.empty(shape, dtype, `${label}.${name}`);
    own.push(x);
    return x;
  };
  return { make, release: () => rt.release(...own) };
}

/** gather → dense + GELU + LayerNorm at the listed rows: the MLM head's transform, shared by both forms. */
async function mlmTransform(rt: Runtime, cfg: EncoderConfig, p: ModelParams, hidden: Tensor, list: Tensor, o: MlmHeadOptions, make: ReturnType<typeof arena>['make']) {
  const n = o.names ?? BERT_MLM_HEAD, lb = o.label ?? 'mlm';
  const P = (k: string) => param(p, k);
  // h: the encoder's width (input of dense); E: the dense output = the embedding width.
  const h = hidden.shape[1], E = P(`${n.dense}.weight`).shape[0], cap = list.size;
  const sel = make([cap, h], 'sel'), pre = make([cap, E], 'pre'), act = make([cap, E], 'act'), ln = make([cap, E], 'ln'), stats = make([cap, 2], 'stats');
  const activation = o.activation ?? cfg.hiddenAct, form = geluForm(activation);
  const ops: Op[] = [
    await gatherRows(rt, hidden, list, sel),
    await linearForward(rt, sel, P(`${n.dense}.weight`), P(`${n.dense}.bias`), act, `${lb}.transform.dense`, activation, pre), // GELU fused, pre kept
    await layerNorm(rt, act, P(`${n.layerNorm}.weight`), P(`${n.layerNorm}.bias`), ln, stats, { eps: cfg.layerNormEps }),
  ];
  return { ops, n, lb, h, E, cap, sel, pre, act, ln, stats, form };
}

export async function buildMlmHead(
  rt: Runtime,
  cfg: EncoderConfig,
  p: ModelParams,
  wordEmbeddings: string,
  hidden: Tensor,
  dHidden: Tensor | null,
  t: MlmTargets,
  opts: MlmHeadOptions & { lossWeight?: number; gradScale?: Tensor } = {},
): Promise<MlmHead> {
  const P = (k: string) => param(p, k), G = (k: string) => grad(p, k);
  const a = arena(rt, opts.label ?? 'mlm');
  const tf = await mlmTransform(rt, cfg, p, hidden, t.list, opts, a.make);
  const { n, lb, h, E, cap, sel, pre, act, ln, stats, form } = tf;
  const N = hidden.shape[0];
  // No dHidden (a forward-only encoder): no backward.
  const dLn = dHidden ? a.make([cap, E], 'dln') : undefined;
  const x = await xent(
    rt,
    { hidden: ln, weight: P(wordEmbeddings), bias: P(n.bias), labels: t.labels, meta: t.meta, ...(dLn ? { dHidden: dLn, dWeight: G(wordEmbeddings), dBias: G(n.bias) } : {}) },
    { lossWeight: opts.lossWeight ?? 1, accumulate: true, gradScale: opts.gradScale },
  );
  const forward: Op[] = [...tf.ops, ...x.forward];
  const backward: Op[] = [];
  if (dLn && dHidden) {
    const dAct = a.make([cap, E], 'dact'), dPre = a.make([cap, E], 'dpre'), dSel = a.make([cap, h], 'dsel'), inv = a.make([N], 'inv', 'u32');
    backward.push(
      ...x.backward,
      ...(await layerNormBackward(rt, { dy: dLn, x: act, gamma: P(`${n.layerNorm}.weight`), stats, dx: dAct, dgamma: G(`${n.layerNorm}.weight`), dbeta: G(`${n.layerNorm}.bias`), accumulate: true })),
      await geluBackward(rt, pre, dAct, dPre, { form }),
      ...(await linearBackward(rt, { dy: dPre, x: sel, W: P(`${n.dense}.weight`), dW: G(`${n.dense}.weight`), db: G(`${n.dense}.bias`), dx: dSel, label: `${lb}.transform.dense.backward` })),
      ...(await scatterRows(rt, dSel, t.list, inv, dHidden)),
    );
  }
  return { forward, prologue: tf.ops, backward, xent: x, release: () => (x.release(), a.release()) };
}

export interface MlmLogitsHead extends HeadOps {
  /** f32 [rows, V]: the vocabulary logits at the listed positions. */
  logits: Tensor;
}

/** The MLM head's full vocabulary logits at the positions in `rows` (u32 [R], all valid): prediction. */
export async function buildMlmLogits(rt: Runtime, cfg: EncoderConfig, p: ModelParams, wordEmbeddings: string, hidden: Tensor, rows: Tensor, opts: MlmHeadOptions = {}): Promise<MlmLogitsHead> {
  const a = arena(rt, opts.label ?? 'mlm');
  const tf = await mlmTransform(rt, cfg, p, hidden, rows, opts, a.make);
  const logits = a.make([tf.cap, cfg.vocabSize], 'logits');
  const decoder = await matmul(rt, tf.ln, param(p, wordEmbeddings), logits, { transB: true, bias: param(p, tf.n.bias), label: `${tf.lb}.decoder` });
  return { forward: [...tf.ops, decoder], backward: [], logits, release: a.release };
}

export interface DetectionHead extends HeadOps {
  /** [N] detection logits. */
  logits: Tensor;
  /** bce's out: [λ·mean, Σloss, Σw, #correct, #(w>0), λ/Σw, 0, 0]. */
  bce: BceOps;
}

export interface DetectionTargets {
  /** f32 [N]: 1 where the token was replaced. */
  target: Tensor;
  /** f32 [N]: 1 at real (non-special, non-padding) positions, else 0. */
  weight: Tensor;
}

/** dense + GELU → h×1 at every position: the detection head's forward, shared by both forms. */
async function detectionLogits(rt: Runtime, cfg: EncoderConfig, p: ModelParams, hidden: Tensor, make: ReturnType<typeof arena>['make']) {
  const h = cfg.hiddenSize, N = hidden.shape[0], n = HEAD_NAMES.detection;
  const P = (k: string) => param(p, k);
  const pre = make([N, h], 'pre'), act = make([N, h], 'act'), logits = make([N, 1], 'logits');
  const ops: Op[] = [
    await linearForward(rt, hidden, P(`${n.dense}.weight`), P(`${n.dense}.bias`), act, 'detect.dense', cfg.hiddenAct, pre), // GELU fused, pre kept
    await linearForward(rt, act, P(`${n.prediction}.weight`), P(`${n.prediction}.bias`), logits, 'detect.prediction'),
  ];
  return { ops, h, N, n, pre, act, logits };
}

export async function buildDetectionHead(
  rt: Runtime,
  cfg: EncoderConfig,
  p: ModelParams,
  hidden: Tensor,
  dHidden: Tensor | null,
  t: DetectionTargets,
  opts: { lambda?: number; gradScale?: Tensor } = {},
): Promise<DetectionHead> {
  const a = arena(rt, 'detect');
  const d = await detectionLogits(rt, cfg, p, hidden, a.make);
  const { h, N, n, pre, act, logits } = d;
  const P = (k: string) => param(p, k), G = (k: string) => grad(p, k);
  const dLogits = dHidden ? a.make([N, 1], 'dlogits') : undefined;
  const flat = (x: Tensor): Tensor => ({ ...x, shape: [N] });
  const b = await bce(rt, { logits: flat(logits), target: t.target, weight: t.weight, ...(dLogits ? { dlogits: flat(dLogits) } : {}) }, { lambda: opts.lambda ?? 50, gradScale: opts.gradScale });
  const forward: Op[] = [...d.ops, ...b.forward];
  const backward: Op[] = [];
  if (dLogits && dHidden) {
    const dAct = a.make([N, h], 'dact'), dPre = a.make([N, h], 'dpre');
    backward.push(
      ...b.backward,
      ...(await linearBackward(rt, { dy: dLogits, x: act, W: P(`${n.prediction}.weight`), dW: G(`${n.prediction}.weight`), db: G(`${n.prediction}.bias`), dx: dAct, label: 'detect.prediction.backward' })),
      await geluBackward(rt, pre, dAct, dPre, { form: geluForm(cfg.hiddenAct) }),
      ...(await linearBackward(rt, { dy: dPre, x: hidden, W: P(`${n.dense}.weight`), dW: G(`${n.dense}.weight`), db: G(`${n.dense}.bias`), dx: view2d(dHidden, N, h), label: 'detect.dense.backward' })),
    );
  }
  return { forward, backward, logits, bce: b, release: () => (b.release(), a.release()) };
}

/** The detection head's logit at every position, no loss: prediction. */
export async function buildDetectionLogits(rt: Runtime, cfg: EncoderConfig, p: ModelParams, hidden: Tensor): Promise<HeadOps & { logits: Tensor }> {
  const a = arena(rt, 'detect');
  const d = await detectionLogits(rt, cfg, p, hidden, a.make);
  return { forward: d.ops, backward: [], logits: d.logits, release: a.release };
}
