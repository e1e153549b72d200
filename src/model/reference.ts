// The whole model in float64 on the CPU, forward and backward, built from the kernels'
// float64 references (src/kernels/ref/): embeddings → post-LN BERT layers (or pre-LN layers
// and a final LayerNorm, when preLayerNorm; see src/model/encoder.ts) → MLM head (at the
// selected positions, decoder tied to the word embeddings) or detection head (every
// position). It is the ground truth the GPU model is tested against (losses and the gradient
// of every parameter), in the manner of llm.c's reference. Slow and plain on purpose.
//
// Dropout: given `dropout` (seed and step), every site draws the GPU's exact Philox mask
// (stream numbers from src/model/dropout-sites.ts) at the config's rates; without it the
// model runs as in evaluation (no dropout). The heads: MLM (selected positions), detection
// (every position) and sequence classification (the [CLS] rows; src/model/classifier.ts).
//
// The ELECTRA generator is the same code with shared embeddings (embeddingsPrefix), an
// embeddings_project when the embedding width differs from hidden, and the MLM head under
// the generator's names; referenceElectra sums the generator's and discriminator's losses
// and gradients for given (already sampled) inputs.
import { HEAD_NAMES, geluForm, type EncoderConfig, type MlmHeadNames } from './config.js';
import { DROPOUT_SITES } from './dropout-sites.js';
import { refLayerNorm, refLayerNormBackward } from '../kernels/ref/layernorm.js';
import { refGelu, refGeluBackward } from '../kernels/ref/gelu.js';
import { refEmbedding, refEmbeddingBackward } from '../kernels/ref/embedding.js';
import { refAttentionForward, refAttentionBackward, type DropoutSpec } from '../kernels/ref/attention.js';
import { refDropoutKeep } from '../kernels/ref/dropout.js';
import { refBce } from '../kernels/ref/bce.js';
import { refTanh, refTanhBackward } from '../kernels/ref/basic.js';

export type Params = Map<string, Float64Array>;

export interface Batch {
  /** [B, T] token ids, row-major. */
  ids: Int32Array;
  /** [B, T] token type ids (0 when absent). */
  types: Int32Array;
  /** Valid tokens per sequence [B]; positions at or beyond it are padding. */
  lengths: Int32Array;
  B: number;
  T: number;
}

export type Head =
  | {
      kind: 'mlm';
      positions: Int32Array;
      labels: Int32Array;
      /** Parameter names (default BERT's cls.predictions.*), head activation (default the config's), loss weight (1). */
      names?: MlmHeadNames;
      act?: EncoderConfig['hiddenAct'];
      weight?: number;
    }
  | { kind: 'detection'; labels: Float64Array; weights: Float64Array; lambda: number }
  | {
      /** BertForSequenceClassification: pooler over the rows (each sequence's [CLS]), dropout, classifier. */
      kind: 'classification';
      rows: Int32Array;
      /** Class indices (≥ numLabels: a padding row, left out of the mean), or values for regression. */
      labels: Float64Array;
      numLabels: number;
      regression?: boolean;
      lossWeight?: number;
    };

/** Training-mode dropout: the counters of one step (rates come from the config). */
export interface ReferenceDropout {
  seed: number;
  step: number;
  /** Stream offset of this encoder (0; the ELECTRA generator's GENERATOR_STREAM_BASE). */
  streamBase?: number;
}

export interface ReferenceOptions {
  /** Prefix of the embeddings module (default: the encoder's own prefix). */
  embeddingsPrefix?: string;
  dropout?: ReferenceDropout;
}

export interface RefResult {
  loss: number;
  /** Head outputs: MLM logits [S, V] or detection logits [N]. */
  logits: Float64Array;
  /** The encoder's final hidden states [N, h]. */
  hidden: Float64Array;
}

// ---- primitives ---------------------------------------------------------------------------

/** y[n, o] = Σ_i x[n, i]·W[o, i] + b[o]; W is [out, in] as in PyTorch. */
function linear(x: Float64Array, W: Float64Array, b: Float64Array, N: number, inp: number, out: number): Float64Array {
  const y = new Float64Array(N * out);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < inp; i++) s += x[n * inp + i] * W[o * inp + i];
      y[n * out + o] = s;
    }
  return y;
}

