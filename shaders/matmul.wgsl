//#if F16
enable f16;
//#endif
//#if SUBGROUPS
enable subgroups;
//#endif
// The matmul family, one source: C = act(alpha·op(A)·op(B) + bias + (ACCUM ? C : 0)),
// batched over strided views (see src/kernels/matmul.ts for the view layout).
//
// Element (b, r, c) of an operand view lives at off + b1·s1 + b2·s2 + r·ld + c, where the
// batch index b = b1·nb2 + b2 (two batch levels reach heads interleaved in [B, T, H, D]).
// op(A)[m, k] = A(m, k), or A(k, m) when TRANS_A (A stored K×M); same for B.
//
// Three algorithms, selected by the WGMEM and SUBGROUPS defines:
//  - register tiling (default): each invocation computes TM×TN outputs from
//    4-deep slices of A and B held in registers, no workgroup memory, no barriers. Loads are
//    vec4 along each operand's contiguous dimension; the VEC_A / VEC_B defines bind the
//    operand as array<vec4> (when its strides and offset are multiples of 4).
//  - workgroup-memory tiling (WGMEM; GPUs): the workgroup stages BK-deep slices of a
//    (WGY·TM)×(WGX·TN) block in workgroup memory; each invocation computes TM×TN outputs
//    strided by the workgroup size (coalesced, conflict-free).
//  - subgroup register tiling (SUBGROUPS; CPU adapters with subgroups): the workgroup is one
//    subgroup of WGX lanes sharing TM rows; each lane owns TN columns. Each A value is loaded
//    by one lane and handed to the others by subgroupShuffle. On llvmpipe every lane's load
//    is a separate scalar access (with a bounds check), so loads, not FMAs, bound the
//    register kernel; sharing A's loads across the subgroup cuts them ~3× (bench/RESULTS.md).
// Any M, N, K works: the K tail is masked to zero, rows/columns past the edge are not stored.

const TM: u32 = 8u;          // rows per invocation (multiple of 4 in register mode)
const TN: u32 = 8u;          // columns per invocation (multiple of 4 in register mode)
const WGX: u32 = 8u;
const WGY: u32 = 8u;
const BK: u32 = 16u;         // WGMEM: depth of a staged slice
const INTERLEAVE: bool = false; // register mode: an invocation's column quads are WGX·4 apart
const TRANS_A: bool = false;
const TRANS_B: bool = false;
const BIAS: bool = false;
const ACT: u32 = 0u;         // 0 none, 1 GELU (erf), 2 GELU (tanh)
const ACCUM: bool = false;
// PRE_OUT (with an activation): a sixth binding `pre`, laid out exactly as C, also gets the
// values before the activation — a layer's forward keeps them for its backward without a
// separate activation pass over its output. With f16 storage, C's activation is taken of
// the value before its rounding to f16 (a separate kernel would read it rounded).
// ROW_SUMS (unbatched): a sixth binding `row_sums` gets Σ_k op(A)[m, k] (added with ACCUM),
// summed from the A values the tile loads anyway — a linear layer's bias gradient beside its
// weight gradient (dW = dyᵀ·x, db = Σ_rows dy), without a pass of its own over dy. Only the
// workgroups of the first column block store them; each sums its rows in k order.
// LIMIT: a last binding `limit` caps extents at run time by a count only the GPU knows —
// the MLM selection's count of a capacity-sized buffer, or each sequence's length, so
// padding costs nothing: batch entry z reads limit[p.offLimit + z / p.limitPer]. The bits
// of LIMIT_DIMS say which extents it caps: M (C's rows from the limit on are zero, or kept
// with ACCUM, with no products), N (the same for C's columns), K (terms from the limit on
// are dropped: the caller's values there are zero or unwanted).
// LIMIT2_DIMS: other extents capped by a second value of the same binding,
// limit[p.offLimit2 + z / p.limitPer] (attention over a subset of each sequence's queries:
// their count caps one extent, the sequence's length another).
const LIMIT_DIMS: u32 = 0u;    // bits: 1 M, 2 N, 4 K
const LIMIT2_DIMS: u32 = 0u;
const LIMIT_BINDING: u32 = 5u; // after C's params and any sixth binding

