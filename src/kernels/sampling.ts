// Token sampling on the GPU from the counter RNG (shaders/sampling.wgsl, shaders/crts.wgsl):
// position selection with a compact, ordered list (prefix sums; overflow counted), MLM
// 80/10/10 and uniform corruption, detection labels, Gumbel-max sampling from logits, and
// C-RTS's cluster generator with its count update. Host twins: src/kernels/ref/sampling.ts.
//
//   const vt = vocabTables(rt, 30522, [0, 100, 101, 102, 103]);   // special ids incl. padding
//   const step = createStepBuffer(rt);                              // adamw.ts: [step, lr]
//   const sel = await selectPositions(rt, ids, vt, step, { p: 0.15, capacity, seed, stream: 0 });
//   const mlm = await corrupt(rt, 'mlm', ids, vt, sel, step, { seed, stream: 0, maskId: 103 });
//   each step: writeStep(rt, step, t, lr); rt.record(...sel.ops, mlm) → sel.outIds, sel.list,
//   sel.labels (original ids of the listed positions), sel.meta = [count, total, overflow, 0]
//
// Streams: every op takes (seed, stream); the draws of position i at step t use Philox
// counter (i, t, stream, sub) — selection sub 0, corruption sub 1 (C-RTS: 1..8, one per
// attempt), Gumbel 0x10000 + v/4. Use one stream value per micro-batch slot and per purpose
// where two ops must draw independently (selection and corruption already differ by sub).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { ceilDiv, grid1d } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 256;
const PER = 4;
const BLOCK = WG * PER;
const CRTS_WG = 64;
export const CRTS_TRIES = 8;

const SIG_SELECT: KernelSignature = { name: 'sampling.select', bindings: ['read', 'read', 'rw', 'rw', 'rw', 'rw', 'rw', 'uniform', 'uniform'] };
const SIG_CORRUPT: KernelSignature = { name: 'sampling.corrupt', bindings: ['read', 'read', 'read', 'read', 'rw', 'uniform', 'uniform'] };
const SIG_DETECT: KernelSignature = { name: 'sampling.detect', bindings: ['read', 'read', 'read', 'rw', 'rw', 'uniform', 'uniform'] };
const SIG_GUMBEL: KernelSignature = { name: 'sampling.gumbel', bindings: ['read', 'read', 'read', 'read', 'rw', 'rw', 'rw', 'uniform', 'uniform'] };
const SIG_CRTS_DRAW: KernelSignature = { name: 'crts.draw', bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'uniform', 'uniform'] };
const SIG_CRTS_UPDATE: KernelSignature = { name: 'crts.update', bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'rw', 'uniform', 'uniform'] };

const S = (entry: string, define: string, consts: Record<string, number> = {}) => ({ file: 'sampling.wgsl', entry, defines: [define], consts: { WG, PER, ...consts } });
const CRTS_DRAW_SPEC = { file: 'crts.wgsl', entry: 'crts_draw', consts: { WG: CRTS_WG, TRIES: CRTS_TRIES } };
const CRTS_UPDATE_SPEC = { file: 'crts.wgsl', entry: 'crts_update', defines: ['UPDATE'], consts: { WG: CRTS_WG, TRIES: CRTS_TRIES } };
registerVariants(
  { sig: SIG_SELECT, spec: S('count_blocks', 'SELECT') },
  { sig: SIG_SELECT, spec: S('scan_blocks', 'SELECT') },
  { sig: SIG_SELECT, spec: S('scatter', 'SELECT') },
  { sig: SIG_CORRUPT, spec: S('corrupt', 'CORRUPT', { MODE: 0 }) },
  { sig: SIG_CORRUPT, spec: S('corrupt', 'CORRUPT', { MODE: 1 }) },
  { sig: SIG_DETECT, spec: S('detect_labels', 'DETECT') },
  { sig: SIG_GUMBEL, spec: S('gumbel', 'GUMBEL') },
  { sig: SIG_CRTS_DRAW, spec: CRTS_DRAW_SPEC },
  { sig: SIG_CRTS_UPDATE, spec: CRTS_UPDATE_SPEC },
);

/** 24-bit threshold for "draw < p" on the top 24 bits of a Philox word (p = 1 always passes). */
export function threshold24(p: number, what: string): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`${what}: probability must be in [0, 1], got ${p}`);
  return Math.round(p * 2 ** 24);
}

