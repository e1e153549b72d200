// Trying a model: load it from a run directory (its newest checkpoint, or a given step)
// or from a Hugging Face directory (an export, or any BertForMaskedLM /
// ElectraForPreTraining checkpoint with a WordPiece tokenizer), and run the encoder and
// its head forward on the GPU for a batch of tokenized lines:
//  - a masked-LM model (MLM, SLM): the vocabulary logits at each [MASK] position (or at
//    every position) — gather → transform dense + GELU + LayerNorm → decoder tied to the
//    word embeddings + bias;
//  - a detection model (RTS, C-RTS, ELECTRA's discriminator): one logit per position, the
//    score of "this token was replaced".
// Dropout is off. The numbers are what `transformers` computes for the same checkpoint and
// ids (checked by test/predict.test.ts against fixtures made by transformers).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { detectionHeadParams, encoderParams, mlmHeadParams, type EncoderConfig, type ParamSpec } from '../model/config.js';
import type { ModelParams } from '../model/params.js';
import { buildEncoderWithHead } from '../model/assembly.js';
import { dropoutRng } from '../kernels/dropout.js';
import { ATTENTION_MAX_T } from '../kernels/attention.js';
import { checkConfigLimits, directoryTokenizer, readHfCheckpoint } from '../io/hf.js';
import { isRunDir, loadRunModel, runTokenizer } from '../io/export.js';
import { WordPieceTokenizer } from '../data/tokenizer.js';
import { objectiveModule } from '../objectives/registry.js';
import { classificationHeadParams } from '../model/classifier.js';
import { isFinetuneDir, loadFinetuned } from './finetune.js';

export type HeadKind = 'mlm' | 'detection' | 'classification';

export interface PredictModel {
  source: string;
  /** 'run' (a training run's checkpoint) or 'hf' (a Hugging Face directory). */
  origin: 'run' | 'hf';
  kind: HeadKind;
  config: EncoderConfig;
  /** Encoder (internal names) and head parameters. */
  params: Map<string, Float32Array>;
  tokenizer: WordPieceTokenizer;
  /** The checkpoint's step (runs only). */
  step?: number;
  /** A sequence classifier's label names (regression: one, its value). */
  labels?: string[];
  regression?: boolean;
}

/** The head parameters a model of this kind carries. */
function headParams(kind: HeadKind, cfg: EncoderConfig, labels?: string[]): ParamSpec[] {
  return kind === 'mlm' ? mlmHeadParams(cfg) : kind === 'detection' ? detectionHeadParams(cfg) : classificationHeadParams(cfg, labels!.length);
}


/** Load a model to predict with, from a run directory or a Hugging Face directory. */
export function loadPredictModel(path: string, step?: number): PredictModel {
  if (!existsSync(path)) throw new Error(`predict: ${path} does not exist`);
  if (isFinetuneDir(path)) {
    if (step !== undefined) throw new Error(`predict: --step applies to a pre-training run; ${path} is a fine-tuning directory (its selected run's best epoch is used)`);
    const f = loadFinetuned(path);
    return { source: path, origin: 'run', kind: 'classification', config: f.config, params: f.params, tokenizer: f.tokenizer, labels: f.labels, regression: f.regression };
  }
  if (isRunDir(path)) {
    const m = loadRunModel(path, step);
    const kind: HeadKind = objectiveModule(m.run.objective).head;
    const file = join(m.checkpoint, 'model.safetensors');
    // Sizes within sane limits before a per-layer list is built from them.
    checkConfigLimits(m.config, `${m.checkpoint}: the model config`, (k) => k);
    const head = kind === 'mlm' ? mlmHeadParams(m.config) : detectionHeadParams(m.config);
    const specs = [...encoderParams(m.config, ''), ...head];
    const missing = specs.filter((s) => !m.params.has(s.name)).map((s) => s.name);
    if (missing.length) throw new Error(`${m.checkpoint}: the checkpoint lacks (${missing.length}): ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? `, … and ${missing.length - 20} more` : ''}`);
    const wrong = specs.filter((s) => {
      const shape = m.shapes.get(s.name);
      return shape !== undefined && (shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i]));
    });
    if (wrong.length)
      throw new Error(`${file}: sizes disagree with the model config:\n  ${wrong.slice(0, 20).map((s) => `${s.name}: file has [${m.shapes.get(s.name)!.join(', ')}], the config implies [${s.shape.join(', ')}]`).join('\n  ')}`);
    // (Non-finite weights were refused by loadRunModel, naming the tensor.)
    return { source: path, origin: 'run', kind, config: m.config, params: m.params, tokenizer: runTokenizer(m.run), step: m.step };
  }
  if (step !== undefined) throw new Error(`predict: --step applies to a run directory; ${path} is a Hugging Face directory`);
  const ck = readHfCheckpoint(path);
  if (ck.arch === 'bert') throw new Error(`predict: ${path} holds a bare encoder (BertModel) without an MLM or detection head: nothing to predict`);
  const tokenizer = directoryTokenizer(path);
  if (tokenizer.size > ck.config.vocabSize) throw new Error(`${path}: the tokenizer has ${tokenizer.size} tokens but the model's vocabulary only ${ck.config.vocabSize}`);
  if (ck.arch === 'bert-classifier') return { source: path, origin: 'hf', kind: 'classification', config: ck.config, params: ck.params, tokenizer, labels: ck.labels!.labels, regression: ck.labels!.regression };
  return { source: path, origin: 'hf', kind: ck.arch === 'bert-mlm' ? 'mlm' : 'detection', config: ck.config, params: ck.params, tokenizer };
}