//#if A_F16
alias TA = f16;
//#else
alias TA = f32;
//#endif
//#if B_F16
alias TB = f16;
//#else
alias TB = f32;
//#endif
//#if C_F16
alias TC = f16;
//#else
alias TC = f32;
//#endif

struct Params {
  M: u32, N: u32, K: u32, nb2: u32,
  lda: u32, ldb: u32, ldc: u32, alpha: f32,
  offA: u32, sA1: u32, sA2: u32, offBias: u32,
  offB: u32, sB1: u32, sB2: u32, offRowSums: u32,
  offC: u32, sC1: u32, sC2: u32, offLimit: u32,
  limitPer: u32, kSeg: u32, offLimit2: u32, _p2: u32,
}

// f16 operands in VEC mode are bound as words, two halves each, and unpacked in registers:
// on llvmpipe every component of a load is its own access, so two 32-bit words cost half
// the accesses of four 16-bit halves (bench/RESULTS.md).
//#if VEC_A
//#if A_F16
@group(0) @binding(0) var<storage, read> A: array<u32>;
//#else
@group(0) @binding(0) var<storage, read> A: array<vec4<TA>>;
//#endif
//#else
@group(0) @binding(0) var<storage, read> A: array<TA>;
//#endif
//#if VEC_B
//#if B_F16
@group(0) @binding(1) var<storage, read> B: array<u32>;
//#else
@group(0) @binding(1) var<storage, read> B: array<vec4<TB>>;
//#endif
//#else
@group(0) @binding(1) var<storage, read> B: array<TB>;
//#endif
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<TC>;
@group(0) @binding(4) var<uniform> p: Params;
//#if PRE_OUT
@group(0) @binding(5) var<storage, read_write> pre: array<TC>;
//#endif
//#if ROW_SUMS
@group(0) @binding(5) var<storage, read_write> row_sums: array<f32>;

// s holds partial sums of row m (per k mod 4 in the register tilings).
fn store_row_sum(m: u32, s: vec4f) {
  let i = p.offRowSums + m;
  var y = (s.x + s.y) + (s.z + s.w);
  if (ACCUM) { y += row_sums[i]; }
  row_sums[i] = y;
}
//#endif
//#if LIMIT
@group(0) @binding(LIMIT_BINDING) var<storage, read> limit: array<u32>;
fn limit_value(z: u32) -> u32 { return limit[p.offLimit + z / p.limitPer]; }
fn limit2_value(z: u32) -> u32 { return limit[p.offLimit2 + z / p.limitPer]; }
//#else
fn limit_value(z: u32) -> u32 { return 0xffffffffu; }
fn limit2_value(z: u32) -> u32 { return 0xffffffffu; }
//#endif

// KSEG (with LIMIT, no K bit; unbatched): K runs in segments of p.kSeg terms, segment s
// capped by limit[p.offLimit + s] — a weight gradient summed over B sequences of T rows
// skips each one's padded rows. The k loop stays one loop (a nested segment loop cost
// lavapipe its unrolled tile, bench/RESULTS.md): it masks a segment's last slice like K's
// tail and then jumps to the next segment's start.
// The end of the segment holding term k (K without segments).
fn segment_end(k: u32, K: u32) -> u32 {
//#if KSEG
  let s = k / p.kSeg;
  return min(K, s * p.kSeg + min(p.kSeg, limit[p.offLimit + s]));
//#else
  return K;
//#endif
}

