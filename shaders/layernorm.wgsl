// LayerNorm over rows of width h: y = (x - mean)·rstd·γ + β, rstd = 1/sqrt(var + eps),
// var the biased variance (as BERT). One shader, four kernels chosen by define:
//  FWD          y, stats = (mean, rstd) per row; with RESIDUAL the input is x + res, and
//               that sum is written to s (backward needs it); with DROPOUT (RESIDUAL)
//               x is dropped first as dropout.wgsl would (same draw; in f32 the same bits,
//               in f16 the dropped value enters the sum unrounded), saving that kernel's
//               pass over x. Passes after the first read s back.
//  BWD_DX       dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, x̂ = (x − mean)·rstd;
//               with DROPOUT also dx through the forward's dropout of its x.
//  BWD_PARTIAL  per block of rows: Σ dy·x̂ and Σ dy per column → part[block, 2, h].
//  BWD_FINAL    dγ[c] = Σ_blocks part[b, 0, c], dβ[c] = Σ_blocks part[b, 1, c], in block
//               order (ACCUMULATE: added to the existing gradients). No float atomics.
// Row kernels use the layouts of row_common.wgsl (WG, TPR; SUBGROUPS).
// F16: the activations (x, res, s, y, dy, dx) are stored as f16; γ, β, stats and the
// parameter gradients stay f32; all arithmetic is f32.
// VEC4 (h a multiple of 4): every access moves four columns (a storage unit SV, f32 FV;
// activation_storage.wgsl), and each invocation sums its row's columns in four partial sums
// first — on CPU adapters every access costs per invocation. Columns, bases and strides
// below count these units (W columns each).
//#if SUBGROUPS
enable subgroups;
//#endif
//#if F16
enable f16;
//#endif
//#include activation_storage.wgsl

const WG: u32 = 64u;
const TPR: u32 = 64u;
const ACCUMULATE: bool = false;

// threshold, stream, dropScale: DROPOUT's (dropout.wgsl's Params).
struct Params { rows: u32, h: u32, gridX: u32, eps: f32, rowsPerBlock: u32, blocks: u32, threshold: u32, stream: u32, dropScale: f32, _p0: u32, _p1: u32, _p2: u32 }

//#if FWD
@group(0) @binding(0) var<storage, read> x: array<SV>;
@group(0) @binding(1) var<storage, read> gamma: array<FV>;
@group(0) @binding(2) var<storage, read> beta: array<FV>;
@group(0) @binding(3) var<storage, read_write> y: array<SV>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
//#if RESIDUAL
@group(0) @binding(6) var<storage, read> res: array<SV>;
@group(0) @binding(7) var<storage, read_write> s: array<SV>;
//#endif
//#if DROPOUT
@group(0) @binding(8) var<storage, read> rng: array<u32>; // [seed, step]

// x[i] dropped as dropout.wgsl computes it, not rounded to the storage type: in f32 the bits
// dropout.wgsl stores; in f16 one rounding fewer (a rounding between two f32 operations is
// what compilers drop — lavapipe does — so keeping it would differ by adapter).
fn x_in(i: u32) -> FV { return dropped(i, unit_in(x[i])); }
//#else
fn x_in(i: u32) -> FV { return unit_in(x[i]); }
//#endif

// The first pass's input.
fn load_in(i: u32) -> FV {
//#if RESIDUAL
  // The sum as stored in s (rounded to the storage type), so that forward and backward see the same input.
  return unit_in(unit_out(x_in(i) + unit_in(res[i])));
//#else
  return x_in(i);
//#endif
}

// The later passes' input: with RESIDUAL the s this invocation stored in the first pass
// (one load, not two, and no second draw).
fn load_again(i: u32) -> FV {
//#if RESIDUAL
  return unit_in(s[i]);
//#else
  return unit_in(x[i]);
//#endif
}
//#endif

//#if BWD_DX
@group(0) @binding(0) var<storage, read> dy: array<SV>;
@group(0) @binding(1) var<storage, read> x: array<SV>;
@group(0) @binding(2) var<storage, read> gamma: array<FV>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<SV>;
@group(0) @binding(5) var<uniform> p: Params;
//#if DROPOUT
// The forward's dropout of its x (RESIDUAL + DROPOUT), backward: dx_dropped = dropout'(dx),
// as dropout.wgsl computes it from the stored dx (the same bits in f32; in f16 from dx
// before its rounding).
@group(0) @binding(6) var<storage, read> rng: array<u32>; // [seed, step]
@group(0) @binding(7) var<storage, read_write> dx_dropped: array<SV>;

fn store_dx(i: u32, v: FV) {
  dx[i] = unit_out(v);
  dx_dropped[i] = unit_out(dropped(i, v));
}
//#else
fn store_dx(i: u32, v: FV) { dx[i] = unit_out(v); }
//#endif
//#endif

