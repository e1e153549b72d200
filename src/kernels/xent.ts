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
// selection's count; rows from there on are ignored). Loss = weight · mean over valid rows.
// Gradients: dHidden [S, h] is written (or added with accumulateHidden); dWeight [V, h]
// and dBias [V] are ADDED to by default (gradient accumulation, and the decoder is tied to
// the embeddings): pass accumulate: false to overwrite them.
// Per chunk of Vc ids: forward = logits tile (matmul) + row stats; then one finalize; the
// backward recomputes the tile as the gradient tile G, then dH += G·W_c and dW_c += Gᵀ·H
// (+ dBias), so the work is 8·S·V·h flops and the memory one [S, Vc] tile. When one chunk
// covers V (the default when S·V·4 ≤ 64 MiB, e.g. S 615 × V 30522), the backward turns the
// forward's logits into G in place instead of recomputing them (6·S·V·h flops). The
// backward must then follow this op set's forward (as it does in a step).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { ceilDiv } from './grid.js';
import { registerVariants } from './registry.js';

export interface XentTile {
  TM: number;
  TN: number;
  WGX: number;
  WGY: number;
}
export const DEFAULT_XENT_TILE: XentTile = { TM: 4, TN: 4, WGX: 8, WGY: 8 };
const WG = 256;
/** Default bound on the [S, Vc] tile, in bytes. */
export const XENT_TILE_BYTES = 64 * 2 ** 20;

