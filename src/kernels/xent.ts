// Sparse softmax cross-entropy over the vocabulary (shaders/xent.wgsl), chunked over V.
//
//   const x = await xent(rt, { hidden, weight: wordEmb, bias, labels, meta, dHidden, dWeight, dBias });
//   rt.record(...x.forward, ...x.backward);
//   x.stats: f32 [4S + 8]: per row (lse, loss, argmax, valid), then [weight·mean loss, Σ loss,
//            #valid, #correct, #bad labels, scale, 0, 0]
//
// hidden [S, h]: the head's output at the selected positions, already gathered (row k is
// position list[k] of the selection; S = the selection's capacity). weight [V, h] (tied to
// the word embeddings), bias [V]. labels [S] u32 or i32: ids outside [0, V) are ignored and
// counted as bad (stats[4S+4]). meta u32 [≥ 1]: meta[0] = number of valid rows (the
// selection's count; rows from there on are ignored, and the three products skip them: matmul's
// run-time limit). Loss = weight · mean over valid rows.
// Gradients: dHidden [S, h] is written (or added with accumulateHidden); dWeight [V, h]
// and dBias [V] are ADDED to by default (gradient accumulation, and the decoder is tied to
// the embeddings): pass accumulate: false to overwrite them.
// Per chunk of Vc ids: forward = logits tile Z = H·W_cᵀ + b_c (a matmul, autotuned like every
// other) + row stats; then one finalize. Backward per chunk: the tile becomes the gradient
// G in place (grad), then dH (+)= G·W_c, and dW_c (+)= Gᵀ·H with db_c (+)= Σ_i G
// (weight-grad.ts: in the product, or a column-sum pass). With several chunks the backward first recomputes chunk c's logits into
// the tile (8·S·V·h flops in all, one [S, Vc] tile of memory); when one chunk covers V (the
// default when S·V·4 ≤ 64 MiB, e.g. S 615 × V 30522), the forward's logits are still there
// (6·S·V·h flops). The backward must then follow this op set's forward (as it does in a step).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { ceilDiv, grid1d } from './grid.js';
import { registerVariants } from './registry.js';
import { weightAndBiasGrad } from './weight-grad.js';
import { matmul, type MatrixView } from './matmul.js';
import type { AutotuneOptions } from './autotune.js';

const WG = 256;
/** Tile entries per invocation of the grad kernel (GC in shaders/xent.wgsl). */
const GRAD_COLS = 16;
/** Default bound on the [S, Vc] tile, in bytes. */
export const XENT_TILE_BYTES = 64 * 2 ** 20;

const SIG_RS: KernelSignature = { name: 'xent.row_stats', bindings: ['read', 'rw', 'read', 'uniform'] };
const SIG_FIN: KernelSignature = { name: 'xent.finalize', bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'rw', 'uniform'] };
const SIG_GRAD: KernelSignature = { name: 'xent.grad', bindings: ['rw', 'read', 'read', 'uniform'] };
/** A tile kernel's spec: four logits per access where the chunk's width and the tile's row stride allow (VEC4). */
const tileSpec = (entry: string, defines: string[], vec4: boolean): ShaderSpec => ({ file: 'xent.wgsl', entry, defines: vec4 ? [...defines, 'VEC4'] : defines, consts: { WG } });
const RS_SPEC = (vec4: boolean) => tileSpec('row_stats', ['ROWSTATS'], vec4);
const FIN_SPEC = tileSpec('finalize', ['FINAL'], false);
const GRAD_SPEC = (vec4: boolean) => tileSpec('grad', ['GRAD'], vec4);
/** The grad kernel multiplied by a dynamic loss scale (mixed precision). */
const SIG_GRAD_SCALED: KernelSignature = { name: 'xent.grad.scaled', bindings: ['rw', 'read', 'read', 'uniform', 'read'] };
const GRAD_SCALED_SPEC = (vec4: boolean) => tileSpec('grad', ['GRAD', 'SCALED'], vec4);
registerVariants({ sig: SIG_FIN, spec: FIN_SPEC });
for (const vec4 of [false, true]) registerVariants({ sig: SIG_RS, spec: RS_SPEC(vec4) }, { sig: SIG_GRAD, spec: GRAD_SPEC(vec4) }, { sig: SIG_GRAD_SCALED, spec: GRAD_SCALED_SPEC(vec4) });

export interface XentTensors {
  hidden: Tensor;
  weight: Tensor;
  bias: Tensor;
  labels: Tensor;
  meta: Tensor;
  dHidden?: Tensor;
  dWeight?: Tensor;
  dBias?: Tensor;
}

