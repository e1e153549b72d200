// Elementwise ops over flat f32 arrays, one shader for the whole family.
// OP (specialised): 0 add, 1 sub, 2 mul, 3 div, 4 max  — out = a OP b
//                  10 affine: out = alpha * a + beta   (b unused)
//                  11 tanh:   out = tanh(a)            (b unused; BERT's pooler)
//                  12 tanh backward: out = b · (1 − a²), a = tanh's output y, b = dy
//                  13 cast:   out = a, converted to out's type (b unused)
// A 2-D grid covers arrays longer than 65535 workgroups; each invocation handles one element,
// or with VEC4 (n a multiple of 4) four, moved as one unit per access (activation_storage.wgsl:
// on CPU adapters every access costs per invocation, and fewer invocations cost less).
// Storage (arithmetic is f32): IN_F16 stores a and b as f16, OUT_F16 stores out as f16 — both
// for f16 activations (mixed precision), OUT_F16 alone for casting f32 master weights to the
// f16 copies the matmuls read.
//#if F16
enable f16;
//#endif
//#include activation_storage.wgsl

const OP: u32 = 0u;
const WG: u32 = 256u;

struct Params { n: u32, rowStride: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<storage, read> a: array<TIN>;
@group(0) @binding(1) var<storage, read> b: array<TIN>;
@group(0) @binding(2) var<storage, read_write> out: array<TOUT>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.rowStride + wid.x) * WG + lid; // a unit of W elements
  if (i * W >= p.n) { return; }
  let x = unit_of_in(a[i]);
  var y: FV;
  if (OP == 13u) {
    y = x;
  } else if (OP == 10u) {
    y = p.alpha * x + p.beta;
  } else if (OP == 11u) {
    y = tanh(x);
  } else if (OP == 12u) {
    y = unit_of_in(b[i]) * (1.0 - x * x);
  } else {
    let z = unit_of_in(b[i]);
    switch OP {
      case 0u: { y = x + z; }
      case 1u: { y = x - z; }
      case 2u: { y = x * z; }
      case 3u: { y = x / z; }
      default: { y = max(x, z); }
    }
  }
  out[i] = unit_to_out(y);
}
