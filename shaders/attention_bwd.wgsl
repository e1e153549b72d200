// Fused attention, backward: dqkv from dOut, recomputing the probabilities from qkv and the
// saved row log-sum-exp (layout and dropout mask as in attention.wgsl). Two entry points,
// both deterministic (every sum in a fixed order, no atomics):
//   dq  — query-major: one invocation per query row i, looping over key tiles:
//         dQ_i = scale · Σ_j dS_ij · k_j
//   dkv — key-major: one invocation per key j, looping over query tiles:
//         dV_j = Σ_i P̃_ij · dO_i,   dK_j = scale · Σ_i dS_ij · q_i
// with P_ij = exp(s_ij − lse_i), P̃ = P ∘ mask/(1−p), dP_ij = (dO_i · v_j) ∘ mask/(1−p),
// dS_ij = P_ij (dP_ij − Δ_i) and Δ_i = dO_i · O_i (= Σ_j P_ij dP_ij), computed in place from
// out and dOut. Keys j ≥ length get zero gradients; padded query rows contribute like others.
// QROWS: only the selected queries (attention_common.wgsl); dQ's other rows are zero.
//#if F16
enable f16;
//#endif
//#include rng.wgsl
//#include attention_common.wgsl


@group(0) @binding(0) var<storage, read> qkv: array<S4>;
@group(0) @binding(1) var<storage, read> out: array<S4>;
@group(0) @binding(2) var<storage, read> dout: array<S4>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> lengths: array<u32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<S4>;
@group(0) @binding(6) var<uniform> p: Params;

// dq: K and V tiles in ta/tb (attention_common.wgsl); dkv: Q and dO tiles there, with their lse and Δ here.
var<workgroup> sa: array<f32, BT>;
var<workgroup> sb: array<f32, BT>;
//#if QROWS
var<workgroup> sq: array<u32, BT>; // dkv: the staged queries' positions
//#endif

// Δ_i = dO_i · O_i for row i of (b, h).
fn delta(orow: u32) -> f32 {
  var acc = vec4f(0.0);
  let nd = head_loop_bound();
  for (var d = 0u; d < nd; d++) { acc = fma(vec4f(dout[orow + d]), vec4f(out[orow + d]), acc); }
  return acc.x + acc.y + acc.z + acc.w;
}

@compute @workgroup_size(WG)
fn dq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let hd = head_of(wid);
  let T = p.T; let H = p.H; let b = hd.b; let h = hd.h; let bh = hd.bh; let len = hd.len;
  let i = wid.x * WG + lid;
  let row = min(i, T - 1u); // invocations past the end compute a copy of the last row, never stored
  let nq = query_count(b);
  let pos = query_position(b, row);
  let W4 = 3u * H * D4;
  let qo = (b * T + row) * W4 + h * D4;
  let oo = (b * T + row) * H * D4 + h * D4;
  let dropping = p.dropP > 0.0;
  let nd = head_loop_bound();
  let kend = select(0u, len, wid.x * WG < nq); // workgroups with no live row skip the keys

  var q: array<vec4f, D4>;
  var g: array<vec4f, D4>;
  var acc: array<vec4f, D4>;
  for (var d = 0u; d < nd; d++) {
    q[d] = vec4f(qkv[qo + d]) * p.scale;
    g[d] = vec4f(dout[oo + d]);
    acc[d] = vec4f(0.0);
  }
  let di = delta(oo);
  let li = lse[bh * T + row];

  for (var j0 = 0u; j0 < kend; j0 += BT) {
    workgroupBarrier();
    stage_kv(b, h, j0, len, lid);
    workgroupBarrier();
    let nk = min(BT, len - j0);
    var r = vec4u(0u);
    for (var jj = 0u; jj < nk; jj++) {
      var st = vec4f(0.0);
      var gt = vec4f(0.0);
      for (var d = 0u; d < nd; d++) {
        st = fma(q[d], ta[jj * D4 + d], st);
        gt = fma(g[d], tb[jj * D4 + d], gt);
      }
      let pr = exp(st.x + st.y + st.z + st.w - li);
      var dp = gt.x + gt.y + gt.z + gt.w;
      if (dropping) {
        if ((jj & 3u) == 0u) { r = philox4x32_10(vec4u((j0 + jj) >> 2u, pos, bh, p.step), vec2u(p.seed, p.stream)); }
        dp = select(0.0, dp * p.dropScale, rng_unit(r[jj & 3u]) >= p.dropP);
      }
      let ds = pr * (dp - di);
      for (var d = 0u; d < nd; d++) { acc[d] = fma(vec4f(ds), ta[jj * D4 + d], acc[d]); }
    }
  }

  if (i < T) {
    let f = select(0.0, p.scale, i < nq); // rows past the count: zero
    for (var d = 0u; d < nd; d++) { dqkv[qo + d] = S4(acc[d] * f); }
  }
}

