// Sparse softmax cross-entropy over the vocabulary at selected positions, chunked over V:
// logits for all positions never exist at once, only an [S, Vc] tile. hidden [S, h] holds
// the head's output at the selected positions (already gathered), W [V, h] the (tied)
// decoder weight, bias [V]; labels [S] u32 (ids ≥ V, e.g. 0xffffffff or −1 as i32, are
// ignored and counted as bad); meta[0] = number of valid rows (rows ≥ it are ignored).
// Entries (one specialised file); the products around them (logits tile Z = H·W_cᵀ + b_c,
// dH (+)= G·W_c, dW_c (+)= Gᵀ·H, db_c (+)= Σ_i G) are the matmul family's
// (src/kernels/xent.ts):
//  row_stats (ROWSTATS): per row of a logits tile: (max, Σ exp(z − max), argmax) → partial.
//  finalize (FINAL, one workgroup): combine the chunks per row in order → stats[i] =
//     (lse, loss_i = lse − z_label, argmax, valid); totals at stats[4S ..] =
//     [weight·mean loss, Σ loss, #valid, #correct (argmax = label), #bad labels, scale =
//     weight / max(#valid, 1), 0, 0].
//  grad (GRAD): the logits tile becomes the gradient tile in place:
//     G[i, n] = scale·(exp(Z[i, n] − lse_i) − [v0+n = label_i]), 0 on invalid rows.

const WG: u32 = 256u;
// VEC4 (the chunk's width and the tile's row stride multiples of 4): row_stats and grad move
// four logits per access (TV / UV, VW = 4 logits per access; LANE: a vector's column offsets) — on CPU adapters
// every access costs per invocation. Without it the same code runs on scalars.
//#if VEC4
alias TV = vec4f;
alias UV = vec4u;
const VW: u32 = 4u;
const LANE: vec4u = vec4u(0u, 1u, 2u, 3u);
fn comp(v: TV, k: u32) -> f32 { return v[k]; }
fn compu(v: UV, k: u32) -> u32 { return v[k]; }
//#else
alias TV = f32;
alias UV = u32;
const VW: u32 = 1u;
const LANE: u32 = 0u;
fn comp(v: TV, k: u32) -> f32 { return v; }
fn compu(v: UV, k: u32) -> u32 { return v; }
//#endif
// The finalize pass's fixed-order totals: (Σ loss, #valid, #correct, #bad).
alias WorkgroupSum = vec4f;
//#include workgroup_sum.wgsl

struct Params {
  S: u32, V: u32, h: u32, nChunks: u32,
  tileLd: u32, chunk: u32, v0: u32, N: u32,
  weight: f32, _p0: u32, _p1: u32, _p2: u32,
}

//#if ROWSTATS
@group(0) @binding(0) var<storage, read> tile: array<TV>;
@group(0) @binding(1) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn row_stats(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  if (i >= min(sel_meta[0], p.S)) { return; }
  // VW running (max, Σ exp(z − max), first argmax) triples, one per column mod VW, with one
  // exp per logit (when the max moves, the sum is rescaled by the same exp), then merged in
  // column order: ties keep the lowest index.
  let base = i * (p.tileLd / VW);
  var m = tile[base];
  var s = TV(1.0);
  var best = UV(0u) + LANE;
  for (var q = 1u; q < p.N / VW; q++) {
    let z = tile[base + q];
    let up = z > m;
    let e = exp(-abs(z - m));
    s = select(s + e, s * e + 1.0, up);
    best = select(best, UV(VW * q) + LANE, up);
    m = max(m, z);
  }
  var mx = comp(m, 0u);
  for (var k = 1u; k < VW; k++) { mx = max(mx, comp(m, k)); }
  var sum = 0.0;
  var arg = 0xffffffffu;
  for (var k = 0u; k < VW; k++) {
    sum += comp(s, k) * exp(comp(m, k) - mx);
    if (comp(m, k) == mx) { arg = min(arg, compu(best, k)); }
  }
  partial[p.chunk * p.S + i] = vec4f(mx, sum, f32(p.v0 + arg), 0.0);
}
//#endif