export interface XentOptions {
  /** Loss weight (the mean is multiplied by it). Default 1. */
  lossWeight?: number;
  /** f32 [≥ 1]: a dynamic loss scale (mixed precision) whose element 0 multiplies every gradient; the loss itself is not scaled. */
  gradScale?: Tensor;
  /** Add into dWeight / dBias (default true) and into dHidden (default false). */
  accumulate?: boolean;
  accumulateHidden?: boolean;
  /** Vocabulary ids per chunk (default: as many as fit XENT_TILE_BYTES, at most V). */
  chunk?: number;
  /** For the matmuls' tile tuning. */
  autotune?: AutotuneOptions;
}

export interface XentOps {
  /** Ops of each chunk's forward (tile + row stats), in order: interleave per-chunk consumers (Gumbel). */
  forwardChunks: Op[][];
  finalize: Op;
  /** forwardChunks flattened + finalize. */
  forward: Op[];
  backward: Op[];
  stats: Tensor;
  /** The [S, Vc] tile: chunk c's logits after its forward ops (ids chunks[c].v0 …). */
  logitsTile: Tensor;
  chunks: { v0: number; vcount: number }[];
  release(): void;
}

export async function xent(rt: Runtime, t: XentTensors, o: XentOptions = {}): Promise<XentOps> {
  const name = 'xent';
  const f32s = ['hidden', 'weight', 'bias', 'dHidden', 'dWeight', 'dBias'] as const;
  for (const k of f32s) if (t[k]) expectDType(name, k, t[k]!, 'f32');
  expectDType(name, 'labels', t.labels, 'u32', 'i32');
  expectDType(name, 'meta', t.meta, 'u32');
  if (t.hidden.shape.length !== 2) throw new Error(`${name}: hidden must be [S, h], got ${shapeStr(t.hidden.shape)}`);
  const [S, h] = t.hidden.shape;
  if (t.weight.shape.length !== 2 || t.weight.shape[1] !== h)
    throw new Error(`${name}: weight has shape ${shapeStr(t.weight.shape)}, expected [V, ${h}] for hidden ${shapeStr(t.hidden.shape)}`);
  const V = t.weight.shape[0];
  if (S < 1 || h < 1 || V < 1) throw new Error(`${name}: empty shapes: hidden ${shapeStr(t.hidden.shape)}, weight ${shapeStr(t.weight.shape)}`);
  if (t.bias.size !== V) throw new Error(`${name}: bias has shape ${shapeStr(t.bias.shape)}, expected [${V}] for weight ${shapeStr(t.weight.shape)}`);
  if (t.labels.size !== S) throw new Error(`${name}: labels has shape ${shapeStr(t.labels.shape)}, expected [${S}] for hidden ${shapeStr(t.hidden.shape)}`);
  if (t.meta.size < 1) throw new Error(`${name}: meta must hold the valid row count at [0]`);
  if (t.dHidden && t.dHidden.size !== S * h) throw new Error(`${name}: dHidden has shape ${shapeStr(t.dHidden.shape)}, expected [${S}, ${h}]`);
  if (t.dWeight && t.dWeight.size !== V * h) throw new Error(`${name}: dWeight has shape ${shapeStr(t.dWeight.shape)}, expected [${V}, ${h}]`);
  if (t.dBias && t.dBias.size !== V) throw new Error(`${name}: dBias has shape ${shapeStr(t.dBias.shape)}, expected [${V}]`);
  const grads = [t.dHidden, t.dWeight, t.dBias].filter(Boolean).length;
  if (grads !== 0 && grads !== 3) throw new Error(`${name}: give all of dHidden, dWeight, dBias (backward) or none (forward only)`);
  const maxBind = rt.limits.maxStorageBufferBindingSize;
  const Vc = o.chunk ?? Math.max(1, Math.min(V, Math.floor(Math.min(XENT_TILE_BYTES, maxBind) / (4 * S))));
  if (!Number.isInteger(Vc) || Vc < 1) throw new Error(`${name}: chunk must be a positive integer, got ${o.chunk}`);
  if (4 * S * Vc > maxBind) throw new Error(`${name}: the [${S}, ${Vc}] logits tile exceeds maxStorageBufferBindingSize (${maxBind}); use a smaller chunk`);
  const nChunks = ceilDiv(V, Vc);
  const lw = o.lossWeight ?? 1;
  if (o.gradScale) expectDType(name, 'gradScale', o.gradScale, 'f32');
  const acc = o.accumulate ?? true;

  const logitsTile = rt.empty([S, Vc], 'f32', `${name}.tile`);
  const partial = rt.empty([nChunks, S, 4], 'f32', `${name}.partial`);
  const stats = rt.empty([4 * S + 8], 'f32', `${name}.stats`);
  const uni = (f: { v0?: number; N?: number; chunk?: number }, label: string) =>
    rt.uniform(
      packUniform([
        ['u32', S], ['u32', V], ['u32', h], ['u32', nChunks],
        ['u32', Vc], ['u32', f.chunk ?? 0], ['u32', f.v0 ?? 0], ['u32', f.N ?? 0],
        ['f32', lw], ['u32', 0], ['u32', 0], ['u32', 0],
      ]),
      label,
    );
  const view = (t: Tensor, rows: number, cols: number, ld: number, offset: number): MatrixView => ({ tensor: t, batch: [1, 1], rows, cols, ld, batchStrides: [0, 0], offset });
  const mm = { autotune: o.autotune };
  // The products run over the selection's count (meta[0]), not all S rows of its capacity:
  // rows past it are ignored by the row statistics and zero in the gradient tile.
  const rowLimit = { tensor: t.meta, offset: 0 };
  const chunks: { v0: number; vcount: number }[] = [];
  const forwardChunks: Op[][] = [];
  const backward: Op[] = [];
  for (let c = 0; c < nChunks; c++) {
    const v0 = c * Vc, vc = Math.min(Vc, V - v0);
    chunks.push({ v0, vcount: vc });
    const Z = view(logitsTile, S, vc, Vc, 0); // the tile: chunk c's logits, then its gradient
    const Wc = view(t.weight, vc, h, h, v0 * h);
    const params = uni({ v0, N: vc, chunk: c }, `${name}.chunk[${c}]`);
    const vec4 = vc % 4 === 0 && Vc % 4 === 0;
    // Z[i, n] = H[i,:]·W[v0+n,:] + b[v0+n]
    const logits = () => matmul(rt, t.hidden, Wc, Z, { transB: true, bias: t.bias, biasOffset: v0, label: `${name}.logits[${c}]`, limit: { dims: ['M'], ...rowLimit }, ...mm });
    forwardChunks.push([await logits(), await rt.op(SIG_RS, RS_SPEC(vec4), [logitsTile, partial, t.meta, params], [ceilDiv(S, WG)], `${name}.row_stats[${c}]`)]);
    if (grads) {
      if (nChunks > 1) backward.push(await logits()); // else the forward's logits are still in the tile
      const gradGrid = grid1d(S * ceilDiv(vc, GRAD_COLS), WG, rt.limits.maxComputeWorkgroupsPerDimension);
      backward.push(
        o.gradScale
          ? await rt.op(SIG_GRAD_SCALED, GRAD_SCALED_SPEC(vec4), [logitsTile, stats, t.labels, params, o.gradScale], gradGrid, `${name}.grad[${c}]`)
          : await rt.op(SIG_GRAD, GRAD_SPEC(vec4), [logitsTile, stats, t.labels, params], gradGrid, `${name}.grad[${c}]`),
      );
      // dH (+)= G·W_c;  dW_c (+)= Gᵀ·H and db_c (+)= Σ_i G (weight-grad.ts)
      backward.push(await matmul(rt, Z, Wc, t.dHidden!, { accumulate: c > 0 || Boolean(o.accumulateHidden), label: `${name}.dhidden[${c}]`, limit: { dims: ['M'], ...rowLimit }, ...mm }));
      backward.push(...(await weightAndBiasGrad(rt, { dy: Z, x: t.hidden, dW: view(t.dWeight!, vc, h, h, v0 * h), db: t.dBias!, dbOffset: v0, accumulate: acc, label: `${name}.dweight[${c}]`, autotune: o.autotune, rowLimit })));
    }
  }
  const finParams = uni({}, `${name}.finalize`);
  const finalize = await rt.op(SIG_FIN, FIN_SPEC, [t.hidden, t.weight, t.bias, t.labels, t.meta, partial, stats, finParams], [1], `${name}.finalize`);
  return {
    forwardChunks,
    finalize,
    forward: [...forwardChunks.flat(), finalize],
    backward,
    stats,
    logitsTile,
    chunks,
    release: () => rt.release(logitsTile, partial, stats),
  };
}

/** The totals of xent's stats (layout above) for a selection of `capacity` rows. */
export interface XentTotals {
  /** The loss as trained: lossWeight · mean over valid rows. */
  loss: number;
  /** Rows with a label in the vocabulary, of the selection's count. */
  valid: number;
  /** Valid rows whose argmax is the label. */
  correct: number;
}

export function xentTotals(stats: ArrayLike<number>, capacity: number): XentTotals {
  if (stats.length < 4 * capacity + 8) throw new Error(`xent stats: ${stats.length} values, a selection of ${capacity} rows has ${4 * capacity + 8}`);
  const o = 4 * capacity;
  return { loss: stats[o], valid: stats[o + 2], correct: stats[o + 3] };
}
