// Dropout from the counter RNG: out[i] = keep(i) ? in[i] / (1 − rate) : 0, where keep(i)
// is a pure function of (seed, step, stream, i), so backward (dx = dy masked and scaled the
// same way) is this same kernel with the same (seed, step, stream) and needs no mask tensor.
// Element i uses word i % 4 of Philox4x32-10(counter = (i / 4, step, stream, 0xD809u),
// key = (seed, 0)) and is kept when that word ≥ threshold = rate·2^32 (threshold 0 keeps
// everything; with scale 1 the output is then exactly the input). seed and step are read
// from the `rng` buffer at run time, so one recorded op serves every training step.
// F16: in/out stored as f16; the scaling is computed in f32.
// VEC4 (n a multiple of 4): the 4 elements move as one storage unit (SV, activation_storage.wgsl)
// — on CPU adapters every access costs per invocation (the Philox draw dominates: 1.2× on
// lavapipe at 2 threads, even at 8; bench/RESULTS.md).
//#if F16
enable f16;
//#endif
//#include activation_storage.wgsl

const WG: u32 = 64u;

struct Params { n: u32, gridX: u32, threshold: u32, stream: u32, scale: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> inp: array<SV>;
@group(0) @binding(1) var<storage, read_write> out: array<SV>;
@group(0) @binding(2) var<storage, read> rng: array<u32>; // [seed, step]
@group(0) @binding(3) var<uniform> p: Params;

//#include rng.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * p.gridX + wid.x) * WG + lid; // a group of 4 elements
  let i0 = q * 4u;
  if (i0 >= p.n) { return; }
  var bits = vec4u(0xffffffffu);
  if (p.threshold != 0u) {
    bits = dropout_bits(q, rng[0], rng[1], p.stream);
  }
//#if VEC4
  if (p.threshold == 0u) {
    out[q] = inp[q];
  } else {
    out[q] = unit_out(select(vec4f(0.0), unit_in(inp[q]) * p.scale, bits >= vec4u(p.threshold)));
  }
//#else
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i < p.n) {
      let v = inp[i];
      if (p.threshold == 0u) {
        out[i] = v; // rate 0: a copy, no multiply (denormals survive on every device)
      } else {
        out[i] = select(SV(0.0), unit_out(unit_in(v) * p.scale), bits[k] >= p.threshold);
      }
    }
  }
//#endif
}
