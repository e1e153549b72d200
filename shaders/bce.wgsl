// Binary cross-entropy with logits for detection heads (RTS, C-RTS, ELECTRA's discriminator),
// weighted per position, deterministic (fixed-order tree sums, no atomics).
//   loss_i = w_i · (max(z,0) − z·y + log(1 + exp(−|z|)))        (stable for any z)
//   L      = λ · Σ loss_i / Σ w_i                               (0 when Σ w = 0)
//   dz_i   = λ · w_i · (σ(z_i) − y_i) / Σ w_i                   (written or accumulated)
// Entries: `partial` (workgroup g folds a contiguous chunk into partial[g]), `finalize` (one
// workgroup: out = [L, Σ loss_i, Σ w_i, #correct, #(w>0), scale = λ/Σw, 0, 0], where a
// position with w>0 is correct when (z > 0) == (y > 0.5)), `grad` (per position).

const WG: u32 = 256u;
const ACCUMULATE: bool = false;

struct Params { n: u32, perGroup: u32, groups: u32, gridX: u32, lambda: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
//#if SCALED
// Mixed precision's dynamic loss scale (element 0) multiplies the gradient (see clip.wgsl).
@group(0) @binding(7) var<storage, read> grad_scale: array<f32>;
//#endif

// Per-invocation partial sums (Σ w·loss, Σ w, #correct, #(w>0)), added by workgroup_sum.
alias WorkgroupSum = vec4f;
//#include workgroup_sum.wgsl

fn softplus_neg_abs(z: f32) -> f32 {
  let e = exp(-abs(z));
  if (e < 1e-4) { return e - 0.5 * e * e; }
  return log(1.0 + e);
}

fn sigmoid(z: f32) -> f32 {
  if (z >= 0.0) { return 1.0 / (1.0 + exp(-z)); }
  let e = exp(z);
  return e / (1.0 + e);
}

@compute @workgroup_size(WG)
fn partial_sums(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let start = wid.x * p.perGroup;
  let end = min(start + p.perGroup, p.n);
  var acc = vec4f(0.0);
  for (var i = start + lid; i < end; i += WG) {
    let w = weight[i];
    if (w != 0.0) {
      let z = logits[i];
      let y = labels[i];
      let l = max(z, 0.0) - z * y + softplus_neg_abs(z);
      let correct = (z > 0.0) == (y > 0.5);
      acc = acc + vec4f(w * l, w, select(0.0, 1.0, correct), 1.0);
    }
  }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) { partial[wid.x] = total; }
}

@compute @workgroup_size(WG)
fn finalize(@builtin(local_invocation_index) lid: u32) {
  var acc = vec4f(0.0);
  for (var i = lid; i < p.groups; i += WG) { acc = acc + partial[i]; }
  let t = workgroup_sum(acc, lid);
  if (lid == 0u) {
    let scale = select(0.0, p.lambda / t.y, t.y != 0.0);
    out[0] = t.x * scale;
    out[1] = t.x;
    out[2] = t.y;
    out[3] = t.z;
    out[4] = t.w;
    out[5] = scale;
    out[6] = 0.0;
    out[7] = 0.0;
  }
}

@compute @workgroup_size(WG)
fn grad(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * p.gridX + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let w = weight[i];
  var d = 0.0;
  var scale = out[5];
//#if SCALED
  scale *= grad_scale[0];
//#endif
  if (w != 0.0) { d = scale * w * (sigmoid(logits[i]) - labels[i]); }
  if (ACCUMULATE) { dlogits[i] = dlogits[i] + d; } else { dlogits[i] = d; }
}
