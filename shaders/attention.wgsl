// Fused attention, forward (flash-style): out = dropout(softmax(Q·Kᵀ·scale + key mask))·V,
// with an online softmax over key tiles; only the row log-sum-exp is saved (for backward).
// No T×T matrix touches global memory.
//
// Layout: qkv [B, T, 3·H·D] (all heads' Q, then K, then V; head h at columns h·D..h·D+D-1
// of each third), out [B, T, H·D], lse [B, H, T] f32, lengths [B] u32 (valid tokens,
// padding at the end). Keys j ≥ length get probability 0; every query row attends normally
// over the valid keys (padded rows too, so their outputs are finite). Length 0: out = 0,
// lse = 0.
// One invocation owns one query row (q and the output accumulator in registers); the
// workgroup stages tiles of BT keys and values in workgroup memory (stage_kv).
// Dropout: word j&3 of philox4x32_10((j>>2, i, b·H+h, step), (seed, stream)) keeps the
// probability iff rng_unit(word) ≥ dropP; kept ones are scaled by dropScale = 1/(1−dropP).
// QROWS: only the selected queries (attention_common.wgsl), the others' rows zero.
// Reference: src/kernels/ref/attention.ts. Backward: attention_bwd.wgsl.
//#if F16
enable f16;
//#endif
//#include rng.wgsl
//#include attention_common.wgsl


@group(0) @binding(0) var<storage, read> qkv: array<S4>;
@group(0) @binding(1) var<storage, read> lengths: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<S4>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;


@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let hd = head_of(wid);
  let T = p.T; let H = p.H; let b = hd.b; let h = hd.h; let bh = hd.bh; let len = hd.len;
  let i = wid.x * WG + lid;
  let row = min(i, T - 1u); // invocations past the end compute a copy of the last row, never stored
  let nq = query_count(b);
  let live = i < nq;        // rows past the count store zeros
  let pos = query_position(b, row);
  let W4 = 3u * H * D4;     // qkv row width in vec4s
  let qo = (b * T + row) * W4 + h * D4;
  let dropping = p.dropP > 0.0;
  let nd = head_loop_bound();
  // Workgroups with no live row skip the keys (a workgroup-uniform bound: barriers inside).
  let kend = select(0u, len, wid.x * WG < nq);

  var q: array<vec4f, D4>;
  var acc: array<vec4f, D4>;
  for (var d = 0u; d < nd; d++) {
    q[d] = vec4f(qkv[qo + d]) * p.scale;
    acc[d] = vec4f(0.0);
  }
  var m = -1.0e30; // running max (finite, so exp(m − m') never sees inf − inf)
  var l = 0.0;     // running sum of exp(s − m)
  var s: array<f32, BT>;

  for (var j0 = 0u; j0 < kend; j0 += BT) {
    workgroupBarrier();
    stage_kv(b, h, j0, len, lid);
    workgroupBarrier();
    let nk = min(BT, len - j0);
    var mb = m;
    for (var jj = 0u; jj < nk; jj++) {
      var dt = vec4f(0.0);
      for (var d = 0u; d < nd; d++) { dt = fma(q[d], ta[jj * D4 + d], dt); }
      s[jj] = dt.x + dt.y + dt.z + dt.w;
      mb = max(mb, s[jj]);
    }
    let corr = exp(m - mb);
    l *= corr;
    for (var d = 0u; d < nd; d++) { acc[d] *= corr; }
    var r = vec4u(0u);
    for (var jj = 0u; jj < nk; jj++) {
      let e = exp(s[jj] - mb);
      l += e;
      var w = e;
      if (dropping) {
        if ((jj & 3u) == 0u) { r = philox4x32_10(vec4u((j0 + jj) >> 2u, pos, bh, p.step), vec2u(p.seed, p.stream)); }
        w = select(0.0, e * p.dropScale, rng_unit(r[jj & 3u]) >= p.dropP);
      }
      for (var d = 0u; d < nd; d++) { acc[d] = fma(vec4f(w), tb[jj * D4 + d], acc[d]); }
    }
    m = mb;
  }

  if (i < T) {
    let inv = select(0.0, 1.0 / l, l > 0.0 && live);
    let oo = (b * T + i) * H * D4 + h * D4;
    for (var d = 0u; d < nd; d++) { out[oo + d] = S4(acc[d] * inv); }
    lse[bh * T + i] = select(0.0, m + log(l), l > 0.0 && live);
  }
}