// The extents batch entry z runs over: M, N and K, capped where LIMIT_DIMS says.
struct Extents { M: u32, N: u32, K: u32 }
fn extents(z: u32) -> Extents {
  var e = Extents(p.M, p.N, p.K);
  if (LIMIT_DIMS != 0u) {
    let l = limit_value(z);
    if ((LIMIT_DIMS & 1u) != 0u) { e.M = min(e.M, l); }
    if ((LIMIT_DIMS & 2u) != 0u) { e.N = min(e.N, l); }
    if ((LIMIT_DIMS & 4u) != 0u) { e.K = min(e.K, l); }
  }
  if (LIMIT2_DIMS != 0u) {
    let l = limit2_value(z);
    if ((LIMIT2_DIMS & 1u) != 0u) { e.M = min(e.M, l); }
    if ((LIMIT2_DIMS & 2u) != 0u) { e.N = min(e.N, l); }
    if ((LIMIT2_DIMS & 4u) != 0u) { e.K = min(e.K, l); }
  }
  return e;
}

// ---- element access ----------------------------------------------------------------

// A packed f16 operand: element i is half i & 1 of word i >> 1; a quad is two words.
fn half_of(word: u32, i: u32) -> f32 { return unpack2x16float(word)[i & 1u]; }
fn halves4(lo: u32, hi: u32) -> vec4f { return vec4f(unpack2x16float(lo), unpack2x16float(hi)); }

fn a1(i: u32) -> f32 {
//#if VEC_A
//#if A_F16
  return half_of(A[i >> 1u], i);
//#else
  return f32(A[i >> 2u][i & 3u]);
//#endif
//#else
  return f32(A[i]);
//#endif
}

fn b1(i: u32) -> f32 {
//#if VEC_B
//#if B_F16
  return half_of(B[i >> 1u], i);
//#else
  return f32(B[i >> 2u][i & 3u]);
//#endif
//#else
  return f32(B[i]);
//#endif
}

// Four consecutive elements from i (i is a multiple of 4 in VEC mode).
fn a4(i: u32) -> vec4f {
//#if VEC_A
//#if A_F16
  return halves4(A[i >> 1u], A[(i >> 1u) + 1u]);
//#else
  return vec4f(A[i >> 2u]);
//#endif
//#else
  return vec4f(f32(A[i]), f32(A[i + 1u]), f32(A[i + 2u]), f32(A[i + 3u]));
//#endif
}

fn b4(i: u32) -> vec4f {
//#if VEC_B
//#if B_F16
  return halves4(B[i >> 1u], B[(i >> 1u) + 1u]);
//#else
  return vec4f(B[i >> 2u]);
//#endif
//#else
  return vec4f(f32(B[i]), f32(B[i + 1u]), f32(B[i + 2u]), f32(B[i + 3u]));
//#endif
}

fn batch_base(z: u32, off: u32, s1: u32, s2: u32) -> u32 {
  return off + (z / p.nb2) * s1 + (z % p.nb2) * s2;
}

// Index of op(A)[m, k] and op(B)[k, n] relative to the batch base.
fn a_index(m: u32, k: u32) -> u32 {
  if (TRANS_A) { return k * p.lda + m; }
  return m * p.lda + k;
}

fn b_index(k: u32, n: u32) -> u32 {
  if (TRANS_B) { return n * p.ldb + k; }
  return k * p.ldb + n;
}

// b: bias[n] when BIAS (loaded once per column by the caller: on CPU adapters every load
// is a separate access, and a tile's rows share their columns' biases).
fn epilogue(cbase: u32, m: u32, n: u32, v: f32, b: f32) {
  let ci = cbase + m * p.ldc + n;
  var y = p.alpha * v;
  if (BIAS) { y += b; }
  if (ACCUM) { y += f32(C[ci]); }
//#if PRE_OUT
  pre[ci] = TC(y);
//#endif
  if (ACT == 1u) { y = gelu_erf(y); }
  if (ACT == 2u) { y = gelu_tanh(y); }
  C[ci] = TC(y);
}

// C (and the pre-activation output) past the run-time limit on M or N: zero, or left as it
// is with ACCUM.
fn clear(cbase: u32, m: u32, n: u32) {
  if (ACCUM) { return; }
  let ci = cbase + m * p.ldc + n;
  C[ci] = TC(0.0);
//#if PRE_OUT
  pre[ci] = TC(0.0);
//#endif
}