/** Accumulates dW, db; returns dx. */
function linearBackward(dy: Float64Array, x: Float64Array, W: Float64Array, dW: Float64Array, db: Float64Array, N: number, inp: number, out: number): Float64Array {
  const dx = new Float64Array(N * inp);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < out; o++) {
      const g = dy[n * out + o];
      if (g === 0) continue;
      db[o] += g;
      for (let i = 0; i < inp; i++) {
        dW[o * inp + i] += g * x[n * inp + i];
        dx[n * inp + i] += g * W[o * inp + i];
      }
    }
  return dx;
}

const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
const mul = (a: Float64Array, f: Float64Array | null) => (f ? a.map((v, i) => v * f[i]) : a);
const gather = (x: Float64Array, rows: ArrayLike<number>, w: number) => {
  const out = new Float64Array(rows.length * w);
  for (let s = 0; s < rows.length; s++) out.set(x.subarray(rows[s] * w, rows[s] * w + w), s * w);
  return out;
};

// ---- the model, as the GPU encoder's blocks -------------------------------------------------

/** One encoder's forward and backward over named float64 parameters. */
class ReferenceEncoder {
  readonly N: number;
  readonly h: number;
  readonly E: number;
  private readonly ep: string;

  constructor(
    readonly c: EncoderConfig,
    readonly p: Params,
    readonly grads: Params,
    readonly prefix: string,
    readonly batch: Batch,
    readonly drop: ReferenceDropout | undefined,
    embeddingsPrefix: string | undefined,
  ) {
    this.N = batch.B * batch.T;
    this.h = c.hiddenSize;
    this.ep = embeddingsPrefix ?? prefix;
    this.E = this.embeddingParam('embeddings.word_embeddings.weight').length / c.vocabSize;
  }

  param(n: string): Float64Array {
    return get(this.p, this.prefix + n);
  }
  grad(n: string): Float64Array {
    return get(this.grads, this.prefix + n);
  }
  embeddingParam(n: string): Float64Array {
    return get(this.p, this.ep + n);
  }
  embeddingGrad(n: string): Float64Array {
    return get(this.grads, this.ep + n);
  }

  /** Hidden dropout's factor per element (1/(1−rate) kept, 0 dropped), or null when off. */
  dropoutMask(n: number, stream: number): Float64Array | null {
    const rate = this.c.hiddenDropout;
    if (!this.drop || rate === 0) return null;
    const keep = refDropoutKeep(n, rate, this.drop.seed, this.drop.step, stream);
    return Float64Array.from(keep, (k) => (k ? 1 / (1 - rate) : 0));
  }

  private attentionDropout(l: number): DropoutSpec | undefined {
    const p = this.c.attentionDropout;
    if (!this.drop || p === 0) return undefined;
    return { p, seed: this.drop.seed, step: this.drop.step, stream: DROPOUT_SITES.attentionProbs(this.drop.streamBase ?? 0, l) };
  }

  streamBase(): number {
    return this.drop?.streamBase ?? 0;
  }

  // LayerNorm `name` over rows of width w; the backward accumulates its γ and β gradients.
  layerNorm(name: string, x: Float64Array, w = this.h, value = (n: string) => this.param(n)): Float64Array {
    return refLayerNorm(x, value(`${name}.weight`), value(`${name}.bias`), x.length / w, w, this.c.layerNormEps).y;
  }
  layerNormBackward(name: string, dy: Float64Array, x: Float64Array, w = this.h, value = (n: string) => this.param(n), gradient = (n: string) => this.grad(n)): Float64Array {
    const r = refLayerNormBackward(dy, x, value(`${name}.weight`), x.length / w, w, this.c.layerNormEps);
    accumulate(gradient(`${name}.weight`), r.dgamma);
    accumulate(gradient(`${name}.bias`), r.dbeta);
    return r.dx;
  }

  linear(name: string, x: Float64Array, inp: number, out: number): Float64Array {
    return linear(x, this.param(`${name}.weight`), this.param(`${name}.bias`), x.length / inp, inp, out);
  }
  linearBackward(name: string, dy: Float64Array, x: Float64Array, inp: number, out: number): Float64Array {
    return linearBackward(dy, x, this.param(`${name}.weight`), this.grad(`${name}.weight`), this.grad(`${name}.bias`), x.length / inp, inp, out);
  }

