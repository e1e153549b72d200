// Model configuration: BERT-style encoder sizes, presets, and the parameter list with
// Hugging Face's names, shapes, initialisation and weight-decay flags.
//
// Linear weights are stored as Hugging Face (PyTorch) stores them, [out, in] row-major,
// so y = x·Wᵀ + b, and export to `transformers` is a renaming, not a rewrite.

export interface EncoderConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenDropout: number;
  attentionDropout: number;
  /** 'gelu' (erf, BERT) or 'gelu_tanh'. */
  hiddenAct: 'gelu' | 'gelu_tanh';
  /** Post-LN as BERT (false) or pre-LN (true). */
  preLayerNorm: boolean;
  initializerRange: number;
  padTokenId: number;
}

export type PresetName = 'micro' | 'tiny' | 'mini' | 'small' | 'base';

type Sizes = Pick<EncoderConfig, 'hiddenSize' | 'numLayers' | 'numHeads' | 'intermediateSize'>;

export const PRESETS: Record<PresetName, Sizes> = {
  /** For tests against the float64 reference. */
  micro: { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 },
  tiny: { numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 },
  mini: { numLayers: 4, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 },
  /** The paper's small model. */
  small: { numLayers: 12, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 },
  base: { numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072 },
};

export function makeConfig(preset: string, overrides: Partial<EncoderConfig> & { vocabSize: number }): EncoderConfig {
  if (!(preset in PRESETS)) throw new Error(`unknown model preset '${preset}' (expected one of ${Object.keys(PRESETS).join(', ')})`);
  const cfg: EncoderConfig = {
    maxPositions: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    hiddenDropout: 0.1,
    attentionDropout: 0.1,
    hiddenAct: 'gelu',
    preLayerNorm: false,
    initializerRange: 0.02,
    padTokenId: 0,
    ...PRESETS[preset as PresetName],
    ...overrides,
  };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: EncoderConfig): void {
  const positive = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'typeVocabSize'] as const;
  for (const k of positive) if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`model config: ${k} must be a positive integer, got ${c[k]}`);
  if (c.hiddenSize % c.numHeads !== 0) throw new Error(`model config: hiddenSize ${c.hiddenSize} is not divisible by numHeads ${c.numHeads}`);
  for (const k of ['hiddenDropout', 'attentionDropout'] as const)
    if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`model config: ${k} must be in [0, 1), got ${c[k]}`);
  if (!(c.layerNormEps > 0)) throw new Error(`model config: layerNormEps must be > 0, got ${c.layerNormEps}`);
}

export type Init = { kind: 'normal'; std: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  /** AdamW weight decay applies (not to biases and LayerNorm). */
  decay: boolean;
}

/** Encoder parameters under a prefix ('bert.' / 'electra.' / ''), in a fixed order. */
export function encoderParams(c: EncoderConfig, prefix: string): ParamSpec[] {
  const h = c.hiddenSize, f = c.intermediateSize;
  const normal: Init = { kind: 'normal', std: c.initializerRange };
  const p: ParamSpec[] = [];
  const linear = (name: string, out: number, inp: number) => {
    p.push({ name: `${prefix}${name}.weight`, shape: [out, inp], init: normal, decay: true });
    p.push({ name: `${prefix}${name}.bias`, shape: [out], init: { kind: 'zeros' }, decay: false });
  };
  const layerNorm = (name: string) => {
    p.push({ name: `${prefix}${name}.weight`, shape: [h], init: { kind: 'ones' }, decay: false });
    p.push({ name: `${prefix}${name}.bias`, shape: [h], init: { kind: 'zeros' }, decay: false });
  };
  p.push({ name: `${prefix}embeddings.word_embeddings.weight`, shape: [c.vocabSize, h], init: normal, decay: true });
  p.push({ name: `${prefix}embeddings.position_embeddings.weight`, shape: [c.maxPositions, h], init: normal, decay: true });
  p.push({ name: `${prefix}embeddings.token_type_embeddings.weight`, shape: [c.typeVocabSize, h], init: normal, decay: true });
  layerNorm('embeddings.LayerNorm');
  for (let i = 0; i < c.numLayers; i++) {
    const l = `encoder.layer.${i}.`;
    linear(`${l}attention.self.query`, h, h);
    linear(`${l}attention.self.key`, h, h);
    linear(`${l}attention.self.value`, h, h);
    linear(`${l}attention.output.dense`, h, h);
    layerNorm(`${l}attention.output.LayerNorm`);
    linear(`${l}intermediate.dense`, f, h);
    linear(`${l}output.dense`, h, f);
    layerNorm(`${l}output.LayerNorm`);
  }
  return p;
}

/** BERT's MLM head (BertForMaskedLM); the decoder weight is tied to the word embeddings. */
export function mlmHeadParams(c: EncoderConfig): ParamSpec[] {
  const h = c.hiddenSize;
  return [
    { name: 'cls.predictions.transform.dense.weight', shape: [h, h], init: { kind: 'normal', std: c.initializerRange }, decay: true },
    { name: 'cls.predictions.transform.dense.bias', shape: [h], init: { kind: 'zeros' }, decay: false },
    { name: 'cls.predictions.transform.LayerNorm.weight', shape: [h], init: { kind: 'ones' }, decay: false },
    { name: 'cls.predictions.transform.LayerNorm.bias', shape: [h], init: { kind: 'zeros' }, decay: false },
    { name: 'cls.predictions.bias', shape: [c.vocabSize], init: { kind: 'zeros' }, decay: false },
  ];
}

/** ELECTRA's replaced-token-detection head (ElectraForPreTraining). */
export function detectionHeadParams(c: EncoderConfig): ParamSpec[] {
  const h = c.hiddenSize;
  return [
    { name: 'discriminator_predictions.dense.weight', shape: [h, h], init: { kind: 'normal', std: c.initializerRange }, decay: true },
    { name: 'discriminator_predictions.dense.bias', shape: [h], init: { kind: 'zeros' }, decay: false },
    { name: 'discriminator_predictions.dense_prediction.weight', shape: [1, h], init: { kind: 'normal', std: c.initializerRange }, decay: true },
    { name: 'discriminator_predictions.dense_prediction.bias', shape: [1], init: { kind: 'zeros' }, decay: false },
  ];
}

/** The ELECTRA generator's config: hidden, heads and FFN scaled by `size` (default 1/2). */
export function generatorConfig(disc: EncoderConfig, size: number): EncoderConfig {
  if (!(size > 0 && size <= 1)) throw new Error(`generator size must be in (0, 1], got ${size}`);
  const headDim = disc.hiddenSize / disc.numHeads;
  const numHeads = Math.max(1, Math.round(disc.numHeads * size));
  const cfg = { ...disc, numHeads, hiddenSize: numHeads * headDim, intermediateSize: Math.max(1, Math.round(disc.intermediateSize * size)) };
  validateConfig(cfg);
  return cfg;
}

export function countParams(specs: ParamSpec[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
