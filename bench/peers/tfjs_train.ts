// The TensorFlow.js peer of `bench train --vs tfjs`: the same encoder and objective written
// with tfjs's ops on its WebGPU backend, on the same kind of adapter, timed as the engine's
// steps are (one optimizer step per call, waited for; bench/train.ts alternates them with
// the engine's and takes medians). What a step does
// mirrors bench/peers/torch_train.py, the PyTorch peer:
//   mlm: BERT (post-LN, GELU, dropout 0.1 on the hidden states and the attention
//        probabilities) + BertForMaskedLM's head at the 15 % selected positions only (dense,
//        GELU, LayerNorm, the decoder tied to the word embeddings, a bias), cross-entropy;
//   rts: the same encoder + ElectraForPreTraining's discriminator head (dense, GELU, one
//        logit) on every token against a replaced-token target, BCE (the statistical
//        generator's sampling is a table lookup: left out, as in the PyTorch peer);
// then global-norm clipping at 1 and AdamW (decoupled weight decay 0.01), written with tfjs
// ops as a tfjs user would (tfjs has Adam, not AdamW). Inputs are random ids of the
// vocabulary: throughput does not depend on the text. Every intermediate is disposed each
// step (tf.tidy), so memory is steady.
import type { Scalar } from '@tensorflow/tfjs-core';
import type { Tf, TfTensor, TfjsPeerRuntime } from '../tfjs.js';
import type { EncoderConfig } from '../../src/model/config.js';

type Variable = ReturnType<Tf['variable']>;

export interface TfjsTrainResult {
  objective: 'mlm' | 'rts';
  tokens_per_s: number;
  step_ms: number;
  /** The loss of the first step (random weights: ≈ ln V for MLM, ≈ ln 2 for RTS), a check that the peer computes what it claims. */
  first_loss: number;
}

const LN_EPS = 1e-12;
/** tfjs's variable names are global: each run's get a prefix of their own. */
let runs = 0;
const DROPOUT = 0.1;

function layerNorm(tf: Tf, x: TfTensor, g: Variable, b: Variable): TfTensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LN_EPS))), g), b);
}

/** BERT's exact GELU, x·Φ(x). */
function gelu(tf: Tf, x: TfTensor): TfTensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** PyTorch's Linear, y = x·Wᵀ + b, W [out, in]. */
function linear(tf: Tf, x: TfTensor, w: Variable, b: Variable): TfTensor {
  return tf.add(tf.matMul(x, w, false, true), b);
}

/** The encoder's and one head's parameters, initialised as BERT's (normal 0.02, zero biases, unit gains). */
function makeParams(tf: Tf, cfg: EncoderConfig, T: number, objective: 'mlm' | 'rts'): Map<string, Variable> {
  const h = cfg.hiddenSize, F = cfg.intermediateSize, V = cfg.vocabSize;
  const p = new Map<string, Variable>();
  const prefix = `electrolite-peer-${++runs}.`;
  const normal = (name: string, shape: number[]) => p.set(name, tf.variable(tf.randomNormal(shape, 0, 0.02, 'float32', p.size + 1), true, prefix + name));
  const zeros = (name: string, n: number) => p.set(name, tf.variable(tf.zeros([n]), true, prefix + name));
  const ones = (name: string, n: number) => p.set(name, tf.variable(tf.ones([n]), true, prefix + name));
  normal('word', [V, h]);
  normal('position', [Math.max(512, T), h]);
  normal('type', [2, h]);
  ones('emb.ln.g', h); zeros('emb.ln.b', h);
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const m of ['q', 'k', 'v', 'o']) { normal(`${l}.${m}.w`, [h, h]); zeros(`${l}.${m}.b`, h); }
    ones(`${l}.ln1.g`, h); zeros(`${l}.ln1.b`, h);
    normal(`${l}.ffn1.w`, [F, h]); zeros(`${l}.ffn1.b`, F);
    normal(`${l}.ffn2.w`, [h, F]); zeros(`${l}.ffn2.b`, h);
    ones(`${l}.ln2.g`, h); zeros(`${l}.ln2.b`, h);
  }
  normal('head.dense.w', [h, h]); zeros('head.dense.b', h);
  if (objective === 'mlm') {
    ones('head.ln.g', h); zeros('head.ln.b', h);
    zeros('head.decoder.b', V);
  } else {
    normal('head.out.w', [1, h]); zeros('head.out.b', 1);
  }
  return p;
}

/** The encoder's last hidden states, [B·T, h]. */
function encoder(tf: Tf, p: Map<string, Variable>, cfg: EncoderConfig, ids: TfTensor, B: number, T: number): TfTensor {
  const h = cfg.hiddenSize, H = cfg.numHeads, D = h / H;
  const P = (n: string) => p.get(n)!;
  const flatIds = tf.reshape(ids, [B * T]);
  const positions = tf.tile(tf.slice(P('position'), [0, 0], [T, h]), [B, 1]);
  const types = tf.tile(tf.slice(P('type'), [0, 0], [1, h]), [B * T, 1]);
  let x = tf.dropout(layerNorm(tf, tf.add(tf.add(tf.gather(P('word'), flatIds), positions), types), P('emb.ln.g'), P('emb.ln.b')), DROPOUT);
  const heads = (t: TfTensor) => tf.transpose(tf.reshape(t, [B, T, H, D]), [0, 2, 1, 3]);
  for (let l = 0; l < cfg.numLayers; l++) {
    const q = heads(linear(tf, x, P(`${l}.q.w`), P(`${l}.q.b`)));
    const k = heads(linear(tf, x, P(`${l}.k.w`), P(`${l}.k.b`)));
    const v = heads(linear(tf, x, P(`${l}.v.w`), P(`${l}.v.b`)));
    const probs = tf.dropout(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D))), DROPOUT);
    const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * T, h]);
    x = layerNorm(tf, tf.add(x, tf.dropout(linear(tf, ctx, P(`${l}.o.w`), P(`${l}.o.b`)), DROPOUT)), P(`${l}.ln1.g`), P(`${l}.ln1.b`));
    const ffn = linear(tf, gelu(tf, linear(tf, x, P(`${l}.ffn1.w`), P(`${l}.ffn1.b`))), P(`${l}.ffn2.w`), P(`${l}.ffn2.b`));
    x = layerNorm(tf, tf.add(x, tf.dropout(ffn, DROPOUT)), P(`${l}.ln2.g`), P(`${l}.ln2.b`));
  }
  return x;
}