interface ParamFields {
  n?: number; nBlocks?: number; capacity?: number; vocab?: number; seed?: number; stream?: number; pThresh24?: number; nAllowed?: number;
  maskId?: number; tMask24?: number; tRandom24?: number; gridX?: number; v0?: number; vcount?: number; ld?: number; flags?: number;
}
function params(rt: Runtime, f: ParamFields, label: string): GPUBuffer {
  const order: (keyof ParamFields)[] = ['n', 'nBlocks', 'capacity', 'vocab', 'seed', 'stream', 'pThresh24', 'nAllowed', 'maskId', 'tMask24', 'tRandom24', 'gridX', 'v0', 'vcount', 'ld', 'flags'];
  return rt.uniform(packUniform(order.map((k) => ['u32', (f[k] ?? 0) >>> 0] as const)), label);
}

// ---- vocabulary tables ---------------------------------------------------------------

export interface VocabTables {
  vocab: number;
  /** u32 [V]: 1 for special ids (incl. padding), never selected nor produced. */
  special: Tensor;
  /** u32 [nAllowed]: the non-special ids, in increasing order (uniform draws index it). */
  allowed: Tensor;
  nAllowed: number;
  specialIds: number[];
  release(): void;
}

export function vocabTables(rt: Runtime, vocab: number, specialIds: readonly number[]): VocabTables {
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`vocabTables: vocab must be a positive integer, got ${vocab}`);
  const flags = new Uint32Array(vocab);
  for (const s of specialIds) {
    if (!Number.isInteger(s) || s < 0 || s >= vocab) throw new Error(`vocabTables: special id ${s} outside the vocabulary [0, ${vocab})`);
    flags[s] = 1;
  }
  const allowedIds: number[] = [];
  for (let v = 0; v < vocab; v++) if (!flags[v]) allowedIds.push(v);
  if (allowedIds.length === 0) throw new Error(`vocabTables: every id of the vocabulary (${vocab}) is special: nothing to draw`);
  const special = rt.upload(flags, [vocab], 'u32', 'vocab.special');
  const allowed = rt.upload(allowedIds, [allowedIds.length], 'u32', 'vocab.allowed');
  return { vocab, special, allowed, nAllowed: allowedIds.length, specialIds: [...specialIds], release: () => rt.release(special, allowed) };
}

// ---- selection -----------------------------------------------------------------------

export interface Selection {
  ops: Op[];
  capacity: number;
  /** u32 [capacity]: selected positions (flattened batch index), increasing; 0xffffffff past count. */
  list: Tensor;
  /** u32 [capacity]: the original ids at the listed positions (0xffffffff past count). */
  labels: Tensor;
  /** u32 [4]: [count = min(total, capacity), total selected, overflow, 0]. */
  meta: Tensor;
  /** u32, shape of ids: a copy of ids, which corruption ops then overwrite at listed positions. */
  outIds: Tensor;
  release(): void;
}

export interface SelectOptions {
  p: number;
  capacity: number;
  seed: number;
  stream?: number;
}

/** Capacity for p·n selections plus a margin of 6σ + 16 (overflow is still counted). */
export function selectionCapacity(n: number, p: number): number {
  return Math.min(n, Math.ceil(n * p + 6 * Math.sqrt(n * p * (1 - p)) + 16));
}

