// Fused AdamW (decoupled weight decay, PyTorch's order) over one parameter tensor:
//   g = grad · clipScale
//   m = β1·m + (1−β1)·g ;  v = β2·v + (1−β2)·g²
//   param = param·(1 − lr·wd·decay) − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
// lr and the step t (1-based) come from the step buffer, written once per step with
// writeBuffer, so the op is built once and reused. clipScale comes from clip.wgsl's state
// ([scale, norm, sumsq, nonfinite]); when nonfinite is set the update is skipped entirely
// (param, m, v unchanged) so a NaN step cannot poison the state before the trainer stops.
// Each invocation updates PER consecutive elements; with VEC4 (n a multiple of 4, PER = 4)
// as one vec4 per tensor — on CPU adapters every access costs per invocation.

const WG: u32 = 256u;
const PER: u32 = 4u;

struct Params { n: u32, gridX: u32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, decay: u32, _p: u32 }
struct Step { step: u32, lr: f32, _p0: u32, _p1: u32 }

//#if VEC4
alias T = vec4f;
//#else
alias T = f32;
//#endif
@group(0) @binding(0) var<storage, read_write> param: array<T>;
@group(0) @binding(1) var<storage, read> grad: array<T>;
@group(0) @binding(2) var<storage, read_write> m: array<T>;
@group(0) @binding(3) var<storage, read_write> v: array<T>;
@group(0) @binding(4) var<storage, read> clip: array<f32>;
@group(0) @binding(5) var<uniform> st: Step;
@group(0) @binding(6) var<uniform> p: Params;

// Update access i (an element, or a vec4 of them): the same arithmetic either way.
fn update(i: u32, scale: f32, shrink: f32, lr: f32, bc1: f32, bc2: f32) {
  let g = grad[i] * scale;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * shrink - lr * (mi / bc1) / (sqrt(vi / bc2) + p.eps);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (clip[3] != 0.0) { return; }
  let q = (wid.y * p.gridX + wid.x) * WG + lid;
  let t = f32(max(st.step, 1u));
  let bc1 = 1.0 - exp2(t * log2(p.beta1));
  let bc2 = 1.0 - exp2(t * log2(p.beta2));
  let lr = st.lr;
  let shrink = select(1.0, 1.0 - lr * p.weightDecay, p.decay != 0u);
  let scale = clip[0];
//#if VEC4
  if (q * 4u < p.n) { update(q, scale, shrink, lr, bc1, bc2); }
//#else
  for (var j = 0u; j < PER; j++) {
    let i = q * PER + j;
    if (i >= p.n) { return; }
    update(i, scale, shrink, lr, bc1, bc2);
  }
//#endif
}