/** A step's random inputs, made on the host: ids in [5, V), the 15 % selected positions (MLM) or the replaced-token target (RTS). */
function inputs(tf: Tf, V: number, B: number, T: number, nSel: number): { ids: TfTensor; sel: TfTensor; target: TfTensor } {
  const ids = Int32Array.from({ length: B * T }, () => 5 + Math.floor(Math.random() * (V - 5)));
  const order = Array.from({ length: B * T }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const sel = Int32Array.from(order.slice(0, nSel));
  const target = Float32Array.from({ length: B * T }, () => (Math.random() < 0.15 ? 1 : 0));
  return { ids: tf.tensor2d(ids, [B, T], 'int32'), sel: tf.tensor1d(sel, 'int32'), target: tf.tensor2d(target, [B * T, 1]) };
}

/** One optimizer step at a time of the tfjs peer's model: `step()` runs one, waits for the GPU and returns its wall time in ms. */
export interface TfjsTrainer {
  step(): Promise<number>;
  /** The loss of the first step (NaN before it). */
  readonly firstLoss: number;
  dispose(): void;
}

/** Build the peer's model and optimizer for `objective` (B × T tokens a step). */
export function tfjsTrainer(peer: TfjsPeerRuntime, cfg: EncoderConfig, objective: 'mlm' | 'rts', B: number, T: number): TfjsTrainer {
  const { tf } = peer;
  const V = cfg.vocabSize;
  const nSel = Math.max(1, Math.round(0.15 * B * T));
  const p = makeParams(tf, cfg, T, objective);
  const vars = [...p.values()];
  const P = (n: string) => p.get(n)!;
  const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const s = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  const lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.01;
  const loss = (x: ReturnType<typeof inputs>) => (): Scalar => {
    const hidden = encoder(tf, p, cfg, x.ids, B, T);
    if (objective === 'mlm') {
      const rows = tf.gather(hidden, x.sel);
      const t = layerNorm(tf, gelu(tf, linear(tf, rows, P('head.dense.w'), P('head.dense.b'))), P('head.ln.g'), P('head.ln.b'));
      const logits = tf.add(tf.matMul(t, P('word'), false, true), P('head.decoder.b'));
      const labels = tf.oneHot(tf.gather(tf.reshape(x.ids, [B * T]), x.sel), V);
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as Scalar;
    }
    const logits = linear(tf, gelu(tf, linear(tf, hidden, P('head.dense.w'), P('head.dense.b'))), P('head.out.w'), P('head.out.b'));
    return tf.losses.sigmoidCrossEntropy(x.target, logits) as Scalar;
  };
  let k = 0;
  let firstLoss = NaN;
  return {
    get firstLoss() {
      return firstLoss;
    },
    async step() {
      const x = inputs(tf, V, B, T, nSel);
      const t0 = performance.now();
      const value = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss(x), vars);
        const g = vars.map((v) => grads[v.name]);
        // Global-norm clipping at 1 (PyTorch's clip_grad_norm_), then AdamW.
        // (A chain of adds: tf.addN binds every input at once, past WebGPU's 8 storage buffers a stage.)
        const norm = tf.sqrt(g.map((t) => tf.sum(tf.square(t))).reduce((a, b) => tf.add(a, b)));
        const scale = tf.minimum(tf.div(1, tf.add(norm, 1e-6)), 1);
        const c1 = 1 - beta1 ** (k + 1), c2 = 1 - beta2 ** (k + 1);
        vars.forEach((v, i) => {
          const gi = tf.mul(g[i], scale);
          m[i].assign(tf.add(tf.mul(m[i], beta1), tf.mul(gi, 1 - beta1)));
          s[i].assign(tf.add(tf.mul(s[i], beta2), tf.mul(tf.square(gi), 1 - beta2)));
          const update = tf.div(tf.div(m[i], c1), tf.add(tf.sqrt(tf.div(s[i], c2)), eps));
          v.assign(tf.sub(tf.mul(v, 1 - lr * wd), tf.mul(update, lr)));
        });
        return value;
      });
      await peer.sync(value);
      peer.check(`the ${objective} step`);
      const ms = performance.now() - t0;
      if (k === 0) firstLoss = (await value.data())[0];
      value.dispose();
      for (const t of [x.ids, x.sel, x.target]) t.dispose();
      k++;
      return ms;
    },
    dispose() {
      for (const v of [...vars, ...m, ...s]) v.dispose();
    },
  };
}

/** The result row from the median step time. */
export function tfjsResult(objective: 'mlm' | 'rts', B: number, T: number, ms: number, firstLoss: number): TfjsTrainResult {
  return { objective, tokens_per_s: Math.round((B * T * 1000) / ms), step_ms: Number(ms.toFixed(2)), first_loss: Number(firstLoss.toFixed(4)) };
}