export async function selectPositions(rt: Runtime, ids: Tensor, vt: VocabTables, step: GPUBuffer, o: SelectOptions): Promise<Selection> {
  const name = 'sampling.select';
  expectDType(name, 'ids', ids, 'u32');
  if (!Number.isInteger(o.capacity) || o.capacity < 1) throw new Error(`${name}: capacity must be a positive integer, got ${o.capacity}`);
  const n = ids.size;
  const nBlocks = Math.max(1, ceilDiv(n, BLOCK));
  const blocks = rt.empty([nBlocks], 'u32', `${name}.blocks`);
  const meta = rt.empty([4], 'u32', `${name}.meta`);
  const list = rt.empty([o.capacity], 'u32', `${name}.list`);
  const labels = rt.empty([o.capacity], 'u32', `${name}.labels`);
  const outIds = rt.empty(ids.shape, 'u32', `${name}.outIds`);
  const pb = params(rt, { n, nBlocks, capacity: o.capacity, vocab: vt.vocab, seed: o.seed, stream: o.stream ?? 0, pThresh24: threshold24(o.p, name) }, `${name}.params`);
  const b = [ids, vt.special, blocks, meta, list, labels, outIds, step, pb];
  const ops = [
    await rt.op(SIG_SELECT, S('count_blocks', 'SELECT'), b, [nBlocks], `${name}.count`),
    await rt.op(SIG_SELECT, S('scan_blocks', 'SELECT'), b, [1], `${name}.scan`),
    await rt.op(SIG_SELECT, S('scatter', 'SELECT'), b, [nBlocks], `${name}.scatter`),
  ];
  return { ops, capacity: o.capacity, list, labels, meta, outIds, release: () => rt.release(blocks, meta, list, labels, outIds) };
}

// ---- corruption ----------------------------------------------------------------------

export interface CorruptOptions {
  seed: number;
  stream?: number;
  /** MLM only: the [MASK] id and the split (default 0.8 mask, 0.1 random, rest unchanged). */
  maskId?: number;
  maskProb?: number;
  randomProb?: number;
}

