// Elementwise ops over flat f32 arrays, one shader for the whole family.
// OP (specialised): 0 add, 1 sub, 2 mul, 3 div, 4 max  — out = a OP b
//                  10 affine: out = alpha * a + beta   (b unused)
//                  11 tanh:   out = tanh(a)            (b unused; BERT's pooler)
//                  12 tanh backward: out = b · (1 − a²), a = tanh's output y, b = dy
// A 2-D grid covers arrays longer than 65535 workgroups; each invocation handles one element.

const OP: u32 = 0u;
const WG: u32 = 256u;

struct Params { n: u32, rowStride: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.rowStride + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let x = a[i];
  var y: f32;
  if (OP == 10u) {
    y = p.alpha * x + p.beta;
  } else if (OP == 11u) {
    y = tanh(x);
  } else if (OP == 12u) {
    y = b[i] * (1.0 - x * x);
  } else {
    let z = b[i];
    switch OP {
      case 0u: { y = x + z; }
      case 1u: { y = x - z; }
      case 2u: { y = x * z; }
      case 3u: { y = x / z; }
      default: { y = max(x, z); }
    }
  }
  out[i] = y;
}
