// The whole model in float64 on the CPU, forward and backward, written out by hand:
// embeddings → post-LN BERT layers (or pre-LN layers and a final LayerNorm, when
// preLayerNorm; see src/model/encoder.ts) → MLM head (at selected positions, decoder tied to the
// word embeddings) or detection head (every position). It is the ground truth the GPU
// model is tested against (losses and the gradient of every parameter), in the manner of
// llm.c's reference. Slow and plain on purpose; no dropout (tests run with rates 0).
// The ELECTRA generator is the same code with shared embeddings (embeddingsPrefix), an
// embeddings_project when the embedding width differs from hidden, and the MLM head under
// the generator's names; referenceElectra sums the generator's and discriminator's losses
// and gradients for given (already sampled) inputs.
import type { EncoderConfig } from './config.js';

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
      names?: { dense: string; layerNorm: string; bias: string };
      act?: EncoderConfig['hiddenAct'];
      weight?: number;
    }
  | { kind: 'detection'; labels: Float64Array; weights: Float64Array; lambda: number };

export interface RefResult {
  loss: number;
  /** Head outputs: MLM logits [S, V] or detection logits [N]. */
  logits: Float64Array;
  /** The encoder's final hidden states [N, h]. */
  hidden: Float64Array;
}

// ---- primitives (each with its backward) ------------------------------------------------

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

interface LNCache { xhat: Float64Array; rstd: Float64Array }

function layerNorm(x: Float64Array, g: Float64Array, b: Float64Array, N: number, h: number, eps: number): { y: Float64Array; cache: LNCache } {
  const y = new Float64Array(N * h), xhat = new Float64Array(N * h), rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let mean = 0;
    for (let i = 0; i < h; i++) mean += x[n * h + i];
    mean /= h;
    let v = 0;
    for (let i = 0; i < h; i++) v += (x[n * h + i] - mean) ** 2;
    const r = 1 / Math.sqrt(v / h + eps);
    rstd[n] = r;
    for (let i = 0; i < h; i++) {
      const xh = (x[n * h + i] - mean) * r;
      xhat[n * h + i] = xh;
      y[n * h + i] = xh * g[i] + b[i];
    }
  }
  return { y, cache: { xhat, rstd } };
}

function layerNormBackward(dy: Float64Array, c: LNCache, g: Float64Array, dg: Float64Array, db: Float64Array, N: number, h: number): Float64Array {
  const dx = new Float64Array(N * h);
  for (let n = 0; n < N; n++) {
    let sumD = 0, sumDX = 0;
    for (let i = 0; i < h; i++) {
      const d = dy[n * h + i] * g[i];
      sumD += d;
      sumDX += d * c.xhat[n * h + i];
      dg[i] += dy[n * h + i] * c.xhat[n * h + i];
      db[i] += dy[n * h + i];
    }
    for (let i = 0; i < h; i++) {
      const d = dy[n * h + i] * g[i];
      dx[n * h + i] = c.rstd[n] * (d - sumD / h - (c.xhat[n * h + i] * sumDX) / h);
    }
  }
  return dx;
}

