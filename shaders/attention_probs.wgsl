// Attention with materialised scores: the row kernels between its matmuls
// (src/kernels/attention.ts builds the whole pass). One row = one query i of one (batch b,
// head h): row r = (b·H + h)·T + i of an [B·H, T, T] scores buffer. Keys j ≥ lengths[b]
// get probability 0; the dropout mask is the fused kernels' (attention.wgsl): word j&3 of
// philox4x32_10((j>>2, i, b·H+h, step), (seed, stream)), kept ones scaled by dropScale.
// One entry point, two passes (the GRADS define picks):
//   probs  — s holds scale·Q·Kᵀ; writes P̃ = softmax(s over valid keys) ∘ mask·dropScale in
//            place, and lse = m + log Σ exp(s − m) (0 for an empty row), as the fused forward.
//            With PROBS_OUT, P̃ goes to a separate buffer `out` and s is only read: the
//            scores stay for the backward, which then need not recompute them.
//   grads  — s holds scale·Q·Kᵀ again (recomputed), g holds dP̃ = dO·Vᵀ; with
//            P = exp(s − lse), z = mask·dropScale, Δ = Σ_j P z dP̃ (= dO·O), writes
//            s ← P z (for dV = P̃ᵀ·dO) and g ← dS = P (z dP̃ − Δ) (for dQ and dK).
// QROWS (attention over a subset of each sequence's queries): row i of (b, h) is the i-th
// selected query of sequence b, at position qrows[b·T + i] − b·T (its dropout draws use that
// position, as the full attention's would); `lengths` holds the B key lengths and then the
// B query counts; rows at or past their count are skipped as padded ones are.
// Row layouts of row_common.wgsl (WG, TPR; SUBGROUPS); sums in a fixed order. Keys are
// visited in quads (the dropout draw's unit); with VEC4 (T a multiple of 4) s, g and out are
// bound as vec4 arrays and a quad is one access (on CPU adapters every access costs per
// invocation), else four, bounded by the row's end.
//#if SUBGROUPS
enable subgroups;
//#endif
//#include rng.wgsl

const WG: u32 = 64u;
const TPR: u32 = 64u;
const QROWS_BINDING: u32 = 4u;

// The fused kernels' Params (the same uniform buffer), then the batch size.
// skipPadded (attention's paddedQueries 'skip'): rows of queries at or past the length are
// left as they are (the products neither write nor read them) and their lse is 0.
struct Params { T: u32, H: u32, scale: f32, dropP: f32, dropScale: f32, seed: u32, stream: u32, step: u32, B: u32, skipPadded: u32 }

//#if VEC4
alias SV = vec4f;
//#else
alias SV = f32;
//#endif
@group(0) @binding(0) var<storage, read_write> s: array<SV>;
//#if GRADS
@group(0) @binding(1) var<storage, read_write> g: array<SV>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;
//#else
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
//#if PROBS_OUT
@group(0) @binding(4) var<storage, read_write> out: array<SV>;
//#endif
//#endif
//#if QROWS
@group(0) @binding(QROWS_BINDING) var<storage, read> qrows: array<u32>;
//#endif

// Element (scalar layouts) or quad (VEC4) i of s, or of g (from_g, GRADS only).
fn ld(from_g: bool, i: u32) -> SV {
//#if GRADS
  if (from_g) { return g[i]; }
//#endif
  return s[i];
}

fn st(to_g: bool, i: u32, v: SV) {
//#if GRADS
  if (to_g) { g[i] = v; return; }
//#endif
  s[i] = v;
}

// Quad q (keys 4q .. 4q+3) of the row of s (or g) starting at element `base` (a multiple of
// T), and its store; without VEC4, keys at or past `cols` read 0 and are not written.
fn quad(from_g: bool, base: u32, q: u32, cols: u32) -> vec4f {
//#if VEC4
  return ld(from_g, base / 4u + q);
//#else
  var v = vec4f(0.0);
  for (var c = 0u; c < 4u; c++) { if (4u * q + c < cols) { v[c] = ld(from_g, base + 4u * q + c); } }
  return v;
//#endif
}

fn set_quad(to_g: bool, base: u32, q: u32, cols: u32, v: vec4f) {
//#if VEC4
  st(to_g, base / 4u + q, v);
//#else
  for (var c = 0u; c < 4u; c++) { if (4u * q + c < cols) { st(to_g, base + 4u * q + c, v[c]); } }
//#endif
}