  // Embeddings: word + position + type → LayerNorm → dropout (→ embeddings_project when E ≠ h).
  embeddings() {
    const { batch, N, E, c } = this;
    const shape = { N, T: batch.T, h: E, V: c.vocabSize, P: c.maxPositions, NT: c.typeVocabSize };
    const sum = refEmbedding(batch.ids, batch.types, this.embeddingParam('embeddings.word_embeddings.weight'), this.embeddingParam('embeddings.position_embeddings.weight'), this.embeddingParam('embeddings.token_type_embeddings.weight'), shape);
    const mask = this.dropoutMask(N * E, DROPOUT_SITES.embeddings(this.streamBase()));
    const dropped = mul(this.layerNorm('embeddings.LayerNorm', sum, E, (n) => this.embeddingParam(n)), mask);
    const out = E === this.h ? dropped : this.linear('embeddings_project', dropped, E, this.h);
    const backward = (dOut: Float64Array) => {
      const dDropped = E === this.h ? dOut : this.linearBackward('embeddings_project', dOut, dropped, E, this.h);
      const dSum = this.layerNormBackward('embeddings.LayerNorm', mul(dDropped, mask), sum, E, (n) => this.embeddingParam(n), (n) => this.embeddingGrad(n));
      const g = refEmbeddingBackward(batch.ids, batch.types, dSum, shape);
      accumulate(this.embeddingGrad('embeddings.word_embeddings.weight'), g.word);
      accumulate(this.embeddingGrad('embeddings.position_embeddings.weight'), g.position);
      accumulate(this.embeddingGrad('embeddings.token_type_embeddings.weight'), g.type);
    };
    return { out, backward };
  }

  // Attention branch of layer l: dropout(attention.output.dense(attention(q, k, v of u))).
  attentionBranch(l: number, u: Float64Array) {
    const { N, h, batch, c } = this;
    const L = `encoder.layer.${l}.`;
    const parts = ['query', 'key', 'value'] as const;
    const proj = parts.map((part) => this.linear(`${L}attention.self.${part}`, u, h, h));
    const qkv = new Float64Array(N * 3 * h);
    for (let n = 0; n < N; n++) proj.forEach((x, k) => qkv.set(x.subarray(n * h, n * h + h), n * 3 * h + k * h));
    const dims = { B: batch.B, T: batch.T, H: c.numHeads, D: h / c.numHeads };
    const drop = this.attentionDropout(l);
    const ctx = refAttentionForward(qkv, batch.lengths, dims, undefined, drop).out;
    const mask = this.dropoutMask(N * h, DROPOUT_SITES.attentionOutput(this.streamBase(), l));
    const out = mul(this.linear(`${L}attention.output.dense`, ctx, h, h), mask);
    const backward = (dOut: Float64Array) => {
      const dCtx = this.linearBackward(`${L}attention.output.dense`, mul(dOut, mask), ctx, h, h);
      const dqkv = refAttentionBackward(qkv, batch.lengths, dCtx, dims, undefined, drop);
      const du = new Float64Array(N * h);
      parts.forEach((part, k) => {
        const dy = new Float64Array(N * h);
        for (let n = 0; n < N; n++) dy.set(dqkv.subarray(n * 3 * h + k * h, n * 3 * h + k * h + h), n * h);
        accumulate(du, this.linearBackward(`${L}attention.self.${part}`, dy, u, h, h));
      });
      return du;
    };
    return { out, backward };
  }

  // FFN branch of layer l: dropout(output.dense(GELU(intermediate.dense(v)))).
  ffnBranch(l: number, v: Float64Array) {
    const { N, h, c } = this;
    const L = `encoder.layer.${l}.`, F = c.intermediateSize, form = geluForm(c.hiddenAct);
    const pre = this.linear(`${L}intermediate.dense`, v, h, F);
    const act = refGelu(pre, form);
    const mask = this.dropoutMask(N * h, DROPOUT_SITES.ffnOutput(this.streamBase(), l));
    const out = mul(this.linear(`${L}output.dense`, act, F, h), mask);
    const backward = (dOut: Float64Array) => {
      const dAct = this.linearBackward(`${L}output.dense`, mul(dOut, mask), act, F, h);
      return this.linearBackward(`${L}intermediate.dense`, refGeluBackward(pre, dAct, form), v, h, F);
    };
    return { out, backward };
  }