// bias[n] for a column n < N (0 when there is no bias).
fn bias_at(n: u32) -> f32 {
  if (BIAS) { return bias[p.offBias + min(n, p.N - 1u)]; }
  return 0.0;
}

//#include activations.wgsl

//#ifnot WGMEM
// ---- register tiling, plain or subgroup -----------------------------------------------
// Subgroup variant: WGY = 1, WGX = the subgroup size, TM a multiple of WGX; each lane loads
// AR = TM / WGX rows of every A slice and the rows reach every lane by subgroupShuffle.

const TN4: u32 = TN / 4u;
const TM4: u32 = TM / 4u;
//#if SUBGROUPS
const AR: u32 = TM / WGX;

// Which tile rows a lane loads: slot r of lane `lane` holds tile row held_row(r, lane), and
// tile row i is in slot holder_slot(i) of lane holder_lane(i) (constants once the product
// loop is unrolled, so each shuffle is an extract and a broadcast). Rows are dealt to lanes
// one at a time, or, with PAIR_A, two adjacent rows at a time: a transposed f16 A bound as
// words holds rows m and m+1 of one k in one word, so a lane's pair costs one access per k
// where two single rows cost two (on llvmpipe each access is a separate load).
fn held_row(r: u32, lane: u32) -> u32 {
//#if PAIR_A
  return (r / 2u) * 2u * WGX + 2u * lane + r % 2u;
//#else
  return r * WGX + lane;
//#endif
}
fn holder_slot(i: u32) -> u32 {
//#if PAIR_A
  return 2u * (i / (2u * WGX)) + i % 2u;
//#else
  return i / WGX;
//#endif
}
fn holder_lane(i: u32) -> u32 {
//#if PAIR_A
  return (i % (2u * WGX)) / 2u;
//#else
  return i % WGX;
//#endif
}
//#else
const AR: u32 = TM;
//#endif

// Column of the first element of column quad j4 for invocation (wx, lx).
fn col_of(wx: u32, lx: u32, j4: u32) -> u32 {
  if (INTERLEAVE) { return (wx * WGX * TN4 + j4 * WGX + lx) * 4u; }
  return (wx * WGX + lx) * TN + j4 * 4u;
}

