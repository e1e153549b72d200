// Model configuration: BERT-style encoder sizes, presets, and the parameter list with
// Hugging Face's names, shapes, initialisation and weight-decay flags.
//
// Linear weights are stored as Hugging Face (PyTorch) stores them, [out, in] row-major,
// so y = x·Wᵀ + b, and export to `transformers` is a renaming, not a rewrite.

/** BERT's hidden_act: 'gelu' (erf) or 'gelu_tanh' (the tanh approximation, gelu_new). */
export type HiddenAct = 'gelu' | 'gelu_tanh';

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
  hiddenAct: HiddenAct;
  /**
   * Post-LN as BERT (false) or pre-LN (true; Xiong et al. 2020): per layer
   * x += Dropout(Attn(LN₁(x))), x += Dropout(FFN(LN₂(x))), then a final LayerNorm. LN₁ is
   * stored as `attention.output.LayerNorm`, LN₂ as `output.LayerNorm`, the final one as
   * `encoder.final_layer_norm` (see src/model/encoder.ts).
   */
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
  // Pre-LN only: the LayerNorm after the last layer (the heads read normalised states).
  if (c.preLayerNorm) layerNorm('encoder.final_layer_norm');
  return p;
}

/** Parameter names of an MLM-style head: dense (+ .weight/.bias), LayerNorm (+ .weight/.bias), decoder bias. */
export interface MlmHeadNames {
  dense: string;
  layerNorm: string;
  bias: string;
}

/** Parameter names of the detection head: dense (h×h) and the h×1 prediction. */
export interface DetectionHeadNames {
  dense: string;
  prediction: string;
}

/**
 * The heads' parameter names, as Hugging Face's classes name them: BertForMaskedLM's
 * cls.predictions.*, ElectraForMaskedLM's generator head, ElectraForPreTraining's
 * discriminator_predictions.*, BertForSequenceClassification's pooler and classifier. One table for the parameter lists below, the GPU heads, the
 * float64 reference and export.
 */
export const HEAD_NAMES = {
  mlm: { dense: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias' },
  generator: { dense: 'generator_predictions.dense', layerNorm: 'generator_predictions.LayerNorm', bias: 'generator_lm_head.bias' },
  detection: { dense: 'discriminator_predictions.dense', prediction: 'discriminator_predictions.dense_prediction' },
  /** BertForSequenceClassification's pooler (bert.pooler.dense, stored without the 'bert.') and classifier. */
  classification: { pooler: 'pooler.dense', classifier: 'classifier' },
} as const satisfies { mlm: MlmHeadNames; generator: MlmHeadNames; detection: DetectionHeadNames; classification: { pooler: string; classifier: string } };

/** The GELU form a kernel takes for a config's activation name. */
export function geluForm(act: HiddenAct): 'erf' | 'tanh' {
  return act === 'gelu' ? 'erf' : 'tanh';
}

/**
 * An MLM-style head from the encoder's width `h` to the embedding width `E`, then the decoder
 * tied to the word embeddings plus a vocabulary bias: BertForMaskedLM's by default.
 */
export function mlmHeadParams(c: EncoderConfig, names: MlmHeadNames = HEAD_NAMES.mlm, h = c.hiddenSize, E = c.hiddenSize, std = c.initializerRange): ParamSpec[] {
  return [
    { name: `${names.dense}.weight`, shape: [E, h], init: { kind: 'normal', std }, decay: true },
    { name: `${names.dense}.bias`, shape: [E], init: { kind: 'zeros' }, decay: false },
    { name: `${names.layerNorm}.weight`, shape: [E], init: { kind: 'ones' }, decay: false },
    { name: `${names.layerNorm}.bias`, shape: [E], init: { kind: 'zeros' }, decay: false },
    { name: names.bias, shape: [c.vocabSize], init: { kind: 'zeros' }, decay: false },
  ];
}

/** ELECTRA's replaced-token-detection head (ElectraForPreTraining). */
export function detectionHeadParams(c: EncoderConfig): ParamSpec[] {
  const h = c.hiddenSize, n = HEAD_NAMES.detection;
  return [
    { name: `${n.dense}.weight`, shape: [h, h], init: { kind: 'normal', std: c.initializerRange }, decay: true },
    { name: `${n.dense}.bias`, shape: [h], init: { kind: 'zeros' }, decay: false },
    { name: `${n.prediction}.weight`, shape: [1, h], init: { kind: 'normal', std: c.initializerRange }, decay: true },
    { name: `${n.prediction}.bias`, shape: [1], init: { kind: 'zeros' }, decay: false },
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

/**
 * The ELECTRA generator's own parameters, in Hugging Face's ElectraForMaskedLM layout under
 * internal names: it SHARES the discriminator's whole embeddings module (`embeddings.*`:
 * word, position, type and the embedding LayerNorm, as the original ELECTRA code's shared
 * "electra/embeddings" scope), projects it to its hidden size with its own
 * `generator.embeddings_project` (only when the sizes differ, as HF), runs its own layers
 * `generator.encoder.layer.*`, and predicts tokens with `generator_predictions.dense`
 * (gen hidden → embedding size) + GELU + `generator_predictions.LayerNorm`, then the
 * decoder tied to the word embeddings plus `generator_lm_head.bias`.
 */
export function generatorParams(disc: EncoderConfig, gen: EncoderConfig): ParamSpec[] {
  const E = disc.hiddenSize, H = gen.hiddenSize;
  const normal: Init = { kind: 'normal', std: gen.initializerRange };
  const p: ParamSpec[] = [];
  if (E !== H) {
    p.push({ name: 'generator.embeddings_project.weight', shape: [H, E], init: normal, decay: true });
    p.push({ name: 'generator.embeddings_project.bias', shape: [H], init: { kind: 'zeros' }, decay: false });
  }
  p.push(...encoderParams(gen, 'generator.').filter((s) => !s.name.startsWith('generator.embeddings.')));
  p.push(...mlmHeadParams(disc, HEAD_NAMES.generator, H, E, gen.initializerRange));
  return p;
}

/** Parse a generator size: a fraction '1/2' or a number in (0, 1]. */
export function parseGeneratorSize(s: string): number {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  const x = m ? Number(m[1]) / Number(m[2]) : Number(s);
  if (!(x > 0 && x <= 1)) throw new Error(`generator size must be a fraction in (0, 1] such as 1/2, 1/3, 1/4 or 0.5, got '${s}'`);
  return x;
}

export function countParams(specs: ParamSpec[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
