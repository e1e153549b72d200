// Fill a tensor from the counter RNG: element i uses Philox counter (i, offset, stream, 0)
// with key (seed, 0). OP (specialised): 0 raw u32 bits, 1 uniform [a, b), 2 normal(a, b²)
// by Box–Muller over two words of the same draw.
//#include rng.wgsl

const OP: u32 = 0u;
const WG: u32 = 256u;

struct Params { n: u32, gridX: u32, seed: u32, stream: u32, offset: u32, a: f32, b: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let r = philox4x32_10(vec4u(i, p.offset, p.stream, 0u), vec2u(p.seed, 0u));
  if (OP == 0u) {
    out[i] = r.x;
  } else if (OP == 1u) {
    out[i] = bitcast<u32>(p.a + (p.b - p.a) * rng_unit(r.x));
  } else {
    let u1 = 1.0 - rng_unit(r.x); // (0, 1]: log stays finite
    let u2 = rng_unit(r.y);
    let z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    out[i] = bitcast<u32>(p.a + p.b * z);
  }
}