//#if SUBGROUPS
// av[r] = op(A)[m0 + held_row(r, lane), k .. k+3]; rows past M are clamped (never stored).
fn load_a(abase: u32, m0: u32, lane: u32, k: u32) -> array<vec4f, AR> {
  var av: array<vec4f, AR>;
//#if PAIR_A
  // Words at even m (offsets and lda are multiples of 4 in VEC mode): the low half is row
  // m, the high half row m+1. A pair past M reads the last pair; when M is odd its second
  // row is past M, an in-bounds value of no stored row.
  let kc = min(vec4u(k) + vec4u(0u, 1u, 2u, 3u), vec4u(p.K - 1u));
  for (var q = 0u; q < AR / 2u; q++) {
    let m = min(m0 + held_row(2u * q, lane), (p.M - 1u) & ~1u);
    let w0 = unpack2x16float(A[(abase + kc.x * p.lda + m) >> 1u]);
    let w1 = unpack2x16float(A[(abase + kc.y * p.lda + m) >> 1u]);
    let w2 = unpack2x16float(A[(abase + kc.z * p.lda + m) >> 1u]);
    let w3 = unpack2x16float(A[(abase + kc.w * p.lda + m) >> 1u]);
    av[2u * q] = vec4f(w0.x, w1.x, w2.x, w3.x);
    av[2u * q + 1u] = vec4f(w0.y, w1.y, w2.y, w3.y);
  }
//#else
  for (var r = 0u; r < AR; r++) {
    let m = min(m0 + held_row(r, lane), p.M - 1u);
    if (TRANS_A) {
      let kc = min(vec4u(k) + vec4u(0u, 1u, 2u, 3u), vec4u(p.K - 1u));
      av[r] = vec4f(a1(abase + kc.x * p.lda + m), a1(abase + kc.y * p.lda + m), a1(abase + kc.z * p.lda + m), a1(abase + kc.w * p.lda + m));
    } else {
      av[r] = a4(abase + m * p.lda + k);
    }
  }
//#endif
  return av;
}
//#else
// av[i] = op(A)[m0 + i, k .. k+3] (rows past M read clamped or neighbouring values).
fn load_a(abase: u32, m0: u32, lane: u32, k: u32) -> array<vec4f, AR> {
  var av: array<vec4f, AR>;
  if (TRANS_A) {
    // contiguous along m: quads of rows per k, transposed in registers
    var t: array<vec4f, 4u * TM4>;
    for (var kk = 0u; kk < 4u; kk++) {
      let kc = min(k + kk, p.K - 1u);
      for (var i4 = 0u; i4 < TM4; i4++) { t[kk * TM4 + i4] = a4(abase + kc * p.lda + m0 + i4 * 4u); }
    }
    for (var i4 = 0u; i4 < TM4; i4++) {
      let c0 = t[i4]; let c1 = t[TM4 + i4]; let c2 = t[2u * TM4 + i4]; let c3 = t[3u * TM4 + i4];
      av[i4 * 4u] = vec4f(c0.x, c1.x, c2.x, c3.x);
      av[i4 * 4u + 1u] = vec4f(c0.y, c1.y, c2.y, c3.y);
      av[i4 * 4u + 2u] = vec4f(c0.z, c1.z, c2.z, c3.z);
      av[i4 * 4u + 3u] = vec4f(c0.w, c1.w, c2.w, c3.w);
    }
  } else {
    for (var i = 0u; i < TM; i++) { av[i] = a4(abase + min(m0 + i, p.M - 1u) * p.lda + k); }
  }
  return av;
}
//#endif

