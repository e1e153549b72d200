// Sparse softmax cross-entropy over the vocabulary at selected positions, chunked over V:
// logits for all positions never exist at once, only an [S, Vc] tile. hidden [S, h] holds
// the head's output at the selected positions (already gathered), W [V, h] the (tied)
// decoder weight, bias [V]; labels [S] u32 (ids ≥ V, e.g. 0xffffffff or −1 as i32, are
// ignored and counted as bad); meta[0] = number of valid rows (rows ≥ it are ignored).
// Entries (one specialised file):
//  mm (MM): C = op(A)·op(B) with strided operands and an epilogue (p.epi, a uniform so that
//     one pipeline serves all four; the branch is uniform):
//     0 logits tile  Z[i, n]   = H[i,:]·W[v0+n,:] + b[v0+n]
//     1 grad tile    G[i, n]   = scale·(exp(Z − lse_i) − [v0+n = label_i]) (0 on invalid rows)
//     4 the same in place from the forward's tile (K = 0; one chunk covers V: no recompute)
//     2 dH          (+)= G·W[v0 : v0+Vc, :]
//     3 dW[v0+m, :] (+)= Σ_i G[i, m]·H[i, :]   and  db[v0+m] (+)= Σ_i G[i, m]
//     each invocation owns a TM×TN register tile and loops over K: every output element is
//     written by one invocation in a fixed order (deterministic, no atomics).
//  row_stats (ROWSTATS): per row of a logits tile: (max, Σ exp(z − max), argmax) → partial.
//  finalize (FINAL, one workgroup): combine the chunks per row in order → stats[i] =
//     (lse, loss_i = lse − z_label, argmax, valid); totals at stats[4S ..] =
//     [weight·mean loss, Σ loss, #valid, #correct (argmax = label), #bad labels, scale =
//     weight / max(#valid, 1), 0, 0].

const TM: u32 = 4u;
const TN: u32 = 4u;
const WGX: u32 = 8u;
const WGY: u32 = 8u;
const WG: u32 = 256u;

struct Params {
  M: u32, N: u32, K: u32, aRs: u32,
  aCs: u32, bRs: u32, bCs: u32, bOff: u32,
  ldc: u32, cOff: u32, v0: u32, accumulate: u32,
  S: u32, V: u32, h: u32, nChunks: u32,
  tileLd: u32, chunk: u32, weight: f32, epi: u32,
}

//#if MM
//#if VEC4
// Both operands contiguous along K (the logits product H·Wᵀ, h % 4 == 0): vec4 loads.
@group(0) @binding(0) var<storage, read> A: array<vec4f>;
@group(0) @binding(1) var<storage, read> B: array<vec4f>;
//#else
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
//#endif
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> labels: array<u32>;
@group(0) @binding(6) var<storage, read_write> db: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(WGX, WGY)
fn mm(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = (wid.y * WGY + lid.y) * TM;
  let col0 = (wid.x * WGX + lid.x) * TN;
  if (row0 >= p.M || col0 >= p.N) { return; }
  var acc: array<f32, TM * TN>;
  var accb: array<f32, TM>;
  var ar: array<u32, TM>;
  var bc: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { ar[i] = min(row0 + i, p.M - 1u) * p.aRs; }
  for (var j = 0u; j < TN; j++) { bc[j] = p.bOff + min(col0 + j, p.N - 1u) * p.bCs; }
//#if VEC4
  for (var i = 0u; i < TM; i++) { ar[i] = ar[i] / 4u; }
  for (var j = 0u; j < TN; j++) { bc[j] = bc[j] / 4u; }
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    var a: array<vec4f, TM>;
    var b: array<vec4f, TN>;
    for (var i = 0u; i < TM; i++) { a[i] = A[ar[i] + k4]; }
    for (var j = 0u; j < TN; j++) { b[j] = B[bc[j] + k4]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] += dot(a[i], b[j]); }
    }
  }
//#else
  for (var k = 0u; k < p.K; k++) {
    var a: array<f32, TM>;
    var b: array<f32, TN>;
    let ak = k * p.aCs;
    let bk = k * p.bRs;
    for (var i = 0u; i < TM; i++) { a[i] = A[ar[i] + ak]; }
    for (var j = 0u; j < TN; j++) { b[j] = B[bc[j] + bk]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]); }
      if (p.epi == 3u) { accb[i] += a[i]; }
    }
  }
//#endif
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let c = col0 + j;
      if (c >= p.N) { break; }
      let idx = p.cOff + r * p.ldc + c;
      var x = acc[i * TN + j];
      if (p.epi == 0u) {
        x += bias[p.v0 + c];
      } else if (p.epi == 1u || p.epi == 4u) {
        var g = 0.0;
        if (stats[r * 4u + 3u] != 0.0) {
          let v = p.v0 + c;
          var z = x + bias[v];
          if (p.epi == 4u) { z = C[idx]; } // K = 0: the forward's logits, still in the tile

          g = exp(z - stats[r * 4u]) - select(0.0, 1.0, labels[r] == v);
          g *= stats[p.S * 4u + 5u];
        }
        x = g;
      } else if (p.accumulate != 0u) {
        x += C[idx];
      }
      C[idx] = x;
    }
    if (p.epi == 3u && col0 == 0u) {
      let bi = p.v0 + r;
      db[bi] = select(accb[i], db[bi] + accb[i], p.accumulate != 0u);
    }
  }
}
//#endif

//#if ROWSTATS
@group(0) @binding(0) var<storage, read> tile: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn row_stats(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  if (i >= min(sel_meta[0], p.S)) { return; }
  let base = i * p.tileLd;
  var m = tile[base];
  var s = 1.0;
  var best = 0u;
  for (var n = 1u; n < p.N; n++) {
    let z = tile[base + n];
    if (z > m) {
      s = s * exp(m - z) + 1.0;
      m = z;
      best = n;
    } else {
      s += exp(z - m);
    }
  }
  partial[p.chunk * p.S + i] = vec4f(m, s, f32(p.v0 + best), 0.0);
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

var<workgroup> red: array<vec4f, WG>;

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
  red[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let t = red[0];
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
