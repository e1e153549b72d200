// Shared by the fused attention kernels (attention.wgsl, attention_bwd.wgsl), included by
// each: the specialised sizes, the storage type and the uniform (layout in src/kernels/attention.ts).

const D: u32 = 64u;   // head dimension (multiple of 4)
const WG: u32 = 64u;  // rows per workgroup, one per invocation (queries; keys for dkv)
const BT: u32 = 16u;  // rows per workgroup-memory tile (keys; queries for dkv; multiple of 4)
const D4: u32 = D / 4u;
// UNROLL = false hides the head-dim loop bound from the compiler (it equals D4, read through
// the uniform), so loops over D stay loops: unrolled, D = 128 took minutes to compile on
// lavapipe. GPUs may prefer UNROLL = true (registers instead of indexed private arrays).
const UNROLL: bool = false;

//#if F16
alias S4 = vec4<f16>;
//#else
alias S4 = vec4<f32>;
//#endif

fn head_loop_bound() -> u32 {
  return select(D4 + (p.T >> 31u), D4, UNROLL); // p.T < 2^31: always D4
}

// The uniform's first nine words (attention_probs.wgsl's row kernels read a tenth).
struct Params { T: u32, H: u32, scale: f32, dropP: f32, dropScale: f32, seed: u32, stream: u32, step: u32, B: u32 }

// QROWS (attention over a subset of each sequence's queries, as attention_probs.wgsl's): a
// query row i of sequence b is the i-th selected query, at position qrows[b·T + i] − b·T (its
// dropout draws are that position's, as the full attention's would be); `lengths` holds the
// B key lengths, then the B query counts. Rows at or past the count cost nothing: their
// outputs, lse and dQ are zero and they add nothing to dK and dV.
const QROWS_BINDING: u32 = 5u;
//#if QROWS
@group(0) @binding(QROWS_BINDING) var<storage, read> qrows: array<u32>;
//#endif

// How many query rows sequence b has (every position, or its selected queries).
fn query_count(b: u32) -> u32 {
//#if QROWS
  return min(lengths[p.B + b], p.T);
//#else
  return p.T;
//#endif
}

// The position of query row i (< T) of sequence b: where its dropout draws are made.
fn query_position(b: u32, i: u32) -> u32 {
//#if QROWS
  return qrows[b * p.T + i] - b * p.T;
//#else
  return i;
//#endif
}

// Workgroup tiles: BT rows of D (keys and values; the dkv pass stages queries and dO).
var<workgroup> ta: array<vec4f, BT * D4>;
var<workgroup> tb: array<vec4f, BT * D4>;

// Stage keys j0 .. j0+BT−1 of head (b, h) into ta (K) and tb (V); keys ≥ len are zeros.
// Called by every invocation between barriers.
fn stage_kv(b: u32, h: u32, j0: u32, len: u32, lid: u32) {
  let W4 = 3u * p.H * D4;   // qkv row width in vec4s
  let ko = p.H * D4;        // K columns start here within a row; V at 2·ko
  for (var e = lid; e < BT * D4; e += WG) {
    let j = j0 + e / D4;
    var kv = vec4f(0.0);
    var vv = vec4f(0.0);
    if (j < len) {
      let o = (b * p.T + j) * W4 + h * D4 + e % D4;
      kv = vec4f(qkv[o + ko]);
      vv = vec4f(qkv[o + 2u * ko]);
    }
    ta[e] = kv;
    tb[e] = vv;
  }
}

// The (batch b, head h) a workgroup serves (row wid.y of the grid) and its valid length —
// workgroup-uniform values (loop bounds around barriers), so nothing per invocation here.
struct Head { b: u32, h: u32, bh: u32, len: u32 }

fn head_of(wid: vec3u) -> Head {
  let b = wid.y / p.H;
  return Head(b, wid.y % p.H, wid.y, min(lengths[b], p.T));
}