// bv[kk·TN4 + j4] = op(B)[k + kk, col_of(j4) .. +3].
fn load_b(bbase: u32, wx: u32, lx: u32, k: u32) -> array<vec4f, 4u * TN4> {
  var bv: array<vec4f, 4u * TN4>;
  if (TRANS_B) {
    // contiguous along k: one quad of k per column, transposed in registers
    for (var j4 = 0u; j4 < TN4; j4++) {
      let n0 = col_of(wx, lx, j4);
      let c0 = b4(bbase + min(n0, p.N - 1u) * p.ldb + k);
      let c1 = b4(bbase + min(n0 + 1u, p.N - 1u) * p.ldb + k);
      let c2 = b4(bbase + min(n0 + 2u, p.N - 1u) * p.ldb + k);
      let c3 = b4(bbase + min(n0 + 3u, p.N - 1u) * p.ldb + k);
      bv[j4] = vec4f(c0.x, c1.x, c2.x, c3.x);
      bv[TN4 + j4] = vec4f(c0.y, c1.y, c2.y, c3.y);
      bv[2u * TN4 + j4] = vec4f(c0.z, c1.z, c2.z, c3.z);
      bv[3u * TN4 + j4] = vec4f(c0.w, c1.w, c2.w, c3.w);
    }
  } else {
    for (var kk = 0u; kk < 4u; kk++) {
      let kc = min(k + kk, p.K - 1u);
      for (var j4 = 0u; j4 < TN4; j4++) { bv[kk * TN4 + j4] = b4(bbase + kc * p.ldb + col_of(wx, lx, j4)); }
    }
  }
  return bv;
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
//#if SUBGROUPS
        @builtin(subgroup_invocation_id) sg_lane: u32,
//#endif
) {
  let m0 = (wid.y * WGY + lid.y) * TM;
//#if SUBGROUPS
  // No early exit: every lane must reach the shuffles. Out-of-range lanes compute on
  // clamped data and store nothing.
  let lane = sg_lane;
//#else
  let lane = lid.x;
  if (m0 >= p.M || col_of(wid.x, lane, 0u) >= p.N) { return; }
//#endif
  let z = wid.z;
  let abase = batch_base(z, p.offA, p.sA1, p.sA2);
  let bbase = batch_base(z, p.offB, p.sB1, p.sB2);
  let cbase = batch_base(z, p.offC, p.sC1, p.sC2);
  var acc: array<vec4f, TM * TN4>;
//#if ROW_SUMS
  var rs: array<vec4f, AR>;   // the rows this invocation loads (load_a)
//#endif
  // Rows past M and columns past N read in-range neighbours (or clamped, robust
  // accesses) and are never stored; only the K tail must be exact zeros. A tile wholly
  // past the limits on M or N runs no products. The loop's bound is the same in every lane
  // of a subgroup tile (m0, the tile's first column and one value every lane reads), which
  // the uniformity analysis cannot see through a storage load: hence the diagnostic.
  let lim = extents(z);
  let K = lim.K;
  let k_stop = select(K, 0u, m0 >= lim.M || col_of(wid.x, 0u, 0u) >= lim.N);
  var k_end = segment_end(0u, K);
  @diagnostic(off, subgroup_uniformity) for (var k = 0u; k < k_stop; k += 4u) {
    var av = load_a(abase, m0, lane, k);
    var bv = load_b(bbase, wid.x, lane, k);
    if (k + 4u > k_end) {
      let keep = vec4<bool>(k < k_end, k + 1u < k_end, k + 2u < k_end, k + 3u < k_end);
      for (var r = 0u; r < AR; r++) { av[r] = select(vec4f(0.0), av[r], keep); }
      for (var kk = 0u; kk < 4u; kk++) {
        for (var j4 = 0u; j4 < TN4; j4++) { bv[kk * TN4 + j4] = select(vec4f(0.0), bv[kk * TN4 + j4], keep[kk]); }
      }
    }
//#if ROW_SUMS
    // Here, before the product loop: placed after it, the same additions kept lavapipe from
    // unrolling that loop (16×4 subgroup tile 2.3× slower, bench/RESULTS.md).
    for (var r = 0u; r < AR; r++) { rs[r] += av[r]; }
//#endif
    for (var i = 0u; i < TM; i++) {
//#if SUBGROUPS
      let a = subgroupShuffle(av[holder_slot(i)], holder_lane(i));
//#else
      let a = av[i];
//#endif
      for (var j4 = 0u; j4 < TN4; j4++) {
        var s = acc[i * TN4 + j4];
        s = fma(vec4f(a.x), bv[j4], s);
        s = fma(vec4f(a.y), bv[TN4 + j4], s);
        s = fma(vec4f(a.z), bv[2u * TN4 + j4], s);
        s = fma(vec4f(a.w), bv[3u * TN4 + j4], s);
        acc[i * TN4 + j4] = s;
      }
    }
//#if KSEG
    if (k + 4u >= k_end) {
      let next = (k / p.kSeg + 1u) * p.kSeg;  // a multiple of 4, as every k
      k_end = segment_end(min(next, K - 1u), K);
      k = next - 4u;
    }
//#endif
  }
  var bq: array<vec4f, TN4>;
  for (var j4 = 0u; j4 < TN4; j4++) {
    let n0 = col_of(wid.x, lane, j4);
    bq[j4] = vec4f(bias_at(n0), bias_at(n0 + 1u), bias_at(n0 + 2u), bias_at(n0 + 3u));
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j4 = 0u; j4 < TN4; j4++) {
      let n0 = col_of(wid.x, lane, j4);
      let v = acc[i * TN4 + j4];
      for (var c = 0u; c < 4u; c++) {
        if (n0 + c >= p.N) { continue; }
        if (m < lim.M && n0 + c < lim.N) { epilogue(cbase, m, n0 + c, v[c], bq[j4][c]); } else { clear(cbase, m, n0 + c); }
      }
    }
  }
