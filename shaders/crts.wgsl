// C-RTS, the cluster-based statistical generator (docs/objectives.md and
// src/kernels/sampling.ts). State: token → cluster map [V], cluster members in CSR form
// (offsets [K+1], members: special tokens excluded by the host builder) and the K×K count
// matrix C (i32, initialised to ones, kept on the GPU).
// Entry `crts_draw` (per selected list entry k < count, original x at pos = list[k]):
//   s = cluster(x); over the non-empty clusters t, c_t = C[s, t] min-max normalised to [0, 1]
//   along row s (all equal → all 0), q_t = exp(β·c_t) / Σ; draw t by inverse CDF with
//   u = unit(r.x), then the member members[off[t] + below(r.y, size_t)], where
//   r = philox((pos, step, stream, 1 + attempt), (seed, 0)). When the member equals x the
//   draw is repeated with the next attempt (at most TRIES); if every attempt gives x, x stays
//   (a replacement equal to the original counts as original).
// Entry `crts_update` (UPDATE): for list entries whose replacement r differs from x,
//   C[cluster(x), cluster(r)] += 1 when the discriminator called it original (logit ≤ 0,
//   it was fooled), −= 1 when it called it replaced (logit > 0). Integer atomics: the result
//   does not depend on the order.
// Cluster ids ≥ K are clamped to K − 1 (bad data stays in range).
//#include token_draw.wgsl

const WG: u32 = 64u;
const TRIES: u32 = 8u;

struct Params { K: u32, capacity: u32, seed: u32, stream: u32, beta: f32, gridX: u32, vocab: u32, _p: u32 }

//#ifnot UPDATE
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> list: array<u32>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<storage, read> cluster: array<u32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read> members: array<u32>;
@group(0) @binding(6) var<storage, read> counts: array<i32>;
@group(0) @binding(7) var<storage, read_write> outIds: array<u32>;
@group(0) @binding(8) var<uniform> st: Step;
@group(0) @binding(9) var<uniform> p: Params;

fn size_of(t: u32) -> u32 {
  return offsets[t + 1u] - offsets[t];
}

@compute @workgroup_size(WG)
fn crts_draw(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.y * p.gridX + wid.x) * WG + lid;
  if (k >= min(sel_meta[0], p.capacity)) { return; }
  let pos = list[k];
  let x = ids[pos];
  let s = min(cluster[min(x, p.vocab - 1u)], p.K - 1u);
  let row = s * p.K;
  var lo = 2147483647;
  var hi = -2147483647 - 1;
  for (var t = 0u; t < p.K; t++) {
    if (size_of(t) > 0u) {
      let c = counts[row + t];
      lo = min(lo, c);
      hi = max(hi, c);
    }
  }
  if (hi < lo) { return; } // no non-empty cluster: nothing to draw from
  let range = f32(hi - lo);
  let inv = select(0.0, p.beta / range, hi > lo);
  var total = 0.0;
  for (var t = 0u; t < p.K; t++) {
    if (size_of(t) > 0u) { total += exp(f32(counts[row + t] - lo) * inv); }
  }
  var y = x;
  for (var a = 0u; a < TRIES; a++) {
    let r = draw(pos, 1u + a);
    let target_mass = rng_unit(r.x) * total;
    var acc = 0.0;
    var pick = 0xffffffffu;
    var last = 0u;
    for (var t = 0u; t < p.K; t++) {
      if (size_of(t) > 0u) {
        last = t;
        acc += exp(f32(counts[row + t] - lo) * inv);
        if (pick == 0xffffffffu && target_mass < acc) { pick = t; }
      }
    }
    if (pick == 0xffffffffu) { pick = last; } // rounding left u·total ≥ the f32 running sum
    let m = members[offsets[pick] + rng_below(r.y, size_of(pick))];
    if (m != x) { y = m; break; }
  }
  outIds[pos] = y;
}
//#else
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> list: array<u32>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<storage, read> cluster: array<u32>;
@group(0) @binding(4) var<storage, read> outIds: array<u32>;
@group(0) @binding(5) var<storage, read> logits: array<f32>;
@group(0) @binding(6) var<storage, read_write> counts: array<atomic<i32>>;
@group(0) @binding(7) var<uniform> st: Step;
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn crts_update(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.y * p.gridX + wid.x) * WG + lid;
  if (k >= min(sel_meta[0], p.capacity)) { return; }
  let pos = list[k];
  let x = ids[pos];
  let r = outIds[pos];
  if (r == x) { return; }
  let cx = min(cluster[min(x, p.vocab - 1u)], p.K - 1u);
  let cr = min(cluster[min(r, p.vocab - 1u)], p.K - 1u);
  let fooled = !(logits[pos] > 0.0);
  atomicAdd(&counts[cx * p.K + cr], select(-1, 1, fooled));
}
//#endif