/** Corrupt the listed positions of sel.outIds: 'mlm' (80/10/10) or 'uniform' (SLM, RTS). */
export function corrupt(rt: Runtime, mode: 'mlm' | 'uniform', ids: Tensor, vt: VocabTables, sel: Selection, step: GPUBuffer, o: CorruptOptions): Promise<Op> {
  const name = `sampling.corrupt.${mode}`;
  expectDType(name, 'ids', ids, 'u32');
  if (ids.size !== sel.outIds.size) throw new Error(`${name}: ids ${shapeStr(ids.shape)} and the selection's outIds ${shapeStr(sel.outIds.shape)} differ`);
  let tMask24 = 0, tRandom24 = 0, maskId = 0;
  if (mode === 'mlm') {
    if (o.maskId === undefined || !Number.isInteger(o.maskId) || o.maskId < 0 || o.maskId >= vt.vocab) throw new Error(`${name}: maskId must be an id in [0, ${vt.vocab}), got ${o.maskId}`);
    const mp = o.maskProb ?? 0.8, rp = o.randomProb ?? 0.1;
    if (!(mp >= 0 && rp >= 0 && mp + rp <= 1)) throw new Error(`${name}: maskProb ${mp} + randomProb ${rp} must be probabilities summing to ≤ 1`);
    maskId = o.maskId;
    tMask24 = threshold24(mp, name);
    tRandom24 = threshold24(mp + rp, name);
  }
  const [gx, gy] = grid1d(sel.capacity, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const pb = params(rt, { capacity: sel.capacity, vocab: vt.vocab, seed: o.seed, stream: o.stream ?? 0, nAllowed: vt.nAllowed, maskId, tMask24, tRandom24, gridX: gx }, `${name}.params`);
  return rt.op(SIG_CORRUPT, S('corrupt', 'CORRUPT', { MODE: mode === 'mlm' ? 0 : 1 }), [ids, vt.allowed, sel.meta, sel.list, sel.outIds, step, pb], [gx, gy], name);
}

/** Detection targets (1 where outIds ≠ ids) and weights (1 at non-special, non-padding positions), f32. */
export function detectLabels(rt: Runtime, ids: Tensor, outIds: Tensor, vt: VocabTables, target: Tensor, weight: Tensor, step: GPUBuffer): Promise<Op> {
  const name = 'sampling.detect_labels';
  expectDType(name, 'ids', ids, 'u32');
  expectDType(name, 'outIds', outIds, 'u32');
  expectDType(name, 'target', target, 'f32');
  expectDType(name, 'weight', weight, 'f32');
  for (const [k, t] of [['outIds', outIds], ['target', target], ['weight', weight]] as const)
    if (t.size !== ids.size) throw new Error(`${name}: ${k} has shape ${shapeStr(t.shape)}, ids ${shapeStr(ids.shape)}`);
  const [gx, gy] = grid1d(ids.size, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const pb = params(rt, { n: ids.size, vocab: vt.vocab, gridX: gx }, `${name}.params`);
  return rt.op(SIG_DETECT, S('detect_labels', 'DETECT'), [ids, vt.special, outIds, target, weight, step, pb], [gx, gy], name);
}

// ---- Gumbel-max ----------------------------------------------------------------------

export interface GumbelOps {
  ops: Op[];
  /** u32 [capacity]: the sampled id per list entry (also written into sel.outIds). */
  samples: Tensor;
  release(): void;
}

export interface LogitsChunk {
  /** f32 [≥ capacity, ld]: logits of ids v0 .. v0+vcount−1 at columns 0 .. vcount−1. */
  logits: Tensor;
  v0: number;
  vcount: number;
}

/**
 * Gumbel-max sampling (ELECTRA's generator) per list entry, special ids excluded: one op per
 * vocabulary chunk (e.g. the tiles of xent's chunked projection), in order; the last writes
 * the samples into sel.outIds. For whole logits [capacity, V] pass one chunk {v0: 0, vcount: V}.
 */
export async function gumbelSample(rt: Runtime, sel: Selection, vt: VocabTables, chunks: readonly LogitsChunk[], step: GPUBuffer, o: { seed: number; stream?: number }): Promise<GumbelOps> {
  const name = 'sampling.gumbel';
  if (chunks.length === 0) throw new Error(`${name}: no logits chunks`);
  let next = 0;
  for (const c of chunks) {
    expectDType(name, 'logits', c.logits, 'f32');
    if (c.logits.shape.length !== 2 || c.logits.shape[0] < sel.capacity || c.logits.shape[1] < c.vcount)
      throw new Error(`${name}: logits chunk has shape ${shapeStr(c.logits.shape)}, needs [≥ ${sel.capacity} (capacity), ≥ ${c.vcount}]`);
    if (c.v0 !== next) throw new Error(`${name}: chunks must cover the vocabulary in order: chunk starts at ${c.v0}, expected ${next}`);
    next += c.vcount;
  }
  if (next !== vt.vocab) throw new Error(`${name}: chunks cover ${next} ids, the vocabulary has ${vt.vocab}`);
  const best = rt.empty([sel.capacity, 2], 'u32', `${name}.best`);
  const samples = rt.empty([sel.capacity], 'u32', `${name}.samples`);
  const [gx, gy] = grid1d(sel.capacity, 1, rt.limits.maxComputeWorkgroupsPerDimension);
  const ops: Op[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    const flags = (i === 0 ? 1 : 0) | (i === chunks.length - 1 ? 2 : 0);
    const pb = params(rt, { capacity: sel.capacity, vocab: vt.vocab, seed: o.seed, stream: o.stream ?? 0, gridX: gx, v0: c.v0, vcount: c.vcount, ld: c.logits.shape[1], flags }, `${name}.params`);
    ops.push(await rt.op(SIG_GUMBEL, S('gumbel', 'GUMBEL'), [c.logits, vt.special, sel.meta, sel.list, best, sel.outIds, samples, step, pb], [gx, gy], `${name}[${i}]`));
  }
  return { ops, samples, release: () => rt.release(best, samples) };
}

// ---- C-RTS ---------------------------------------------------------------------------

export interface CrtsState {
  K: number;
  /** u32 [V]: cluster of each id. */
  cluster: Tensor;
  /** u32 [K+1] and u32 [members]: CSR lists of each cluster's non-special ids. */
  offsets: Tensor;
  members: Tensor;
  /** i32 [K, K]: the count matrix (initialised to ones; saved in checkpoints). */
  counts: Tensor;
  release(): void;
}

/** C-RTS state from a token → cluster map (special ids are left out of the member lists). */
export function crtsState(rt: Runtime, clusterOf: ArrayLike<number>, K: number, vt: VocabTables, counts?: ArrayLike<number>): CrtsState {
  const name = 'crts';
  if (clusterOf.length !== vt.vocab) throw new Error(`${name}: cluster map has ${clusterOf.length} entries, the vocabulary ${vt.vocab}`);
  if (!Number.isInteger(K) || K < 1) throw new Error(`${name}: K must be a positive integer, got ${K}`);
  const special = new Set(vt.specialIds);
  const lists: number[][] = Array.from({ length: K }, () => []);
  for (let v = 0; v < vt.vocab; v++) {
    const c = clusterOf[v];
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new Error(`${name}: id ${v} has cluster ${c}, outside [0, ${K})`);
    if (!special.has(v)) lists[c].push(v);
  }
  const offsets = new Uint32Array(K + 1);
  for (let t = 0; t < K; t++) offsets[t + 1] = offsets[t] + lists[t].length;
  const members = lists.flat();
  if (members.length === 0) throw new Error(`${name}: every cluster is empty once special ids are removed`);
  if (counts && counts.length !== K * K) throw new Error(`${name}: counts have ${counts.length} entries, expected K·K = ${K * K}`);
  const tc = rt.upload(Uint32Array.from(clusterOf), [vt.vocab], 'u32', 'crts.cluster');
  const to = rt.upload(offsets, [K + 1], 'u32', 'crts.offsets');
  const tm = rt.upload(members, [members.length], 'u32', 'crts.members');
  const tk = rt.upload(counts ?? new Int32Array(K * K).fill(1), [K, K], 'i32', 'crts.counts');
  return { K, cluster: tc, offsets: to, members: tm, counts: tk, release: () => rt.release(tc, to, tm, tk) };
}

function crtsParams(rt: Runtime, s: CrtsState, sel: Selection, vocab: number, o: { seed?: number; stream?: number; beta?: number }, gx: number, label: string): GPUBuffer {
  return rt.uniform(
    packUniform([['u32', s.K], ['u32', sel.capacity], ['u32', (o.seed ?? 0) >>> 0], ['u32', (o.stream ?? 0) >>> 0], ['f32', o.beta ?? 2], ['u32', gx], ['u32', vocab], ['u32', 0]]),
    label,
  );
}

/** Replace the listed positions of sel.outIds by C-RTS draws (β = 2 by default). */
export function crtsDraw(rt: Runtime, ids: Tensor, sel: Selection, s: CrtsState, vt: VocabTables, step: GPUBuffer, o: { seed: number; stream?: number; beta?: number }): Promise<Op> {
  const name = 'crts.draw';
  expectDType(name, 'ids', ids, 'u32');
  if (ids.size !== sel.outIds.size) throw new Error(`${name}: ids ${shapeStr(ids.shape)} and the selection's outIds ${shapeStr(sel.outIds.shape)} differ`);
  const [gx, gy] = grid1d(sel.capacity, CRTS_WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const pb = crtsParams(rt, s, sel, vt.vocab, o, gx, `${name}.params`);
  return rt.op(SIG_CRTS_DRAW, CRTS_DRAW_SPEC, [ids, sel.list, sel.meta, s.cluster, s.offsets, s.members, s.counts, sel.outIds, step, pb], [gx, gy], name);
}

/**
 * C-RTS count update after the discriminator's forward: logits f32 [B·T] (> 0 = "replaced").
 * For each listed position whose replacement differs from the original:
 * C[cluster(x), cluster(r)] += 1 when the discriminator said original, −= 1 when replaced.
 */
export function crtsUpdate(rt: Runtime, ids: Tensor, sel: Selection, s: CrtsState, vt: VocabTables, logits: Tensor, step: GPUBuffer): Promise<Op> {
  const name = 'crts.update';
  expectDType(name, 'ids', ids, 'u32');
  expectDType(name, 'logits', logits, 'f32');
  if (logits.size !== ids.size) throw new Error(`${name}: logits ${shapeStr(logits.shape)} must have one value per position of ids ${shapeStr(ids.shape)}`);
  const [gx, gy] = grid1d(sel.capacity, CRTS_WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const pb = crtsParams(rt, s, sel, vt.vocab, {}, gx, `${name}.params`);
  return rt.op(SIG_CRTS_UPDATE, CRTS_UPDATE_SPEC, [ids, sel.list, sel.meta, s.cluster, sel.outIds, logits, s.counts, step, pb], [gx, gy], name);
}

/** A selection's meta as named counts: listed positions, all selected, and those past the capacity. */
export function selectionCounts(meta: ArrayLike<number>): { count: number; total: number; overflow: number } {
  if (meta.length < 3) throw new Error(`selection meta: ${meta.length} values, expected [count, total, overflow, 0]`);
  return { count: meta[0], total: meta[1], overflow: meta[2] };
}