//#if FINAL
@group(0) @binding(0) var<storage, read> H: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(5) var<storage, read> partial: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn finalize(@builtin(local_invocation_index) lid: u32) {
  let count = min(sel_meta[0], p.S);
  var acc = vec4f(0.0);
  for (var i = lid; i < p.S; i += WG) {
    let label = labels[i];
    var row = vec4f(0.0, 0.0, -1.0, 0.0);
    if (i < count && label >= p.V) { acc.w += 1.0; }
    if (i < count && label < p.V) {
      var m = partial[i].x;
      var arg = partial[i].z;
      for (var c = 1u; c < p.nChunks; c++) {
        let q = partial[c * p.S + i];
        if (q.x > m) { m = q.x; arg = q.z; }
      }
      var s = 0.0;
      for (var c = 0u; c < p.nChunks; c++) {
        let q = partial[c * p.S + i];
        s += q.y * exp(q.x - m);
      }
      let lse = m + log(s);
      var zl = bias[label];
      for (var k = 0u; k < p.h; k++) { zl = fma(H[i * p.h + k], W[label * p.h + k], zl); }
      let loss = lse - zl;
      let correct = u32(arg) == label;
      row = vec4f(lse, loss, arg, 1.0);
      acc = acc + vec4f(loss, 1.0, select(0.0, 1.0, correct), 0.0);
    }
    stats[i * 4u] = row.x;
    stats[i * 4u + 1u] = row.y;
    stats[i * 4u + 2u] = row.z;
    stats[i * 4u + 3u] = row.w;
  }
  let t = workgroup_sum(acc, lid);
  if (lid == 0u) {
    let scale = p.weight / max(t.y, 1.0);
    let o = p.S * 4u;
    stats[o] = t.x * scale;
    stats[o + 1u] = t.x;
    stats[o + 2u] = t.y;
    stats[o + 3u] = t.z;
    stats[o + 4u] = t.w;
    stats[o + 5u] = scale;
    stats[o + 6u] = 0.0;
    stats[o + 7u] = 0.0;
  }
}
//#endif

//#if GRAD
@group(0) @binding(0) var<storage, read_write> tile: array<TV>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
//#if SCALED
// Mixed precision's dynamic loss scale (element 0): the gradient is seeded scaled, so that
// small activation gradients survive f16; the clip unscales before AdamW.
@group(0) @binding(4) var<storage, read> grad_scale: array<f32>;
//#endif

// Each invocation turns GC consecutive entries of one row (GC / VW accesses): the row's stats
// are loaded once (on CPU adapters every invocation's load is a separate access).
const GC: u32 = 16u;

@compute @workgroup_size(WG)
fn grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let per_row = (p.N + GC - 1u) / GC;
  let e = (wid.y * nwg.x + wid.x) * WG + lid;
  if (e >= p.S * per_row) { return; }
  let r = e / per_row;
  let c0 = (e % per_row) * GC;
  let c1 = min(c0 + GC, p.N);
  let base = r * (p.tileLd / VW);
  if (stats[r * 4u + 3u] == 0.0) {
    for (var c = c0; c < c1; c += VW) { tile[base + c / VW] = TV(0.0); }
    return;
  }
  let lse = stats[r * 4u];
  var scale = stats[p.S * 4u + 5u];
//#if SCALED
  scale *= grad_scale[0];
//#endif
  let label = labels[r];
  for (var c = c0; c < c1; c += VW) {
    let g = exp(tile[base + c / VW] - lse) - select(TV(0.0), TV(1.0), UV(label) == UV(p.v0 + c) + LANE);
    tile[base + c / VW] = g * scale;
  }
}
//#endif
