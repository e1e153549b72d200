// Fused (flash-style) multi-head attention, forward and backward.
//
//   qkv     [B, T, 3·H·D]  f32 (or f16)  — all heads' Q, then K, then V (Hugging Face order)
//   lengths [B]            u32 or i32    — valid tokens per sequence, padding at the end
//   out     [B, T, H·D]    like qkv      — heads interleaved, ready for the output projection
//   lse     [B, H, T]      f32           — row log-sum-exp, saved for backward
//
// Keys j ≥ lengths[b] get probability 0. Every query row attends normally over the valid
// keys — padded rows too, so their outputs (and gradients) are finite; lengths above T count
// as T; a length of 0 gives out = 0, lse = 0 and zero gradients.
// Dropout on the probabilities (rate p, kept ones scaled by 1/(1−p)) draws word j&3 of
// Philox4x32-10((j>>2, i, b·H+h, step), (seed, stream)); backward regenerates the same mask.
// `setStep(step)` rewrites the step in the uniform shared by the forward and its backward,
// so one built pair serves every training step.
// The f16 variant stores qkv/out/dOut/dqkv in f16 and accumulates in f32 (needs shader-f16).
//
// Two algorithms compute the same function (same mask, same dropout draws):
//  - 'fused' (shaders/attention.wgsl, attention_bwd.wgsl): flash-style, no T×T matrix in
//    global memory; the only option when [B·H, T, T] scores would not fit a binding.
//  - 'materialized': scores = scale·Q·Kᵀ by the matmul kernels into a [B·H, T, T] scratch,
//    softmax/dropout rows in place (shaders/attention_probs.wgsl), then P̃·V; backward
//    recomputes the scores and runs five matmuls around one row kernel. Given a buffer of
//    its own (`keepScores`), the forward keeps the scores there (P̃ goes to the scratch)
//    and the backward reads them instead of recomputing: one matmul less for B·H·T² floats.
//    On CPU adapters the matmuls' subgroup tiles make this algorithm several times faster
//    (bench/RESULTS.md).
// 'auto' (the default) lets the autotuner measure both per adapter and shape class.
import type { Runtime, Op } from '../gpu/runtime.js';
import { isCpuAdapter } from '../gpu/adapter.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, expectShape, shapeStr, type DType, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { ceilDiv, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants } from './registry.js';
import { headsView, matmul, type LimitDim, type MatmulLimit } from './matmul.js';
import { layoutSpec, rowGrid, rowLayout, ROW_LAYOUTS, type RowLayout, type RowVariant } from './reduce.js';
import { autotune, timeOps, tuningInput, type AutotuneOptions } from './autotune.js';

export const ATTENTION_MAX_T = 512;
export const ATTENTION_HEAD_DIMS = [32, 64, 128] as const;

/**
 * WG: rows per workgroup (one per invocation); BT: rows per workgroup-memory tile (multiple
 * of 4); UNROLL: let the compiler unroll the loops over the head dim (registers instead of
 * indexed private arrays: may suit GPUs; on lavapipe it makes D = 128 take minutes to compile).
 */
export interface AttentionTile {
  WG: number;
  BT: number;
  UNROLL?: boolean;
}

export type AttentionPass = 'fwd' | 'dq' | 'dkv';

/** Candidates for autotuning (each checked against the workgroup-memory limit per head dim). */
export const ATTENTION_TILE_CANDIDATES: readonly AttentionTile[] = [
  { WG: 16, BT: 8 },
  { WG: 32, BT: 8 },
  { WG: 32, BT: 16 },
  { WG: 64, BT: 8 },
  { WG: 64, BT: 16 },
  { WG: 64, BT: 32 },
  { WG: 128, BT: 16 },
];

/** Extra candidates for real GPUs (unrolled head-dim loops; slow to compile on CPU adapters). */
export const ATTENTION_GPU_TILE_CANDIDATES: readonly AttentionTile[] = ATTENTION_TILE_CANDIDATES.map((t) => ({ ...t, UNROLL: true }));

/** Workgroup-memory bytes a pass uses with this tile and head dim (queryRows: dkv stages the queries' positions too). */
export function attentionSharedBytes(pass: AttentionPass, tile: AttentionTile, D: number, queryRows = false): number {
  return 2 * tile.BT * D * 4 + (pass === 'fwd' ? 0 : 2 * tile.BT * 4) + (pass === 'dkv' && queryRows ? tile.BT * 4 : 0);
}

/**
 * The portable default: the largest tile within 16 KiB of workgroup memory, of 64 rows a
 * workgroup — 32 for the query-major passes over selected queries (queryRows), whose ~T/7 live
 * rows would leave most of a 64-row workgroup idle (at B32 T128 D64 on lavapipe the forward
 * over every 7th query took 117 ms with 64, 62.5 with 32: bench/probes/fused-selected-tiles.ts).
 */
