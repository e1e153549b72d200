// LayerNorm over rows of width h: y = (x - mean)·rstd·γ + β, rstd = 1/sqrt(var + eps),
// var the biased variance (as BERT). One shader, four kernels chosen by define:
//  FWD          y, stats = (mean, rstd) per row; with RESIDUAL the input is x + res, and
//               that sum is written to s (backward needs it).
//  BWD_DX       dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, x̂ = (x − mean)·rstd.
//  BWD_PARTIAL  per block of rows: Σ dy·x̂ and Σ dy per column → part[block, 2, h].
//  BWD_FINAL    dγ[c] = Σ_blocks part[b, 0, c], dβ[c] = Σ_blocks part[b, 1, c], in block
//               order (ACCUMULATE: added to the existing gradients). No float atomics.
// Row kernels use the layouts of row_common.wgsl (WG, TPR; SUBGROUPS).
// F16: the activations (x, res, s, y, dy, dx) are stored as f16 (ST); γ, β, stats and
// the parameter gradients stay f32; all arithmetic is f32.
//#if SUBGROUPS
enable subgroups;
//#endif
//#if F16
enable f16;
alias ST = f16;
//#else
alias ST = f32;
//#endif

const WG: u32 = 64u;
const TPR: u32 = 64u;
const ACCUMULATE: bool = false;

struct Params { rows: u32, h: u32, gridX: u32, eps: f32, rowsPerBlock: u32, blocks: u32, _p0: u32, _p1: u32 }

//#if FWD
@group(0) @binding(0) var<storage, read> x: array<ST>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<ST>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
//#if RESIDUAL
@group(0) @binding(6) var<storage, read> res: array<ST>;
@group(0) @binding(7) var<storage, read_write> s: array<ST>;
//#endif

fn load_in(i: u32) -> f32 {
//#if RESIDUAL
  // The sum as stored in s (rounded to ST), so that forward and backward see the same input.
  return f32(ST(f32(x[i]) + f32(res[i])));
//#else
  return f32(x[i]);
//#endif
}
//#endif

//#if BWD_DX
@group(0) @binding(0) var<storage, read> dy: array<ST>;
@group(0) @binding(1) var<storage, read> x: array<ST>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<ST>;
@group(0) @binding(5) var<uniform> p: Params;
//#endif

//#if BWD_PARTIAL
@group(0) @binding(0) var<storage, read> dy: array<ST>;
@group(0) @binding(1) var<storage, read> x: array<ST>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
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
  let r = row_slot(invocation, p.gridX, p.rows, p.h);
  var s1 = 0.0;
  for (var c = r.lane; c < r.len; c += TPR) {
    let v = load_in(r.base + c);
//#if RESIDUAL
    s[r.base + c] = ST(v);
//#endif
    s1 += v;
  }
  let mean = row_reduce(s1, 0u, invocation) / f32(p.h);
  // Two passes (mean, then squared deviations): no cancellation for large means.
  var s2 = 0.0;
  for (var c = r.lane; c < r.len; c += TPR) {
    let d = load_in(r.base + c) - mean;
    s2 += d * d;
  }
  let variance = row_reduce(s2, 0u, invocation) / f32(p.h);
  let rstd = 1.0 / sqrt(variance + p.eps);
  for (var c = r.lane; c < r.len; c += TPR) {
    y[r.base + c] = ST((load_in(r.base + c) - mean) * rstd * gamma[c] + beta[c]);
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
  let r = row_slot(invocation, p.gridX, p.rows, p.h);
  var mean = 0.0;
  var rstd = 0.0;
  if (r.row < p.rows) {
    mean = stats[2u * r.row];
    rstd = stats[2u * r.row + 1u];
  }
  var sa = 0.0;
  var sb = 0.0;
  for (var c = r.lane; c < r.len; c += TPR) {
    let g = f32(dy[r.base + c]) * gamma[c];
    sa += g;
    sb += g * (f32(x[r.base + c]) - mean) * rstd;
  }
  let ma = row_reduce(sa, 0u, invocation) / f32(p.h);
  let mb = row_reduce(sb, 0u, invocation) / f32(p.h);
  for (var c = r.lane; c < r.len; c += TPR) {
    let g = f32(dy[r.base + c]) * gamma[c];
    let xh = (f32(x[r.base + c]) - mean) * rstd;
    dx[r.base + c] = ST(rstd * (g - ma - xh * mb));
  }
}
//#endif

//#if BWD_PARTIAL
// One invocation per (column, block of rows); consecutive invocations read consecutive columns.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let blk = gid.y;
  if (c >= p.h || blk >= p.blocks) { return; }
  let r0 = blk * p.rowsPerBlock;
  let r1 = min(p.rows, r0 + p.rowsPerBlock);
  var sg = 0.0;
  var sb = 0.0;
  for (var r = r0; r < r1; r++) {
    let d = f32(dy[r * p.h + c]);
    sg += d * (f32(x[r * p.h + c]) - stats[2u * r]) * stats[2u * r + 1u];
    sb += d;
  }
  part[(2u * blk) * p.h + c] = sg;
  part[(2u * blk + 1u) * p.h + c] = sb;
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
