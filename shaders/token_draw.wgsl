// The random draws of the token samplers (sampling.wgsl, crts.wgsl), included by each with
// `//#include token_draw.wgsl`, so that both follow one counter convention (described in
// sampling.wgsl; host twin `draw` in src/kernels/ref/sampling.ts): Philox4x32-10 of counter
// (position, step, stream, sub) under key (seed, 0). The includer binds `st: Step` and a
// uniform `p` with `seed` and `stream`.
//#include rng.wgsl

// The step buffer, written by the trainer each step (AdamW's shader reads the same one).
struct Step { step: u32, lr: f32, _p0: u32, _p1: u32 }

fn draw(pos: u32, sub: u32) -> vec4u {
  return philox4x32_10(vec4u(pos, st.step, p.stream, sub), vec2u(p.seed, 0u));
}