// Where probs writes P̃: in place, or to `out` (PROBS_OUT).
fn put_probs(base: u32, q: u32, cols: u32, v: vec4f) {
//#if PROBS_OUT
//#if VEC4
  out[base / 4u + q] = v;
//#else
  for (var c = 0u; c < 4u; c++) { if (4u * q + c < cols) { out[base + 4u * q + c] = v[c]; } }
//#endif
//#else
  set_quad(false, base, q, cols, v);
//#endif
}

// Which keys of quad q lie before the row's valid length.
fn valid4(q: u32, len: u32) -> vec4<bool> {
  return vec4u(4u * q) + vec4u(0u, 1u, 2u, 3u) < vec4u(len);
}

fn hsum4(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }

//#include row_common.wgsl

// The dropout factors of keys 4q .. 4q+3 in row i of head bh (all 1 without dropout).
fn keep4(q: u32, i: u32, bh: u32) -> vec4f {
  if (p.dropP <= 0.0) { return vec4f(1.0); }
  let r = philox4x32_10(vec4u(q, i, bh, p.step), vec2u(p.seed, p.stream));
  return select(vec4f(0.0), vec4f(p.dropScale), vec4f(rng_unit(r.x), rng_unit(r.y), rng_unit(r.z), rng_unit(r.w)) >= vec4f(p.dropP));
}

// pos: the query's position in its sequence (i, or with QROWS the selected one's).
struct Row { row: u32, base: u32, i: u32, pos: u32, bh: u32, len: u32, cols: u32, valid: bool }

fn row_of(invocation: RowInvocation, nwg: vec3u) -> Row {
  let T = p.T;
  let row = row_index(invocation, nwg.x);
  let bh = row / T;
  var r: Row;
  r.row = row;
  r.valid = bh < p.B * p.H;
  r.base = row * T;
  r.i = row % T;
  r.pos = r.i;
  r.bh = bh;
  r.len = 0u;
  r.cols = 0u;
  if (r.valid) {
    let b = bh / p.H;
    r.len = min(lengths[b], T);
    r.cols = T;
//#if QROWS
    if (r.i >= lengths[p.B + b]) { r.len = 0u; r.cols = 0u; } else { r.pos = qrows[b * T + r.i] - b * T; }
//#else
    if (p.skipPadded != 0u && r.i >= r.len) { r.len = 0u; r.cols = 0u; }
//#endif
  }
  return r;
}

@compute @workgroup_size(WG)
fn main(invocation: RowInvocation, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_of(invocation, nwg);
  let lane = row_lane(invocation);
//#ifnot GRADS
  // probs (four partial maxima and sums per invocation, then the row's)
  var m4 = vec4f(-1.0e30);
  for (var q = lane; 4u * q < r.len; q += TPR) { m4 = max(m4, select(vec4f(-1.0e30), quad(false, r.base, q, r.cols), valid4(q, r.len))); }
  let m = row_reduce(max(max(m4.x, m4.y), max(m4.z, m4.w)), 1u, invocation);
  var l4 = vec4f(0.0);
  for (var q = lane; 4u * q < r.len; q += TPR) { l4 += select(vec4f(0.0), exp(quad(false, r.base, q, r.cols) - m), valid4(q, r.len)); }
  let l = row_reduce(hsum4(l4), 0u, invocation);
  let inv = select(0.0, 1.0 / l, l > 0.0);
  if (r.valid && lane == 0u) { lse[r.row] = select(0.0, m + log(l), l > 0.0); }
  for (var q = lane; 4u * q < r.cols; q += TPR) {
    let z = keep4(q, r.pos, r.bh);
    put_probs(r.base, q, r.cols, select(vec4f(0.0), exp(quad(false, r.base, q, r.cols) - m) * inv * z, valid4(q, r.len)));
  }
//#else
  // grads
  var lse_i = 0.0;
  if (r.valid) { lse_i = lse[r.row]; }
  var d4 = vec4f(0.0);
  for (var q = lane; 4u * q < r.len; q += TPR) {
    let z = keep4(q, r.pos, r.bh);
    d4 += select(vec4f(0.0), exp(quad(false, r.base, q, r.cols) - lse_i) * z * quad(true, r.base, q, r.cols), valid4(q, r.len));
  }
  let d = row_reduce(hsum4(d4), 0u, invocation);
  for (var q = lane; 4u * q < r.cols; q += TPR) {
    let z = keep4(q, r.pos, r.bh);
    let ok = valid4(q, r.len);
    let pj = exp(quad(false, r.base, q, r.cols) - lse_i);
    set_quad(true, r.base, q, r.cols, select(vec4f(0.0), pj * (z * quad(true, r.base, q, r.cols) - d), ok));
    set_quad(false, r.base, q, r.cols, select(vec4f(0.0), pj * z, ok));
  }
//#endif
}
