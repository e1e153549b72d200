// Row reduction of a [rows, cols] f32 matrix to [rows]: one workgroup per row.
// OP (specialised): 0 sum, 1 max, 2 mean.
// Each invocation folds a strided slice of the row, then a tree in workgroup memory
// combines the WG partial results in a fixed order (deterministic).

const OP: u32 = 0u;
const WG: u32 = 64u;

struct Params { rows: u32, cols: u32, gridX: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

fn combine(u: f32, v: f32) -> f32 {
  if (OP == 1u) { return max(u, v); }
  return u + v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * p.gridX + wid.x;
  // A whole workgroup leaves together, so the barriers below stay uniform.
  if (row >= p.rows) { return; }
  var acc: f32;
  if (OP == 1u) { acc = -3.402823e38; } else { acc = 0.0; }
  let base = row * p.cols;
  for (var c = lid; c < p.cols; c += WG) {
    acc = combine(acc, x[base + c]);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var r = partial[0];
    if (OP == 2u) { r = r / f32(p.cols); }
    out[row] = r;
  }
}
