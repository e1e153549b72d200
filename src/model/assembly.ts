// One GPU model: an encoder and one head over named parameters, built for training (forward
// and backward) or forward only — the single assembly used by pre-training, evaluation and
// prediction. forward = encoder + head (the head ends in its loss, or in logits only for
// prediction); backward = head + encoder, in reverse (empty when forward-only).
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import type { EncoderConfig } from './config.js';
import type { ModelParams } from './params.js';
import { Encoder, type EncoderInputs, type EncoderOptions } from './encoder.js';
import {
  buildDetectionHead, buildDetectionLogits, buildMlmHead, buildMlmLogits,
  type DetectionHead, type DetectionTargets, type HeadOps, type MlmHead, type MlmHeadOptions, type MlmLogitsHead, type MlmTargets,
} from './heads.js';
import { buildClassificationHead } from './classifier.js';

/** Which head, and what it reads. */
export type HeadSpec =
  | ({ kind: 'mlm'; targets: MlmTargets; lossWeight?: number } & MlmHeadOptions)
  | { kind: 'detection'; targets: DetectionTargets; lambda: number }
  | ({ kind: 'mlm-logits'; rows: Tensor } & MlmHeadOptions)
  | { kind: 'detection-logits' }
  /** BertForSequenceClassification's head at the [CLS] rows (u32 [B]), logits [B, numLabels]. */
  | { kind: 'classification-logits'; rows: Tensor; numLabels: number; regression: boolean };

type HeadOf<S extends HeadSpec> = S extends { kind: 'mlm' } ? MlmHead : S extends { kind: 'detection' } ? DetectionHead : S extends { kind: 'mlm-logits' } ? MlmLogitsHead : HeadOps & { logits: Tensor };
const LOGITS_ONLY = new Set(['mlm-logits', 'detection-logits', 'classification-logits']);

export interface EncoderWithHead<H extends HeadOps> {
  encoder: Encoder;
  head: H;
  forward: Op[];
  backward: Op[];
  release(): void;
}

/** The encoder under `prefix` ('' for the main model) and its head, training or forward-only (opts.forwardOnly). */
export async function buildEncoderWithHead<S extends HeadSpec>(
  rt: Runtime,
  cfg: EncoderConfig,
  params: ModelParams,
  prefix: string,
  inputs: EncoderInputs,
  spec: S,
  opts: EncoderOptions,
): Promise<EncoderWithHead<HeadOf<S>>> {
  const forwardOnly = Boolean(opts.forwardOnly);
  if (LOGITS_ONLY.has(spec.kind) && !forwardOnly) throw new Error(`model: a '${spec.kind}' head has no loss to train; build it forward-only`);
  // The MLM head reads the final hidden states at its selection only: the encoder computes its last FFN there alone.
  const outputRows = spec.kind === 'mlm' ? { list: spec.targets.list, count: spec.targets.meta, countOffset: 0 } : undefined;
  const encoder = await Encoder.build(rt, cfg, params, prefix, inputs, { ...opts, outputRows });
  const word = `${opts.embeddingsPrefix ?? prefix}embeddings.word_embeddings.weight`;
  // A forward-only encoder has no dHidden: the heads then build no backward either.
  const dHidden = encoder.dHidden;
  let head: HeadOps;
  switch (spec.kind) {
    case 'mlm':
      head = await buildMlmHead(rt, cfg, params, word, encoder.hidden, dHidden, spec.targets, { ...spec, gradScale: opts.mixed?.gradScale });
      break;
    case 'detection':
      head = await buildDetectionHead(rt, cfg, params, encoder.hidden, dHidden, spec.targets, { lambda: spec.lambda, gradScale: opts.mixed?.gradScale });
      break;
    case 'mlm-logits':
      head = await buildMlmLogits(rt, cfg, params, word, encoder.hidden, spec.rows, spec);
      break;
    case 'detection-logits':
      head = await buildDetectionLogits(rt, cfg, params, encoder.hidden);
      break;
    case 'classification-logits':
      // Forward only: no labels are read (any u32 [B] tensor stands in).
      head = await buildClassificationHead(rt, cfg, params, encoder.hidden, null, { rows: spec.rows, labels: spec.rows }, { kind: spec.regression ? 'regression' : 'classification', numLabels: spec.numLabels, dropoutRng: opts.dropoutRng });
      break;
  }
  return {
    encoder,
    head: head as HeadOf<S>,
    forward: [...encoder.forwardOps, ...head.forward],
    backward: forwardOnly ? [] : [...head.backward, ...encoder.backwardOps],
    release() {
      head.release();
      encoder.release();
    },
  };
}
