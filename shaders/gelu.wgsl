// GELU as a standalone kernel (the FFN matmul epilogue uses the same activations.wgsl).
// FORM: 0 erf (BERT), 1 tanh approximation. BWD: false → out = gelu(x);
// true → out = dy · gelu'(x) (dy bound at binding 1; the forward binds x there too).
// F16: x, dy, out stored as f16 (ST), computed in f32.
//#if F16
enable f16;
alias ST = f16;
//#else
alias ST = f32;
//#endif

const FORM: u32 = 0u;
const BWD: bool = false;
const WG: u32 = 256u;
const VPT: u32 = 1u;

struct Params { n: u32, gridX: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<ST>;
@group(0) @binding(1) var<storage, read> dy: array<ST>;
@group(0) @binding(2) var<storage, read_write> out: array<ST>;
@group(0) @binding(3) var<uniform> p: Params;

//#include activations.wgsl

// Each invocation handles VPT elements, WG apart (more independent work per invocation, and
// neighbouring invocations touch neighbouring elements: coalesced on GPUs, vector lanes on CPUs).
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let blk = (wid.y * p.gridX + wid.x) * VPT;
  for (var k = 0u; k < VPT; k++) {
    let i = (blk + k) * WG + lid;
    if (i >= p.n) { return; }
    let v = f32(x[i]);
    if (BWD) {
      var g: f32;
      if (FORM == 1u) { g = gelu_tanh_grad(v); } else { g = gelu_erf_grad(v); }
      out[i] = ST(f32(dy[i]) * g);
    } else {
      if (FORM == 1u) { out[i] = ST(gelu_tanh(v)); } else { out[i] = ST(gelu_erf(v)); }
    }
  }
}