@compute @workgroup_size(WG)
fn dkv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let hd = head_of(wid);
  let T = p.T; let H = p.H; let b = hd.b; let h = hd.h; let bh = hd.bh; let len = hd.len;
  let j = wid.x * WG + lid;
  let col = min(j, T - 1u);
  let valid = j < len;
  let W4 = 3u * H * D4;
  let ko = (b * T + col) * W4 + H * D4 + h * D4;
  let vo = ko + H * D4;
  let dropping = p.dropP > 0.0;
  let nd = head_loop_bound();
  let jw = j & 3u;

  var k: array<vec4f, D4>;
  var v: array<vec4f, D4>;
  var dk: array<vec4f, D4>;
  var dv: array<vec4f, D4>;
  for (var d = 0u; d < nd; d++) {
    k[d] = vec4f(qkv[ko + d]) * p.scale;
    v[d] = vec4f(qkv[vo + d]);
    dk[d] = vec4f(0.0);
    dv[d] = vec4f(0.0);
  }

  // Workgroups whose keys are all padding skip the loop (their gradients are zero).
  let qend = select(0u, query_count(b), wid.x * WG < len);
  for (var i0 = 0u; i0 < qend; i0 += BT) {
    workgroupBarrier();
    for (var e = lid; e < BT * D4; e += WG) {
      let i = min(i0 + e / D4, T - 1u);
      ta[e] = vec4f(qkv[(b * T + i) * W4 + h * D4 + e % D4]);
      tb[e] = vec4f(dout[(b * T + i) * H * D4 + h * D4 + e % D4]);
    }
    for (var e = lid; e < BT; e += WG) {
      let i = min(i0 + e, T - 1u);
      sa[e] = lse[bh * T + i];
      sb[e] = delta((b * T + i) * H * D4 + h * D4);
//#if QROWS
      sq[e] = query_position(b, i);
//#endif
    }
    workgroupBarrier();
    if (valid) {
      let nq = min(BT, qend - i0);
      for (var ii = 0u; ii < nq; ii++) {
        var st = vec4f(0.0);
        var gt = vec4f(0.0);
        for (var d = 0u; d < nd; d++) {
          st = fma(k[d], ta[ii * D4 + d], st);
          gt = fma(v[d], tb[ii * D4 + d], gt);
        }
        let pr = exp(st.x + st.y + st.z + st.w - sa[ii]);
        var f = 1.0;
        if (dropping) {
//#if QROWS
          let qi = sq[ii];
//#else
          let qi = i0 + ii;
//#endif
          let r = philox4x32_10(vec4u(j >> 2u, qi, bh, p.step), vec2u(p.seed, p.stream));
          f = select(0.0, p.dropScale, rng_unit(r[jw]) >= p.dropP);
        }
        let dp = (gt.x + gt.y + gt.z + gt.w) * f;
        let ds = pr * (dp - sb[ii]);
        let pt = pr * f;
        for (var d = 0u; d < nd; d++) {
          dv[d] = fma(vec4f(pt), tb[ii * D4 + d], dv[d]);
          dk[d] = fma(vec4f(ds), ta[ii * D4 + d], dk[d]);
        }
      }
    }
  }

  if (j < T) {
    for (var d = 0u; d < nd; d++) {
      dqkv[ko + d] = S4(dk[d] * p.scale);
      dqkv[vo + d] = S4(dv[d]);
    }
  }
}
