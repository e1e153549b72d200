// The matmul family: C = act(alpha·op(A)·op(B) + bias + (accumulate ? C : 0)), with
// op = identity or transpose, over 2-D matrices, 3-D batches or strided views (attention
// heads interleaved in [B, T, H, D]), f32 or f16 storage (f32 accumulation), one shader
// (shaders/matmul.wgsl) specialised by consts and defines. Tile shapes are autotuned per
// adapter and shape class on first use (src/kernels/autotune.ts).
//
// Views. Every operand is a batch of row-major matrices: element (b, r, c) of a
// MatrixView lives at offset + b1·batchStrides[0] + b2·batchStrides[1] + r·ld + c, with
// batch index b = b1·batch[1] + b2. A 2-D tensor [r, c] is one matrix; a 3-D tensor
// [n, r, c] a batch of n; `headsView` makes the view of one head per batch entry in a
// [B, T, H·D] (or fused QKV [B, T, 3·H·D]) buffer. A or B with batch 1 is broadcast.
import type { Runtime, Op } from '../gpu/runtime.js';
import { isCpuAdapter } from '../gpu/adapter.js';
import { packUniform } from '../gpu/runtime.js';
import { shapeStr, type DType, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { ceilDiv } from './grid.js';
import { registerVariants } from './registry.js';
import { autotune, timeOp, tuningInput, type AutotuneOptions } from './autotune.js';

/** Tile configuration (specialisation constants of shaders/matmul.wgsl). */
export interface MatmulTile {
  /** Rows and columns of C per invocation (multiples of 4 for register tiling). */
  TM: number;
  TN: number;
  /** Workgroup size. */
  WGX: number;
  WGY: number;
  /** Workgroup-memory tiling (GPU-friendly) instead of register-only tiling. */
  WGMEM?: boolean;
  /** WGMEM: depth of the staged slices (default 16). */
  BK?: number;
  /** Register tiling: an invocation's column quads WGX·4 apart (coalesced) rather than adjacent. */
  INTERLEAVE?: boolean;
  /**
   * Subgroup register tiling: the workgroup is one subgroup (WGX = the adapter's fixed
   * subgroup size, WGY = 1) sharing TM rows (a multiple of WGX); A values are loaded once per
   * subgroup and shuffled to every lane. Needs the 'subgroups' feature.
   */
  SUBGROUP?: boolean;
}

export const DEFAULT_TILE: MatmulTile = { TM: 4, TN: 4, WGX: 8, WGY: 8 };

/** Candidates the autotuner measures: register-only (CPU-friendly) and workgroup-memory (GPU-friendly). */
export const TILE_CANDIDATES: readonly MatmulTile[] = [
  { TM: 4, TN: 4, WGX: 8, WGY: 8 },
  { TM: 4, TN: 8, WGX: 8, WGY: 8 },
  { TM: 8, TN: 8, WGX: 8, WGY: 8 },
  // One row of invocations per workgroup: the register tile llvmpipe ran fastest (its
  // loads are per invocation either way; see bench/RESULTS.md). CPU_REGISTER_TILE.
  { TM: 8, TN: 4, WGX: 8, WGY: 1 },
  { TM: 8, TN: 8, WGX: 8, WGY: 8, INTERLEAVE: true },
  { TM: 4, TN: 4, WGX: 16, WGY: 16, WGMEM: true, BK: 16 },
  { TM: 8, TN: 8, WGX: 8, WGY: 8, WGMEM: true, BK: 16 },
];

/**
 * Subgroup tiles for an adapter whose subgroup size is fixed at `size` (lavapipe: 8). On
 * lavapipe, f32 1024³, these reach 3–4× the register tiles above (bench/RESULTS.md).
 */
export function subgroupTiles(size: number): MatmulTile[] {
  return [
    { TM: 2 * size, TN: 4, WGX: size, WGY: 1, SUBGROUP: true },
    { TM: 3 * size, TN: 4, WGX: size, WGY: 1, SUBGROUP: true },
    { TM: size, TN: 8, WGX: size, WGY: 1, SUBGROUP: true },
  ];
}

/** The adapter's subgroup size when it is known at compile time (fixed), else 0. */
export function fixedSubgroupSize(rt: Runtime): number {
  const { subgroups, subgroupMinSize, subgroupMaxSize } = rt.caps;
  return subgroups && subgroupMinSize > 0 && subgroupMinSize === subgroupMaxSize ? subgroupMinSize : 0;
}

/**
 * Extra candidates for real GPUs: a 128×128 block per workgroup of 16×16 invocations, 8×8
 * outputs each, 16-deep slices staged in 16 KiB of workgroup memory — the classic shape for
 * large f32 matmuls on GPUs. Not measured on a GPU yet; validated on the CPU adapters.
 */
export const GPU_TILE_CANDIDATES: readonly MatmulTile[] = [{ TM: 8, TN: 8, WGX: 16, WGY: 16, WGMEM: true, BK: 16 }];

/**
 * Every tile the autotuner tries on this adapter: the portable ones, plus subgroup tiles on
 * CPU adapters with a fixed subgroup size (their trick is a CPU one: on a GPU a subgroup of
 * 32 lanes would need 64-row register tiles), plus GPU_TILE_CANDIDATES on GPUs.
 */
export function tileCandidates(rt: Runtime): MatmulTile[] {
  if (!isCpuAdapter(rt.gpu.kind)) return [...TILE_CANDIDATES, ...GPU_TILE_CANDIDATES];
  const sg = fixedSubgroupSize(rt);
  return [...TILE_CANDIDATES, ...(sg ? subgroupTiles(sg) : [])];
}


/** The register tile llvmpipe runs fastest (8×4 per invocation, one row of 8 per workgroup). */
export const CPU_REGISTER_TILE: MatmulTile = { TM: 8, TN: 4, WGX: 8, WGY: 1 };

/**
 * The tile used without tuning (tests, --no-autotune): on a CPU adapter the first subgroup
 * tile where the subgroup size is fixed (fastest there by far), else CPU_REGISTER_TILE; on a
 * GPU the portable DEFAULT_TILE.
 */
export function defaultTile(rt: Runtime): MatmulTile {
  if (!isCpuAdapter(rt.gpu.kind)) return DEFAULT_TILE;
  const sg = fixedSubgroupSize(rt);
  return sg ? subgroupTiles(sg)[0] : CPU_REGISTER_TILE;
}

export type Activation = 'none' | 'gelu' | 'gelu_tanh';
const ACT_CODE: Record<Activation, number> = { none: 0, gelu: 1, gelu_tanh: 2 };

/** Where a batch of row-major matrices lies in a flat array (Views, above); the float64 reference's HostView shares it. */
export interface MatrixLayout {
  /** Batch counts [outer, inner]; total batch = outer·inner. */
  batch: readonly [number, number];
  rows: number;
  cols: number;
  /** Elements between consecutive rows (>= cols). */
  ld: number;
  /** Elements between consecutive batch entries at each level (0 = broadcast). */
  batchStrides: readonly [number, number];
  /** Elements before the first element. */
  offset: number;
}

export interface MatrixView extends MatrixLayout {
  tensor: Tensor;
}

export type MatrixOperand = Tensor | MatrixView;

export type LimitDim = 'M' | 'N' | 'K';
export interface MatmulLimit {
  dims: readonly LimitDim[];
  tensor: Tensor;
  offset?: number;
  per?: number;
  /**
   * With dims ['K'] on an unbatched product: K runs in segments of this many terms (a
   * multiple of 4), segment s capped by tensor[offset + s] — dW = dyᵀ·x over B sequences of
   * T rows skipping each one's padded rows (whose dy is zero).
   */
  segment?: number;
  /**
   * Other dims capped by a second value of the same tensor, tensor[also.offset + ⌊b / per⌋]
   * (distinct from `dims`; not with segment or rowSumsOut) — attention over a subset of each
   * sequence's queries caps its query extent by their count and its key extent by the length.
   */
  also?: { dims: readonly LimitDim[]; offset: number };
}
const LIMIT_BIT: Record<LimitDim, number> = { M: 1, N: 2, K: 4 };

export interface MatmulOptions {
  /** Use Aᵀ: A is stored K×M. */
  transA?: boolean;
  /** Use Bᵀ: B is stored N×K. */
  transB?: boolean;
  /** f32 [N] (or longer, with biasOffset), added to every row. */
  bias?: Tensor;
  /** Element of `bias` added to column 0 (a slice of a longer vector). Default 0. */
  biasOffset?: number;
  activation?: Activation;
  /**
   * With an activation: also store the values before it here (a tensor laid out as C's
   * tensor, same dtype) — the forward keeps them for the activation's backward, with no
   * separate activation pass.
   */
  preActivationOut?: Tensor;
  /**
   * Also Σ_k op(A)[m, k] for each row m into `tensor[offset + m]` (f32; written, or added to
   * with `accumulate`), summed from the A values the product loads anyway: a linear layer's
   * bias gradient beside its weight gradient (dW = dyᵀ·x → db = Σ_rows dy) without a pass of
   * its own over dy. Unbatched products only; not with preActivationOut.
   */
  rowSumsOut?: { tensor: Tensor; offset?: number };
  /**
   * Extents known only on the GPU (the MLM selection's count of a capacity-sized buffer,
   * each sequence's length): the listed dims are capped at run time by a u32, which batch
   * entry b reads from `tensor[offset + ⌊b / per⌋]` (per: batch entries sharing one value,
   * default all). Capping M or N, C's rows or columns from the limit on are zero (left as
   * they are with `accumulate`) and cost no products; capping K drops the terms from the
   * limit on (values the caller knows to be zero or unwanted). Only K with rowSumsOut.
   */
  limit?: MatmulLimit;
  /** C += result (gradient accumulation, residual adds); applied before the activation. */
  accumulate?: boolean;
  alpha?: number;
  /** Fixed tile (skips autotuning). */
  tile?: MatmulTile;
  label?: string;
  autotune?: AutotuneOptions;
}

const SIG: KernelSignature = { name: 'matmul', bindings: ['read', 'read', 'read', 'rw', 'uniform'] };
/** With preActivationOut: a sixth binding laid out as C. */
const SIG_PRE: KernelSignature = { name: 'matmul.pre', bindings: ['read', 'read', 'read', 'rw', 'uniform', 'rw'] };
/** With rowSumsOut: a sixth binding, the row sums. */
const SIG_ROW_SUMS: KernelSignature = { name: 'matmul.row_sums', bindings: ['read', 'read', 'read', 'rw', 'uniform', 'rw'] };
/** With a run-time limit: its tensor last (after the row sums, if any). */
const SIG_LIMIT: KernelSignature = { name: 'matmul.limit', bindings: [...SIG.bindings, 'read'] };
const SIG_ROW_SUMS_LIMIT: KernelSignature = { name: 'matmul.row_sums.limit', bindings: [...SIG_ROW_SUMS.bindings, 'read'] };
const SIG_PRE_LIMIT: KernelSignature = { name: 'matmul.pre.limit', bindings: [...SIG_PRE.bindings, 'read'] };

function isView(x: MatrixOperand): x is MatrixView {
  return (x as MatrixView).tensor !== undefined;
}

/** The view of a 2-D or 3-D tensor. */
export function asView(op: string, name: string, x: MatrixOperand): MatrixView {
  if (isView(x)) return x;
  if (x.shape.length === 2) return { tensor: x, batch: [1, 1], rows: x.shape[0], cols: x.shape[1], ld: x.shape[1], batchStrides: [0, 0], offset: 0 };
  if (x.shape.length === 3) {
    const [n, r, c] = x.shape;
    return { tensor: x, batch: [1, n], rows: r, cols: c, ld: c, batchStrides: [0, r * c], offset: 0 };
  }
  throw new Error(`${op}: ${name} must be 2-D or 3-D (or a MatrixView), got ${shapeStr(x.shape)}`);
}

/**
 * One head per batch entry of a [B, T, rowStride] buffer holding heads of size D side by
 * side: batch [B, H], rows T, cols D, batch strides [T·rowStride, D]. For a fused QKV
 * output [B, T, 3·H·D], part p (0 = Q, 1 = K, 2 = V) is `headsView(t, B, T, H, D, 3·H·D, p·H·D)`.
 */
export function headsView(t: Tensor, B: number, T: number, H: number, D: number, rowStride = H * D, offset = 0): MatrixView {
  return { tensor: t, batch: [B, H], rows: T, cols: D, ld: rowStride, batchStrides: [T * rowStride, D], offset };
}

function describeView(v: MatrixView): string {
  const t = v.tensor;
  const plain = v.offset === 0 && v.ld === v.cols;
  const b = v.batch[0] * v.batch[1];
  if (plain && b === 1 && t.shape.length === 2) return shapeStr(t.shape);
  if (plain && t.shape.length === 3 && v.batch[0] === 1) return shapeStr(t.shape);
  return `view[${v.batch.join('×')}, ${v.rows}, ${v.cols}] (ld ${v.ld}, batch strides ${v.batchStrides.join('/')}, offset ${v.offset}) of ${shapeStr(t.shape)}`;
}

interface Resolved {
  off: number;
  s1: number;
  s2: number;
}

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
  dtypeA: DType;
  dtypeB: DType;
  /**
   * With rowSumsOut: tuned as a kernel of its own, since the few extra additions per step
   * can push a large tile's loop past what lavapipe's compiler unrolls (a 24×4 subgroup
   * tile ran ~3.5× slower with them; bench/RESULTS.md).
   */
  rowSums?: boolean;
}

