// Row reductions of a [rows, cols] f32 matrix to [rows] (also used for whole-tensor
// reductions: a flat array of n elements viewed as [blocks, chunk], last block short).
// OP (specialised): 0 sum, 1 max, 2 mean, 3 sum of squares. ARGMAX (define): index of the
// row maximum (u32), ties resolved to the lowest index.
// Layout: WG invocations per workgroup, TPR per row (see row_common.wgsl); element i of
// row r is x[r * cols + i] when r * cols + i < n. Deterministic: fixed combination order.
//#if SUBGROUPS
enable subgroups;
//#endif

const OP: u32 = 0u;
const WG: u32 = 64u;
const TPR: u32 = 64u;

// negInf holds the bits of −∞ (0xff800000): WGSL constant expressions cannot be infinite.
struct Params { rows: u32, cols: u32, gridX: u32, n: u32, outOffset: u32, negInf: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
//#if ARGMAX
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
//#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
//#endif
@group(0) @binding(2) var<uniform> p: Params;

//#include row_common.wgsl

@compute @workgroup_size(WG)
fn main(invocation: RowInvocation) {
  // No early return: every invocation reaches the barriers in row_reduce.
  let r = row_slot(invocation, p.gridX, p.rows, p.cols);
  let live = r.row < p.rows;
  // Elements of this row that exist (the last block of a flat reduction is short).
  let len = min(r.len, p.n - min(p.n, r.base));
//#if ARGMAX
  var m = bitcast<f32>(p.negInf);
  for (var c = r.lane; c < len; c += TPR) { m = max(m, x[r.base + c]); }
  let rowMax = row_reduce(m, 1u, invocation);
  // The lowest index holding the maximum: this lane's first, then the row's minimum.
  var first = 4294967295.0;
  for (var c = r.lane; c < len; c += TPR) {
    if (x[r.base + c] == rowMax) { first = min(first, f32(c)); }
  }
  let idx = row_reduce(first, 2u, invocation);
  // No element equal to the maximum (a row of NaNs): index 0.
  if (live && r.lane == 0u) { out[p.outOffset + r.row] = select(0u, u32(idx), idx < f32(len)); }
//#else
  var acc: f32;
  if (OP == 1u) { acc = bitcast<f32>(p.negInf); } else { acc = 0.0; }
  for (var c = r.lane; c < len; c += TPR) {
    let v = x[r.base + c];
    if (OP == 1u) { acc = max(acc, v); } else if (OP == 3u) { acc += v * v; } else { acc += v; }
  }
  var opr = 0u;
  if (OP == 1u) { opr = 1u; }
  var total = row_reduce(acc, opr, invocation);
  if (OP == 2u) { total = total / f32(p.cols); }
  if (live && r.lane == 0u) { out[p.outOffset + r.row] = total; }
//#endif
}
