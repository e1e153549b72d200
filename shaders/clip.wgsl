// Global-norm gradient clipping without a readback, deterministic (no float atomics).
// Entry `sumsq`: one dispatch per gradient tensor; workgroup g folds a contiguous chunk of
// the tensor and writes (sum of squares, count of non-finite elements) into
// partial[slot + g], the tensor's slots being fixed when the op is built.
// Entry `finalize`: one workgroup sums all slots in a fixed order and writes
//   state = [scale, norm, sumsq, nonfinite]   (scale = min(1, maxNorm / (norm + 1e-6)))
// where nonfinite = 1 when any gradient element is Inf/NaN (tested on the bits, which
// fast-math cannot drop) or the sum overflowed. AdamW reads `scale` and skips its update
// when nonfinite is set; the trainer reads `norm` / `nonfinite` with its metrics.
// DYNAMIC (mixed precision): the gradients were seeded multiplied by the loss scale S =
// scaler[0] (so that small activation gradients survive f16), so finalize reports the true
// norm ‖g‖/S, writes scale = clip/S (AdamW's multiplier unscales), and updates the scaler
// [S, good steps since the last overflow, overflowed steps in all, overflowed steps in a row]:
// an overflow (nonfinite) halves S — AdamW skips that step — and `growth` good steps in a row
// double it, within [MIN_SCALE, MAX_SCALE] (PyTorch's GradScaler policy, on the GPU, so no
// step waits for a readback).

const WG: u32 = 256u;

struct Params { n: u32, slot: u32, perGroup: u32, slots: u32, maxNorm: f32, growth: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
//#if DYNAMIC
@group(0) @binding(4) var<storage, read_write> scaler: array<f32>;
const MIN_SCALE: f32 = 1.0 / 65536.0;
const MAX_SCALE: f32 = 16777216.0;
//#endif

// Per-invocation partial sums (sum of squares, count of non-finite elements), added by
// workgroup_sum.
alias WorkgroupSum = vec2f;
//#include workgroup_sum.wgsl

fn nonfinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

@compute @workgroup_size(WG)
fn sumsq(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let start = wid.x * p.perGroup;
  let end = min(start + p.perGroup, p.n);
  var acc = 0.0;
  var bad = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    let g = grad[i];
    if (nonfinite(g)) { bad += 1.0; } else { acc = fma(g, g, acc); }
  }
  let total = workgroup_sum(vec2f(acc, bad), lid);
  if (lid == 0u) { partial[p.slot + wid.x] = total; }
}

@compute @workgroup_size(WG)
fn finalize(@builtin(local_invocation_index) lid: u32) {
  var acc = vec2f(0.0);
  for (var i = lid; i < p.slots; i += WG) { acc = acc + partial[i]; }
  let total = workgroup_sum(acc, lid);
  if (lid == 0u) {
    var ss = total.x;
    var norm = sqrt(ss);
    let bad = total.y > 0.0 || nonfinite(ss);
//#if DYNAMIC
    let S = scaler[0];
    norm = norm / S;
    ss = ss / (S * S);
//#endif
    var scale = 1.0;
    if (p.maxNorm > 0.0 && !bad) { scale = min(1.0, p.maxNorm / (norm + 1e-6)); }
//#if DYNAMIC
    scale = scale / S;
    if (bad) {
      scaler[0] = max(S * 0.5, MIN_SCALE);
      scaler[1] = 0.0;
      scaler[2] = scaler[2] + 1.0;
      scaler[3] = scaler[3] + 1.0;
    } else {
      var good = scaler[1] + 1.0;
      if (good >= f32(p.growth)) {
        scaler[0] = min(S * 2.0, MAX_SCALE);
        good = 0.0;
      }
      scaler[1] = good;
      scaler[3] = 0.0;
    }
//#endif
    state[0] = scale;
    state[1] = norm;
    state[2] = ss;
    state[3] = select(0.0, 1.0, bad);
  }
}
