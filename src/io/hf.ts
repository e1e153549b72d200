// Hugging Face layouts: config.json for BertConfig / ElectraConfig, and reading and writing
// checkpoints (model.safetensors + config.json) with the names `transformers` uses.
//
// Inside electrolite the encoder's parameters are named without a model prefix
// ('embeddings.word_embeddings.weight', 'encoder.layer.0...'); heads keep their Hugging
// Face names. Export adds 'bert.' or 'electra.'; import strips it. The MLM decoder weight is
// tied to the word embeddings and never stored separately.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFinite, loadSafetensors, readSafetensorsHeader, saveSafetensors, toFloat32, fromFloat32, type SafeTensor } from './safetensors.js';
import { writeFileAtomic } from '../data/atomic.js';
import { detectionHeadParams, encoderParams, HEAD_NAMES, mlmHeadParams, validateConfig, type EncoderConfig, type ParamSpec } from '../model/config.js';
import { classificationHeadParams } from '../model/classifier.js';
import { WordPieceTokenizer } from '../data/tokenizer.js';
import { UNCASED } from '../data/normalize.js';

export type HfArchitecture = 'bert-mlm' | 'electra-discriminator' | 'bert' | 'bert-classifier';

/** A classifier's labels (names in index order; one unnamed output for regression). */
export interface HfLabels {
  labels: string[];
  regression: boolean;
}

interface Arch {
  modelType: 'bert' | 'electra';
  className: string;
  prefix: string;
  head: (c: EncoderConfig, labels?: HfLabels) => ParamSpec[];
  /** Head tensors stored under the model prefix (BERT's pooler: bert.pooler.dense.*). */
  prefixed?: (name: string) => boolean;
}

const ARCH: Record<HfArchitecture, Arch> = {
  'bert-mlm': { modelType: 'bert', className: 'BertForMaskedLM', prefix: 'bert.', head: (c) => mlmHeadParams(c) },
  'electra-discriminator': { modelType: 'electra', className: 'ElectraForPreTraining', prefix: 'electra.', head: detectionHeadParams },
  bert: { modelType: 'bert', className: 'BertModel', prefix: '', head: () => [] },
  'bert-classifier': {
    modelType: 'bert', className: 'BertForSequenceClassification', prefix: 'bert.',
    head: (c, l) => classificationHeadParams(c, l ? (l.regression ? 1 : l.labels.length) : 2),
    prefixed: (name) => name.startsWith(`${HEAD_NAMES.classification.pooler}.`),
  },
};

/** A head spec under the name the file stores it by. */
const storedName = (a: Arch, name: string) => (a.prefixed?.(name) ? a.prefix + name : name);

/** BertForSequenceClassification's labels from config.json (id2label, num_labels, problem_type). */
export function labelsFromHf(hf: Record<string, unknown>): HfLabels {
  const regression = hf.problem_type === 'regression';
  const id2label = hf.id2label as Record<string, string> | undefined;
  const n = typeof hf.num_labels === 'number' ? hf.num_labels : id2label ? Object.keys(id2label).length : 2;
  return { regression, labels: Array.from({ length: regression ? 1 : n }, (_, i) => id2label?.[String(i)] ?? `LABEL_${i}`) };
}

export class HfFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfFormatError';
  }
}

/** The config fields that size a tensor, and what config.json calls them. */
export type SizeField = 'vocabSize' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'intermediateSize' | 'maxPositions' | 'typeVocabSize';

export const HF_FIELD: Record<SizeField, string> = {
  vocabSize: 'vocab_size',
  hiddenSize: 'hidden_size',
  numLayers: 'num_hidden_layers',
  numHeads: 'num_attention_heads',
  intermediateSize: 'intermediate_size',
  maxPositions: 'max_position_embeddings',
  typeVocabSize: 'type_vocab_size',
};

/**
 * Sizes above which a config is refused before anything is built from it. Far above any
 * BERT or ELECTRA (the largest public ones: 24 layers, hidden 1024-2048, vocabularies of
 * 250k, 512-4096 positions), they only stop a corrupt or hand-edited config.json from making
 * the loader build millions of per-layer entries and die of heap exhaustion; the file's own
 * tensors are then compared with what the config implies.
 */
export const CONFIG_LIMITS: Record<SizeField, number> = {
  vocabSize: 2 ** 21,
  hiddenSize: 2 ** 15,
  numLayers: 1024,
  numHeads: 2 ** 12,
  intermediateSize: 2 ** 18,
  maxPositions: 2 ** 20,
  typeVocabSize: 2 ** 16,
};

/**
 * Refuse a config whose sizes exceed CONFIG_LIMITS, naming `file` and the field as `field`
 * spells it (config.json's names by default; pass `(k) => k` for electrolite's own).
 */