export function defaultAttentionTile(pass: AttentionPass, D: number, queryRows = false): AttentionTile {
  const WG = queryRows && pass !== 'dkv' ? 32 : 64;
  for (const BT of [32, 16, 8, 4]) if (attentionSharedBytes(pass, { WG, BT }, D, queryRows) <= 16384) return { WG, BT };
  return { WG, BT: 4 };
}

/**
 * The tiles the autotuner tries for a pass and head dim (queryRows: over selected queries) on
 * this adapter: on GPUs every candidate that fits, the unrolled ones too; on CPU adapters the
 * default alone — the materialised algorithm is several times faster there (bench/RESULTS.md),
 * so the fused kernels are a fallback not worth compiling a dozen forms of.
 */
export function attentionTileCandidates(rt: Runtime, pass: AttentionPass, D: number, queryRows = false): AttentionTile[] {
  if (isCpuAdapter(rt.gpu.kind)) return [defaultAttentionTile(pass, D, queryRows)];
  return [...ATTENTION_TILE_CANDIDATES, ...ATTENTION_GPU_TILE_CANDIDATES].filter((t) => attentionTileFits(rt, pass, t, D, queryRows));
}

/** Whether a tile is a candidate for a pass on this adapter: within 16 KiB of workgroup memory and its limits. */
export function attentionTileFits(rt: Runtime, pass: AttentionPass, t: AttentionTile, D: number, queryRows = false): boolean {
  return attentionSharedBytes(pass, t, D, queryRows) <= Math.min(16384, rt.limits.maxComputeWorkgroupStorageSize) && t.WG <= rt.limits.maxComputeInvocationsPerWorkgroup;
}

const FWD: KernelSignature = { name: 'attention', bindings: ['read', 'read', 'rw', 'rw', 'uniform'] };
const BWD: KernelSignature = { name: 'attention_bwd', bindings: ['read', 'read', 'read', 'read', 'read', 'rw', 'uniform'] };
const PROBS: KernelSignature = { name: 'attention.probs', bindings: ['rw', 'rw', 'read', 'uniform'] };
const GRADS: KernelSignature = { name: 'attention.grads', bindings: ['rw', 'rw', 'read', 'read', 'uniform'] };
const PROBS_OUT: KernelSignature = { name: 'attention.probs_out', bindings: ['rw', 'rw', 'read', 'uniform', 'rw'] };
/** With queryRows: the selected queries' rows, one binding more (last). */
const withQueryRows = (sig: KernelSignature): KernelSignature => ({ name: `${sig.name}.query_rows`, bindings: [...sig.bindings, 'read'] });
/** The row kernels' passes: their signatures and defines. */
const ROW_PASSES = {
  probs: { sig: PROBS, defines: [] as string[] },
  probs_out: { sig: PROBS_OUT, defines: ['PROBS_OUT'] },
  grads: { sig: GRADS, defines: ['GRADS'] },
} as const;
type RowPass = keyof typeof ROW_PASSES;
/**
 * The row kernel of materialised attention for rows of T keys (one vec4 per quad of keys where
 * T is a multiple of 4), over every query or (queryRows) the selected ones.
 */
function rowPass(pass: RowPass, l: RowLayout, T: number, queryRows: boolean): { sig: KernelSignature; spec: ShaderSpec } {
  const { sig, defines } = ROW_PASSES[pass];
  const consts: Record<string, number> = queryRows ? { QROWS_BINDING: sig.bindings.length } : {};
  const spec = layoutSpec('attention_probs.wgsl', l, consts, [...defines, ...(queryRows ? ['QROWS'] : []), ...(vec4Defines(T) ?? [])]);
  return { sig: queryRows ? withQueryRows(sig) : sig, spec };
}
for (const l of ROW_LAYOUTS)
  for (const T of VEC4_PATHS)
    for (const pass of Object.keys(ROW_PASSES) as RowPass[])
      registerVariants(...[false, true].map((q) => rowPass(pass, l, T, q)));

/** A fused kernel's spec; with queryRows (QROWS) the selected queries' positions are its last binding. */
function fusedSpec(file: string, entry: string | undefined, bindings: number, D: number, t: AttentionTile, f16: boolean, queryRows: boolean): ShaderSpec {
  const consts = { D, WG: t.WG, BT: t.BT, UNROLL: t.UNROLL ?? false, ...(queryRows ? { QROWS_BINDING: bindings } : {}) };
  return { file, ...(entry ? { entry } : {}), consts, f16, ...(queryRows ? { defines: ['QROWS'] } : {}) };
}
function fwdSpec(D: number, t: AttentionTile, f16: boolean, queryRows = false): ShaderSpec {
  return fusedSpec('attention.wgsl', undefined, FWD.bindings.length, D, t, f16, queryRows);
}
function bwdSpec(pass: 'dq' | 'dkv', D: number, t: AttentionTile, f16: boolean, queryRows = false): ShaderSpec {
  return fusedSpec('attention_bwd.wgsl', pass, BWD.bindings.length, D, t, f16, queryRows);
}
const fusedSig = (sig: KernelSignature, queryRows: boolean) => (queryRows ? withQueryRows(sig) : sig);

