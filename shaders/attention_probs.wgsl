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
// Row layouts of row_common.wgsl (WG, TPR; SUBGROUPS); sums in a fixed order.
//#if SUBGROUPS
enable subgroups;
//#endif
//#include rng.wgsl

const WG: u32 = 64u;
const TPR: u32 = 64u;

// The fused kernels' Params (the same uniform buffer), then the batch size.
struct Params { T: u32, H: u32, scale: f32, dropP: f32, dropScale: f32, seed: u32, stream: u32, step: u32, B: u32 }

@group(0) @binding(0) var<storage, read_write> s: array<f32>;
//#if GRADS
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;
//#else
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
//#if PROBS_OUT
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
//#endif
//#endif

// Where probs writes P̃: in place, or to `out` (PROBS_OUT).
fn put_prob(i: u32, v: f32) {
//#if PROBS_OUT
  out[i] = v;
//#else
  s[i] = v;
//#endif
}

//#include row_common.wgsl

// The dropout factors of keys 4q .. 4q+3 in row i of head bh (all 1 without dropout).
fn keep4(q: u32, i: u32, bh: u32) -> vec4f {
  if (p.dropP <= 0.0) { return vec4f(1.0); }
  let r = philox4x32_10(vec4u(q, i, bh, p.step), vec2u(p.seed, p.stream));
  return select(vec4f(0.0), vec4f(p.dropScale), vec4f(rng_unit(r.x), rng_unit(r.y), rng_unit(r.z), rng_unit(r.w)) >= vec4f(p.dropP));
}

struct Row { row: u32, base: u32, i: u32, bh: u32, len: u32, cols: u32, valid: bool }

fn row_of(invocation: RowInvocation, nwg: vec3u) -> Row {
  let T = p.T;
  let row = row_index(invocation, nwg.x);
  let bh = row / T;
  var r: Row;
  r.row = row;
  r.valid = bh < p.B * p.H;
  r.base = row * T;
  r.i = row % T;
  r.bh = bh;
  r.len = 0u;
  r.cols = 0u;
  if (r.valid) {
    r.len = min(lengths[bh / p.H], T);
    r.cols = T;
  }
  return r;
}

@compute @workgroup_size(WG)
fn main(invocation: RowInvocation, @builtin(num_workgroups) nwg: vec3u) {
  let r = row_of(invocation, nwg);
  let lane = row_lane(invocation);
//#ifnot GRADS
  // probs
  var m = -1.0e30;
  for (var j = lane; j < r.len; j += TPR) { m = max(m, s[r.base + j]); }
  m = row_reduce(m, 1u, invocation);
  var l = 0.0;
  for (var j = lane; j < r.len; j += TPR) { l += exp(s[r.base + j] - m); }
  l = row_reduce(l, 0u, invocation);
  let inv = select(0.0, 1.0 / l, l > 0.0);
  if (r.valid && lane == 0u) { lse[r.row] = select(0.0, m + log(l), l > 0.0); }
  for (var q = lane; 4u * q < r.cols; q += TPR) {
    let z = keep4(q, r.i, r.bh);
    for (var c = 0u; c < 4u; c++) {
      let j = 4u * q + c;
      if (j < r.len) { put_prob(r.base + j, exp(s[r.base + j] - m) * inv * z[c]); }
      else if (j < r.cols) { put_prob(r.base + j, 0.0); }
    }
  }
//#else
  // grads
  var lse_i = 0.0;
  if (r.valid) { lse_i = lse[r.row]; }
  var d = 0.0;
  for (var q = lane; 4u * q < r.len; q += TPR) {
    let z = keep4(q, r.i, r.bh);
    for (var c = 0u; c < 4u; c++) {
      let j = 4u * q + c;
      if (j < r.len) { d += exp(s[r.base + j] - lse_i) * z[c] * g[r.base + j]; }
    }
  }
  d = row_reduce(d, 0u, invocation);
  for (var q = lane; 4u * q < r.cols; q += TPR) {
    let z = keep4(q, r.i, r.bh);
    for (var c = 0u; c < 4u; c++) {
      let j = 4u * q + c;
      if (j < r.len) {
        let pj = exp(s[r.base + j] - lse_i);
        g[r.base + j] = pj * (z[c] * g[r.base + j] - d);
        s[r.base + j] = pj * z[c];
      } else if (j < r.cols) {
        g[r.base + j] = 0.0;
        s[r.base + j] = 0.0;
      }
    }
  }
//#endif
}
