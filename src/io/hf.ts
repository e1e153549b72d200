// Hugging Face layouts: config.json for BertConfig / ElectraConfig, and reading and writing
// checkpoints (model.safetensors + config.json) with the names `transformers` uses.
//
// Inside electrolite the encoder's parameters are named without a model prefix
// ('embeddings.word_embeddings.weight', 'encoder.layer.0...'); heads keep their Hugging
// Face names. Export adds 'bert.' or 'electra.'; import strips it. The MLM decoder weight is
// tied to the word embeddings and never stored separately.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, toFloat32, fromFloat32, writeFileAtomic, type SafeTensor } from './safetensors.js';
import { detectionHeadParams, encoderParams, mlmHeadParams, validateConfig, type EncoderConfig, type ParamSpec } from '../model/config.js';

export type HfArchitecture = 'bert-mlm' | 'electra-discriminator' | 'bert';

const ARCH: Record<HfArchitecture, { modelType: 'bert' | 'electra'; className: string; prefix: string; head: (c: EncoderConfig) => ParamSpec[] }> = {
  'bert-mlm': { modelType: 'bert', className: 'BertForMaskedLM', prefix: 'bert.', head: mlmHeadParams },
  'electra-discriminator': { modelType: 'electra', className: 'ElectraForPreTraining', prefix: 'electra.', head: detectionHeadParams },
  bert: { modelType: 'bert', className: 'BertModel', prefix: '', head: () => [] },
};

export class HfFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HfFormatError';
  }
}

/** config.json contents for an architecture. */
export function hfConfig(arch: HfArchitecture, c: EncoderConfig): Record<string, unknown> {
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
  return c;
}

export interface HfCheckpoint {
  arch: HfArchitecture;
  config: EncoderConfig;
  /** Internal names (encoder without prefix; heads as Hugging Face names them). */
  params: Map<string, Float32Array>;
  /** Tensors present in the file that electrolite does not use (pooler, NSP head). */
  ignored: string[];
}

/** Hugging Face tensors that a pre-training checkpoint may carry and this engine does not use. */
const IGNORABLE = [/^(bert\.|electra\.)?pooler\./, /^cls\.seq_relationship\./, /position_ids$/, /^cls\.predictions\.decoder\.(weight|bias)$/];

function detectArch(hf: Record<string, unknown>, names: string[], file: string): HfArchitecture {
  const archs = (hf.architectures as string[] | undefined) ?? [];
  if (archs.some((a) => a === 'ElectraForPreTraining') || names.some((n) => n.startsWith('discriminator_predictions.'))) return 'electra-discriminator';
  if (archs.some((a) => a === 'BertForMaskedLM' || a === 'BertForPreTraining') || names.some((n) => n.startsWith('cls.predictions.'))) return 'bert-mlm';
  if (hf.model_type === 'bert' || hf.model_type === 'electra') return 'bert';
  throw new HfFormatError(`${file}: model_type ${JSON.stringify(hf.model_type)} / architectures ${JSON.stringify(archs)}: not a BERT or ELECTRA checkpoint`);
}

/** Read a Hugging Face BERT or ELECTRA checkpoint directory; every tensor is checked. */
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
  const config = configFromHf(hf, cfgPath);
  const { tensors: stored } = loadSafetensors(stPath);
  // Checkpoints converted from TensorFlow (bert-base-uncased among them) name LayerNorm's
  // parameters gamma / beta; transformers renames them on load, and so does this.
  const tensors = Object.fromEntries(Object.entries(stored).map(([k, t]) => [k.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias'), t]));
  const names = Object.keys(tensors);
  const arch = detectArch(hf, names, cfgPath);
  const a = ARCH[arch];
  // A bare BertModel may be saved with or without the prefix.
  const prefix = arch === 'bert' && names.some((n) => n.startsWith(`${hf.model_type}.`)) ? `${hf.model_type}.` : a.prefix;
  const specs = [...encoderParams(config, prefix), ...a.head(config)];
  const params = new Map<string, Float32Array>();
  const missing: string[] = [];
  const wrongShape: string[] = [];
  for (const s of specs) {
    const t = tensors[s.name];
    if (!t) {
      missing.push(s.name);
      continue;
    }
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      wrongShape.push(`${s.name}: file has [${t.shape.join(', ')}], config.json implies [${s.shape.join(', ')}]`);
      continue;
    }
    params.set(s.name.startsWith(prefix) ? s.name.slice(prefix.length) : s.name, toFloat32(t, s.name));
  }
  const known = new Set(specs.map((s) => s.name));
  const ignored = names.filter((n) => !known.has(n) && IGNORABLE.some((r) => r.test(n)));
  const unexpected = names.filter((n) => !known.has(n) && !IGNORABLE.some((r) => r.test(n)));
  const problems: string[] = [];
  if (wrongShape.length) problems.push(`sizes disagree with config.json:\n    ${wrongShape.join('\n    ')}`);
  if (missing.length) problems.push(`missing tensors (${missing.length}): ${missing.join(', ')}`);
  if (unexpected.length) problems.push(`unexpected tensors (${unexpected.length}): ${unexpected.join(', ')}`);
  if (problems.length) throw new HfFormatError(`${stPath} (${a.className}):\n  ${problems.join('\n  ')}`);
  return { arch, config, params, ignored };
}

/** Write model.safetensors + config.json in the layout `from_pretrained` loads. */
export function writeHfCheckpoint(dir: string, arch: HfArchitecture, config: EncoderConfig, params: Map<string, Float32Array>): void {
  mkdirSync(dir, { recursive: true });
  const a = ARCH[arch];
  const specs = [...encoderParams(config, ''), ...a.head(config)];
  const headNames = new Set(a.head(config).map((s) => s.name));
  const tensors: Record<string, SafeTensor> = {};
  for (const s of specs) {
    const v = params.get(s.name);
    if (!v) throw new HfFormatError(`export ${a.className}: parameter '${s.name}' is missing`);
    const n = s.shape.reduce((x, y) => x * y, 1);
    if (v.length !== n) throw new HfFormatError(`export ${a.className}: parameter '${s.name}' has ${v.length} values, expected ${n} for [${s.shape.join(', ')}]`);
    tensors[headNames.has(s.name) ? s.name : a.prefix + s.name] = fromFloat32(v, s.shape);
  }
  saveSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(hfConfig(arch, config), null, 2) + '\n');
}
