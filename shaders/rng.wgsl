// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11), the generator of
// cuRAND and PyTorch. A draw is a pure function of (key, counter), so any kernel can
// regenerate the same numbers from (seed, step, position) with no state and no mask
// tensor: that is what makes runs reproducible and resumable at any step.
// Included by kernels with `//#include rng.wgsl`; reference: src/kernels/ref/rng.ts.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// 32×32 → 64-bit product as (hi, lo); WGSL has no widening multiply.
fn philox_mulhilo(a: u32, b: u32) -> vec2u {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2u(hi, a * b);
}

fn philox4x32_10(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = philox_mulhilo(PHILOX_M0, c.x);
    let p1 = philox_mulhilo(PHILOX_M1, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2u(PHILOX_W0, PHILOX_W1);
  }
  return c;
}

// Uniform in [0, 1) with 24 random bits (exactly representable in f32).
fn rng_unit(x: u32) -> f32 {
  return f32(x >> 8u) * (1.0 / 16777216.0);
}

// Uniform integer in [0, n) by multiply-shift (bias < n / 2^32, negligible for vocabularies).
fn rng_below(x: u32, n: u32) -> u32 {
  return philox_mulhilo(x, n).x;
}

// Hidden dropout's draw for elements 4q .. 4q+3 of a tensor (dropout.wgsl, and the dropout
// fused into layernorm.wgsl's residual add): element e keeps when word e % 4 of this is at
// or above the rate's threshold.
const DROPOUT_TAG: u32 = 0xD809u;
fn dropout_bits(q: u32, seed: u32, step: u32, stream: u32) -> vec4u {
  return philox4x32_10(vec4u(q, step, stream, DROPOUT_TAG), vec2u(seed, 0u));
}