// Every head dim in f32; f16 storage at D = 64 (the head dim is only a loop bound there); each over every query and over selected ones.
registerVariants(
  ...ATTENTION_HEAD_DIMS.flatMap((D) =>
    (D === 64 ? [false, true] : [false]).flatMap((f16) =>
      [false, true].flatMap((q) => [
        { sig: fusedSig(FWD, q), spec: fwdSpec(D, defaultAttentionTile('fwd', D, q), f16, q) },
        { sig: fusedSig(BWD, q), spec: bwdSpec('dq', D, defaultAttentionTile('dq', D, q), f16, q) },
        { sig: fusedSig(BWD, q), spec: bwdSpec('dkv', D, defaultAttentionTile('dkv', D, q), f16, q) },
      ]),
    ),
  ),
  // The unrolled form (a GPU candidate) at one head dim, so that its WGSL is validated too.
  { sig: FWD, spec: fwdSpec(32, { WG: 64, BT: 32, UNROLL: true }, false) },
  { sig: BWD, spec: bwdSpec('dq', 32, { WG: 64, BT: 32, UNROLL: true }, false) },
  { sig: BWD, spec: bwdSpec('dkv', 32, { WG: 64, BT: 16, UNROLL: true }, false) },
);

export interface AttentionDropout {
  /** Drop probability, 0 ≤ p < 1 (0 = no dropout). */
  p: number;
  seed: number;
  /** Separates users of one seed and step (e.g. the layer index). Default 0. */
  stream?: number;
  /** Initial step (change it later with setStep). Default 0. */
  step?: number;
}

export type AttentionAlgorithm = 'fused' | 'materialized';
export const ATTENTION_ALGORITHMS: readonly AttentionAlgorithm[] = ['fused', 'materialized'];

/**
 * Scratch of the materialised algorithm: f32 [B·H, T, T] scores (forward and backward) and
 * score gradients (backward). Attention calls given the same holder share the tensors (the
 * layers of an encoder run one after another in one submit); its owner releases them
 * (`releaseAttentionScratch`).
 */
export interface AttentionScratch {
  scores?: Tensor;
  grads?: Tensor;
}

export function releaseAttentionScratch(rt: Runtime, s: AttentionScratch): void {
  rt.release(...[s.scores, s.grads].filter((t): t is Tensor => t !== undefined));
  s.scores = s.grads = undefined;
}

/** Why the materialised algorithm cannot run these dims on this adapter (null: it can). */
export function materializedUnavailable(rt: Runtime, B: number, H: number, T: number): string | null {
  const bytes = B * H * T * T * 4;
  const limit = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
  return bytes > limit ? `its f32 [B·H, T, T] = [${B * H}, ${T}, ${T}] scores need ${bytes} bytes, above this adapter's binding limit of ${limit}` : null;
}

export interface AttentionOptions {
  heads: number;
  /** Score scale; default 1/√D. */
  scale?: number;
  dropout?: AttentionDropout;
  /** Default 'auto': measured per adapter and shape class (see chooseAttentionAlgorithm). */
  algorithm?: AttentionAlgorithm | 'auto';
  /** Materialised algorithm: where its scratch lives (shared between calls); default a private holder. */
  scratch?: AttentionScratch;
  /**
   * Materialised algorithm: called once when it is chosen, for an f32 [B·H, T, T] buffer of
   * this call's own where the forward keeps the scores for its backward (which then skips
   * recomputing them); null to recompute. Not called for 'fused'.
   */
  keepScores?: () => Tensor | null;
  /**
   * Queries at or past their sequence's length: 'attend' (default) computes them like the
   * others; 'skip' lets the materialised algorithm leave them out (their output rows zero,
   * their lse 0, no products), for a caller that reads no padded output and whose output
   * gradient is zero at padded positions (the backward then skips those queries too: their
   * terms would be zero). The fused algorithm computes them either way; real positions' outputs and
   * every gradient are the same bits.
   */
  paddedQueries?: PaddedQueries;
  /**
   * Attention over a subset of each sequence's queries (either algorithm): the
   * query part of qkv then holds, at row b·T + j, the j-th selected query of sequence b, at
   * position positions[b·T + j] − b·T (its dropout draws are that position's); `limits`
   * holds the B sequence lengths, then the B query counts (both as query_rows writes them;
   * the `lengths` argument is not read). Rows of out and lse past a sequence's count are
   * zero and cost nothing, as are dQ's (dO is not read there); keys and values are every
   * position's, as usual.
   */
  queryRows?: QueryRows;
  /** Fused forward tile; default the autotuner's (tunedAttentionTile). */
  tile?: AttentionTile;
  autotune?: AutotuneOptions;
  /**
   * Materialised algorithm: the layout of its row passes (probs, and the backward's grads);
   * default 'auto' (src/kernels/reduce.ts rowLayout: one invocation per row on CPU adapters,
   * the subgroup or tree layout on GPUs). Tests choose each, so a GPU's layouts are checked here.
   */
  rowVariant?: RowVariant;
}

