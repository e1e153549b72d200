// Export a run's checkpoint as a Hugging Face model directory that `from_pretrained` loads:
// model.safetensors + config.json (BertForMaskedLM, ElectraForPreTraining,
// ElectraForMaskedLM for an ELECTRA generator, or a bare BertModel) and the tokenizer the
// run was trained with (vocab.txt, tokenizer.json, tokenizer_config.json,
// special_tokens_map.json).
//
// A run directory holds `config.json` ({objective, model: EncoderConfig, data: <prepared
// data dir>, …}) and `checkpoints/` (src/io/checkpoint.ts), whose `model` group holds
// every parameter as F32 under its internal name (src/io/hf.ts).
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkpointDir, loadCheckpoint, loadLatestCheckpoint, type CheckpointContents } from './checkpoint.js';
import { assertFinite, fromFloat32, saveSafetensors, toFloat32, type SafeTensor } from './safetensors.js';
import { writeFileAtomic } from '../data/atomic.js';
import { hfConfig, HfFormatError, writeHfCheckpoint, type HfArchitecture } from './hf.js';
import { detectionHeadParams, encoderParams, mlmHeadParams, validateConfig, type EncoderConfig } from '../model/config.js';
import { WordPieceTokenizer, SPECIAL_TOKENS } from '../data/tokenizer.js';
import { verifyTokenizerFiles, ShardError } from '../data/shards.js';
import { OBJECTIVES, objectiveModule, type ObjectiveName } from '../objectives/registry.js';

export type Objective = ObjectiveName;
export type ExportAs = 'auto' | HfArchitecture | 'electra-generator';
export const EXPORT_AS: readonly ExportAs[] = ['auto', 'bert-mlm', 'electra-discriminator', 'electra-generator', 'bert'];

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

export interface RunInfo {
  dir: string;
  objective: Objective;
  model: EncoderConfig;
  /** The prepared data directory (holds the tokenizer). */
  data: string;
}

/** True when `dir` looks like a run directory (config.json with an objective, or checkpoints/). */
export function isRunDir(dir: string): boolean {
  if (existsSync(join(dir, 'checkpoints', 'latest.json'))) return true;
  const cfg = join(dir, 'config.json');
  if (!existsSync(cfg)) return false;
  try {
    return typeof JSON.parse(readFileSync(cfg, 'utf8')).objective === 'string';
  } catch {
    return false;
  }
}