//#if DROPOUT
//#include rng.wgsl

// dropout.wgsl's value for unit i (i counts units of W: a quad with VEC4, else an element)
// holding v: kept elements scaled, the others 0; threshold 0 keeps v as it is (its copy).
fn dropped(i: u32, v: FV) -> FV {
  if (p.threshold == 0u) { return v; }
//#if VEC4
  return select(FV(0.0), v * p.dropScale, dropout_bits(i, rng[0], rng[1], p.stream) >= vec4u(p.threshold));
//#else
  return select(0.0, v * p.dropScale, dropout_bits(i / 4u, rng[0], rng[1], p.stream)[i % 4u] >= p.threshold);
//#endif
}
//#endif

//#if BWD_PARTIAL
@group(0) @binding(0) var<storage, read> dy: array<SV>;
@group(0) @binding(1) var<storage, read> x: array<SV>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<FV>;
@group(0) @binding(4) var<uniform> p: Params;
//#endif

//#if BWD_FINAL
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
//#endif

//#include row_common.wgsl

//#if FWD
@compute @workgroup_size(WG)
fn main(invocation: RowInvocation) {
  let r = row_slot(invocation, p.gridX, p.rows, p.h / W);
  var s1 = FV(0.0);
  for (var c = r.lane; c < r.len; c += TPR) {
    let v = load_in(r.base + c);
//#if RESIDUAL
    s[r.base + c] = unit_out(v);
//#endif
    s1 += v;
  }
  let mean = row_reduce(hsum(s1), 0u, invocation) / f32(p.h);
  // Two passes (mean, then squared deviations): no cancellation for large means.
  var s2 = FV(0.0);
  for (var c = r.lane; c < r.len; c += TPR) {
    let d = load_again(r.base + c) - mean;
    s2 += d * d;
  }
  let variance = row_reduce(hsum(s2), 0u, invocation) / f32(p.h);
  let rstd = 1.0 / sqrt(variance + p.eps);
  for (var c = r.lane; c < r.len; c += TPR) {
    y[r.base + c] = unit_out((load_again(r.base + c) - mean) * rstd * gamma[c] + beta[c]);
  }
  if (r.len > 0u && r.lane == 0u) {
    stats[2u * r.row] = mean;
    stats[2u * r.row + 1u] = rstd;
  }
}
//#endif

//#if BWD_DX
@compute @workgroup_size(WG)
fn main(invocation: RowInvocation) {
  let r = row_slot(invocation, p.gridX, p.rows, p.h / W);
  var mean = 0.0;
  var rstd = 0.0;
  if (r.row < p.rows) {
    mean = stats[2u * r.row];
    rstd = stats[2u * r.row + 1u];
  }
  var sa = FV(0.0);
  var sb = FV(0.0);
  for (var c = r.lane; c < r.len; c += TPR) {
    let g = unit_in(dy[r.base + c]) * gamma[c];
    sa += g;
    sb += g * (unit_in(x[r.base + c]) - mean) * rstd;
  }
  let ma = row_reduce(hsum(sa), 0u, invocation) / f32(p.h);
  let mb = row_reduce(hsum(sb), 0u, invocation) / f32(p.h);
  for (var c = r.lane; c < r.len; c += TPR) {
    let g = unit_in(dy[r.base + c]) * gamma[c];
    let xh = (unit_in(x[r.base + c]) - mean) * rstd;
    store_dx(r.base + c, rstd * (g - ma - xh * mb));
  }
}
//#endif

//#if BWD_PARTIAL
// One invocation per (column unit, block of rows); consecutive invocations read consecutive columns.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let cols = p.h / W;
  let c = gid.x;
  let blk = gid.y;
  if (c >= cols || blk >= p.blocks) { return; }
  let r0 = blk * p.rowsPerBlock;
  let r1 = min(p.rows, r0 + p.rowsPerBlock);
  var sg = FV(0.0);
  var sb = FV(0.0);
  for (var r = r0; r < r1; r++) {
    let d = unit_in(dy[r * cols + c]);
    sg += d * (unit_in(x[r * cols + c]) - stats[2u * r]) * stats[2u * r + 1u];
    sb += d;
  }
  part[(2u * blk) * cols + c] = sg;
  part[(2u * blk + 1u) * cols + c] = sb;
}
//#endif

//#if BWD_FINAL
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.h) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var b = 0u; b < p.blocks; b++) {
    sg += part[(2u * b) * p.h + c];
    sb += part[(2u * b + 1u) * p.h + c];
  }
  if (ACCUMULATE) {
    sg += dgamma[c];
    sb += dbeta[c];
  }
  dgamma[c] = sg;
  dbeta[c] = sb;
}
//#endif
