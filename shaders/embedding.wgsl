// BERT's embedding sum and its deterministic backward. Kernels by define:
//  FWD         out[n, c] = (word[id(n), c] + type[tt(n), c]) + pos[n mod T, c]
//              (Hugging Face's order), id(n) = min(ids[n], V − 1), tt(n) = min(types[n], NT − 1):
//              out-of-range ids are CLAMPED (the host cannot check GPU data), identically
//              in forward and backward.
//  KEYS        keys[i] = id(i) << shift | i for i < N; 0xffffffff padding up to Npad (a power
//              of two): unique keys, so sorting them orders tokens by (id, position).
//  SORT        bitonic sort of keys, ascending. Entry sort_local sorts / merges blocks of
//              L = 2·WG keys in workgroup memory (all steps with j < L); sort_global does one
//              (k, j) step with j ≥ L over the whole array.
//  GRAD_WORD   TPR invocations per vocabulary row v: binary-search v's run in the sorted keys,
//              then each invocation sums dOut rows of those tokens for its columns, in token
//              order: a fixed order, so the result is bit-identical run to run.
//  GRAD_SMALL  tables with few rows: POS = true: grad[t, c] = Σ_b dOut[b·T + t, c] in b order;
//              POS = false (token types): grad[k, c] = Σ_{n: tt(n) = k} dOut[n, c] in n order.
// ACCUMULATE adds to the existing gradient instead of overwriting it.
// F16: out (forward) and dout (backward) stored as f16 (ST); tables, gradients and all
// arithmetic stay f32.
// VEC4 (h a multiple of 4): FWD, GRAD_WORD and GRAD_SMALL move four columns per access (SV /
// FV; columns and strides count these units) — on CPU adapters every access costs per
// invocation, the sorted keys' and token types' loads too. Sums keep their order per column.
//#if F16
enable f16;
alias ST = f16;
//#else
alias ST = f32;
//#endif
//#if VEC4
alias SV = vec4<ST>;
alias FV = vec4f;
const VW: u32 = 4u;
//#else
alias SV = ST;
alias FV = f32;
const VW: u32 = 1u;
//#endif

const WG: u32 = 64u;
const TPR: u32 = 64u;
const ACCUMULATE: bool = false;
const POS: bool = false;

// FWD and GRAD_WORD lay out rows (tokens, vocabulary rows) as the row kernels do.
//#include row_common.wgsl