export function checkConfigLimits(c: EncoderConfig, file: string, field: (k: SizeField) => string = (k) => HF_FIELD[k]): void {
  for (const k of Object.keys(CONFIG_LIMITS) as SizeField[]) {
    const v = c[k];
    if (typeof v === 'number' && v > CONFIG_LIMITS[k])
      throw new HfFormatError(`${file}: ${field(k)} is ${v}, above the limit of ${CONFIG_LIMITS[k]} that electrolite accepts (a corrupt or mistyped config?)`);
  }
}

/** The number of parameters a config implies for the encoder plus a head, without building a per-layer list. */
export function impliedParamCount(c: EncoderConfig, head: (c: EncoderConfig) => ParamSpec[] = () => []): number {
  const count = (specs: ParamSpec[]) => specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const base = count(encoderParams({ ...c, numLayers: 0 }, ''));
  const perLayer = count(encoderParams({ ...c, numLayers: 1 }, '')) - base;
  return base + c.numLayers * perLayer + count(head(c));
}

/** The layer indices a set of tensor names holds under `${prefix}encoder.layer.N.`. */
function layerIndices(names: Iterable<string>, prefix: string): number[] {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}encoder\\.layer\\.(\\d+)\\.`);
  const seen = new Set<number>();
  for (const n of names) {
    const m = re.exec(n);
    if (m) seen.add(Number(m[1]));
  }
  return [...seen].sort((a, b) => a - b);
}

/** At most `n` names, then how many more. */
function listSome(xs: string[], n = 20): string {
  return xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')}, … and ${xs.length - n} more`;
}

/** config.json contents for an architecture. */
export function hfConfig(arch: HfArchitecture, c: EncoderConfig, labels?: HfLabels): Record<string, unknown> {
  const a = ARCH[arch];
  const base: Record<string, unknown> = {
    architectures: [a.className],
    model_type: a.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: c.hiddenAct === 'gelu' ? 'gelu' : 'gelu_new',
    hidden_dropout_prob: c.hiddenDropout,
    attention_probs_dropout_prob: c.attentionDropout,
    max_position_embeddings: c.maxPositions,
    type_vocab_size: c.typeVocabSize,
    initializer_range: c.initializerRange,
    layer_norm_eps: c.layerNormEps,
    pad_token_id: c.padTokenId,
    position_embedding_type: 'absolute',
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  };
  if (a.modelType === 'electra') base.embedding_size = c.hiddenSize;
  if (arch === 'bert-classifier' && labels) {
    base.id2label = Object.fromEntries(labels.labels.map((l, i) => [String(i), l]));
    base.label2id = Object.fromEntries(labels.labels.map((l, i) => [l, i]));
    base.problem_type = labels.regression ? 'regression' : 'single_label_classification';
    base.classifier_dropout = null;
  }
  return base;
}

/** The encoder config described by a Hugging Face config.json. */
export function configFromHf(hf: Record<string, unknown>, file = 'config.json'): EncoderConfig {
  const num = (k: string, fallback?: number): number => {
    const v = hf[k] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new HfFormatError(`${file}: field '${k}' is missing or not a number`);
    return v;
  };
  const act = hf.hidden_act ?? 'gelu';
  if (act !== 'gelu' && act !== 'gelu_new' && act !== 'gelu_pytorch_tanh')
    throw new HfFormatError(`${file}: hidden_act '${String(act)}' is not supported (gelu, gelu_new)`);
  if (hf.model_type === 'electra' && hf.embedding_size !== undefined && hf.embedding_size !== hf.hidden_size)
    throw new HfFormatError(`${file}: embedding_size ${String(hf.embedding_size)} ≠ hidden_size ${String(hf.hidden_size)} (an embeddings projection) is not supported`);
  if (hf.position_embedding_type !== undefined && hf.position_embedding_type !== 'absolute')
    throw new HfFormatError(`${file}: position_embedding_type '${String(hf.position_embedding_type)}' is not supported (absolute only)`);
  const c: EncoderConfig = {
    vocabSize: num('vocab_size'),
    hiddenSize: num('hidden_size'),
    numLayers: num('num_hidden_layers'),
    numHeads: num('num_attention_heads'),
    intermediateSize: num('intermediate_size'),
    maxPositions: num('max_position_embeddings', 512),
    typeVocabSize: num('type_vocab_size', 2),
    layerNormEps: num('layer_norm_eps', 1e-12),
    hiddenDropout: num('hidden_dropout_prob', 0.1),
    attentionDropout: num('attention_probs_dropout_prob', 0.1),
    hiddenAct: act === 'gelu' ? 'gelu' : 'gelu_tanh',
    preLayerNorm: false,
    initializerRange: num('initializer_range', 0.02),
    padTokenId: num('pad_token_id', 0),
  };
  try {
    validateConfig(c);
  } catch (e) {
    throw new HfFormatError(`${file}: ${(e as Error).message}`);
  }
  checkConfigLimits(c, file);
  return c;
}

