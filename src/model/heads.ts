// The heads on the GPU, forward and backward, each writing the encoder's dHidden:
//  - MLM (BertForMaskedLM's cls.predictions): evaluated only at the selected positions —
//    gather → dense + GELU + LayerNorm → decoder tied to the word embeddings + bias →
//    sparse softmax cross-entropy, chunked over the vocabulary; the same head under
//    ElectraForMaskedLM's names (GENERATOR_HEAD: generator_predictions.* + generator_lm_head.bias,
//    dense from the generator's hidden size to the embedding size) for the ELECTRA generator;
//  - detection (ElectraForPreTraining's discriminator_predictions): every position —
//    dense + GELU → h×1 → weighted BCE with logits, ×λ.
// Parameter gradients accumulate (see encoder.ts).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { gelu, geluBackward } from '../kernels/gelu.js';
import { layerNorm, layerNormBackward } from '../kernels/layernorm.js';
import { xent, type XentOps } from '../kernels/xent.js';
import { bce, type BceOps } from '../kernels/bce.js';
import { gatherRows, scatterRows } from '../kernels/gather.js';
import type { EncoderConfig } from './config.js';
import { grad, param, type ModelParams } from './params.js';
import { linearBackward, linearForward, view2d } from './encoder.js';

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

/** Parameter names of an MLM-style head: dense (+ .weight/.bias), LayerNorm (+ .weight/.bias), decoder bias. */
export interface MlmHeadNames {
  dense: string;
  layerNorm: string;
  bias: string;
}