//#if ROW_SUMS
  // Subgroup: lane `lane` loaded rows m0 + held_row(r, lane); plain: every invocation of a
  // row of the workgroup loaded rows m0 .. m0+TM-1, and the first stores them.
  if (wid.x == 0u) {
    for (var r = 0u; r < AR; r++) {
//#if SUBGROUPS
      let m = m0 + held_row(r, lane);
//#else
      let m = m0 + r;
      if (lane != 0u) { break; }
//#endif
      if (m < p.M) { store_row_sum(m, rs[r]); }
    }
  }
//#endif
}
//#endif

//#if WGMEM
// ---- workgroup-memory tiling ------------------------------------------------------------

const BM: u32 = WGY * TM;
const BN: u32 = WGX * TN;
const NT: u32 = WGX * WGY;

var<workgroup> As: array<f32, BK * BM>;   // [kk][m]
var<workgroup> Bs: array<f32, BK * BN>;   // [kk][n]

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let z = wid.z;
  let abase = batch_base(z, p.offA, p.sA1, p.sA2);
  let bbase = batch_base(z, p.offB, p.sB1, p.sB2);
  let cbase = batch_base(z, p.offC, p.sC1, p.sC2);
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  var acc: array<f32, TM * TN>;
  var a: array<f32, TM>;
  var b: array<f32, TN>;
//#if ROW_SUMS
  var rs: array<f32, TM>;
//#endif
  let lim = extents(z);
  let K = lim.K;
  let k_stop = select(K, 0u, m0 >= lim.M || n0 >= lim.N); // the same for the whole workgroup (barriers)
  var k_end = segment_end(0u, K);
  for (var k0 = 0u; k0 < k_stop; k0 += BK) {
    // Consecutive invocations read consecutive addresses of each operand.
    for (var e = li; e < BK * BM; e += NT) {
      var kk: u32; var mm: u32;
      if (TRANS_A) { mm = e % BM; kk = e / BM; } else { kk = e % BK; mm = e / BK; }
      var v = 0.0;
      if (m0 + mm < p.M && k0 + kk < k_end) { v = a1(abase + a_index(m0 + mm, k0 + kk)); }
      As[kk * BM + mm] = v;
    }
    for (var e = li; e < BK * BN; e += NT) {
      var kk: u32; var nn: u32;
      if (TRANS_B) { kk = e % BK; nn = e / BK; } else { nn = e % BN; kk = e / BN; }
      var v = 0.0;
      if (n0 + nn < p.N && k0 + kk < k_end) { v = b1(bbase + b_index(k0 + kk, n0 + nn)); }
      Bs[kk * BN + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      for (var i = 0u; i < TM; i++) { a[i] = As[kk * BM + lid.y + i * WGY]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * BN + lid.x + j * WGX]; }
//#if ROW_SUMS
      for (var i = 0u; i < TM; i++) { rs[i] += a[i]; }
//#endif
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]); }
      }
    }
    workgroupBarrier();
//#if KSEG
    if (k0 + BK >= k_end) {
      let next = (k0 / p.kSeg + 1u) * p.kSeg;
      k_end = segment_end(min(next, K - 1u), K);
      k0 = next - BK;  // wraps below zero; the loop's += BK brings it back (u32)
    }
//#endif
  }
  var bj: array<f32, TN>;
  for (var j = 0u; j < TN; j++) { bj[j] = bias_at(n0 + lid.x + j * WGX); }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + lid.y + i * WGY;
    if (m >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + lid.x + j * WGX;
      if (n >= p.N) { continue; }
      if (m < lim.M && n < lim.N) { epilogue(cbase, m, n, acc[i * TN + j], bj[j]); } else { clear(cbase, m, n); }
    }
  }
//#if ROW_SUMS
  if (wid.x == 0u && lid.x == 0u) {
    for (var i = 0u; i < TM; i++) {
      let m = m0 + lid.y + i * WGY;
      if (m < p.M) { store_row_sum(m, vec4f(rs[i], 0.0, 0.0, 0.0)); }
    }
  }
//#endif
}
//#endif
