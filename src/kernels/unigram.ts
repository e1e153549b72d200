// Unigram replacement generator (an RTS extension, not in the paper): a selected token x is
// replaced by r ~ p(r) ∝ count(r)^α over the non-special ids (α = 0: uniform over them, as
// RTS; α = 1: the corpus frequency; default 0.75, word2vec's negative-sampling exponent),
// redrawn while r = x up to UNIGRAM_TRIES times, after which x stays and counts as original.
// Shader: entry `unigram` of shaders/sampling.wgsl (define UNIGRAM). Host twin:
// src/kernels/ref/unigram.ts (bit-identical: integer table, integer search, same Philox words).
//
//   const table = unigramTable(rt, loadUnigram(path).counts, vt, 0.75);
//   const op = await unigramDraw(rt, ids, sel, table, step, { seed, stream });  // after sel.ops
//
// Table precision: cdf[v] = round(2^31 · W_v / W), W_v = Σ_{u ≤ v} w_u computed in float64 (w_u
// = count(u)^α, 0 for special ids), so cdf[V−1] = 2^31 exactly and the law actually sampled is
// (cdf[v] − cdf[v−1]) / 2^31: each id's probability is within 2^-31 (≈ 4.7e-10) of the exact
// one (rounding of both ends; an id below ~2^-32 may get no mass), and a special id, whose
// weight adds exactly 0, gets exactly none. Draws use 31 bits of one Philox word per attempt
// (counter (pos, step, stream, 1 + attempt)).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { grid1d } from './grid.js';
import { registerVariants } from './registry.js';
import type { Selection, VocabTables } from './sampling.js';

const WG = 256;
export const UNIGRAM_TRIES = 8;
export const UNIGRAM_TOTAL = 2 ** 31;
export const DEFAULT_UNIGRAM_ALPHA = 0.75;

const SIG: KernelSignature = { name: 'sampling.unigram', bindings: ['read', 'read', 'read', 'read', 'rw', 'uniform', 'uniform'] };
const SPEC = { file: 'sampling.wgsl', entry: 'unigram', defines: ['UNIGRAM'], consts: { WG, TRIES: UNIGRAM_TRIES } };
registerVariants({ sig: SIG, spec: SPEC });

/**
 * The u32 inclusive cumulative table of count^α over the vocabulary (special ids weigh 0),
 * scaled so that its last entry is exactly 2^31 (see the header for the precision).
 */
export function unigramCdf(counts: ArrayLike<number>, specialIds: readonly number[], alpha: number): Uint32Array {
  const name = 'unigram';
  if (!(Number.isFinite(alpha) && alpha >= 0)) throw new Error(`${name}: alpha must be a finite number ≥ 0, got ${alpha}`);
  const V = counts.length;
  const special = new Uint8Array(V);
  for (const s of specialIds) {
    if (!Number.isInteger(s) || s < 0 || s >= V) throw new Error(`${name}: special id ${s} outside the vocabulary [0, ${V})`);
    special[s] = 1;
  }
  const cum = new Float64Array(V);
  let acc = 0;
  for (let v = 0; v < V; v++) {
    const c = counts[v];
    if (!(Number.isFinite(c) && c >= 0)) throw new Error(`${name}: count of id ${v} must be a finite number ≥ 0, got ${c}`);
    if (!special[v]) acc += alpha === 0 ? 1 : c ** alpha;
    cum[v] = acc;
  }
  if (!(acc > 0)) throw new Error(`${name}: every non-special id of the vocabulary (${V}) has count 0: nothing to draw`);
  const cdf = new Uint32Array(V);
  for (let v = 0; v < V; v++) cdf[v] = Math.round((cum[v] / acc) * UNIGRAM_TOTAL);
  return cdf;
}

export interface UnigramTable {
  alpha: number;
  vocab: number;
  /** u32 [V]: the cumulative table (unigramCdf). */
  cdf: Tensor;
  release(): void;
}

/** Upload the unigram table of `counts` (one per vocabulary id, e.g. unigram.json's) for vt's vocabulary. */
export function unigramTable(rt: Runtime, counts: ArrayLike<number>, vt: VocabTables, alpha: number): UnigramTable {
  if (counts.length !== vt.vocab) throw new Error(`unigram: the counts have ${counts.length} entries, the vocabulary ${vt.vocab}`);
  const cdf = rt.upload(unigramCdf(counts, vt.specialIds, alpha), [vt.vocab], 'u32', 'unigram.cdf');
  return { alpha, vocab: vt.vocab, cdf, release: () => rt.release(cdf) };
}

/** Replace the listed positions of sel.outIds by unigram draws (never a special id; redrawn while equal to the original). */
export function unigramDraw(rt: Runtime, ids: Tensor, sel: Selection, table: UnigramTable, step: GPUBuffer, o: { seed: number; stream?: number }): Promise<Op> {
  const name = 'sampling.unigram';
  expectDType(name, 'ids', ids, 'u32');
  expectDType(name, 'cdf', table.cdf, 'u32');
  if (ids.size !== sel.outIds.size) throw new Error(`${name}: ids ${shapeStr(ids.shape)} and the selection's outIds ${shapeStr(sel.outIds.shape)} differ`);
  if (table.cdf.size !== table.vocab || table.vocab < 1) throw new Error(`${name}: table cdf ${shapeStr(table.cdf.shape)} must have one entry per vocabulary id (${table.vocab})`);
  const [gx, gy] = grid1d(sel.capacity, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  // Params of sampling.wgsl: n, nBlocks, capacity, vocab, seed, stream, pThresh24, nAllowed,
  // maskId, tMask24, tRandom24, gridX, v0, vcount, ld, flags.
  const f = [0, 0, sel.capacity, table.vocab, o.seed >>> 0, (o.stream ?? 0) >>> 0, 0, 0, 0, 0, 0, gx, 0, 0, 0, 0];
  const pb = rt.uniform(packUniform(f.map((x) => ['u32', x] as const)), `${name}.params`);
  return rt.op(SIG, SPEC, [ids, table.cdf, sel.meta, sel.list, sel.outIds, step, pb], [gx, gy], name);
}