export interface HfCheckpoint {
  arch: HfArchitecture;
  config: EncoderConfig;
  /** Internal names (encoder without prefix; heads as Hugging Face names them). */
  params: Map<string, Float32Array>;
  /** Tensors present in the file that electrolite does not use (pooler, NSP head). */
  ignored: string[];
  /** A sequence classifier's labels. */
  labels?: HfLabels;
}

/** Hugging Face tensors that a pre-training checkpoint may carry and this engine does not use. */
const IGNORABLE = [/^(bert\.|electra\.)?pooler\./, /^cls\.seq_relationship\./, /position_ids$/, /^cls\.predictions\.decoder\.(weight|bias)$/];

function detectArch(hf: Record<string, unknown>, names: string[], file: string): HfArchitecture {
  const archs = (hf.architectures as string[] | undefined) ?? [];
  if (archs.some((a) => a === 'BertForSequenceClassification') || names.some((n) => n.startsWith(`${HEAD_NAMES.classification.classifier}.`))) return 'bert-classifier';
  if (archs.some((a) => a === 'ElectraForPreTraining') || names.some((n) => n.startsWith('discriminator_predictions.'))) return 'electra-discriminator';
  if (archs.some((a) => a === 'BertForMaskedLM' || a === 'BertForPreTraining') || names.some((n) => n.startsWith('cls.predictions.'))) return 'bert-mlm';
  if (hf.model_type === 'bert' || hf.model_type === 'electra') return 'bert';
  throw new HfFormatError(`${file}: model_type ${JSON.stringify(hf.model_type)} / architectures ${JSON.stringify(archs)}: not a BERT or ELECTRA checkpoint`);
}

/**
 * Read a Hugging Face BERT or ELECTRA checkpoint directory; every tensor is checked. The
 * config's sizes are checked against CONFIG_LIMITS and against the tensors named in
 * model.safetensors' header (read alone first) before the data is read or any parameter
 * array is built; every loaded tensor must be finite.
 */