function erf(x: number): number {
  // Maclaurin series / continued fraction, ~1e-15 (as src/kernels/ref/activations.ts).
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = 0, term = ax;
    for (let n = 0; n < 200; n++) {
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
      term *= (-ax * ax) / (n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = ax, C = ax, D = 0;
  for (let i = 1; i < 100; i++) {
    D = 1 / (ax + (i / 2) * D);
    C = ax + i / 2 / C;
    f *= C * D;
    if (Math.abs(C * D - 1) < 1e-16) break;
  }
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
}

const TANH_K = Math.sqrt(2 / Math.PI);

function gelu(x: number, act: EncoderConfig['hiddenAct']): number {
  return act === 'gelu' ? 0.5 * x * (1 + erf(x / Math.SQRT2)) : 0.5 * x * (1 + Math.tanh(TANH_K * (x + 0.044715 * x ** 3)));
}

function geluGrad(x: number, act: EncoderConfig['hiddenAct']): number {
  if (act === 'gelu') return 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
  const t = Math.tanh(TANH_K * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * TANH_K * (1 + 3 * 0.044715 * x * x);
}

interface AttnCache { probs: Float64Array }

/** Multi-head attention over qkv [N, 3h] (Q | K | V, heads interleaved) → ctx [N, h]. */
function attention(qkv: Float64Array, batch: Batch, h: number, H: number): { ctx: Float64Array; cache: AttnCache } {
  const { B, T } = batch, D = h / H, scale = 1 / Math.sqrt(D);
  const ctx = new Float64Array(B * T * h);
  const probs = new Float64Array(B * H * T * T);
  for (let b = 0; b < B; b++)
    for (let hd = 0; hd < H; hd++)
      for (let i = 0; i < T; i++) {
        const q = (b * T + i) * 3 * h + hd * D;
        const row = ((b * H + hd) * T + i) * T;
        let max = -Infinity;
        for (let j = 0; j < batch.lengths[b]; j++) {
          const k = (b * T + j) * 3 * h + h + hd * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += qkv[q + d] * qkv[k + d];
          probs[row + j] = s * scale;
          max = Math.max(max, s * scale);
        }
        let sum = 0;
        for (let j = 0; j < batch.lengths[b]; j++) sum += probs[row + j] = Math.exp(probs[row + j] - max);
        for (let j = 0; j < batch.lengths[b]; j++) probs[row + j] /= sum;
        for (let j = 0; j < batch.lengths[b]; j++) {
          const v = (b * T + j) * 3 * h + 2 * h + hd * D;
          const p = probs[row + j];
          for (let d = 0; d < D; d++) ctx[(b * T + i) * h + hd * D + d] += p * qkv[v + d];
        }
      }
  return { ctx, cache: { probs } };
}

function attentionBackward(dctx: Float64Array, qkv: Float64Array, c: AttnCache, batch: Batch, h: number, H: number): Float64Array {
  const { B, T } = batch, D = h / H, scale = 1 / Math.sqrt(D);
  const dqkv = new Float64Array(B * T * 3 * h);
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let hd = 0; hd < H; hd++)
      for (let i = 0; i < T; i++) {
        const L = batch.lengths[b];
        const row = ((b * H + hd) * T + i) * T;
        const o = (b * T + i) * h + hd * D;
        let dot = 0;
        for (let j = 0; j < L; j++) {
          const v = (b * T + j) * 3 * h + 2 * h + hd * D;
          let s = 0;
          for (let d = 0; d < D; d++) {
            s += dctx[o + d] * qkv[v + d];
            dqkv[v + d] += c.probs[row + j] * dctx[o + d]; // dV
          }
          dp[j] = s;
          dot += s * c.probs[row + j];
        }
        const q = (b * T + i) * 3 * h + hd * D;
        for (let j = 0; j < L; j++) {
          const ds = c.probs[row + j] * (dp[j] - dot) * scale;
          const k = (b * T + j) * 3 * h + h + hd * D;
          for (let d = 0; d < D; d++) {
            dqkv[q + d] += ds * qkv[k + d];
            dqkv[k + d] += ds * qkv[q + d];
          }
        }
      }
  return dqkv;
}

// ---- the model ----------------------------------------------------------------------------

function get(p: Params, name: string): Float64Array {
  const v = p.get(name);
  if (!v) throw new Error(`reference model: missing parameter '${name}'`);
  return v;
}

/** Loss and gradients of every parameter (grads has the same names as params). */
export function referenceForwardBackward(
  c: EncoderConfig,
  p: Params,
  prefix: string,
  batch: Batch,
  head: Head,
  wantGrads = true,
  opts: { embeddingsPrefix?: string } = {},
): RefResult & { grads: Params } {
  const h = c.hiddenSize, H = c.numHeads, F = c.intermediateSize, N = batch.B * batch.T, V = c.vocabSize;
  const P = (n: string) => get(p, prefix + n);
  const grads: Params = new Map([...p].map(([k, v]) => [k, new Float64Array(v.length)]));
  const G = (n: string) => get(grads, prefix + n);
  const ep = opts.embeddingsPrefix ?? prefix;
  const PE = (n: string) => get(p, ep + n), GE = (n: string) => get(grads, ep + n);

  // Embeddings, width E (then embeddings_project to h when E ≠ h).
  const word = PE('embeddings.word_embeddings.weight'), pos = PE('embeddings.position_embeddings.weight'), typ = PE('embeddings.token_type_embeddings.weight');
  const E = word.length / V;
  const x0 = new Float64Array(N * E);
  for (let n = 0; n < N; n++) {
    const t = n % batch.T;
    for (let i = 0; i < E; i++) x0[n * E + i] = word[batch.ids[n] * E + i] + pos[t * E + i] + typ[batch.types[n] * E + i];
  }
  const embLn = layerNorm(x0, PE('embeddings.LayerNorm.weight'), PE('embeddings.LayerNorm.bias'), N, E, c.layerNormEps);
  const emb = { cache: embLn.cache, y: E === h ? embLn.y : linear(embLn.y, P('embeddings_project.weight'), P('embeddings_project.bias'), N, E, h) };

  const selfAttention = (xin: Float64Array, L: string) => {
    const q = linear(xin, P(`${L}attention.self.query.weight`), P(`${L}attention.self.query.bias`), N, h, h);
    const k = linear(xin, P(`${L}attention.self.key.weight`), P(`${L}attention.self.key.bias`), N, h, h);
    const v = linear(xin, P(`${L}attention.self.value.weight`), P(`${L}attention.self.value.bias`), N, h, h);
    const qkv = new Float64Array(N * 3 * h);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < h; i++) {
        qkv[n * 3 * h + i] = q[n * h + i];
        qkv[n * 3 * h + h + i] = k[n * h + i];
        qkv[n * 3 * h + 2 * h + i] = v[n * h + i];
      }
    return { qkv, at: attention(qkv, batch, h, H) };
  };
  // Layers. Post-LN: x ← LN₁(x + Attn(x)), x ← LN₂(x + FFN(x)). Pre-LN: x ← x + Attn(LN₁(x)),
  // x ← x + FFN(LN₂(x)), and a final LayerNorm. In both, `x` of the cache is the attention's
  // input and `y1` the FFN's input.
  type LayerCache = { x: Float64Array; qkv: Float64Array; attn: AttnCache; ctx: Float64Array; ln1: LNCache; y1: Float64Array; pre: Float64Array; act: Float64Array; ln2: LNCache };
  const caches: LayerCache[] = [];
  const preLN = c.preLayerNorm;
  let x = emb.y;
  for (let l = 0; l < c.numLayers; l++) {
    const L = `encoder.layer.${l}.`;
    if (preLN) {
      const ln1 = layerNorm(x, P(`${L}attention.output.LayerNorm.weight`), P(`${L}attention.output.LayerNorm.bias`), N, h, c.layerNormEps);
      const { qkv, at } = selfAttention(ln1.y, L);
      const r = linear(at.ctx, P(`${L}attention.output.dense.weight`), P(`${L}attention.output.dense.bias`), N, h, h);
      for (let i = 0; i < N * h; i++) r[i] += x[i];
      const ln2 = layerNorm(r, P(`${L}output.LayerNorm.weight`), P(`${L}output.LayerNorm.bias`), N, h, c.layerNormEps);
      const preAct = linear(ln2.y, P(`${L}intermediate.dense.weight`), P(`${L}intermediate.dense.bias`), N, h, F);
      const act = preAct.map((u) => gelu(u, c.hiddenAct));
      const o = linear(act, P(`${L}output.dense.weight`), P(`${L}output.dense.bias`), N, F, h);
      for (let i = 0; i < N * h; i++) o[i] += r[i];
      caches.push({ x: ln1.y, qkv, attn: at.cache, ctx: at.ctx, ln1: ln1.cache, y1: ln2.y, pre: preAct, act, ln2: ln2.cache });
      x = o;
      continue;
    }
    const { qkv, at } = selfAttention(x, L);
    const a = linear(at.ctx, P(`${L}attention.output.dense.weight`), P(`${L}attention.output.dense.bias`), N, h, h);
    for (let i = 0; i < N * h; i++) a[i] += x[i];
    const ln1 = layerNorm(a, P(`${L}attention.output.LayerNorm.weight`), P(`${L}attention.output.LayerNorm.bias`), N, h, c.layerNormEps);
    const pre = linear(ln1.y, P(`${L}intermediate.dense.weight`), P(`${L}intermediate.dense.bias`), N, h, F);
    const act = pre.map((u) => gelu(u, c.hiddenAct));
    const o = linear(act, P(`${L}output.dense.weight`), P(`${L}output.dense.bias`), N, F, h);
    for (let i = 0; i < N * h; i++) o[i] += ln1.y[i];
    const ln2 = layerNorm(o, P(`${L}output.LayerNorm.weight`), P(`${L}output.LayerNorm.bias`), N, h, c.layerNormEps);
    caches.push({ x, qkv, attn: at.cache, ctx: at.ctx, ln1: ln1.cache, y1: ln1.y, pre, act, ln2: ln2.cache });
    x = ln2.y;
  }
  const finalLn = preLN ? layerNorm(x, P('encoder.final_layer_norm.weight'), P('encoder.final_layer_norm.bias'), N, h, c.layerNormEps) : null;
  const hidden = finalLn ? finalLn.y : x;

  // Head and loss; dHidden is the gradient flowing back into the encoder.
  let loss = 0;
  let logits: Float64Array;
  const dHidden = new Float64Array(N * h);
  if (head.kind === 'mlm') {
    const S = head.positions.length;
    const nm = head.names ?? { dense: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias' };
    const act0 = head.act ?? c.hiddenAct, lw = head.weight ?? 1;
    const sel = new Float64Array(S * h);
    for (let s = 0; s < S; s++) for (let i = 0; i < h; i++) sel[s * h + i] = hidden[head.positions[s] * h + i];
    const Wt = get(p, `${nm.dense}.weight`), bt = get(p, `${nm.dense}.bias`);
    const pre = linear(sel, Wt, bt, S, h, E);
    const act = pre.map((u) => gelu(u, act0));
    const ln = layerNorm(act, get(p, `${nm.layerNorm}.weight`), get(p, `${nm.layerNorm}.bias`), S, E, c.layerNormEps);
    const bias = get(p, nm.bias);
    logits = linear(ln.y, word, bias, S, E, V);
    const dlogits = new Float64Array(S * V);
    for (let s = 0; s < S; s++) {
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[s * V + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[s * V + v] - max);
      const lse = max + Math.log(sum);
      loss += (lw * (lse - logits[s * V + head.labels[s]])) / S;
      for (let v = 0; v < V; v++) dlogits[s * V + v] = (lw * (Math.exp(logits[s * V + v] - lse) - (v === head.labels[s] ? 1 : 0))) / S;
    }
    if (wantGrads) {
      const dln = linearBackward(dlogits, ln.y, word, GE('embeddings.word_embeddings.weight'), get(grads, nm.bias), S, E, V);
      const dact = layerNormBackward(dln, ln.cache, get(p, `${nm.layerNorm}.weight`), get(grads, `${nm.layerNorm}.weight`), get(grads, `${nm.layerNorm}.bias`), S, E);
      const dpre = dact.map((d, i) => d * geluGrad(pre[i], act0));
      const dsel = linearBackward(dpre, sel, Wt, get(grads, `${nm.dense}.weight`), get(grads, `${nm.dense}.bias`), S, h, E);
      for (let s = 0; s < S; s++) for (let i = 0; i < h; i++) dHidden[head.positions[s] * h + i] += dsel[s * h + i];
    }
  } else {
    const Wd = get(p, 'discriminator_predictions.dense.weight'), bd = get(p, 'discriminator_predictions.dense.bias');
    const Wp = get(p, 'discriminator_predictions.dense_prediction.weight'), bp = get(p, 'discriminator_predictions.dense_prediction.bias');
    const pre = linear(hidden, Wd, bd, N, h, h);
    const act = pre.map((u) => gelu(u, c.hiddenAct));
    logits = linear(act, Wp, bp, N, h, 1);
    let wsum = 0;
    for (let n = 0; n < N; n++) wsum += head.weights[n];
    const dlogits = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      if (head.weights[n] === 0) continue;
      const z = logits[n], y = head.labels[n];
      // Stable BCE with logits: max(z, 0) − z·y + log(1 + e^{−|z|}).
      const l = Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      loss += (head.lambda * head.weights[n] * l) / wsum;
      dlogits[n] = (head.lambda * head.weights[n] * (1 / (1 + Math.exp(-z)) - y)) / wsum;
    }
    if (wantGrads) {
      const dact = linearBackward(dlogits, act, Wp, get(grads, 'discriminator_predictions.dense_prediction.weight'), get(grads, 'discriminator_predictions.dense_prediction.bias'), N, h, 1);
      const dpre = dact.map((d, i) => d * geluGrad(pre[i], c.hiddenAct));
      const dh = linearBackward(dpre, hidden, Wd, get(grads, 'discriminator_predictions.dense.weight'), get(grads, 'discriminator_predictions.dense.bias'), N, h, h);
      dHidden.set(dh);
    }
  }
  if (!wantGrads) return { loss, logits, hidden, grads };

  // Encoder backward.
  let dx = finalLn ? layerNormBackward(dHidden, finalLn.cache, P('encoder.final_layer_norm.weight'), G('encoder.final_layer_norm.weight'), G('encoder.final_layer_norm.bias'), N, h) : dHidden;
  const dSelfAttention = (dctx: Float64Array, cc: LayerCache, L: string) => {
    const dqkv = attentionBackward(dctx, cc.qkv, cc.attn, batch, h, H);
    const dq = new Float64Array(N * h), dk = new Float64Array(N * h), dv = new Float64Array(N * h);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < h; i++) {
        dq[n * h + i] = dqkv[n * 3 * h + i];
        dk[n * h + i] = dqkv[n * 3 * h + h + i];
        dv[n * h + i] = dqkv[n * 3 * h + 2 * h + i];
      }
    const dxq = linearBackward(dq, cc.x, P(`${L}attention.self.query.weight`), G(`${L}attention.self.query.weight`), G(`${L}attention.self.query.bias`), N, h, h);
    const dxk = linearBackward(dk, cc.x, P(`${L}attention.self.key.weight`), G(`${L}attention.self.key.weight`), G(`${L}attention.self.key.bias`), N, h, h);
    const dxv = linearBackward(dv, cc.x, P(`${L}attention.self.value.weight`), G(`${L}attention.self.value.weight`), G(`${L}attention.self.value.bias`), N, h, h);
    for (let i = 0; i < N * h; i++) dxq[i] = dxq[i] + dxk[i] + dxv[i];
    return dxq;
  };
  for (let l = c.numLayers - 1; l >= 0; l--) {
    const L = `encoder.layer.${l}.`;
    const cc = caches[l];
    if (preLN) {
      // dx is the gradient of the layer's output stream; each residual branch adds its part.
      const dact = linearBackward(dx, cc.act, P(`${L}output.dense.weight`), G(`${L}output.dense.weight`), G(`${L}output.dense.bias`), N, F, h);
      const dpre = dact.map((d, i) => d * geluGrad(cc.pre[i], c.hiddenAct));
      const dln2 = linearBackward(dpre, cc.y1, P(`${L}intermediate.dense.weight`), G(`${L}intermediate.dense.weight`), G(`${L}intermediate.dense.bias`), N, h, F);
      const dr = layerNormBackward(dln2, cc.ln2, P(`${L}output.LayerNorm.weight`), G(`${L}output.LayerNorm.weight`), G(`${L}output.LayerNorm.bias`), N, h);
      for (let i = 0; i < N * h; i++) dr[i] += dx[i];
      const dctx = linearBackward(dr, cc.ctx, P(`${L}attention.output.dense.weight`), G(`${L}attention.output.dense.weight`), G(`${L}attention.output.dense.bias`), N, h, h);
      const dln1 = dSelfAttention(dctx, cc, L);
      const dxin = layerNormBackward(dln1, cc.ln1, P(`${L}attention.output.LayerNorm.weight`), G(`${L}attention.output.LayerNorm.weight`), G(`${L}attention.output.LayerNorm.bias`), N, h);
      for (let i = 0; i < N * h; i++) dxin[i] += dr[i];
      dx = dxin;
      continue;
    }
    const dsum2 = layerNormBackward(dx, cc.ln2, P(`${L}output.LayerNorm.weight`), G(`${L}output.LayerNorm.weight`), G(`${L}output.LayerNorm.bias`), N, h);
    const dact = linearBackward(dsum2, cc.act, P(`${L}output.dense.weight`), G(`${L}output.dense.weight`), G(`${L}output.dense.bias`), N, F, h);
    const dpre = dact.map((d, i) => d * geluGrad(cc.pre[i], c.hiddenAct));
    const dy1 = linearBackward(dpre, cc.y1, P(`${L}intermediate.dense.weight`), G(`${L}intermediate.dense.weight`), G(`${L}intermediate.dense.bias`), N, h, F);
    for (let i = 0; i < N * h; i++) dy1[i] += dsum2[i];
    const dsum1 = layerNormBackward(dy1, cc.ln1, P(`${L}attention.output.LayerNorm.weight`), G(`${L}attention.output.LayerNorm.weight`), G(`${L}attention.output.LayerNorm.bias`), N, h);
    const dctx = linearBackward(dsum1, cc.ctx, P(`${L}attention.output.dense.weight`), G(`${L}attention.output.dense.weight`), G(`${L}attention.output.dense.bias`), N, h, h);
    const dxqkv = dSelfAttention(dctx, cc, L);
    for (let i = 0; i < N * h; i++) dxqkv[i] += dsum1[i];
    dx = dxqkv;
  }
  const dEmb = E === h ? dx : linearBackward(dx, embLn.y, P('embeddings_project.weight'), G('embeddings_project.weight'), G('embeddings_project.bias'), N, E, h);
  const dx0 = layerNormBackward(dEmb, emb.cache, PE('embeddings.LayerNorm.weight'), GE('embeddings.LayerNorm.weight'), GE('embeddings.LayerNorm.bias'), N, E);
  const dword = GE('embeddings.word_embeddings.weight'), dpos = GE('embeddings.position_embeddings.weight'), dtyp = GE('embeddings.token_type_embeddings.weight');
  for (let n = 0; n < N; n++) {
    const t = n % batch.T;
    for (let i = 0; i < E; i++) {
      dword[batch.ids[n] * E + i] += dx0[n * E + i];
      dpos[t * E + i] += dx0[n * E + i];
      dtyp[batch.types[n] * E + i] += dx0[n * E + i];
    }
  }
  return { loss, logits, hidden, grads };
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
 * ElectraGeneratorPredictions) and the discriminator (prefix '', detection head).
 */
export function referenceElectra(disc: EncoderConfig, gen: EncoderConfig, p: Params, x: ElectraRefInputs): { loss: number; genLoss: number; discLoss: number; grads: Params } {
  const g = referenceForwardBackward(gen, p, 'generator.', x.genBatch, {
    kind: 'mlm',
    positions: x.positions,
    labels: x.labels,
    names: { dense: 'generator_predictions.dense', layerNorm: 'generator_predictions.LayerNorm', bias: 'generator_lm_head.bias' },
    act: 'gelu',
  }, true, { embeddingsPrefix: '' });
  const d = referenceForwardBackward(disc, p, '', { ...x.genBatch, ids: x.discIds }, { kind: 'detection', labels: x.target, weights: x.weight, lambda: x.lambda });
  const grads: Params = new Map();
  for (const [k, v] of g.grads) {
    const w = d.grads.get(k)!;
    grads.set(k, v.map((a, i) => a + w[i]));
  }
  return { loss: g.loss + d.loss, genLoss: g.loss, discLoss: d.loss, grads };
}
