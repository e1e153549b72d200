// Token sampling for the pre-training objectives, from the counter RNG (no state, no mask
// tensor): every draw is Philox4x32-10 of counter (position, step, stream, sub) under key
// (seed, 0), where position indexes the flattened [B·T] batch, step comes from the step
// buffer, stream is fixed per op and sub says which draw (0 selection, 1 corruption,
// 0x10000 + v/4 Gumbel noise for vocabulary ids v..v+3). A run is reproducible from its seed
// and resumable at any step. Host twin: src/kernels/ref/sampling.ts (bit-identical).
//
// Selection (entries count_blocks → scan_blocks → scatter; deterministic, prefix-sum based):
// position i is selected when ids[i] < V, special[ids[i]] == 0 (padding is a special id) and
// (philox(...sub 0).x >> 8) < pThresh24 (= round(p·2^24)). Selected positions are written in
// increasing order to list[0 .. count), with their original ids in labels[]; entries
// count .. capacity get 0xffffffff. sel_meta = [count = min(total, capacity), total, overflow =
// total − count, 0]: overflow is counted, never silent. scatter also copies ids to outIds.
// corrupt: for list entries k < count (MODE 0 = MLM 80/10/10: [MASK] / uniform / unchanged;
// MODE 1 = uniform replacement): uniform tokens are allowed[below(nAllowed)], allowed being
// the non-special vocabulary ids, so no special id is ever produced.
// detect_labels: per position, target = (outIds != ids), weight = 1 for non-special,
// non-padding positions else 0 (the BCE inputs of RTS / C-RTS / ELECTRA's discriminator).
// gumbel: argmax over v of logits[k, v] + Gumbel noise, special ids excluded, per list entry
// k, over vocabulary chunks (best value/index carried in `best` between chunks; ties keep
// the lowest id); the last chunk writes the sample into outIds[list[k]] and samples[k].
// unigram (UNIGRAM): per list entry k < count, original x at pos = list[k]: attempt a (0 ..
// TRIES−1) draws u = philox(...sub 1 + a).x >> 1, uniform in [0, 2^31), and picks the smallest
// id v with cdf[v] > u (binary search; cdf = the u32 inclusive cumulative table of count^α,
// total exactly 2^31, flat over special ids, built by src/kernels/unigram.ts); the first pick
// ≠ x replaces x, and if all TRIES picks equal x, x stays (it then counts as original).
//#include token_draw.wgsl

const WG: u32 = 256u;
const PER: u32 = 4u;
const MODE: u32 = 0u;
const TRIES: u32 = 8u;

struct Params {
  n: u32, nBlocks: u32, capacity: u32, vocab: u32,
  seed: u32, stream: u32, pThresh24: u32, nAllowed: u32,
  maskId: u32, tMask24: u32, tRandom24: u32, gridX: u32,
  v0: u32, vcount: u32, ld: u32, flags: u32,
}