export function readHfCheckpoint(dir: string): HfCheckpoint {
  const cfgPath = join(dir, 'config.json');
  const stPath = join(dir, 'model.safetensors');
  if (!existsSync(cfgPath)) throw new HfFormatError(`${dir}: no config.json (expected a Hugging Face model directory)`);
  if (!existsSync(stPath))
    throw new HfFormatError(`${dir}: no model.safetensors${existsSync(join(dir, 'pytorch_model.bin')) ? ' (pytorch_model.bin is not supported: re-save with safe_serialization=True)' : ''}`);
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new HfFormatError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  if (!hf || typeof hf !== 'object' || Array.isArray(hf)) throw new HfFormatError(`${cfgPath}: not a JSON object`);
  const config = configFromHf(hf, cfgPath);
  // Checkpoints converted from TensorFlow (bert-base-uncased among them) name LayerNorm's
  // parameters gamma / beta; transformers renames them on load, and so does this.
  const rename = (k: string) => k.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  const header = readSafetensorsHeader(stPath);
  const shapes = new Map(Object.entries(header.tensors).map(([k, t]) => [rename(k), t.shape]));
  const names = [...shapes.keys()];
  const arch = detectArch(hf, names, cfgPath);
  const a = ARCH[arch];
  // A bare BertModel may be saved with or without the prefix.
  const prefix = arch === 'bert' && names.some((n) => n.startsWith(`${hf.model_type}.`)) ? `${hf.model_type}.` : a.prefix;
  const problems: string[] = [];
  // What the file holds against what config.json implies, in totals first.
  const layers = layerIndices(names, prefix);
  if (layers.length !== config.numLayers)
    problems.push(
      `num_hidden_layers is ${config.numLayers} in config.json, but the file holds ${layers.length} layer${layers.length === 1 ? '' : 's'}` +
        (layers.length ? ` (${prefix}encoder.layer.${layers[0]}${layers.length > 1 ? `–${layers[layers.length - 1]}` : ''})` : ''),
    );
  const labels = arch === 'bert-classifier' ? labelsFromHf(hf) : undefined;
  const headSpecs = a.head(config, labels).map((s) => ({ ...s, name: storedName(a, s.name) }));
  const headNames = new Set(headSpecs.map((s) => s.name));
  // A tensor the head uses is never ignorable (the classifier's pooler is).
  const isIgnorable = (n: string) => !headNames.has(n) && IGNORABLE.some((r) => r.test(n));
  const held = names.filter((n) => !isIgnorable(n)).reduce((acc, n) => acc + shapes.get(n)!.reduce((x, y) => x * y, 1), 0);
  const implied = impliedParamCount(config, () => headSpecs);
  if (held !== implied) problems.push(`config.json implies ${implied} parameters (${a.className}); the file holds ${held}`);
  // Then tensor by tensor (the spec list is bounded: CONFIG_LIMITS.numLayers layers at most).
  const specs = [...encoderParams(config, prefix), ...headSpecs];
  const missing: string[] = [];
  const wrongShape: string[] = [];
  for (const s of specs) {
    const shape = shapes.get(s.name);
    if (!shape) {
      missing.push(s.name);
      continue;
    }
    if (shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i])) wrongShape.push(`${s.name}: file has [${shape.join(', ')}], config.json implies [${s.shape.join(', ')}]`);
  }
  const known = new Set(specs.map((s) => s.name));
  const ignored = names.filter((n) => !known.has(n) && isIgnorable(n));
  const unexpected = names.filter((n) => !known.has(n) && !isIgnorable(n));
  if (wrongShape.length) problems.unshift(`sizes disagree with config.json:\n    ${wrongShape.slice(0, 20).join('\n    ')}${wrongShape.length > 20 ? `\n    … and ${wrongShape.length - 20} more` : ''}`);
  if (missing.length) problems.push(`missing tensors (${missing.length}): ${listSome(missing)}`);
  if (unexpected.length) problems.push(`unexpected tensors (${unexpected.length}): ${listSome(unexpected)}`);
  if (missing.length || unexpected.length || wrongShape.length) throw new HfFormatError(`${stPath} (${a.className}):\n  ${problems.join('\n  ')}`);
  // Names and shapes agree (so do the totals): now read the data.
  const { tensors: stored } = loadSafetensors(stPath);
  const byName = new Map(Object.entries(stored).map(([k, t]) => [rename(k), { t, stored: k }]));
  const params = new Map<string, Float32Array>();
  for (const s of specs) {
    const { t, stored: storedName } = byName.get(s.name)!;
    const v = toFloat32(t, s.name);
    assertFinite(storedName, v, stPath, s.shape);
    params.set(s.name.startsWith(prefix) ? s.name.slice(prefix.length) : s.name, v);
  }
  return { arch, config, params, ignored, ...(labels ? { labels } : {}) };
}

/** Write model.safetensors + config.json in the layout `from_pretrained` loads. */
export function writeHfCheckpoint(dir: string, arch: HfArchitecture, config: EncoderConfig, params: Map<string, Float32Array>, labels?: HfLabels): void {
  const a = ARCH[arch];
  checkConfigLimits(config, `export ${a.className}: the model config`, (k) => k);
  mkdirSync(dir, { recursive: true });
  const head = a.head(config, labels);
  const specs = [...encoderParams(config, ''), ...head];
  const headNames = new Set(head.filter((s) => !a.prefixed?.(s.name)).map((s) => s.name));
  const tensors: Record<string, SafeTensor> = {};
  for (const s of specs) {
    const v = params.get(s.name);
    if (!v) throw new HfFormatError(`export ${a.className}: parameter '${s.name}' is missing`);
    const n = s.shape.reduce((x, y) => x * y, 1);
    if (v.length !== n) throw new HfFormatError(`export ${a.className}: parameter '${s.name}' has ${v.length} values, expected ${n} for [${s.shape.join(', ')}]`);
    tensors[headNames.has(s.name) ? s.name : a.prefix + s.name] = fromFloat32(v, s.shape);
  }
  saveSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(hfConfig(arch, config, labels), null, 2) + '\n');
}

/** The tokenizer of a directory: tokenizer.json, else vocab.txt (cased as tokenizer_config.json says). */
export function directoryTokenizer(dir: string): WordPieceTokenizer {
  if (existsSync(join(dir, 'tokenizer.json'))) return WordPieceTokenizer.load(dir);
  const vocab = join(dir, 'vocab.txt');
  if (!existsSync(vocab)) throw new Error(`${dir}: no tokenizer (neither tokenizer.json nor vocab.txt)`);
  let normalizer = UNCASED;
  const tc = join(dir, 'tokenizer_config.json');
  if (existsSync(tc)) {
    const j = JSON.parse(readFileSync(tc, 'utf8'));
    const lower = j.do_lower_case !== false;
    normalizer = { lowercase: lower, stripAccents: typeof j.strip_accents === 'boolean' ? j.strip_accents : lower };
  }
  return WordPieceTokenizer.fromVocabTxt(readFileSync(vocab, 'utf8'), normalizer);
}