export interface PredictInput {
  ids: number[];
  /** Token types (segment ids); zeros when absent. */
  types?: number[];
}

/** A text line as the model sees it: [CLS] A [SEP], or [CLS] A [SEP] B [SEP] when a tab separates a pair. */
export function encodeText(tok: WordPieceTokenizer, line: string): PredictInput {
  const tab = line.indexOf('\t');
  if (tab < 0) {
    const ids = tok.encode(line, { addSpecial: true });
    return { ids, types: ids.map(() => 0) };
  }
  const a = tok.encode(line.slice(0, tab), { addSpecial: true });
  const b = tok.encode(line.slice(tab + 1));
  b.push(tok.special.sep);
  return { ids: [...a, ...b], types: [...a.map(() => 0), ...b.map(() => 1)] };
}

/**
 * An `--ids` input line: whitespace-separated token ids used exactly as given (no [CLS] /
 * [SEP] added), or a JSON object {"input_ids": [...], "token_type_ids": [...]} (types optional).
 */
export function parseIdsLine(line: string, where = 'input'): PredictInput {
  const t = line.trim();
  const ints = (xs: unknown, what: string): number[] => {
    if (!Array.isArray(xs) || !xs.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`${where}: ${what} must be a list of non-negative integers`);
    return xs as number[];
  };
  if (t.startsWith('{')) {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(t);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
    const ids = ints(j.input_ids ?? j.ids, 'input_ids');
    const types = j.token_type_ids === undefined ? undefined : ints(j.token_type_ids, 'token_type_ids');
    if (types && types.length !== ids.length) throw new Error(`${where}: ${ids.length} input_ids but ${types.length} token_type_ids`);
    return { ids, types };
  }
  const parts = t.split(/[\s,]+/).filter(Boolean);
  const ids = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad !== undefined) throw new Error(`${where}: '${bad}' is not a token id (a non-negative integer)`);
  return { ids };
}

export interface PredictOutput {
  ids: number[];
  types: number[];
  /** MLM: the positions predicted ([MASK] positions, or all). Detection: every position. */
  positions: number[];
  /** MLM: one vocabulary-sized logit row per position in `positions`. */
  vocabLogits?: Float32Array[];
  /** Detection: one logit per position. */
  detectionLogits?: Float32Array;
  /** Classification: one logit per label (regression: the value). */
  classLogits?: Float32Array;
}

/** The model on the GPU (parameters uploaded once), run forward on batches of inputs. */
export class Predictor {
  private constructor(
    readonly rt: Runtime,
    readonly model: PredictModel,
    readonly cfg: EncoderConfig,
    readonly params: ModelParams,
  ) {}