//#if FWD
struct Params { N: u32, T: u32, h: u32, V: u32, NT: u32, gridX: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> types: array<u32>;
@group(0) @binding(2) var<storage, read> word: array<FV>;
@group(0) @binding(3) var<storage, read> pos: array<FV>;
@group(0) @binding(4) var<storage, read> ttab: array<FV>;
@group(0) @binding(5) var<storage, read_write> out: array<SV>;
@group(0) @binding(6) var<uniform> p: Params;

// TPR invocations per token (1 on CPU adapters, WG on GPUs: coalesced columns).
@compute @workgroup_size(WG)
fn main(invocation: RowInvocation) {
  let n = row_index(invocation, p.gridX);
  if (n >= p.N) { return; } // no row_reduce here: an early return is safe
  let id = min(ids[n], p.V - 1u);
  let tt = min(types[n], p.NT - 1u);
  let t = n % p.T;
  let w = p.h / VW;
  for (var c = row_lane(invocation); c < w; c += TPR) {
    out[n * w + c] = SV((word[id * w + c] + ttab[tt * w + c]) + pos[t * w + c]);
  }
}
//#endif

//#if KEYS
struct Params { N: u32, Npad: u32, V: u32, shift: u32, gridX: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * WG + lid;
  if (i >= p.Npad) { return; }
  var k = 0xffffffffu;
  if (i < p.N) { k = (min(ids[i], p.V - 1u) << p.shift) | i; }
  keys[i] = k;
}
//#endif

//#if SORT
struct Params { Npad: u32, kLo: u32, kHi: u32, j: u32, gridX: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read_write> keys: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

const L: u32 = 2u * WG;
var<workgroup> sk: array<u32, L>;

// Steps k in [kLo, kHi] (doubling), and for each every j < L, on this workgroup's block.
@compute @workgroup_size(WG)
fn sort_local(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = (wid.y * p.gridX + wid.x) * L;
  sk[lid] = keys[base + lid];
  sk[lid + WG] = keys[base + lid + WG];
  workgroupBarrier();
  for (var k = p.kLo; k <= p.kHi; k <<= 1u) {
    for (var j = min(k, L) >> 1u; j > 0u; j >>= 1u) {
      let i = (lid / j) * 2u * j + lid % j;
      let a = sk[i];
      let b = sk[i + j];
      let up = ((base + i) & k) == 0u;
      if ((a > b) == up && a != b) {
        sk[i] = b;
        sk[i + j] = a;
      }
      workgroupBarrier();
    }
  }
  keys[base + lid] = sk[lid];
  keys[base + lid + WG] = sk[lid + WG];
}

@compute @workgroup_size(WG)
fn sort_global(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * p.gridX + wid.x) * WG + lid; // pair index
  if (q >= p.Npad / 2u) { return; }
  let j = p.j;
  let i = (q / j) * 2u * j + q % j;
  let a = keys[i];
  let b = keys[i + j];
  let up = (i & p.kLo) == 0u;
  if ((a > b) == up && a != b) {
    keys[i] = b;
    keys[i + j] = a;
  }
}
//#endif

//#if GRAD_WORD
struct Params { N: u32, V: u32, h: u32, shift: u32, gridX: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<storage, read> keys: array<u32>;
@group(0) @binding(1) var<storage, read> dout: array<SV>;
@group(0) @binding(2) var<storage, read_write> grad: array<FV>;
@group(0) @binding(3) var<uniform> p: Params;

// First index in keys[0, N) whose key is ≥ target.
fn lower_bound(bound: u32) -> u32 {
  var lo = 0u;
  var hi = p.N;
  while (lo < hi) {
    let mid = (lo + hi) >> 1u;
    if (keys[mid] < bound) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

// TPR invocations per vocabulary row (1 on CPU adapters, WG on GPUs).
@compute @workgroup_size(WG)
fn main(invocation: RowInvocation) {
  let v = row_index(invocation, p.gridX);
  if (v >= p.V) { return; } // no row_reduce here: an early return is safe
  let first = lower_bound(v << p.shift);
  var last = p.N;
  if (v + 1u < p.V) { last = lower_bound((v + 1u) << p.shift); }
  let mask = (1u << p.shift) - 1u;
  let w = p.h / VW;
  for (var c = row_lane(invocation); c < w; c += TPR) {
    var acc = FV(0.0);
    for (var i = first; i < last; i++) {
      acc += FV(dout[(keys[i] & mask) * w + c]);
    }
    if (ACCUMULATE) { acc = grad[v * w + c] + acc; }
    grad[v * w + c] = acc;
  }
}
//#endif

//#if GRAD_SMALL
struct Params { N: u32, T: u32, h: u32, rows: u32, NT: u32, gridX: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<storage, read> types: array<u32>;
@group(0) @binding(1) var<storage, read> dout: array<SV>;
@group(0) @binding(2) var<storage, read_write> grad: array<FV>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = p.h / VW;
  let i = (wid.y * p.gridX + wid.x) * WG + lid;
  if (i >= p.rows * w) { return; }
  let r = i / w;
  let c = i - r * w;
  var acc = FV(0.0);
  if (POS) {
    if (r < p.T) {
      for (var n = r; n < p.N; n += p.T) { acc += FV(dout[n * w + c]); }
    }
  } else {
    for (var n = 0u; n < p.N; n++) {
      if (min(types[n], p.NT - 1u) == r) { acc += FV(dout[n * w + c]); }
    }
  }
  if (ACCUMULATE) { acc = grad[i] + acc; }
  grad[i] = acc;
}
//#endif