const SIG_MM: KernelSignature = { name: 'xent.mm', bindings: ['read', 'read', 'rw', 'read', 'read', 'read', 'rw', 'uniform'] };
const SIG_RS: KernelSignature = { name: 'xent.row_stats', bindings: ['read', 'rw', 'read', 'uniform'] };
const SIG_FIN: KernelSignature = { name: 'xent.finalize', bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'rw', 'uniform'] };
const mmSpec = (tile: XentTile, vec4 = false) => ({ file: 'xent.wgsl', entry: 'mm', defines: vec4 ? ['MM', 'VEC4'] : ['MM'], consts: { ...tile } });
const RS_SPEC = { file: 'xent.wgsl', entry: 'row_stats', defines: ['ROWSTATS'], consts: { WG } };
const FIN_SPEC = { file: 'xent.wgsl', entry: 'finalize', defines: ['FINAL'], consts: { WG } };
registerVariants(
  { sig: SIG_MM, spec: mmSpec(DEFAULT_XENT_TILE) },
  { sig: SIG_MM, spec: mmSpec(DEFAULT_XENT_TILE, true) },
  { sig: SIG_RS, spec: RS_SPEC },
  { sig: SIG_FIN, spec: FIN_SPEC },
);

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
  /** Add into dWeight / dBias (default true) and into dHidden (default false). */
  accumulate?: boolean;
  accumulateHidden?: boolean;
  /** Vocabulary ids per chunk (default: as many as fit XENT_TILE_BYTES, at most V). */
  chunk?: number;
  tile?: XentTile;
  /** Use vec4 loads for the logits product when h % 4 == 0 (default true). */
  vec4?: boolean;
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
  const tile = o.tile ?? DEFAULT_XENT_TILE;
  const maxBind = rt.limits.maxStorageBufferBindingSize;
  const Vc = o.chunk ?? Math.max(1, Math.min(V, Math.floor(Math.min(XENT_TILE_BYTES, maxBind) / (4 * S))));
  if (!Number.isInteger(Vc) || Vc < 1) throw new Error(`${name}: chunk must be a positive integer, got ${o.chunk}`);
  if (4 * S * Vc > maxBind) throw new Error(`${name}: the [${S}, ${Vc}] logits tile exceeds maxStorageBufferBindingSize (${maxBind}); use a smaller chunk`);
  const nChunks = ceilDiv(V, Vc);
  // The logits product reads H and W along h: vec4 loads when h is a multiple of 4.
  const vec4 = h % 4 === 0 && (o.vec4 ?? true);
  const lw = o.lossWeight ?? 1;
  const acc = o.accumulate ?? true;

  const logitsTile = rt.empty([S, Vc], 'f32', `${name}.tile`);
  const partial = rt.empty([nChunks, S, 4], 'f32', `${name}.partial`);
  const stats = rt.empty([4 * S + 8], 'f32', `${name}.stats`);
  const dummy = rt.empty([1], 'f32', `${name}.unused`); // read-only placeholder
  const dummyW = rt.empty([1], 'f32', `${name}.unusedW`); // writable placeholder (never aliased with a read binding)
  const uni = (f: Partial<Record<string, number>>, label: string) => {
    const order = ['M', 'N', 'K', 'aRs', 'aCs', 'bRs', 'bCs', 'bOff', 'ldc', 'cOff', 'v0', 'accumulate', 'S', 'V', 'h', 'nChunks', 'tileLd', 'chunk'];
    return rt.uniform(packUniform([...order.map((k) => ['u32', f[k] ?? 0] as const), ['f32', lw], ['u32', f.epi ?? 0]]), label);
  };
  const common = { S, V, h, nChunks, tileLd: Vc };
  const grid = (M: number, N: number) => [ceilDiv(ceilDiv(N, tile.TN), tile.WGX), ceilDiv(ceilDiv(M, tile.TM), tile.WGY)];
  const chunks: { v0: number; vcount: number }[] = [];
  const forwardChunks: Op[][] = [];
  const backward: Op[] = [];
  for (let c = 0; c < nChunks; c++) {
    const v0 = c * Vc, vc = Math.min(Vc, V - v0);
    chunks.push({ v0, vcount: vc });
    // Z[i, n] = H[i,:]·W[v0+n,:] + b: A = H (rows h apart), B(k, n) = W[(v0+n)·h + k]
    const zShape = { ...common, M: S, N: vc, K: h, aRs: h, aCs: 1, bRs: 1, bCs: h, bOff: v0 * h, ldc: Vc, v0, chunk: c };
    const zParams = uni({ ...zShape, epi: 0 }, `${name}.logits[${c}]`);
    const zBind = (epi: number) => [t.hidden, t.weight, logitsTile, t.bias, epi === 1 ? stats : dummy, t.labels, dummyW, epi === 1 ? uni({ ...zShape, epi: 1 }, `${name}.grad_tile[${c}]`) : zParams];
    forwardChunks.push([
      await rt.op(SIG_MM, mmSpec(tile, vec4), zBind(0), grid(S, vc), `${name}.logits[${c}]`),
      await rt.op(SIG_RS, RS_SPEC, [logitsTile, partial, t.meta, zParams], [ceilDiv(S, WG)], `${name}.row_stats[${c}]`),
    ]);
    if (grads) {
      if (nChunks === 1) {
        // One chunk: the forward's logits are still in the tile; turn them into G in place.
        const gParams = uni({ ...zShape, K: 0, epi: 4 }, `${name}.grad_tile`);
        backward.push(await rt.op(SIG_MM, mmSpec(tile, vec4), [t.hidden, t.weight, logitsTile, t.bias, stats, t.labels, dummyW, gParams], grid(S, vc), `${name}.grad_tile`));
      } else {
        backward.push(await rt.op(SIG_MM, mmSpec(tile, vec4), zBind(1), grid(S, vc), `${name}.grad_tile[${c}]`));
      }
      // dH[i, k] (+)= Σ_n G[i, n]·W[v0+n, k]
      const hParams = uni({ ...common, M: S, N: h, K: vc, aRs: Vc, aCs: 1, bRs: h, bCs: 1, bOff: v0 * h, ldc: h, v0, accumulate: c > 0 || o.accumulateHidden ? 1 : 0, chunk: c, epi: 2 }, `${name}.dhidden[${c}]`);
      backward.push(await rt.op(SIG_MM, mmSpec(tile), [logitsTile, t.weight, t.dHidden!, dummy, dummy, t.labels, dummyW, hParams], grid(S, h), `${name}.dhidden[${c}]`));
      // dW[v0+m, k] (+)= Σ_i G[i, m]·H[i, k];  db[v0+m] (+)= Σ_i G[i, m]
      const wParams = uni({ ...common, M: vc, N: h, K: S, aRs: 1, aCs: Vc, bRs: h, bCs: 1, bOff: 0, ldc: h, cOff: v0 * h, v0, accumulate: acc ? 1 : 0, chunk: c, epi: 3 }, `${name}.dweight[${c}]`);
      backward.push(await rt.op(SIG_MM, mmSpec(tile), [logitsTile, t.hidden, t.dWeight!, dummy, dummy, t.labels, t.dBias!, wParams], grid(vc, h), `${name}.dweight[${c}]`));
    }
  }
  const finParams = uni({ ...common }, `${name}.finalize`);
  const finalize = await rt.op(SIG_FIN, FIN_SPEC, [t.hidden, t.weight, t.bias, t.labels, t.meta, partial, stats, finParams], [1], `${name}.finalize`);
  return {
    forwardChunks,
    finalize,
    forward: [...forwardChunks.flat(), finalize],
    backward,
    stats,
    logitsTile,
    chunks,
    release: () => rt.release(logitsTile, partial, stats, dummy, dummyW),
  };
}