//#if SELECT
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> special: array<u32>;
@group(0) @binding(2) var<storage, read_write> blocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> sel_meta: array<u32>;
@group(0) @binding(4) var<storage, read_write> list: array<u32>;
@group(0) @binding(5) var<storage, read_write> labels: array<u32>;
@group(0) @binding(6) var<storage, read_write> outIds: array<u32>;
@group(0) @binding(7) var<uniform> st: Step;
@group(0) @binding(8) var<uniform> p: Params;
//#endif
//#if CORRUPT
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> allowed: array<u32>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<storage, read> list: array<u32>;
@group(0) @binding(4) var<storage, read_write> outIds: array<u32>;
@group(0) @binding(5) var<uniform> st: Step;
@group(0) @binding(6) var<uniform> p: Params;
//#endif
//#if UNIGRAM
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> cdf: array<u32>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<storage, read> list: array<u32>;
@group(0) @binding(4) var<storage, read_write> outIds: array<u32>;
@group(0) @binding(5) var<uniform> st: Step;
@group(0) @binding(6) var<uniform> p: Params;
//#endif
//#if DETECT
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> special: array<u32>;
@group(0) @binding(2) var<storage, read> outIds: array<u32>;
@group(0) @binding(3) var<storage, read_write> tgt: array<f32>;
@group(0) @binding(4) var<storage, read_write> weight: array<f32>;
@group(0) @binding(5) var<uniform> st: Step;
@group(0) @binding(6) var<uniform> p: Params;
//#endif
//#if GUMBEL
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> special: array<u32>;
@group(0) @binding(2) var<storage, read> sel_meta: array<u32>;
@group(0) @binding(3) var<storage, read> list: array<u32>;
@group(0) @binding(4) var<storage, read_write> best: array<vec2u>;
@group(0) @binding(5) var<storage, read_write> outIds: array<u32>;
@group(0) @binding(6) var<storage, read_write> samples: array<u32>;
@group(0) @binding(7) var<uniform> st: Step;
@group(0) @binding(8) var<uniform> p: Params;
//#endif

var<workgroup> sh: array<u32, WG>;
var<workgroup> shv: array<f32, WG>;

// Inclusive prefix sum of sh[] over the workgroup (Hillis–Steele).
fn scan_inclusive(lid: u32) {
  for (var o = 1u; o < WG; o <<= 1u) {
    workgroupBarrier();
    var v = sh[lid];
    if (lid >= o) { v += sh[lid - o]; }
    workgroupBarrier();
    sh[lid] = v;
  }
  workgroupBarrier();
}

//#if SELECT
fn selected(i: u32) -> bool {
  if (i >= p.n) { return false; }
  let x = ids[i];
  if (x >= p.vocab) { return false; }
  if (special[x] != 0u) { return false; }
  return (draw(i, 0u).x >> 8u) < p.pThresh24;
}

@compute @workgroup_size(WG)
fn count_blocks(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = (wid.x * WG + lid) * PER;
  var c = 0u;
  for (var j = 0u; j < PER; j++) { c += select(0u, 1u, selected(base + j)); }
  sh[lid] = c;
  scan_inclusive(lid);
  if (lid == WG - 1u) { blocks[wid.x] = sh[lid]; }
}

@compute @workgroup_size(WG)
fn scan_blocks(@builtin(local_invocation_index) lid: u32) {
  let per = (p.nBlocks + WG - 1u) / WG;
  let b0 = lid * per;
  var s = 0u;
  for (var j = 0u; j < per; j++) {
    if (b0 + j < p.nBlocks) { s += blocks[b0 + j]; }
  }
  sh[lid] = s;
  scan_inclusive(lid);
  var off = sh[lid] - s;
  for (var j = 0u; j < per; j++) {
    if (b0 + j < p.nBlocks) {
      let c = blocks[b0 + j];
      blocks[b0 + j] = off;
      off += c;
    }
  }
  let total = sh[WG - 1u];
  let count = min(total, p.capacity);
  if (lid == 0u) {
    sel_meta[0] = count;
    sel_meta[1] = total;
    sel_meta[2] = total - count;
    sel_meta[3] = 0u;
  }
  for (var k = count + lid; k < p.capacity; k += WG) {
    list[k] = 0xffffffffu;
    labels[k] = 0xffffffffu;
  }
}

@compute @workgroup_size(WG)
fn scatter(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = (wid.x * WG + lid) * PER;
  var c = 0u;
  var f: array<bool, PER>;
  for (var j = 0u; j < PER; j++) {
    f[j] = selected(base + j);
    c += select(0u, 1u, f[j]);
    if (base + j < p.n) { outIds[base + j] = ids[base + j]; }
  }
  sh[lid] = c;
  scan_inclusive(lid);
  var rank = blocks[wid.x] + sh[lid] - c;
  for (var j = 0u; j < PER; j++) {
    if (f[j]) {
      if (rank < p.capacity) {
        list[rank] = base + j;
        labels[rank] = ids[base + j];
      }
      rank++;
    }
  }
}
//#endif