  // Post-LN (BERT): s₁ = x + Attn(x), y₁ = LN₁(s₁), s₂ = y₁ + FFN(y₁), y₂ = LN₂(s₂).
  postLnLayer(l: number, x: Float64Array) {
    const L = `encoder.layer.${l}.`;
    const attn = this.attentionBranch(l, x);
    const s1 = add(x, attn.out), y1 = this.layerNorm(`${L}attention.output.LayerNorm`, s1);
    const ffn = this.ffnBranch(l, y1);
    const s2 = add(y1, ffn.out), y2 = this.layerNorm(`${L}output.LayerNorm`, s2);
    const backward = (dy2: Float64Array) => {
      const ds2 = this.layerNormBackward(`${L}output.LayerNorm`, dy2, s2);
      const ds1 = this.layerNormBackward(`${L}attention.output.LayerNorm`, add(ds2, ffn.backward(ds2)), s1);
      return add(ds1, attn.backward(ds1));
    };
    return { out: y2, backward };
  }

  // Pre-LN: r = x + Attn(LN₁(x)), out = r + FFN(LN₂(r)).
  preLnLayer(l: number, x: Float64Array) {
    const L = `encoder.layer.${l}.`;
    const u = this.layerNorm(`${L}attention.output.LayerNorm`, x);
    const attn = this.attentionBranch(l, u);
    const r = add(x, attn.out), v = this.layerNorm(`${L}output.LayerNorm`, r);
    const ffn = this.ffnBranch(l, v);
    const backward = (dOut: Float64Array) => {
      const dr = add(dOut, this.layerNormBackward(`${L}output.LayerNorm`, ffn.backward(dOut), r));
      return add(dr, this.layerNormBackward(`${L}attention.output.LayerNorm`, attn.backward(dr), x));
    };
    return { out: add(r, ffn.out), backward };
  }

  /** Embeddings, layers (and pre-LN's final LayerNorm): the final hidden states and the backward from their gradient. */
  forward() {
    const emb = this.embeddings();
    const layers: { backward: (d: Float64Array) => Float64Array }[] = [];
    let x = emb.out;
    for (let l = 0; l < this.c.numLayers; l++) {
      const layer = this.c.preLayerNorm ? this.preLnLayer(l, x) : this.postLnLayer(l, x);
      layers.push(layer);
      x = layer.out;
    }
    const last = x;
    const hidden = this.c.preLayerNorm ? this.layerNorm('encoder.final_layer_norm', last) : last;
    const backward = (dHidden: Float64Array) => {
      let d = this.c.preLayerNorm ? this.layerNormBackward('encoder.final_layer_norm', dHidden, last) : dHidden;
      for (let l = layers.length - 1; l >= 0; l--) d = layers[l].backward(d);
      emb.backward(d);
    };
    return { hidden, backward };
  }
}

function get(p: Params, name: string): Float64Array {
  const v = p.get(name);
  if (!v) throw new Error(`reference model: missing parameter '${name}'`);
  return v;
}

function accumulate(into: Float64Array, x: ArrayLike<number>): void {
  for (let i = 0; i < into.length; i++) into[i] += x[i];
}

// ---- heads ----------------------------------------------------------------------------------

