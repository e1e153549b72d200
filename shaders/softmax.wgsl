// Row-wise softmax over the last dimension: y = softmax(scale · x), and its backward
// dx = scale · y ⊙ (dy − Σ dy ⊙ y). Define FWD or BWD. Row layouts of row_common.wgsl.
// A row whose entries are all −∞ gives zeros (not NaN).
// F16: x, y, dy, dx stored as f16 (ST); computed in f32.
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

struct Params { rows: u32, cols: u32, gridX: u32, scale: f32 }

//#if FWD
@group(0) @binding(0) var<storage, read> x: array<ST>;
@group(0) @binding(1) var<storage, read_write> y: array<ST>;
@group(0) @binding(2) var<uniform> p: Params;
//#endif
//#if BWD
@group(0) @binding(0) var<storage, read> y: array<ST>;
@group(0) @binding(1) var<storage, read> dy: array<ST>;
@group(0) @binding(2) var<storage, read_write> dx: array<ST>;
@group(0) @binding(3) var<uniform> p: Params;
//#endif

//#include row_common.wgsl

@compute @workgroup_size(WG)
fn main(invocation: RowInvocation) {
  let r = row_slot(invocation, p.gridX, p.rows, p.cols);
//#if FWD
  var m = -3.4028234e38;
  for (var c = r.lane; c < r.len; c += TPR) { m = max(m, p.scale * f32(x[r.base + c])); }
  m = row_reduce(m, 1u, invocation);
  var s = 0.0;
  for (var c = r.lane; c < r.len; c += TPR) { s += exp(p.scale * f32(x[r.base + c]) - m); }
  s = row_reduce(s, 0u, invocation);
  var inv = 0.0;
  if (s > 0.0) { inv = 1.0 / s; }
  for (var c = r.lane; c < r.len; c += TPR) { y[r.base + c] = ST(exp(p.scale * f32(x[r.base + c]) - m) * inv); }
//#endif
//#if BWD
  var d = 0.0;
  for (var c = r.lane; c < r.len; c += TPR) { d += f32(dy[r.base + c]) * f32(y[r.base + c]); }
  d = row_reduce(d, 0u, invocation);
  for (var c = r.lane; c < r.len; c += TPR) { dx[r.base + c] = ST(p.scale * f32(y[r.base + c]) * (f32(dy[r.base + c]) - d)); }
//#endif
}