/** Read and check RUN/config.json. */
export function readRun(dir: string): RunInfo {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ExportError(`${dir}: not a run directory (no config.json)`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ExportError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const objective = j.objective as Objective;
  if (!OBJECTIVES.includes(objective)) throw new ExportError(`${path}: objective ${JSON.stringify(j.objective)} is not one of ${OBJECTIVES.join(', ')}`);
  const model = j.model as EncoderConfig;
  if (!model || typeof model !== 'object') throw new ExportError(`${path}: no "model" object (the encoder config)`);
  try {
    validateConfig(model);
  } catch (e) {
    throw new ExportError(`${path}: ${(e as Error).message}`);
  }
  if (typeof j.data !== 'string') throw new ExportError(`${path}: no "data" (the prepared data directory holding the tokenizer)`);
  return { dir, objective, model, data: resolve(dir, j.data) };
}

export interface RunModel {
  run: RunInfo;
  step: number;
  checkpoint: string;
  config: EncoderConfig;
  /** Every tensor of the checkpoint's model group, as float32, by internal name. */
  params: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
}

function listSteps(run: string): number[] {
  const root = join(run, 'checkpoints');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((d) => /^step-\d+$/.test(d)).map((d) => Number(d.slice(5))).sort((a, b) => a - b);
}

/** The model tensors of a run's checkpoint (the newest, or `step`). */
export function loadRunModel(runDir: string, step?: number): RunModel {
  const run = readRun(runDir);
  let dir: string;
  let ck: CheckpointContents;
  if (step !== undefined) {
    dir = checkpointDir(runDir, step);
    if (!existsSync(dir)) {
      const have = listSteps(runDir);
      throw new ExportError(`${runDir}: no checkpoint at step ${step} (${have.length ? `checkpoints: steps ${have.join(', ')}` : 'the run has no checkpoints'})`);
    }
    ck = loadCheckpoint(dir);
  } else {
    // The newest checkpoint that verifies; a broken latest.json or newest checkpoint falls back with a warning.
    const latest = loadLatestCheckpoint(runDir, (m) => process.stderr.write(`warning: ${m}\n`));
    if (!latest) throw new ExportError(`${runDir}: the run has no checkpoint yet (no complete checkpoint under checkpoints/)`);
    ({ dir, contents: ck } = latest);
  }
  const model = ck.tensors.model;
  if (!model) throw new ExportError(`${dir}: no model.safetensors in this checkpoint`);
  const config = (ck.state.config as EncoderConfig | undefined) ?? run.model;
  const params = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  // Non-finite weights are refused here, naming the tensor: export, predict and fine-tuning all load through this.
  const file = join(dir, 'model.safetensors');
  for (const [name, t] of Object.entries(model)) {
    const values = toFloat32(t, name);
    assertFinite(name, values, file, t.shape);
    params.set(name, values);
    shapes.set(name, t.shape);
  }
  return { run, step: ck.step, checkpoint: dir, config, params, shapes };
}

/** The Hugging Face architecture `auto` picks for an objective. */
export function autoArchitecture(objective: Objective): HfArchitecture {
  return objectiveModule(objective).head === 'mlm' ? 'bert-mlm' : 'electra-discriminator';
}

export interface ExportOptions {
  run: string;
  out: string;
  step?: number;
  as?: ExportAs;
}

export interface ExportSummary {
  out: string;
  step: number;
  objective: Objective;
  as: Exclude<ExportAs, 'auto'>;
  className: string;
  files: string[];
  tensors: number;
  vocabSize: number;
}

const CLASS: Record<Exclude<ExportAs, 'auto'>, string> = {
  'bert-classifier': 'BertForSequenceClassification',
  'bert-mlm': 'BertForMaskedLM',
  'electra-discriminator': 'ElectraForPreTraining',
  'electra-generator': 'ElectraForMaskedLM',
  bert: 'BertModel',
};

/** Write the tokenizer files transformers' AutoTokenizer reads. */
export function writeHfTokenizer(dir: string, tok: WordPieceTokenizer, maxLength: number): string[] {
  tok.save(dir);
  const special = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' };
  const added: Record<string, object> = {};
  for (const t of SPECIAL_TOKENS) added[String(tok.ids.get(t))] = { content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  const lower = tok.normalizer.lowercase;
  const config = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: lower,
    // null: follow do_lower_case (BERT's default); else the explicit choice.
    strip_accents: tok.normalizer.stripAccents === lower ? null : tok.normalizer.stripAccents,
    tokenize_chinese_chars: true,
    do_basic_tokenize: true,
    never_split: null,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: true,
    ...special,
    added_tokens_decoder: added,
  };
  writeFileAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  writeFileAtomic(join(dir, 'special_tokens_map.json'), JSON.stringify(special, null, 2) + '\n');
  return ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
}

/**
 * A run's tokenizer (from its prepared data directory). When the directory has a manifest
 * that hashes the tokenizer files, a tokenizer changed since prepare is refused (naming the
 * file); with `vocabSize` (the model's vocabulary), a tokenizer of another size is refused.
 */
export function runTokenizer(run: RunInfo, vocabSize?: number): WordPieceTokenizer {
  if (!existsSync(join(run.data, 'tokenizer.json')) && !existsSync(join(run.data, 'vocab.txt')))
    throw new ExportError(`${run.dir}: the run's data directory ${run.data} holds no tokenizer.json or vocab.txt`);
  try {
    verifyTokenizerFiles(run.data);
  } catch (e) {
    if (e instanceof ShardError) throw new ExportError(`${run.dir}: ${e.message}`);
    throw e;
  }
  const tok = WordPieceTokenizer.load(run.data);
  if (vocabSize !== undefined && tok.size !== vocabSize)
    throw new ExportError(`${run.dir}: the tokenizer in ${run.data} has ${tok.size} tokens but the model's vocabulary has ${vocabSize} rows; they must be equal (was the data directory prepared again?)`);
  return tok;
}

export function exportRun(o: ExportOptions): ExportSummary {
  const as = o.as ?? 'auto';
  if (!EXPORT_AS.includes(as)) throw new ExportError(`export: --as ${as} is not one of ${EXPORT_AS.join(', ')}`);
  const m = loadRunModel(o.run, o.step);
  const { objective } = m.run;
  const arch = as === 'auto' ? autoArchitecture(objective) : as;
  if (arch === 'bert-classifier') throw new ExportError(`export --as bert-classifier: ${o.run} is a pre-training run; a fine-tuning run (electrolite finetune --out DIR) exports as one`);
  if (m.config.preLayerNorm)
    throw new ExportError(`export: ${o.run} has a pre-LayerNorm encoder, which transformers' BERT and ELECTRA (post-LayerNorm) cannot represent`);
  const tok = runTokenizer(m.run, m.config.vocabSize);
  mkdirSync(o.out, { recursive: true });
  const has = (prefix: string) => [...m.params.keys()].some((k) => k.startsWith(prefix));
  let tensors: number;
  if (arch === 'electra-generator') {
    tensors = writeGenerator(o.out, m);
  } else {
    if (arch === 'bert-mlm' && !has('cls.predictions.'))
      throw new ExportError(`export --as bert-mlm: the ${objective} run has no MLM head (cls.predictions.*); use --as ${autoArchitecture(objective)} or --as bert (encoder only)`);
    if (arch === 'electra-discriminator' && !has('discriminator_predictions.'))
      throw new ExportError(`export --as electra-discriminator: the ${objective} run has no detection head (discriminator_predictions.*); use --as bert-mlm or --as bert (encoder only)`);
    writeHfCheckpoint(o.out, arch, m.config, m.params);
    tensors = encoderParams(m.config, '').length + (arch === 'bert-mlm' ? mlmHeadParams(m.config).length : arch === 'electra-discriminator' ? detectionHeadParams(m.config).length : 0);
  }
  const files = ['model.safetensors', 'config.json', ...writeHfTokenizer(o.out, tok, m.config.maxPositions)];
  return { out: o.out, step: m.step, objective, as: arch, className: CLASS[arch], files, tensors, vocabSize: tok.size };
}

// ---- the ELECTRA generator as ElectraForMaskedLM ----------------------------------------

/**
 * ElectraForMaskedLM from a run's `generator.*` tensors. The generator shares the
 * discriminator's embeddings (`embeddings.*`, or its own `generator.embeddings.*`), projects
 * them to its hidden size (`generator.embeddings_project.*`, when the sizes differ), and
 * predicts tokens through `generator_predictions.*` and `generator_lm_head.bias` with the
 * decoder tied to the word embeddings.
 */
function writeGenerator(out: string, m: RunModel): number {
  const P = m.params;
  const g = (name: string) => P.get(`generator.${name}`) ?? P.get(name);
  const shape = (name: string) => m.shapes.get(`generator.${name}`) ?? m.shapes.get(name);
  const q = shape('encoder.layer.0.attention.self.query.weight');
  if (!P.has('generator.encoder.layer.0.attention.self.query.weight') || !q)
    throw new ExportError(`export --as electra-generator: the ${m.run.objective} run's checkpoint holds no generator (no generator.encoder.* tensors)${m.run.objective === 'electra' ? '' : '; only ELECTRA runs have one'}`);
  const disc = m.config;
  const E = disc.hiddenSize;
  const H = q[0];
  const layers = new Set([...P.keys()].map((k) => /^generator\.encoder\.layer\.(\d+)\./.exec(k)?.[1]).filter((x) => x !== undefined)).size;
  const F = shape('encoder.layer.0.intermediate.dense.weight')?.[0] ?? 0;
  const headDim = disc.hiddenSize / disc.numHeads;
  const gen: EncoderConfig = { ...disc, hiddenSize: H, numLayers: layers, numHeads: Math.max(1, Math.round(H / headDim)), intermediateSize: F };
  validateConfig(gen);
  const tensors: Record<string, SafeTensor> = {};
  const missing: string[] = [];
  const put = (hfName: string, value: Float32Array | undefined, shp: number[], from: string) => {
    if (!value) return void missing.push(from);
    const n = shp.reduce((a, b) => a * b, 1);
    if (value.length !== n) throw new ExportError(`export --as electra-generator: '${from}' has ${value.length} values, expected ${n} for [${shp.join(', ')}]`);
    tensors[hfName] = fromFloat32(value, shp);
  };
  const emb = (name: string) => P.get(`generator.embeddings.${name}`) ?? P.get(`embeddings.${name}`);
  put('electra.embeddings.word_embeddings.weight', emb('word_embeddings.weight'), [disc.vocabSize, E], 'embeddings.word_embeddings.weight');
  put('electra.embeddings.position_embeddings.weight', emb('position_embeddings.weight'), [disc.maxPositions, E], 'embeddings.position_embeddings.weight');
  put('electra.embeddings.token_type_embeddings.weight', emb('token_type_embeddings.weight'), [disc.typeVocabSize, E], 'embeddings.token_type_embeddings.weight');
  put('electra.embeddings.LayerNorm.weight', emb('LayerNorm.weight'), [E], 'embeddings.LayerNorm.weight');
  put('electra.embeddings.LayerNorm.bias', emb('LayerNorm.bias'), [E], 'embeddings.LayerNorm.bias');
  if (E !== H) {
    put('electra.embeddings_project.weight', g('embeddings_project.weight'), [H, E], 'generator.embeddings_project.weight');
    put('electra.embeddings_project.bias', g('embeddings_project.bias'), [H], 'generator.embeddings_project.bias');
  }
  for (const s of encoderParams(gen, '')) if (s.name.startsWith('encoder.')) put(`electra.${s.name}`, P.get(`generator.${s.name}`), s.shape, `generator.${s.name}`);
  put('generator_predictions.dense.weight', g('generator_predictions.dense.weight'), [E, H], 'generator_predictions.dense.weight');
  put('generator_predictions.dense.bias', g('generator_predictions.dense.bias'), [E], 'generator_predictions.dense.bias');
  put('generator_predictions.LayerNorm.weight', g('generator_predictions.LayerNorm.weight'), [E], 'generator_predictions.LayerNorm.weight');
  put('generator_predictions.LayerNorm.bias', g('generator_predictions.LayerNorm.bias'), [E], 'generator_predictions.LayerNorm.bias');
  put('generator_lm_head.bias', g('generator_lm_head.bias'), [disc.vocabSize], 'generator_lm_head.bias');
  if (missing.length) throw new ExportError(`export --as electra-generator: the checkpoint lacks (${missing.length}): ${missing.join(', ')}`);
  saveSafetensors(join(out, 'model.safetensors'), tensors, { format: 'pt' });
  const cfg = hfConfig('electra-discriminator', gen);
  cfg.architectures = ['ElectraForMaskedLM'];
  cfg.embedding_size = E;
  writeFileAtomic(join(out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  return Object.keys(tensors).length;
}

export { HfFormatError };