export const BERT_MLM_HEAD: MlmHeadNames = { dense: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias' };
/** ElectraForMaskedLM's generator head (ElectraGeneratorPredictions + generator_lm_head). */
export const GENERATOR_HEAD: MlmHeadNames = { dense: 'generator_predictions.dense', layerNorm: 'generator_predictions.LayerNorm', bias: 'generator_lm_head.bias' };

export interface MlmTargets {
  /** u32 [cap]: selected flattened positions, 0xffffffff past the count. */
  list: Tensor;
  /** u32 [cap]: original ids there (the labels). */
  labels: Tensor;
  /** u32 [≥1]: [count, …]. */
  meta: Tensor;
}

export async function buildMlmHead(
  rt: Runtime,
  cfg: EncoderConfig,
  p: ModelParams,
  wordEmbeddings: string,
  hidden: Tensor,
  dHidden: Tensor,
  t: MlmTargets,
  opts: { lossWeight?: number; forwardOnly?: boolean; names?: MlmHeadNames; activation?: EncoderConfig['hiddenAct']; label?: string } = {},
): Promise<MlmHead> {
  const n = opts.names ?? BERT_MLM_HEAD, lb = opts.label ?? 'mlm';
  const P = (k: string) => param(p, k), G = (k: string) => grad(p, k);
  // h: the encoder's width (input of dense); E: the dense output = the embedding width.
  const h = hidden.shape[1], E = P(`${n.dense}.weight`).shape[0], cap = t.list.size, N = hidden.shape[0];
  const own: Tensor[] = [];
  const T = (shape: number[], label: string, dtype: 'f32' | 'u32' = 'f32') => {
    const x = rt.empty(shape, dtype, `${lb}.${label}`);
    own.push(x);
    return x;
  };
  const sel = T([cap, h], 'sel'), pre = T([cap, E], 'pre'), act = T([cap, E], 'act'), ln = T([cap, E], 'ln'), stats = T([cap, 2], 'stats');
  const form = (opts.activation ?? cfg.hiddenAct) === 'gelu' ? 'erf' : 'tanh';
  const prologue: Op[] = [
    await gatherRows(rt, hidden, t.list, sel),
    await linearForward(rt, sel, P(`${n.dense}.weight`), P(`${n.dense}.bias`), pre, `${lb}.transform.dense`),
    await gelu(rt, pre, act, { form }),
    await layerNorm(rt, act, P(`${n.layerNorm}.weight`), P(`${n.layerNorm}.bias`), ln, stats, { eps: cfg.layerNormEps }),
  ];
  const dLn = opts.forwardOnly ? undefined : T([cap, E], 'dln');
  const x = await xent(
    rt,
    { hidden: ln, weight: P(wordEmbeddings), bias: P(n.bias), labels: t.labels, meta: t.meta, ...(dLn ? { dHidden: dLn, dWeight: G(wordEmbeddings), dBias: G(n.bias) } : {}) },
    { lossWeight: opts.lossWeight ?? 1, accumulate: true },
  );
  const forward: Op[] = [...prologue, ...x.forward];
  const backward: Op[] = [];
  if (dLn) {
    const dAct = T([cap, E], 'dact'), dPre = T([cap, E], 'dpre'), dSel = T([cap, h], 'dsel'), inv = T([N], 'inv', 'u32');
    backward.push(
      ...x.backward,
      ...(await layerNormBackward(rt, { dy: dLn, x: act, gamma: P(`${n.layerNorm}.weight`), stats, dx: dAct, dgamma: G(`${n.layerNorm}.weight`), dbeta: G(`${n.layerNorm}.bias`), accumulate: true })),
      await geluBackward(rt, pre, dAct, dPre, { form }),
      ...(await linearBackward(rt, { dy: dPre, x: sel, W: P(`${n.dense}.weight`), dW: G(`${n.dense}.weight`), db: G(`${n.dense}.bias`), dx: dSel, label: `${lb}.transform.dense.backward` })),
      ...(await scatterRows(rt, dSel, t.list, inv, dHidden)),
    );
  }
  return { forward, prologue, backward, xent: x, release: () => (x.release(), rt.release(...own)) };
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

export async function buildDetectionHead(
  rt: Runtime,
  cfg: EncoderConfig,
  p: ModelParams,
  hidden: Tensor,
  dHidden: Tensor,
  t: DetectionTargets,
  opts: { lambda?: number; forwardOnly?: boolean } = {},
): Promise<DetectionHead> {
  const h = cfg.hiddenSize, N = hidden.shape[0];
  const own: Tensor[] = [];
  const T = (shape: number[], label: string) => {
    const x = rt.empty(shape, 'f32', `detect.${label}`);
    own.push(x);
    return x;
  };
  const pre = T([N, h], 'pre'), act = T([N, h], 'act'), logits = T([N, 1], 'logits');
  const form = cfg.hiddenAct === 'gelu' ? 'erf' : 'tanh';
  const P = (n: string) => param(p, n), G = (n: string) => grad(p, n);
  const forward: Op[] = [
    await linearForward(rt, hidden, P('discriminator_predictions.dense.weight'), P('discriminator_predictions.dense.bias'), pre, 'detect.dense'),
    await gelu(rt, pre, act, { form }),
    await linearForward(rt, act, P('discriminator_predictions.dense_prediction.weight'), P('discriminator_predictions.dense_prediction.bias'), logits, 'detect.prediction'),
  ];
  const dLogits = opts.forwardOnly ? undefined : T([N, 1], 'dlogits');
  const flat = (x: Tensor): Tensor => ({ ...x, shape: [N] });
  const b = await bce(rt, { logits: flat(logits), target: t.target, weight: t.weight, ...(dLogits ? { dlogits: flat(dLogits) } : {}) }, { lambda: opts.lambda ?? 50 });
  forward.push(...b.forward);
  const backward: Op[] = [];
  if (dLogits) {
    const dAct = T([N, h], 'dact'), dPre = T([N, h], 'dpre');
    backward.push(
      ...b.backward,
      ...(await linearBackward(rt, { dy: dLogits, x: act, W: P('discriminator_predictions.dense_prediction.weight'), dW: G('discriminator_predictions.dense_prediction.weight'), db: G('discriminator_predictions.dense_prediction.bias'), dx: dAct, label: 'detect.prediction.backward' })),
      await geluBackward(rt, pre, dAct, dPre, { form }),
      ...(await linearBackward(rt, { dy: dPre, x: hidden, W: P('discriminator_predictions.dense.weight'), dW: G('discriminator_predictions.dense.weight'), db: G('discriminator_predictions.dense.bias'), dx: view2d(dHidden, N, h), label: 'detect.dense.backward' })),
    );
  }
  return { forward, backward, logits, bce: b, release: () => (b.release(), rt.release(...own)) };
}