export type PaddedQueries = 'attend' | 'skip';

/** AttentionOptions.queryRows (src/kernels/gather.ts's queryRows writes both). */
export interface QueryRows {
  /** u32 [2B]: the sequence lengths, then each sequence's query count. */
  limits: Tensor;
  /** u32 [B·T]: the selected queries' flattened positions, sequence by sequence. */
  positions: Tensor;
}

export interface AttentionForward {
  readonly algorithm: AttentionAlgorithm;
  readonly paddedQueries: PaddedQueries;
  readonly queryRows: QueryRows | null;
  readonly ops: Op[];
  readonly dims: { B: number; T: number; H: number; D: number };
  readonly qkv: Tensor;
  readonly lengths: Tensor;
  readonly out: Tensor;
  readonly lse: Tensor;
  /** Uniform shared with the backward built from this forward. */
  readonly params: GPUBuffer;
  /** Set the dropout step for the next submits (forward and its backward alike). */
  setStep(step: number): void;
  /** Where the step (u32) lives, for setting it by a buffer copy recorded in an encoder. */
  readonly stepTarget: { buffer: GPUBuffer; offset: number };
  readonly scale: number;
  /** The materialised algorithm's scratch holder (empty for 'fused'). */
  readonly scratch: AttentionScratch;
  /** Materialised: the scores kept for the backward (keepScores), if any. */
  readonly keptScores: Tensor | null;
  /** The forward's autotuning options, which its backward's tiles follow too. */
  readonly autotune?: AutotuneOptions;
  /** The layout of the materialised row passes, the backward's too. */
  readonly rowVariant: RowVariant;
}

export interface AttentionBackwardOptions {
  tileDq?: AttentionTile;
  tileDkv?: AttentionTile;
}

const STEP_OFFSET = 7 * 4; // byte offset of `step` in Params

function checkTile(rt: Runtime, name: string, pass: AttentionPass, t: AttentionTile, D: number, queryRows = false): void {
  if (!Number.isInteger(t.WG) || t.WG < 1 || t.WG > rt.limits.maxComputeInvocationsPerWorkgroup)
    throw new Error(`${name}: tile WG=${t.WG} must be an integer in 1..${rt.limits.maxComputeInvocationsPerWorkgroup} (maxComputeInvocationsPerWorkgroup)`);
  if (!Number.isInteger(t.BT) || t.BT < 4 || t.BT % 4 !== 0) throw new Error(`${name}: tile BT=${t.BT} must be a positive multiple of 4`);
  const bytes = attentionSharedBytes(pass, t, D, queryRows);
  if (bytes > rt.limits.maxComputeWorkgroupStorageSize)
    throw new Error(`${name}: tile {WG: ${t.WG}, BT: ${t.BT}} with head dim ${D} needs ${bytes} bytes of workgroup memory; this adapter allows ${rt.limits.maxComputeWorkgroupStorageSize}`);
}

