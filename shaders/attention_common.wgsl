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

struct Params { T: u32, H: u32, scale: f32, dropP: f32, dropScale: f32, seed: u32, stream: u32, step: u32 }