/** Shape class for tuning: transposes, dtypes and a size bucket per dimension (and '+rowsums' for that variant). */
export function shapeClass(s: Pick<MatmulShape, 'M' | 'N' | 'K' | 'transA' | 'transB' | 'dtypeA' | 'dtypeB' | 'rowSums'>): string {
  const b = (x: number) => (x <= 32 ? 's' : x <= 128 ? 'm' : x <= 512 ? 'l' : 'x');
  return `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}.${s.dtypeA}${s.dtypeB}.${b(s.M)}${b(s.N)}${b(s.K)}${s.rowSums ? '+rowsums' : ''}`;
}

function checkTile(rt: Runtime, tile: MatmulTile, op: string): void {
  const { TM, TN, WGX, WGY } = tile;
  for (const [k, v] of Object.entries({ TM, TN, WGX, WGY }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: tile ${k} must be a positive integer, got ${v}`);
  if (!tile.WGMEM && (TM % 4 || TN % 4)) throw new Error(`${op}: register tiles need TM and TN multiples of 4, got ${TM}×${TN}`);
  if (tile.SUBGROUP) {
    if (tile.WGMEM) throw new Error(`${op}: a tile cannot be both SUBGROUP and WGMEM`);
    const sg = fixedSubgroupSize(rt);
    if (!sg) throw new Error(`${op}: subgroup tiles need the 'subgroups' feature with a fixed subgroup size; this adapter has ${rt.caps.subgroups ? `sizes ${rt.caps.subgroupMinSize}–${rt.caps.subgroupMaxSize}` : 'no subgroups'}`);
    if (WGX !== sg || WGY !== 1) throw new Error(`${op}: a subgroup tile's workgroup must be one subgroup (${sg}×1), got ${WGX}×${WGY}`);
    if (TM % WGX) throw new Error(`${op}: a subgroup tile's TM must be a multiple of the subgroup size ${WGX}, got ${TM}`);
  }
  const inv = WGX * WGY, maxInv = Math.min(256, rt.limits.maxComputeInvocationsPerWorkgroup);
  if (inv > maxInv) throw new Error(`${op}: workgroup ${WGX}×${WGY} = ${inv} invocations, above the limit ${maxInv}`);
  if (tile.WGMEM) {
    const bytes = (tile.BK ?? 16) * (WGY * TM + WGX * TN) * 4;
    const max = Math.min(16384, rt.limits.maxComputeWorkgroupStorageSize);
    if (bytes > max) throw new Error(`${op}: tile ${JSON.stringify(tile)} needs ${bytes} bytes of workgroup memory, above the limit ${max}`);
  }
}

/**
 * Whether a subgroup tile loads A's rows in adjacent pairs (PAIR_A in shaders/matmul.wgsl):
 * for a transposed f16 A bound as words (vecA: its offsets and ld multiples of 4) a word
 * holds two adjacent rows at one k, so a lane loading a pair makes one access per k where
 * two single rows take two. The rows per lane (TM / WGX) must come in pairs.
 */
export function pairsRowsOfA(tile: MatmulTile, f: { transA: boolean; a16: boolean; vecA: boolean }): boolean {
  return Boolean(tile.SUBGROUP) && !tile.WGMEM && f.transA && f.a16 && f.vecA && (tile.TM / tile.WGX) % 2 === 0;
}

function specFor(tile: MatmulTile, f: {
  transA: boolean; transB: boolean; bias: boolean; act: number; accum: boolean;
  vecA: boolean; vecB: boolean; a16: boolean; b16: boolean; c16: boolean; pre?: boolean; rowSums?: boolean; limit?: readonly LimitDim[]; segmented?: boolean; limit2?: readonly LimitDim[];
}): ShaderSpec {
  const wgmem = Boolean(tile.WGMEM), subgroup = Boolean(tile.SUBGROUP) && !wgmem;
  const defines: string[] = [];
  if (wgmem) defines.push('WGMEM');
  if (!wgmem && f.vecA) defines.push('VEC_A');
  if (!wgmem && f.vecB) defines.push('VEC_B');
  if (f.a16) defines.push('A_F16');
  if (f.b16) defines.push('B_F16');
  if (pairsRowsOfA(tile, f)) defines.push('PAIR_A');
  if (f.c16) defines.push('C_F16');
  if (f.pre) defines.push('PRE_OUT');
  if (f.rowSums) defines.push('ROW_SUMS');
  if (f.limit) defines.push('LIMIT');
  if (f.limit && f.segmented) defines.push('KSEG');
  // Segments replace the K cap (each segment has its own).
  const dims = f.segmented ? [] : (f.limit ?? []);
  const bits = (ds: readonly LimitDim[]) => ds.reduce((b, d) => b | LIMIT_BIT[d], 0);
  const limitConsts: Record<string, number> = f.limit ? { LIMIT_DIMS: bits(dims), LIMIT_BINDING: f.pre || f.rowSums ? 6 : 5, ...(f.limit2?.length ? { LIMIT2_DIMS: bits(f.limit2) } : {}) } : {};
  return {
    file: 'matmul.wgsl',
    consts: {
      TM: tile.TM, TN: tile.TN, WGX: tile.WGX, WGY: tile.WGY, BK: tile.BK ?? 16, INTERLEAVE: Boolean(tile.INTERLEAVE) && !wgmem,
      TRANS_A: f.transA, TRANS_B: f.transB, BIAS: f.bias, ACT: f.act, ACCUM: f.accum, ...limitConsts,
    },
    defines,
    f16: f.a16 || f.b16 || f.c16,
    subgroups: subgroup,
  };
}

// Variants for the compile-everything test, covering every code path: both algorithms,
// every transpose, vec4 and scalar loads, every epilogue, f16 storage. (Compiles are
// seconds each on a cold CPU adapter, so this is a covering set, not the product.)
{
  const f = { transA: false, transB: false, bias: false, act: 0, accum: false, vecA: false, vecB: false, a16: false, b16: false, c16: false };
  const interleaved = TILE_CANDIDATES.find((t) => t.INTERLEAVE)!, wgmem = TILE_CANDIDATES.find((t) => t.WGMEM)!;
  const v: ShaderSpec[] = [
    specFor(DEFAULT_TILE, f),
    specFor(DEFAULT_TILE, { ...f, transA: true, transB: true, vecA: true, vecB: true }),
    specFor(interleaved, { ...f, transB: true, vecA: true, vecB: true, bias: true, act: 1 }),
    specFor(interleaved, { ...f, transA: true, accum: true, act: 2 }),
    specFor(wgmem, { ...f, transB: true, bias: true, act: 1 }),
    specFor(wgmem, { ...f, transA: true, accum: true, a16: true, b16: true }),
    specFor(DEFAULT_TILE, { ...f, transB: true, vecA: true, vecB: true, a16: true, b16: true }),
    specFor(DEFAULT_TILE, { ...f, transA: true, a16: true, b16: true, c16: true, bias: true, act: 2 }),
    specFor(GPU_TILE_CANDIDATES[0], { ...f, vecA: true, vecB: true, bias: true, act: 1 }),
    specFor(subgroupTiles(8)[0], { ...f, vecA: true, vecB: true, bias: true, act: 1 }),
    specFor(subgroupTiles(8)[2], { ...f, transA: true, transB: true, accum: true }),
    specFor(subgroupTiles(8)[1], { ...f, transB: true, vecA: true, vecB: true, a16: true, b16: true, c16: true, act: 2 }),
  ];
  registerVariants(...v.map((spec) => ({ sig: SIG, spec })));
  // The pre-activation output on each algorithm (f16 storage on one).
  registerVariants(
    ...[
      specFor(DEFAULT_TILE, { ...f, vecA: true, vecB: true, bias: true, act: 1, pre: true }),
      specFor(wgmem, { ...f, transB: true, act: 2, pre: true }),
      specFor(subgroupTiles(8)[0], { ...f, transB: true, vecA: true, vecB: true, bias: true, act: 1, pre: true }),
      specFor(subgroupTiles(8)[0], { ...f, vecA: true, vecB: true, a16: true, b16: true, c16: true, act: 2, pre: true }),
    ].map((spec) => ({ sig: SIG_PRE, spec })),
  );
  // Row sums (bias gradients beside weight gradients: Aᵀ, accumulated) on each algorithm.
  registerVariants(
    ...[
      specFor(DEFAULT_TILE, { ...f, transA: true, accum: true, rowSums: true }),
      specFor(wgmem, { ...f, transA: true, accum: true, a16: true, rowSums: true }),
      specFor(subgroupTiles(8)[0], { ...f, transA: true, vecA: true, vecB: true, accum: true, rowSums: true }),
      specFor(subgroupTiles(8)[0], { ...f, vecA: true, vecB: true, rowSums: true }),
      // f16 weight gradients: the subgroup tile's A in row pairs (PAIR_A).
      specFor(subgroupTiles(8)[0], { ...f, transA: true, vecA: true, vecB: true, a16: true, b16: true, accum: true, rowSums: true }),
    ].map((spec) => ({ sig: SIG_ROW_SUMS, spec })),
  );
  // Run-time limits: rows on the register and workgroup-memory tilings, depth with the row
  // sums on the subgroup tiling (the MLM head's three products).
  registerVariants(
    ...[specFor(DEFAULT_TILE, { ...f, transB: true, bias: true, limit: ['M', 'N'] }), specFor(wgmem, { ...f, accum: true, limit: ['M', 'K'] })].map((spec) => ({ sig: SIG_LIMIT, spec })),
    { sig: SIG_ROW_SUMS_LIMIT, spec: specFor(subgroupTiles(8)[0], { ...f, transA: true, vecA: true, vecB: true, accum: true, rowSums: true, limit: ['K'] }) },
    { sig: SIG_ROW_SUMS_LIMIT, spec: specFor(wgmem, { ...f, transA: true, accum: true, rowSums: true, limit: ['K'], segmented: true }) },
    { sig: SIG_PRE_LIMIT, spec: specFor(subgroupTiles(8)[0], { ...f, transB: true, vecA: true, vecB: true, bias: true, act: 1, pre: true, limit: ['M'] }) },
    // Two limits (attention over a subset of the queries): both tilings.
    { sig: SIG_LIMIT, spec: specFor(subgroupTiles(8)[0], { ...f, transB: true, vecA: true, vecB: true, limit: ['N'], limit2: ['M'] }) },
    { sig: SIG_LIMIT, spec: specFor(wgmem, { ...f, transA: true, limit: ['M'], limit2: ['K'] }) },
  );
}

/** Kernel name in the autotune cache; bump the version when the shader's performance (or the tuning method) changes. @3: interleaved confirmation rounds; @4: subgroup tiles; @5: f16 operands read as packed words; @6: a transposed f16 A in row pairs on subgroup tiles. */
export const MATMUL_TUNE_KEY = 'matmul@6';

const subgroupCheck = new WeakMap<Runtime, Promise<boolean>>();

/**
 * Whether the subgroup tiling computes what the register tiling does on this adapter (once
 * per runtime). It assumes a workgroup of subgroup-size invocations forms one full subgroup,
 * which holds on lavapipe but which the API does not promise everywhere: where it fails the
 * autotuner must not pick a fast wrong kernel, so subgroup tiles are left out (with a warning).
 */
export function subgroupTilesAgree(rt: Runtime): Promise<boolean> {
  let p = subgroupCheck.get(rt);
  if (!p) {
    p = (async () => {
      const sg = fixedSubgroupSize(rt);
      if (!sg) return false;
      const [M, K, N] = [3 * sg + 5, 21, 9 * sg + 3];
      const A = rt.upload(tuningInput(M * K, 1), [M, K], 'f32', 'subgroup-check.A'), B = rt.upload(tuningInput(K * N, 2), [K, N], 'f32', 'subgroup-check.B');
      const C1 = rt.empty([M, N], 'f32', 'subgroup-check.C1'), C2 = rt.empty([M, N], 'f32', 'subgroup-check.C2');
      try {
        await rt.run(await matmul(rt, A, B, C1, { tile: DEFAULT_TILE }), await matmul(rt, A, B, C2, { tile: subgroupTiles(sg)[0] }));
        const [x, y] = [await rt.read(C1), await rt.read(C2)];
        const ok = x.every((v, i) => Math.abs(v - y[i]) <= 1e-5);
        if (!ok) process.emitWarning(`matmul: subgroup tiles disagree with register tiles on this adapter (subgroups of ${sg} not formed as assumed); not using them`);
        return ok;
      } finally {
        rt.release(A, B, C1, C2);
      }
    })();
    subgroupCheck.set(rt, p);
  }
  return p;
}

/** The autotuned tile for a shape on this adapter (measured on a capped proxy shape on first use, then cached). */
export async function tunedTile(rt: Runtime, s: MatmulShape, opts: AutotuneOptions = {}, from: readonly MatmulTile[] = tileCandidates(rt)): Promise<MatmulTile> {
  const sgOk = from.some((t) => t.SUBGROUP) ? await subgroupTilesAgree(rt) : true;
  const candidates = from.filter((t) => {
    if (t.SUBGROUP && !sgOk) return false;
    try {
      checkTile(rt, t, 'matmul');
      return true;
    } catch {
      return false;
    }
  });
  const M = Math.min(s.M, 256), N = Math.min(s.N, 256), K = Math.min(s.K, 512);
  const r = await autotune(
    rt,
    {
      kernel: MATMUL_TUNE_KEY,
      shapeClass: shapeClass(s),
      candidates,
      fallback: defaultTile(rt).SUBGROUP && !sgOk ? CPU_REGISTER_TILE : defaultTile(rt),
      async measure(tile, best) {
        const A = rt.upload(tuningInput(M * K), s.transA ? [K, M] : [M, K], s.dtypeA, 'autotune.A');
        const B = rt.upload(tuningInput(K * N), s.transB ? [N, K] : [K, N], s.dtypeB, 'autotune.B');
        const C = rt.empty([M, N], 'f32', 'autotune.C');
        const sums = s.rowSums ? rt.empty([M], 'f32', 'autotune.rowSums') : null;
        try {
          const op = await matmul(rt, A, B, C, { transA: s.transA, transB: s.transB, tile, ...(sums ? { rowSumsOut: { tensor: sums } } : {}) });
          return await timeOp(rt, op, { abandonAbove: 3 * best });
        } finally {
          rt.release(A, B, C, ...(sums ? [sums] : []));
        }
      },
    },
    opts,
  );
  return r.choice;
}

/**
 * C = act(alpha·op(A)·op(B) + bias + (accumulate ? C : 0)) — built once, returned as an Op.
 * The 5th argument may be a MatmulTile (the original signature) or options.
 */
export function matmul(rt: Runtime, A: MatrixOperand, B: MatrixOperand, C: MatrixOperand, opts: MatmulOptions | MatmulTile = {}): Promise<Op> {
  // Bad shapes and options throw here, synchronously; the rest (tuning, compiling) is async.
  const o: MatmulOptions = 'TM' in opts ? { tile: opts as MatmulTile } : (opts as MatmulOptions);
  const transA = Boolean(o.transA), transB = Boolean(o.transB);
  const name = o.label ?? `matmul${transA || transB ? `[${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}]` : ''}`;
  const vA = asView(name, 'A', A), vB = asView(name, 'B', B), vC = asView(name, 'C', C);
  for (const [n, v] of [['A', vA], ['B', vB]] as const)
    if (v.tensor.dtype !== 'f32' && v.tensor.dtype !== 'f16')
      throw new Error(`${name}: ${n} has dtype ${v.tensor.dtype}, expected f32 or f16 (shape ${shapeStr(v.tensor.shape)})`);
  if (vC.tensor.dtype !== 'f32' && vC.tensor.dtype !== 'f16')
    throw new Error(`${name}: C has dtype ${vC.tensor.dtype}, expected f32 or f16 (shape ${shapeStr(vC.tensor.shape)})`);
  const shapes = () => `A ${describeView(vA)}${transA ? 'ᵀ' : ''} · B ${describeView(vB)}${transB ? 'ᵀ' : ''} → C ${describeView(vC)}`;
  const [M, K] = transA ? [vA.cols, vA.rows] : [vA.rows, vA.cols];
  const [K2, N] = transB ? [vB.cols, vB.rows] : [vB.rows, vB.cols];
  if (K !== K2) throw new Error(`${name}: inner dimensions differ: ${shapes()} (K = ${K} vs ${K2})`);
  if (vC.rows !== M || vC.cols !== N) throw new Error(`${name}: C is ${vC.rows}×${vC.cols}, expected ${M}×${N}: ${shapes()}`);

  // Batch: every operand has C's total batch, or 1 (broadcast). Two-level operands must
  // agree on their split [b1, b2]; single-level ones are re-expressed in that split.
  const bC = vC.batch[0] * vC.batch[1];
  const split = [vA, vB, vC].find((v) => v.batch[0] > 1 && v.batch[1] > 1)?.batch ?? [1, bC];
  const nb2 = split[1];
  const resolve = (n: string, v: MatrixView): Resolved => {
    const total = v.batch[0] * v.batch[1];
    if (total === 1 && n !== 'C') return { off: v.offset, s1: 0, s2: 0 };
    if (total !== bC) throw new Error(`${name}: ${n} has batch ${total}, C has batch ${bC} (a 2-D operand is broadcast): ${shapes()}`);
    if (v.batch[0] === split[0] && v.batch[1] === split[1]) return { off: v.offset, s1: v.batchStrides[0], s2: v.batchStrides[1] };
    // single level: b = b1·nb2 + b2 → stride·b
    const s = v.batch[0] === 1 ? v.batchStrides[1] : v.batch[1] === 1 ? v.batchStrides[0] : NaN;
    if (Number.isNaN(s)) throw new Error(`${name}: ${n}'s batch [${v.batch.join(', ')}] does not match [${split.join(', ')}]: ${shapes()}`);
    return { off: v.offset, s1: s * nb2, s2: s };
  };
  const rA = resolve('A', vA), rB = resolve('B', vB), rC = resolve('C', vC);

  // Every view must lie inside its tensor.
  for (const [n, v] of [['A', vA], ['B', vB], ['C', vC]] as const) {
    if (v.ld < v.cols) throw new Error(`${name}: ${n} has row stride ${v.ld} < ${v.cols} columns: ${shapes()}`);
    if (v.rows === 0 || v.cols === 0) continue;
    const last = v.offset + (v.batch[0] - 1) * v.batchStrides[0] + (v.batch[1] - 1) * v.batchStrides[1] + (v.rows - 1) * v.ld + v.cols - 1;
    if (last >= v.tensor.size) throw new Error(`${name}: ${n}'s view reaches element ${last}, beyond its tensor of ${v.tensor.size} elements: ${shapes()}`);
  }
  if (vC.tensor === vA.tensor || vC.tensor === vB.tensor) throw new Error(`${name}: C must not alias A or B: ${shapes()}`);
  if (o.bias) {
    if (o.bias.dtype !== 'f32') throw new Error(`${name}: bias has dtype ${o.bias.dtype}, expected f32`);
    const bo = o.biasOffset ?? 0;
    if (!Number.isInteger(bo) || bo < 0) throw new Error(`${name}: biasOffset must be a non-negative integer, got ${bo}`);
    if (o.biasOffset === undefined ? o.bias.size !== N : o.bias.size < bo + N)
      throw new Error(`${name}: bias has shape ${shapeStr(o.bias.shape)}, expected [${N}]${bo ? ` from offset ${bo}` : ''} for ${shapes()}`);
  }
  const act = ACT_CODE[o.activation ?? 'none'];
  if (act === undefined) throw new Error(`${name}: unknown activation '${o.activation}' (expected none, gelu, gelu_tanh)`);
  const pre = o.preActivationOut;
  if (pre) {
    if (act === 0) throw new Error(`${name}: preActivationOut needs an activation`);
    if (pre.dtype !== vC.tensor.dtype || pre.size !== vC.tensor.size)
      throw new Error(`${name}: preActivationOut '${pre.label}' ${pre.dtype} ${shapeStr(pre.shape)} must be laid out as C's tensor (${vC.tensor.dtype} ${shapeStr(vC.tensor.shape)})`);
    if ([vA.tensor, vB.tensor, vC.tensor, o.bias].some((t) => t?.buffer === pre.buffer))
      throw new Error(`${name}: preActivationOut '${pre.label}' must not share a buffer with A, B, C or the bias`);
  }

  const rowSums = o.rowSumsOut;
  const rsOffset = rowSums?.offset ?? 0;
  if (rowSums) {
    const t = rowSums.tensor;
    if (t.dtype !== 'f32') throw new Error(`${name}: rowSumsOut '${t.label}' has dtype ${t.dtype}, expected f32`);
    if (!Number.isInteger(rsOffset) || rsOffset < 0) throw new Error(`${name}: rowSumsOut offset must be a non-negative integer, got ${rsOffset}`);
    if (t.size < rsOffset + M) throw new Error(`${name}: rowSumsOut '${t.label}' ${shapeStr(t.shape)} is too short for ${M} row sums${rsOffset ? ` from offset ${rsOffset}` : ''}: ${shapes()}`);
    if (bC !== 1) throw new Error(`${name}: rowSumsOut needs an unbatched product, got batch ${bC}: ${shapes()}`);
    if (pre) throw new Error(`${name}: rowSumsOut and preActivationOut cannot be combined`);
    if ([vA.tensor, vB.tensor, vC.tensor, o.bias].some((x) => x !== undefined && x.buffer === t.buffer))
      throw new Error(`${name}: rowSumsOut '${t.label}' must not share a buffer with A, B, C or the bias`);
  }

  const limit = o.limit;
  const limitOffset = limit?.offset ?? 0;
  if (limit) {
    const t = limit.tensor;
    if (limit.dims.length === 0 || limit.dims.some((d) => !(d in LIMIT_BIT)) || new Set(limit.dims).size !== limit.dims.length)
      throw new Error(`${name}: limit.dims must be distinct dims of M, N, K, got [${limit.dims.join(', ')}]`);
    const per = limit.per ?? bC;
    if (!Number.isInteger(per) || per < 1 || bC % per) throw new Error(`${name}: limit.per must divide the batch ${bC}, got ${limit.per}`);
    const seg = limit.segment;
    if (seg !== undefined) {
      if (!Number.isInteger(seg) || seg < 4 || seg % 4) throw new Error(`${name}: limit.segment must be a positive multiple of 4, got ${seg}`);
      if (limit.dims.length !== 1 || limit.dims[0] !== 'K') throw new Error(`${name}: limit.segment needs dims ['K'], got [${limit.dims.join(', ')}]`);
      if (bC !== 1) throw new Error(`${name}: limit.segment needs an unbatched product, got batch ${bC}`);
    }
    const needed = limitOffset + (seg !== undefined ? Math.ceil(K / seg) : bC / per);
    if (t.dtype !== 'u32' && t.dtype !== 'i32') throw new Error(`${name}: limit '${t.label}' has dtype ${t.dtype}, expected u32 (or non-negative i32)`);
    if (!Number.isInteger(limitOffset) || limitOffset < 0 || needed > t.size)
      throw new Error(`${name}: limit '${t.label}' ${shapeStr(t.shape)} is too short for ${needed - limitOffset} value(s) from offset ${limitOffset}`);
    if (rowSums && limit.dims.some((d) => d !== 'K')) throw new Error(`${name}: rowSumsOut takes a run-time limit on K only, got [${limit.dims.join(', ')}]`);
    if (t.buffer === vC.tensor.buffer || (rowSums && t.buffer === rowSums.tensor.buffer))
      throw new Error(`${name}: limit '${t.label}' must not share a buffer with C or the row sums`);
    if (limit.also) {
      const a = limit.also;
      if (a.dims.length === 0 || a.dims.some((d) => !(d in LIMIT_BIT) || limit.dims.includes(d)) || new Set(a.dims).size !== a.dims.length)
        throw new Error(`${name}: limit.also.dims must be distinct dims of M, N, K not in limit.dims [${limit.dims.join(', ')}], got [${a.dims.join(', ')}]`);
      if (seg !== undefined || rowSums) throw new Error(`${name}: limit.also cannot be combined with limit.segment or rowSumsOut`);
      if (!Number.isInteger(a.offset) || a.offset < 0 || a.offset + bC / per > t.size)
        throw new Error(`${name}: limit '${t.label}' ${shapeStr(t.shape)} is too short for ${bC / per} second value(s) from offset ${a.offset}`);
    }
  }

  const dims: MatmulShape = { M, N, K, batch: bC, transA, transB, dtypeA: vA.tensor.dtype, dtypeB: vB.tensor.dtype, rowSums: Boolean(rowSums) };
  if (o.tile) checkTile(rt, o.tile, name);
  return (async () => {
    const tile = o.tile ?? (await tunedTile(rt, dims, o.autotune));
    checkTile(rt, tile, name);
    return build(tile);
  })();

  function build(tile: MatmulTile): Promise<Op> {

    const aligned = (v: MatrixView, r: Resolved) =>
      v.ld % 4 === 0 && r.off % 4 === 0 && r.s1 % 4 === 0 && r.s2 % 4 === 0 && v.tensor.byteLength >= 16;
    const spec = specFor(tile, {
      transA, transB, bias: Boolean(o.bias), act, accum: Boolean(o.accumulate),
      vecA: aligned(vA, rA), vecB: aligned(vB, rB),
      a16: vA.tensor.dtype === 'f16', b16: vB.tensor.dtype === 'f16', c16: vC.tensor.dtype === 'f16', pre: Boolean(pre), rowSums: Boolean(rowSums), limit: limit?.dims, segmented: limit?.segment !== undefined, limit2: limit?.also?.dims,
    });
    const params = rt.uniform(
      packUniform([
        ['u32', M], ['u32', N], ['u32', K], ['u32', nb2],
        ['u32', vA.ld], ['u32', vB.ld], ['u32', vC.ld], ['f32', o.alpha ?? 1],
        ['u32', rA.off], ['u32', rA.s1], ['u32', rA.s2], ['u32', o.biasOffset ?? 0],
        ['u32', rB.off], ['u32', rB.s1], ['u32', rB.s2], ['u32', rsOffset],
        ['u32', rC.off], ['u32', rC.s1], ['u32', rC.s2], ['u32', limitOffset],
        ['u32', limit?.per ?? bC], ['u32', limit?.segment ?? 0], ['u32', limit?.also?.offset ?? 0], ['u32', 0],
      ]),
      `${name}.params`,
    );
    const grid = [ceilDiv(N, tile.WGX * tile.TN), ceilDiv(M, tile.WGY * tile.TM), bC];
    const bindings = [vA.tensor, vB.tensor, o.bias ?? vA.tensor, vC.tensor, params];
    if (pre) return limit ? rt.op(SIG_PRE_LIMIT, spec, [...bindings, pre, limit.tensor], grid, name) : rt.op(SIG_PRE, spec, [...bindings, pre], grid, name);
    if (rowSums) return limit ? rt.op(SIG_ROW_SUMS_LIMIT, spec, [...bindings, rowSums.tensor, limit.tensor], grid, name) : rt.op(SIG_ROW_SUMS, spec, [...bindings, rowSums.tensor], grid, name);
    return limit ? rt.op(SIG_LIMIT, spec, [...bindings, limit.tensor], grid, name) : rt.op(SIG, spec, bindings, grid, name);
  }
}