/** Build the forward: out, lse ← attention(qkv, lengths). */
export async function attention(rt: Runtime, qkv: Tensor, lengths: Tensor, out: Tensor, lse: Tensor, opts: AttentionOptions): Promise<AttentionForward> {
  const name = 'attention';
  expectDType(name, 'qkv', qkv, 'f32', 'f16');
  expectDType(name, 'out', out, qkv.dtype);
  expectDType(name, 'lse', lse, 'f32');
  expectDType(name, 'lengths', lengths, 'u32', 'i32');
  if (qkv.shape.length !== 3) throw new Error(`${name}: qkv must be [B, T, 3·H·D], got ${shapeStr(qkv.shape)}`);
  const [B, T, W] = qkv.shape;
  const H = opts.heads;
  if (!Number.isInteger(H) || H < 1) throw new Error(`${name}: heads must be a positive integer, got ${H}`);
  if (W % (3 * H) !== 0) throw new Error(`${name}: qkv ${shapeStr(qkv.shape)}: width ${W} is not 3·H·D for H=${H} heads`);
  const D = W / (3 * H);
  if (!(ATTENTION_HEAD_DIMS as readonly number[]).includes(D))
    throw new Error(`${name}: qkv ${shapeStr(qkv.shape)} with H=${H} gives head dim ${D}; supported head dims are ${ATTENTION_HEAD_DIMS.join(', ')}`);
  if (T < 1 || T > ATTENTION_MAX_T) throw new Error(`${name}: qkv ${shapeStr(qkv.shape)}: sequence length ${T} outside 1..${ATTENTION_MAX_T}`);
  if (B < 1) throw new Error(`${name}: qkv ${shapeStr(qkv.shape)}: empty batch`);
  expectShape(name, 'out', out, [B, T, H * D]);
  expectShape(name, 'lse', lse, [B, H, T]);
  expectShape(name, 'lengths', lengths, [B]);
  if (B * H > rt.limits.maxComputeWorkgroupsPerDimension)
    throw new Error(`${name}: B·H = ${B * H} exceeds maxComputeWorkgroupsPerDimension (${rt.limits.maxComputeWorkgroupsPerDimension})`);
  const f16 = qkv.dtype === 'f16';
  if (f16 && !rt.caps.f16) throw new Error(`${name}: f16 qkv needs the adapter feature 'shader-f16', which this adapter lacks`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const drop = opts.dropout ?? { p: 0, seed: 0 };
  if (!(drop.p >= 0 && drop.p < 1)) throw new Error(`${name}: dropout p must be in [0, 1), got ${drop.p}`);
  if (opts.tile) checkTile(rt, name, 'fwd', opts.tile, D);
  const requested = opts.algorithm ?? 'auto';
  if (requested !== 'auto' && !ATTENTION_ALGORITHMS.includes(requested))
    throw new Error(`${name}: unknown algorithm '${requested as string}' (expected auto, ${ATTENTION_ALGORITHMS.join(', ')})`);
  if (requested === 'materialized') {
    const why = materializedUnavailable(rt, B, H, T);
    if (why) throw new Error(`${name}: the materialized algorithm cannot run qkv ${shapeStr(qkv.shape)} with H=${H}: ${why}; use 'fused'`);
  }
  const queryRows = opts.queryRows ?? null;
  if (queryRows) {
    expectDType(name, 'queryRows.limits', queryRows.limits, 'u32');
    expectDType(name, 'queryRows.positions', queryRows.positions, 'u32');
    expectShape(name, 'queryRows.limits', queryRows.limits, [2 * B]);
    expectShape(name, 'queryRows.positions', queryRows.positions, [B * T]);
  }
  const algorithm = requested === 'auto' ? await chooseAttentionAlgorithm(rt, { B, T, H, D }, qkv.dtype, opts.autotune) : requested;
  const paddedQueries = opts.paddedQueries ?? 'attend';
  if (!PADDED_QUERIES.includes(paddedQueries)) throw new Error(`${name}: paddedQueries must be ${PADDED_QUERIES.join(' or ')}, got '${paddedQueries as string}'`);

  // The fused kernels read the first 9 words; the row kernels also read skipPadded.
  const params = rt.uniform(
    packUniform([
      ['u32', T], ['u32', H], ['f32', scale], ['f32', drop.p], ['f32', drop.p > 0 ? 1 / (1 - drop.p) : 1],
      ['u32', drop.seed >>> 0], ['u32', (drop.stream ?? 0) >>> 0], ['u32', (drop.step ?? 0) >>> 0],
      ['u32', B], ['u32', paddedQueries === 'skip' ? 1 : 0], ['u32', 0], ['u32', 0],
    ]),
    `${name}.params`,
  );
  const scratch = opts.scratch ?? {};
  let ops: Op[];
  let keptScores: Tensor | null = null;
  if (algorithm === 'fused') {
    const tile = opts.tile ?? (await tunedAttentionTile(rt, 'fwd', { B, T, H, D, selected: Boolean(queryRows) }, qkv.dtype, opts.autotune));
    checkTile(rt, name, 'fwd', tile, D);
    const q = queryRows ? [queryRows.positions] : [];
    ops = [await rt.op(fusedSig(FWD, Boolean(queryRows)), fwdSpec(D, tile, f16, Boolean(queryRows)), [qkv, queryRows?.limits ?? lengths, out, lse, params, ...q], [ceilDiv(T, tile.WG), B * H], name)];
  } else {
    const S = scratchTensor(rt, scratch, 'scores', B * H, T);
    keptScores = opts.keepScores?.() ?? null;
    if (keptScores) {
      expectDType(name, 'keepScores', keptScores, 'f32');
      expectShape(name, 'keepScores', keptScores, [B * H, T, T]);
      if (keptScores.buffer === S.buffer) throw new Error(`${name}: the kept scores must not share a buffer with the scratch`);
    }
    const [q, k, v] = [0, 1, 2].map((part) => headsView(qkv, B, T, H, D, 3 * H * D, part * H * D));
    const layout = rowLayout(rt, opts.rowVariant ?? 'auto', `${name}.probs`);
    const limits = queryRows?.limits ?? lengths, extra = queryRows ? [queryRows.positions] : [];
    const rp = rowPass(keptScores ? 'probs_out' : 'probs', layout, T, Boolean(queryRows));
    const probs = rt.op(rp.sig, rp.spec, keptScores ? [keptScores, lse, limits, params, S, ...extra] : [S, lse, limits, params, ...extra], rowGrid(rt, B * H * T, layout), `${name}.probs`);
    const pad = paddingLimits(limits, H, paddedQueries, queryRows ? B : null);
    ops = [
      await matmul(rt, q, k, keptScores ?? S, { transB: true, alpha: scale, label: `${name}.scores`, autotune: opts.autotune, limit: pad(['N'], 'M') }),
      await probs,
      await matmul(rt, S, v, headsView(out, B, T, H, D), { label: `${name}.context`, autotune: opts.autotune, limit: pad(['K'], 'M') }),
    ];
  }
  return {
    algorithm,
    paddedQueries,
    queryRows,
    ops,
    dims: { B, T, H, D },
    qkv, lengths, out, lse, params, scale, scratch, keptScores,
    autotune: opts.autotune,
    rowVariant: opts.rowVariant ?? 'auto',
    stepTarget: { buffer: params, offset: STEP_OFFSET },
    setStep(step: number) {
      rt.device.queue.writeBuffer(params, STEP_OFFSET, new Uint32Array([step >>> 0]));
    },
  };
}

/** The holder's tensor (created on first use), which must be f32 [BH, T, T]. */
function scratchTensor(rt: Runtime, s: AttentionScratch, which: 'scores' | 'grads', BH: number, T: number): Tensor {
  const want = [BH, T, T];
  const t = s[which];
  if (!t) return (s[which] = rt.empty(want, 'f32', `attention.${which}`));
  if (t.dtype !== 'f32' || t.shape.length !== 3 || t.shape.some((x, i) => x !== want[i]))
    throw new Error(`attention: the shared scratch holds ${which} ${shapeStr(t.shape)} (${t.dtype}), this call needs f32 ${shapeStr(want)}`);
  return t;
}


/** Bumped when either algorithm's performance changes. */
export const ATTENTION_TUNE_KEY = 'attention@1';

/**
 * 'fused' or 'materialized' for these dims: fused when the scores would not fit; else the
 * autotuner's measurement (forward + backward on a proxy of at most 16 K query rows), cached
 * per adapter and shape class. Without tuning: materialised on CPU adapters, fused on GPUs.
 */
export async function chooseAttentionAlgorithm(
  rt: Runtime,
  dims: { B: number; T: number; H: number; D: number },
  dtype: DType,
  opts: AutotuneOptions = {},
): Promise<AttentionAlgorithm> {
  const { B, T, H, D } = dims;
  if (materializedUnavailable(rt, B, H, T)) return 'fused';
  const bucket = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
  const Bp = Math.max(1, Math.min(B, Math.floor(16384 / (H * T))));
  const r = await autotune<AttentionAlgorithm>(
    rt,
    {
      kernel: ATTENTION_TUNE_KEY,
      shapeClass: `${dtype}.D${D}.T${bucket(T)}.H${H}`,
      candidates: ATTENTION_ALGORITHMS,
      fallback: isCpuAdapter(rt.gpu.kind) ? 'materialized' : 'fused',
      async measure(algorithm, best) {
        const n = Bp * T * 3 * H * D;
        const qkv = rt.upload(tuningInput(n, 0, 2), [Bp, T, 3 * H * D], dtype, 'autotune.qkv');
        const lengths = rt.upload(new Uint32Array(Bp).fill(T), [Bp], 'u32', 'autotune.lengths');
        const out = rt.empty([Bp, T, H * D], dtype, 'autotune.out'), dout = rt.empty([Bp, T, H * D], dtype, 'autotune.dout');
        const lse = rt.empty([Bp, H, T], 'f32', 'autotune.lse'), dqkv = rt.empty([Bp, T, 3 * H * D], dtype, 'autotune.dqkv');
        const scratch: AttentionScratch = {};
        try {
          const fwd = await attention(rt, qkv, lengths, out, lse, { heads: H, algorithm, scratch, autotune: opts });
          const bwd = await attentionBackward(rt, fwd, dout, dqkv);
          return await timeOps(rt, [...fwd.ops, ...bwd.ops], { abandonAbove: 3 * best });
        } finally {
          rt.release(qkv, lengths, out, dout, lse, dqkv);
          releaseAttentionScratch(rt, scratch);
        }
      },
    },
    opts,
  );
  return r.choice;
}

/** Bumped when the fused kernels' performance changes. */
export const ATTENTION_TILE_TUNE_KEY = 'attention-tile@1';

/** The share of the queries in the proxy of a tuning over selected queries: every 7th position (MLM's 15 %). */
const TUNING_QUERY_STRIDE = 7;

/**
 * A fused pass's tile for these dims: the autotuner's pick among `from` (default
 * attentionTileCandidates), measured on a proxy of at most 16 K query rows (for dq and dkv
 * after a forward with the default tile), cached per adapter and shape class (the pass, the
 * storage type, D, T rounded up to a power of two, and `selected`: attention over a subset
 * of the queries, whose live rows fill fewer workgroups, tuned on every 7th position; not H:
 * the proxy holds ~16 K query rows whatever the heads, so models that differ only in their
 * heads, `small` and `base`, share a choice and a GPU run tunes each class once); a single
 * candidate is returned as is.
 */
export async function tunedAttentionTile(
  rt: Runtime,
  pass: AttentionPass,
  dims: { B: number; T: number; H: number; D: number; selected?: boolean },
  dtype: DType,
  opts: AutotuneOptions = {},
  from: readonly AttentionTile[] = attentionTileCandidates(rt, pass, dims.D, dims.selected),
): Promise<AttentionTile> {
  if (from.length === 1) return from[0];
  const { B, T, H, D } = dims, selected = Boolean(dims.selected);
  const bucket = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
  const Bp = Math.max(1, Math.min(B, Math.floor(16384 / (H * T))));
  const fallback = defaultAttentionTile(pass, D, selected);
  // The selected-queries proxy: every 7th position of each (full) sequence, regrouped as query_rows does.
  const count = Math.ceil(T / TUNING_QUERY_STRIDE);
  const proxyRows = (): QueryRows => ({
    limits: rt.upload([...new Array<number>(Bp).fill(T), ...new Array<number>(Bp).fill(count)], [2 * Bp], 'u32', 'autotune.limits'),
    positions: rt.upload(Uint32Array.from({ length: Bp * T }, (_, r) => (r % T < count ? r - (r % T) + TUNING_QUERY_STRIDE * (r % T) : 0)), [Bp * T], 'u32', 'autotune.positions'),
  });
  const r = await autotune<AttentionTile>(
    rt,
    {
      kernel: ATTENTION_TILE_TUNE_KEY,
      shapeClass: `${pass}.${dtype}.D${D}.T${bucket(T)}${selected ? '.selected' : ''}`,
      candidates: from,
      fallback: from.some((t) => same(t, fallback)) ? fallback : from[0],
      async measure(tile, best) {
        const qkv = rt.upload(tuningInput(Bp * T * 3 * H * D, 0, 2), [Bp, T, 3 * H * D], dtype, 'autotune.qkv');
        const lengths = rt.upload(new Uint32Array(Bp).fill(T), [Bp], 'u32', 'autotune.lengths');
        const out = rt.empty([Bp, T, H * D], dtype, 'autotune.out'), lse = rt.empty([Bp, H, T], 'f32', 'autotune.lse');
        const dout = rt.upload(tuningInput(Bp * T * H * D, 1, 2), [Bp, T, H * D], dtype, 'autotune.dout'), dqkv = rt.empty([Bp, T, 3 * H * D], dtype, 'autotune.dqkv');
        const queryRows = selected ? proxyRows() : undefined;
        try {
          const ops = await fusedPassOps(rt, pass, tile, { qkv, lengths, out, lse, dout, dqkv }, { heads: H, queryRows });
          return await timeOps(rt, ops, { abandonAbove: 3 * best });
        } finally {
          rt.release(qkv, lengths, out, lse, dout, dqkv, ...(queryRows ? [queryRows.limits, queryRows.positions] : []));
        }
      },
    },
    opts,
  );
  return r.choice;
}

/**
 * One fused pass built with `tile` (the others with their defaults) over these tensors, for
 * timing it alone: the forward's op, or (dq, dkv) the backward's op after the forward has run.
 */
export async function fusedPassOps(
  rt: Runtime,
  pass: AttentionPass,
  tile: AttentionTile,
  t: { qkv: Tensor; lengths: Tensor; out: Tensor; lse: Tensor; dout: Tensor; dqkv: Tensor },
  o: { heads: number; dropout?: AttentionDropout; queryRows?: QueryRows },
): Promise<Op[]> {
  const D = t.qkv.shape[2] / (3 * o.heads), selected = Boolean(o.queryRows);
  const tileOf = (p: AttentionPass) => (p === pass ? tile : defaultAttentionTile(p, D, selected));
  const fwd = await attention(rt, t.qkv, t.lengths, t.out, t.lse, { heads: o.heads, dropout: o.dropout, algorithm: 'fused', tile: tileOf('fwd'), queryRows: o.queryRows });
  if (pass === 'fwd') return fwd.ops;
  await rt.run(...fwd.ops);
  const bwd = await attentionBackward(rt, fwd, t.dout, t.dqkv, { tileDq: tileOf('dq'), tileDkv: tileOf('dkv') });
  return [bwd.ops[pass === 'dq' ? 0 : 1]];
}

const same = (a: AttentionTile, b: AttentionTile) => a.WG === b.WG && a.BT === b.BT && Boolean(a.UNROLL) === Boolean(b.UNROLL);

/** Build the backward of a built forward: dqkv ← ∂(out · dout)/∂qkv. Two ops (dQ, then dK/dV). */
export async function attentionBackward(rt: Runtime, fwd: AttentionForward, dout: Tensor, dqkv: Tensor, opts: AttentionBackwardOptions = {}): Promise<{ ops: Op[] }> {
  const name = 'attention_bwd';
  const { B, T, H, D } = fwd.dims;
  expectDType(name, 'dout', dout, fwd.qkv.dtype);
  expectDType(name, 'dqkv', dqkv, fwd.qkv.dtype);
  expectShape(name, 'dout', dout, [B, T, H * D]);
  expectShape(name, 'dqkv', dqkv, [B, T, 3 * H * D]);
  if (dqkv.buffer === fwd.qkv.buffer || dqkv.buffer === dout.buffer || dqkv.buffer === fwd.out.buffer)
    throw new Error(`${name}: dqkv must not share a buffer with qkv, out or dout`);
  const f16 = fwd.qkv.dtype === 'f16';
  if (fwd.algorithm === 'materialized') return materializedBackward(rt, fwd, dout, dqkv);
  const qr = fwd.queryRows, selected = Boolean(qr);
  const tq = opts.tileDq ?? (await tunedAttentionTile(rt, 'dq', { ...fwd.dims, selected }, fwd.qkv.dtype, fwd.autotune));
  const tk = opts.tileDkv ?? (await tunedAttentionTile(rt, 'dkv', { ...fwd.dims, selected }, fwd.qkv.dtype, fwd.autotune));
  checkTile(rt, `${name}.dq`, 'dq', tq, D);
  checkTile(rt, `${name}.dkv`, 'dkv', tk, D, selected);
  const bind = [fwd.qkv, fwd.out, dout, fwd.lse, qr?.limits ?? fwd.lengths, dqkv, fwd.params, ...(qr ? [qr.positions] : [])];
  const sig = fusedSig(BWD, selected);
  const dq = await rt.op(sig, bwdSpec('dq', D, tq, f16, selected), bind, [ceilDiv(T, tq.WG), B * H], `${name}.dq`);
  const dkv = await rt.op(sig, bwdSpec('dkv', D, tk, f16, selected), bind, [ceilDiv(T, tk.WG), B * H], `${name}.dkv`);
  return { ops: [dq, dkv] };
}

const PADDED_QUERIES: readonly PaddedQueries[] = ['attend', 'skip'];

/**
 * The materialised products' run-time limits: batch entry (b, h) reads sequence b's length,
 * so padded keys cost no products — the scores' and probabilities' columns past it (which
 * the row kernels ignore; left zero), the context's and dQ's terms over them (probability
 * 0), and dK's and dV's rows for them (zero gradients): `pad(dims, queryDim)` caps those
 * `dims` and, with padded queries skipped, also the extent over the queries (the scores' and
 * the context's rows, dP's and dQ's rows, dK's and dV's terms: zero, as dO is). With query
 * rows (`countsAt`: where the query counts start in the tensor), the extent over the
 * queries is capped by the sequence's count instead.
 */
function paddingLimits(lengths: Tensor, H: number, padded: PaddedQueries, countsAt: number | null): (dims: LimitDim[], queryDim: LimitDim) => MatmulLimit {
  if (countsAt !== null) return (dims, queryDim) => ({ dims, tensor: lengths, per: H, also: { dims: [queryDim], offset: countsAt } });
  return (dims, queryDim) => ({ dims: padded === 'skip' ? [...dims, queryDim] : dims, tensor: lengths, per: H });
}

/**
 * Materialised backward: S = scale·Q·Kᵀ (recomputed, unless the forward kept it), G = dO·Vᵀ,
 * then the grads row kernel turns S into P̃ and G into dS; dQ = scale·dS·K, dK = scale·dSᵀ·Q,
 * dV = P̃ᵀ·dO.
 */
async function materializedBackward(rt: Runtime, fwd: AttentionForward, dout: Tensor, dqkv: Tensor): Promise<{ ops: Op[] }> {
  const name = 'attention_bwd';
  const { B, T, H, D } = fwd.dims;
  const S = fwd.keptScores ?? scratchTensor(rt, fwd.scratch, 'scores', B * H, T);
  const G = scratchTensor(rt, fwd.scratch, 'grads', B * H, T);
  const [q, k, v] = [0, 1, 2].map((part) => headsView(fwd.qkv, B, T, H, D, 3 * H * D, part * H * D));
  const [dq, dk, dv] = [0, 1, 2].map((part) => headsView(dqkv, B, T, H, D, 3 * H * D, part * H * D));
  const dO = headsView(dout, B, T, H, D);
  const layout = rowLayout(rt, fwd.rowVariant, `${name}.grads`);
  const scale = fwd.scale;
  const qr = fwd.queryRows, limits = qr?.limits ?? fwd.lengths;
  const pad = paddingLimits(limits, H, fwd.paddedQueries, qr ? B : null);
  const gp = rowPass('grads', layout, T, Boolean(qr));
  return {
    ops: [
      ...(fwd.keptScores ? [] : [await matmul(rt, q, k, S, { transB: true, alpha: scale, label: `${name}.scores`, limit: pad(['N'], 'M') })]),
      await matmul(rt, dO, v, G, { transB: true, label: `${name}.dprobs`, limit: pad(['N'], 'M') }),
      await rt.op(gp.sig, gp.spec, [S, G, fwd.lse, limits, fwd.params, ...(qr ? [qr.positions] : [])], rowGrid(rt, B * H * T, layout), `${name}.grads`),
      await matmul(rt, G, k, dq, { alpha: scale, label: `${name}.dq`, limit: pad(['K'], 'M') }),
      await matmul(rt, G, q, dk, { transA: true, alpha: scale, label: `${name}.dk`, limit: pad(['M'], 'K') }),
      await matmul(rt, S, dO, dv, { transA: true, label: `${name}.dv`, limit: pad(['M'], 'K') }),
    ],
  };
}
