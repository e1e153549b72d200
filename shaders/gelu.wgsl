// GELU as a standalone kernel (the FFN matmul epilogue uses the same activations.wgsl).
// FORM: 0 erf (BERT), 1 tanh approximation. BWD: false → out = gelu(x);
// true → out = dy · gelu'(x) (dy bound at binding 1; the forward binds x there too).
// F16: x, dy, out stored as f16, computed in f32.
// VEC4 (n a multiple of 4): elements move four at a time (a storage unit SV, f32 FV;
// activation_storage.wgsl) — on CPU adapters every access costs per invocation, so one
// access replaces four (as in dropout.wgsl).
//#if F16
enable f16;
//#endif
//#include activation_storage.wgsl

const FORM: u32 = 0u;
const BWD: bool = false;
const WG: u32 = 256u;
const VPT: u32 = 1u;

struct Params { n: u32, gridX: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<SV>;
@group(0) @binding(1) var<storage, read> dy: array<SV>;
@group(0) @binding(2) var<storage, read_write> out: array<SV>;
@group(0) @binding(3) var<uniform> p: Params;

//#include activations.wgsl

// Each invocation handles VPT elements in VPT / W accesses, WG apart (more independent work
// per invocation, and neighbouring invocations touch neighbouring elements: coalesced on
// GPUs, vector lanes on CPUs).
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let blk = (wid.y * p.gridX + wid.x) * (VPT / W);
  for (var k = 0u; k < VPT / W; k++) {
    let i = (blk + k) * WG + lid;
    if (i * W >= p.n) { return; }
    let v = unit_in(x[i]);
    var d = FV(0.0);
    if (BWD) { d = unit_in(dy[i]); }
    var r: FV;
    for (var c = 0u; c < W; c++) {
      let e = ix(v, c);
      var y: f32;
      if (BWD) {
        if (FORM == 1u) { y = gelu_tanh_grad(e); } else { y = gelu_erf_grad(e); }
        y *= ix(d, c);
      } else {
        if (FORM == 1u) { y = gelu_tanh(e); } else { y = gelu_erf(e); }
      }
      set_ix(&r, c, y);
    }
    out[i] = unit_out(r);
  }
}

// Component c of a unit (the element itself when W = 1).
fn ix(v: FV, c: u32) -> f32 {
//#if VEC4
  return v[c];
//#else
  return v;
//#endif
}

fn set_ix(r: ptr<function, FV>, c: u32, y: f32) {
//#if VEC4
  (*r)[c] = y;
//#else
  *r = y;
//#endif
}