  static create(rt: Runtime, model: PredictModel): Predictor {
    // Inference: no dropout anywhere.
    const cfg: EncoderConfig = { ...model.config, hiddenDropout: 0, attentionDropout: 0 };
    const specs: ParamSpec[] = [...encoderParams(cfg, ''), ...headParams(model.kind, cfg, model.labels)];
    // Every parameter must fit one storage binding on this adapter: say so for all of them
    // before anything is uploaded.
    const limit = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
    const tooBig = specs.filter((s) => s.shape.reduce((a, b) => a * b, 1) * 4 > limit);
    if (tooBig.length)
      throw new Error(
        `predict: ${model.source}: this model cannot run on this adapter (${rt.gpu.kind}): ` +
          tooBig.map((s) => `'${s.name}' [${s.shape.join(', ')}] f32 is ${mib(s.shape.reduce((a, b) => a * b, 1) * 4)}`).join('; ') +
          `, above its maxStorageBufferBindingSize of ${mib(limit)}`,
      );
    const values = new Map<string, Tensor>();
    for (const s of specs) {
      const v = model.params.get(s.name);
      if (!v) throw new Error(`predict: ${model.source}: parameter '${s.name}' is missing`);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (v.length !== n) throw new Error(`predict: ${model.source}: parameter '${s.name}' has ${v.length} values, expected ${n} for [${s.shape.join(', ')}]`);
      values.set(s.name, rt.upload(v, s.shape, 'f32', s.name));
    }
    return new Predictor(rt, model, cfg, { specs, values, grads: new Map(), arenas: [] }); // inference: plain tensors, no gradients
  }

  /** Run a batch. `positions`: for MLM, logits at [MASK] positions (default) or at all real positions. */
  async run(inputs: PredictInput[], opts: { positions?: 'mask' | 'all' } = {}): Promise<PredictOutput[]> {
    const { cfg } = this;
    if (!inputs.length) return [];
    inputs.forEach((x, i) => checkInput(cfg, x, `input ${i + 1}`));
    // A batch whose activations would not fit one storage binding runs in parts.
    const parts = splitToFit(inputs, this.rowBytes(), Math.min(this.rt.limits.maxStorageBufferBindingSize, this.rt.limits.maxBufferSize), this.model.kind === 'mlm' ? this.mlmRowBytes(opts) : 0);
    const outs: PredictOutput[] = [];
    for (const part of parts) outs.push(...(await this.runFitting(part, opts)));
    return outs;
  }

  /** Bytes per token of the widest activation: [B·T, max(3h, intermediate)] f32 (as the trainer bounds it). */
  private rowBytes(): number {
    return Math.max(3 * this.cfg.hiddenSize, this.cfg.intermediateSize) * 4;
  }

  /** MLM: bytes of vocabulary logits each input needs (one row per predicted position). */
  private mlmRowBytes(opts: { positions?: 'mask' | 'all' }): (x: PredictInput) => number {
    const mask = this.model.tokenizer.special.mask;
    const V = this.cfg.vocabSize * 4;
    return (x) => (opts.positions === 'all' ? x.ids.length : x.ids.filter((id) => id === mask).length) * V;
  }

  private async runFitting(inputs: PredictInput[], opts: { positions?: 'mask' | 'all' }): Promise<PredictOutput[]> {
    const { rt, cfg } = this;
    const B = inputs.length;
    const T = Math.max(...inputs.map((x) => x.ids.length));
    const ids = new Uint32Array(B * T).fill(cfg.padTokenId);
    const types = new Uint32Array(B * T);
    const lengths = new Uint32Array(B);
    inputs.forEach((x, b) => {
      ids.set(x.ids, b * T);
      if (x.types) types.set(x.types, b * T);
      lengths[b] = x.ids.length;
    });
    const own: Tensor[] = [];
    const up = (data: Uint32Array, shape: number[], label: string) => {
      const t = rt.upload(data, shape, 'u32', label);
      own.push(t);
      return t;
    };
    const inp = { ids: up(ids, [B, T], 'predict.ids'), types: up(types, [B, T], 'predict.types'), lengths: up(lengths, [B], 'predict.lengths') };
    const rng = dropoutRng(rt, 0);
    own.push(rng);
    const outs: PredictOutput[] = inputs.map((x) => ({ ids: x.ids, types: x.types ?? x.ids.map(() => 0), positions: [] }));
    const encoderOptions = { dropoutRng: rng, seed: 0, forwardOnly: true };
    try {
      if (this.model.kind === 'classification') {
        const L = this.model.labels!.length;
        const rows = up(Uint32Array.from({ length: B }, (_, b) => b * T), [B], 'predict.cls_rows');
        const model = await buildEncoderWithHead(rt, cfg, this.params, '', inp, { kind: 'classification-logits', rows, numLabels: L, regression: Boolean(this.model.regression) }, encoderOptions);
        try {
          await rt.run(...model.forward);
          const all = (await rt.read(model.head.logits)) as Float32Array;
          outs.forEach((o, b) => (o.classLogits = all.slice(b * L, (b + 1) * L)));
        } finally {
          model.release();
        }
        return outs;
      }
      if (this.model.kind === 'detection') {
        const model = await buildEncoderWithHead(rt, cfg, this.params, '', inp, { kind: 'detection-logits' }, encoderOptions);
        try {
          await rt.run(...model.forward);
          const all = (await rt.read(model.head.logits)) as Float32Array;
          outs.forEach((o, b) => {
            o.positions = o.ids.map((_, i) => i);
            o.detectionLogits = all.slice(b * T, b * T + o.ids.length);
          });
        } finally {
          model.release();
        }
        return outs;
      }
      // MLM: the rows to predict.
      const mask = this.model.tokenizer.special.mask;
      const flat: number[] = [];
      outs.forEach((o, b) => {
        o.ids.forEach((id, i) => {
          if (opts.positions === 'all' || id === mask) {
            o.positions.push(i);
            flat.push(b * T + i);
          }
        });
        o.vocabLogits = [];
      });
      if (!flat.length) return outs; // nothing masked: no head to run
      const rows = up(Uint32Array.from(flat), [flat.length], 'predict.mlm.rows');
      const model = await buildEncoderWithHead(rt, cfg, this.params, '', inp, { kind: 'mlm-logits', rows, label: 'predict.mlm' }, encoderOptions);
      try {
        await rt.run(...model.forward);
        const V = cfg.vocabSize;
        const all = (await rt.read(model.head.logits)) as Float32Array;
        let k = 0;
        for (const o of outs) for (let j = 0; j < o.positions.length; j++, k++) o.vocabLogits!.push(all.slice(k * V, (k + 1) * V));
      } finally {
        model.release();
      }
      return outs;
    } finally {
      rt.release(...own);
    }
  }