//#if CORRUPT
@compute @workgroup_size(WG)
fn corrupt(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.y * p.gridX + wid.x) * WG + lid;
  if (k >= min(sel_meta[0], p.capacity)) { return; }
  let pos = list[k];
  let r = draw(pos, 1u);
  let uniformTok = allowed[rng_below(r.y, p.nAllowed)];
  var y = uniformTok;
  if (MODE == 0u) {
    let u = r.x >> 8u;
    if (u < p.tMask24) { y = p.maskId; } else if (u >= p.tRandom24) { y = ids[pos]; }
  }
  outIds[pos] = y;
}
//#endif

//#if UNIGRAM
// Smallest v in [0, vocab) with cdf[v] > u (exists: cdf[vocab − 1] = 2^31 > u).
fn unigram_pick(u: u32) -> u32 {
  var lo = 0u;
  var hi = p.vocab - 1u;
  while (lo < hi) {
    let mid = (lo + hi) >> 1u;
    if (cdf[mid] > u) { hi = mid; } else { lo = mid + 1u; }
  }
  return lo;
}

@compute @workgroup_size(WG)
fn unigram(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.y * p.gridX + wid.x) * WG + lid;
  if (k >= min(sel_meta[0], p.capacity)) { return; }
  let pos = list[k];
  let x = ids[pos];
  var y = x;
  for (var a = 0u; a < TRIES; a++) {
    let m = unigram_pick(draw(pos, 1u + a).x >> 1u);
    if (m != x) { y = m; break; }
  }
  outIds[pos] = y;
}
//#endif

//#if DETECT
@compute @workgroup_size(WG)
fn detect_labels(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let x = ids[i];
  var real = false;
  if (x < p.vocab) { real = special[x] == 0u; }
  tgt[i] = select(0.0, 1.0, real && outIds[i] != x);
  weight[i] = select(0.0, 1.0, real);
}
//#endif

//#if GUMBEL
// Chunk [v0, v0 + vcount) of the vocabulary; logits row k starts at k·ld (logit of id v at
// column v − v0). flags: bit 0 first chunk, bit 1 last chunk.
@compute @workgroup_size(WG)
fn gumbel(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.y * p.gridX + wid.x;
  if (k >= min(sel_meta[0], p.capacity)) { return; }
  let pos = list[k];
  var bv = -3.0e38;
  var bi = 0xffffffffu;
  let end = p.v0 + p.vcount;
  for (var q = (p.v0 >> 2u) + lid; q * 4u < end; q += WG) {
    let r = draw(pos, 0x10000u + q);
    for (var j = 0u; j < 4u; j++) {
      let v = q * 4u + j;
      if (v >= p.v0 && v < end && special[v] == 0u) {
        let u = (f32(r[j] >> 8u) + 0.5) * (1.0 / 16777216.0);
        let val = logits[k * p.ld + (v - p.v0)] - log(-log(u));
        if (val > bv) { bv = val; bi = v; }
      }
    }
  }
  shv[lid] = bv;
  sh[lid] = bi;
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lid < s) {
      let ov = shv[lid + s];
      let oi = sh[lid + s];
      if (ov > shv[lid] || (ov == shv[lid] && oi < sh[lid])) { shv[lid] = ov; sh[lid] = oi; }
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    var v = shv[0];
    var i = sh[0];
    if ((p.flags & 1u) == 0u) {
      let prev = best[k];
      let pv = bitcast<f32>(prev.x);
      if (!(v > pv)) { v = pv; i = prev.y; }
    }
    best[k] = vec2u(bitcast<u32>(v), i);
    if ((p.flags & 2u) != 0u) {
      if (i != 0xffffffffu) { outIds[pos] = i; }
      samples[k] = i;
    }
  }
}
//#endif