/** MLM head at the selected rows: dense + GELU + LayerNorm → tied decoder + bias → mean CE × weight. */
function mlmHead(enc: ReferenceEncoder, hidden: Float64Array, head: Extract<Head, { kind: 'mlm' }>) {
  const { p, grads, c, h, E } = enc;
  const V = c.vocabSize, S = head.positions.length;
  const nm = head.names ?? HEAD_NAMES.mlm;
  const form = geluForm(head.act ?? c.hiddenAct), lw = head.weight ?? 1;
  const value = (n: string) => get(p, n), gradient = (n: string) => get(grads, n);
  const word = enc.embeddingParam('embeddings.word_embeddings.weight');
  const sel = gather(hidden, head.positions, h);
  const pre = linear(sel, value(`${nm.dense}.weight`), value(`${nm.dense}.bias`), S, h, E);
  const act = refGelu(pre, form);
  const ln = enc.layerNorm(nm.layerNorm, act, E, value);
  const logits = linear(ln, word, value(nm.bias), S, E, V);
  let loss = 0;
  const dlogits = new Float64Array(S * V);
  for (let s = 0; s < S; s++) {
    const row = logits.subarray(s * V, s * V + V);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    loss += (lw * (lse - row[head.labels[s]])) / S;
    for (let v = 0; v < V; v++) dlogits[s * V + v] = (lw * (Math.exp(row[v] - lse) - (v === head.labels[s] ? 1 : 0))) / S;
  }
  const backward = () => {
    const dln = linearBackward(dlogits, ln, word, enc.embeddingGrad('embeddings.word_embeddings.weight'), gradient(nm.bias), S, E, V);
    const dact = enc.layerNormBackward(nm.layerNorm, dln, act, E, value, gradient);
    const dsel = linearBackward(refGeluBackward(pre, dact, form), sel, value(`${nm.dense}.weight`), gradient(`${nm.dense}.weight`), gradient(`${nm.dense}.bias`), S, h, E);
    const dHidden = new Float64Array(hidden.length);
    for (let s = 0; s < S; s++) for (let i = 0; i < h; i++) dHidden[head.positions[s] * h + i] += dsel[s * h + i];
    return dHidden;
  };
  return { loss, logits, backward };
}

/** Detection head at every position: dense + GELU → h×1 → λ·weighted-mean BCE with logits. */
function detectionHead(enc: ReferenceEncoder, hidden: Float64Array, head: Extract<Head, { kind: 'detection' }>) {
  const { p, grads, c, h, N } = enc;
  const value = (n: string) => get(p, n), gradient = (n: string) => get(grads, n);
  const form = geluForm(c.hiddenAct);
  const n = HEAD_NAMES.detection;
  const pre = linear(hidden, value(`${n.dense}.weight`), value(`${n.dense}.bias`), N, h, h);
  const act = refGelu(pre, form);
  const logits = linear(act, value(`${n.prediction}.weight`), value(`${n.prediction}.bias`), N, h, 1);
  const bce = refBce(logits, head.labels, head.weights, head.lambda);
  const backward = () => {
    const dact = linearBackward(Float64Array.from(bce.dz), act, value(`${n.prediction}.weight`), gradient(`${n.prediction}.weight`), gradient(`${n.prediction}.bias`), N, h, 1);
    return linearBackward(refGeluBackward(pre, dact, form), hidden, value(`${n.dense}.weight`), gradient(`${n.dense}.weight`), gradient(`${n.dense}.bias`), N, h, h);
  };
  return { loss: bce.loss, logits, backward };
}

/** The classification head at the [CLS] rows: pooler (dense + tanh) → dropout → classifier → CE over the labels (or MSE). */
function classificationHead(enc: ReferenceEncoder, hidden: Float64Array, head: Extract<Head, { kind: 'classification' }>) {
  const { p, grads, h } = enc;
  const value = (n: string) => get(p, n), gradient = (n: string) => get(grads, n);
  const n = HEAD_NAMES.classification, B = head.rows.length, L = head.numLabels, lw = head.lossWeight ?? 1;
  const cls = gather(hidden, head.rows, h);
  const pre = linear(cls, value(`${n.pooler}.weight`), value(`${n.pooler}.bias`), B, h, h);
  const pooled = refTanh(pre);
  const mask = enc.dropoutMask(B * h, DROPOUT_SITES.classifier(enc.streamBase()));
  const dropped = mul(pooled, mask);
  const logits = linear(dropped, value(`${n.classifier}.weight`), value(`${n.classifier}.bias`), B, h, L);
  const dlogits = new Float64Array(B * L);
  let loss = 0;
  if (head.regression) {
    for (let b = 0; b < B; b++) {
      const d = logits[b] - head.labels[b];
      loss += (lw * d * d) / B;
      dlogits[b] = (2 * lw * d) / B;
    }
  } else {
    const valid = [...head.labels].filter((y) => y < L).length;
    for (let b = 0; b < B; b++) {
      const y = head.labels[b];
      if (!(y < L)) continue;
      const row = logits.subarray(b * L, b * L + L);
      const max = row.reduce((a, v) => Math.max(a, v), -Infinity);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      loss += (lw * (lse - row[y])) / valid;
      for (let k = 0; k < L; k++) dlogits[b * L + k] = (lw * (Math.exp(row[k] - lse) - (k === y ? 1 : 0))) / valid;
    }
  }
  const backward = () => {
    const dDropped = linearBackward(dlogits, dropped, value(`${n.classifier}.weight`), gradient(`${n.classifier}.weight`), gradient(`${n.classifier}.bias`), B, h, L);
    const dPre = refTanhBackward(pooled, mul(dDropped, mask));
    const dCls = linearBackward(dPre, cls, value(`${n.pooler}.weight`), gradient(`${n.pooler}.weight`), gradient(`${n.pooler}.bias`), B, h, h);
    const dHidden = new Float64Array(hidden.length);
    for (let b = 0; b < B; b++) for (let i = 0; i < h; i++) dHidden[head.rows[b] * h + i] += dCls[b * h + i];
    return dHidden;
  };
  return { loss, logits, backward };
}