  release(): void {
    this.rt.release(...this.params.values.values());
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;

/** The most tokens a model takes in one input: max_position_embeddings, and the attention kernels' limit. */
export function maxInputTokens(cfg: EncoderConfig): number {
  return Math.min(cfg.maxPositions, ATTENTION_MAX_T);
}

/** Why the limit is what it is, for messages. */
export function maxInputTokensReason(cfg: EncoderConfig): string {
  return cfg.maxPositions <= ATTENTION_MAX_T ? `max_position_embeddings ${cfg.maxPositions}` : `the attention kernels' limit of ${ATTENTION_MAX_T} tokens (max_position_embeddings ${cfg.maxPositions})`;
}

/** An input the model can take: tokens, within the length limit, ids and types within their vocabularies. `where` names it. */
export function checkInput(cfg: EncoderConfig, x: PredictInput, where: string): void {
  const limit = maxInputTokens(cfg);
  if (!x.ids.length) throw new Error(`predict: ${where} has no tokens`);
  if (x.ids.length > limit) throw new Error(`predict: ${where} has ${x.ids.length} tokens; the model takes at most ${limit} (${maxInputTokensReason(cfg)})`);
  const badId = x.ids.find((id) => id >= cfg.vocabSize);
  if (badId !== undefined) throw new Error(`predict: ${where}: token id ${badId} is outside the vocabulary (size ${cfg.vocabSize})`);
  const badType = x.types?.find((t) => t >= cfg.typeVocabSize);
  if (badType !== undefined) throw new Error(`predict: ${where}: token type ${badType} is outside type_vocab_size ${cfg.typeVocabSize}`);
}

/**
 * Split a batch, in order, into parts whose activations fit `limit` bytes: [B·T_max, row]
 * for the encoder, and the sum of `extra` (MLM logit rows) per part. One input that cannot
 * fit alone is an error naming the limit.
 */
export function splitToFit(inputs: PredictInput[], rowBytes: number, limit: number, extra: number | ((x: PredictInput) => number) = 0): PredictInput[][] {
  const extraOf = typeof extra === 'number' ? () => extra : extra;
  const parts: PredictInput[][] = [];
  let cur: PredictInput[] = [];
  let T = 0;
  let ex = 0;
  inputs.forEach((x, i) => {
    const t = Math.max(T, x.ids.length);
    const e = ex + extraOf(x);
    if (cur.length && ((cur.length + 1) * t * rowBytes > limit || e > limit)) {
      parts.push(cur);
      cur = [];
      T = 0;
      ex = 0;
    }
    const alone = x.ids.length * rowBytes;
    if (alone > limit || extraOf(x) > limit)
      throw new Error(`predict: input ${i + 1} (${x.ids.length} tokens) needs ${mib(Math.max(alone, extraOf(x)))} for one activation, above this adapter's maxStorageBufferBindingSize of ${mib(limit)}`);
    cur.push(x);
    T = Math.max(T, x.ids.length);
    ex += extraOf(x);
  });
  if (cur.length) parts.push(cur);
  return parts;
}

/**
 * Cut an input to `limit` tokens as transformers' truncation does, keeping the closing
 * [SEP] of each segment: a single text loses tokens from its end; a pair (types 0 then 1)
 * loses them from the longer segment first ('longest_first'). `sep` is the [SEP] id; ids
 * given as such (--ids) are simply cut. Returns the input unchanged when it fits.
 */
export function truncateInput(x: PredictInput, limit: number, sep?: number): PredictInput {
  if (x.ids.length <= limit) return x;
  const types = x.types ?? x.ids.map(() => 0);
  if (sep === undefined || x.ids[x.ids.length - 1] !== sep || limit < 2) return { ids: x.ids.slice(0, limit), ...(x.types ? { types: x.types.slice(0, limit) } : {}) };
  // Segments: [CLS] A [SEP] (type 0) and B [SEP] (type 1), each ending in [SEP].
  const firstB = types.indexOf(1);
  if (firstB < 0) {
    const ids = [...x.ids.slice(0, limit - 1), sep];
    return { ids, types: ids.map(() => 0) };
  }
  const a = x.ids.slice(0, firstB - 1); // [CLS] + A, without its [SEP]
  const b = x.ids.slice(firstB, x.ids.length - 1); // B, without its [SEP]
  let over = x.ids.length - limit;
  while (over > 0) {
    // Keep [CLS] (a[0]) and at least nothing of A; never below zero tokens of B.
    if (b.length >= a.length - 1 && b.length > 0) b.pop();
    else if (a.length > 1) a.pop();
    else break;
    over--;
  }
  const ids = [...a, sep, ...b, sep].slice(0, limit);
  return { ids, types: ids.map((_, i) => (i < a.length + 1 ? 0 : 1)) };
}

/** The k most probable tokens of a logit row (softmax over the tokenizer's vocabulary). */
export function topK(logits: Float32Array, k: number, vocabSize = logits.length): { id: number; p: number }[] {
  const n = Math.min(vocabSize, logits.length);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, k);
  return idx.map((id) => ({ id, p: Math.exp(logits[id] - max) / sum }));
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function softmaxRow(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The `--json` line of one output: tokens, ids and the head's raw logits. */
export function predictionJson(tok: WordPieceTokenizer, kind: HeadKind, o: PredictOutput, labels?: string[]): Record<string, unknown> {
  const base: Record<string, unknown> = { tokens: tok.tokens(o.ids), ids: o.ids };
  if (kind === 'classification') {
    const z = Array.from(o.classLogits!);
    if (labels!.length === 1 && labels![0] === 'value') return { ...base, value: z[0], logits: z };
    const p = softmaxRow(z);
    return { ...base, label: labels![p.indexOf(Math.max(...p))], probabilities: Object.fromEntries(labels!.map((l, i) => [l, p[i]])), logits: z };
  }
  if (kind === 'mlm') {
    base.positions = o.positions;
    base.logits = o.vocabLogits!.map((r) => Array.from(r));
  } else base.logits = Array.from(o.detectionLogits!);
  return base;
}

/** Human-readable lines for one output. */
export function predictionText(tok: WordPieceTokenizer, kind: HeadKind, o: PredictOutput, k = 5, labels?: string[]): string {
  const tokens = tok.tokens(o.ids);
  if (kind === 'classification') {
    const j = predictionJson(tok, kind, o, labels);
    if ('value' in j) return `${(j.value as number).toFixed(4)}\n`;
    const p = j.probabilities as Record<string, number>;
    return `${j.label}  ${Object.entries(p).map(([l, v]) => `${l} ${v.toFixed(3)}`).join('  ')}\n`;
  }
  if (kind === 'mlm') {
    let s = tokens.join(' ') + '\n';
    if (!o.positions.length) return s + '  (no [MASK] in this line)\n';
    o.positions.forEach((pos, j) => {
      const top = topK(o.vocabLogits![j], k, tok.size);
      s += `  ${pos}: ${top.map((t) => `${tok.vocab[t.id] ?? `#${t.id}`} ${t.p.toFixed(3)}`).join('  ')}\n`;
    });
    return s;
  }
  // Detection: each token with its probability of having been replaced (* above 0.5).
  return tokens.map((t, i) => {
    const p = sigmoid(o.detectionLogits![i]);
    return `${t} ${p.toFixed(3)}${p > 0.5 ? '*' : ''}`;
  }).join('  ') + '\n';
}