/** Loss and gradients of every parameter (grads has the same names as params). */
export function referenceForwardBackward(c: EncoderConfig, p: Params, prefix: string, batch: Batch, head: Head, wantGrads = true, opts: ReferenceOptions = {}): RefResult & { grads: Params } {
  const grads: Params = new Map([...p].map(([k, v]) => [k, new Float64Array(v.length)]));
  const enc = new ReferenceEncoder(c, p, grads, prefix, batch, opts.dropout, opts.embeddingsPrefix);
  const { hidden, backward } = enc.forward();
  const out = head.kind === 'mlm' ? mlmHead(enc, hidden, head) : head.kind === 'detection' ? detectionHead(enc, hidden, head) : classificationHead(enc, hidden, head);
  if (wantGrads) backward(out.backward());
  return { loss: out.loss, logits: out.logits, hidden, grads };
}

export interface ElectraRefInputs {
  /** The generator's input: the clean batch with MLM corruption at the selected positions. */
  genBatch: Batch;
  /** Selected positions (flattened) and the original ids there. */
  positions: Int32Array;
  labels: Int32Array;
  /** The discriminator's input ids (the generator's samples at the selected positions), [B, T]. */
  discIds: Int32Array;
  /** Detection targets and weights [N]. */
  target: Float64Array;
  weight: Float64Array;
  lambda: number;
}

/**
 * ELECTRA's loss L_gen + λ·L_disc and the gradient of every parameter, for inputs whose
 * samples are given (sampling is not differentiated): the generator (prefix 'generator.',
 * embeddings shared with the discriminator, head generator_predictions.* with erf GELU as
 * ElectraGeneratorPredictions) and the discriminator (prefix '', detection head). With
 * `dropout`, each encoder draws its masks at its own stream base (generatorStreamBase for
 * the generator, 0 for the discriminator).
 */
export function referenceElectra(
  disc: EncoderConfig,
  gen: EncoderConfig,
  p: Params,
  x: ElectraRefInputs,
  opts: { dropout?: { seed: number; step: number; generatorStreamBase: number } } = {},
): { loss: number; genLoss: number; discLoss: number; grads: Params } {
  const d0 = opts.dropout;
  const genHead: Head = {
    kind: 'mlm',
    positions: x.positions,
    labels: x.labels,
    names: HEAD_NAMES.generator,
    act: 'gelu',
  };
  const g = referenceForwardBackward(gen, p, 'generator.', x.genBatch, genHead, true, { embeddingsPrefix: '', dropout: d0 && { seed: d0.seed, step: d0.step, streamBase: d0.generatorStreamBase } });
  const d = referenceForwardBackward(disc, p, '', { ...x.genBatch, ids: x.discIds }, { kind: 'detection', labels: x.target, weights: x.weight, lambda: x.lambda }, true, { dropout: d0 && { seed: d0.seed, step: d0.step } });
  const grads: Params = new Map();
  for (const [k, v] of g.grads) {
    const w = d.grads.get(k)!;
    grads.set(k, v.map((a, i) => a + w[i]));
  }
  return { loss: g.loss + d.loss, genLoss: g.loss, discLoss: d.loss, grads };
}
