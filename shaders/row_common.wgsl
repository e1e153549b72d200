// The row-kernel layout, included by the row kernels (layernorm, softmax, reduce_rows,
// attention_probs; embedding for the layout alone) with `//#include row_common.wgsl`: which
// row an invocation serves, and reductions over the invocations that share one row.
//
// The includer declares `const WG: u32` (invocations per workgroup) and `const TPR: u32`
// (invocations per row, a power of two dividing WG): a workgroup handles WG / TPR rows.
//  - TPR == 1: each invocation owns a whole row; no barriers (what CPU adapters like).
//  - plain: a tree over the row's TPR slots in workgroup memory, fixed order.
//  - SUBGROUPS (TPR == WG, one row per workgroup): subgroupAdd / subgroupMax inside each
//    subgroup, then every invocation folds the per-subgroup results in subgroup_id order.
//    Any subgroup size works (subgroup_id / num_subgroups are builtins, no layout assumed).
// Every path is deterministic: the same inputs give bit-identical results run to run.

// A row kernel's entry point takes its builtins as one `invocation: RowInvocation`; the subgroup
// ones exist only in the SUBGROUPS variant, where row_reduce reads them.
struct RowInvocation {
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
//#if SUBGROUPS
  @builtin(subgroup_invocation_id) sgi: u32,
  @builtin(subgroup_id) sgid: u32,
  @builtin(num_subgroups) nsg: u32,
//#endif
}

// The row an invocation serves. Workgroups are numbered across a grid gridX wide (the host
// spreads many rows over y, src/kernels/grid.ts), each serving WG / TPR consecutive rows.
// The last workgroup's rows may run past the end: those invocations still run, because
// row_reduce's barriers need every invocation of the workgroup (no early return).
fn row_index(invocation: RowInvocation, gridX: u32) -> u32 {
  return (invocation.wid.y * gridX + invocation.wid.x) * (WG / TPR) + invocation.lid / TPR;
}

// The invocation's place among its row's TPR: it visits columns lane, lane + TPR, …
fn row_lane(invocation: RowInvocation) -> u32 {
  return invocation.lid % TPR;
}

// An invocation's part of a [rows, cols] matrix: its row and lane (above), the columns its
// loops visit (cols, or 0 past the last row: nothing to load or store there, but the
// invocation still reaches every row_reduce) and the index of the row's first element.
struct RowSlot { row: u32, lane: u32, len: u32, base: u32 }

fn row_slot(invocation: RowInvocation, gridX: u32, rows: u32, cols: u32) -> RowSlot {
  let row = row_index(invocation, gridX);
  return RowSlot(row, row_lane(invocation), select(0u, cols, row < rows), row * cols);
}

var<workgroup> red_buf: array<f32, WG>;

fn red_op(a: f32, b: f32, op: u32) -> f32 {
  if (op == 1u) { return max(a, b); }
  if (op == 2u) { return min(a, b); }
  return a + b;
}

// v combined over the invocations of this invocation's row; op: 0 sum, 1 max, 2 min.
// Must be called from uniform control flow by every invocation.
fn row_reduce(v: f32, op: u32, invocation: RowInvocation) -> f32 {
  if (TPR == 1u) { return v; }
//#if SUBGROUPS
  // One row per workgroup: a subgroup (up to 64 lanes on some GPUs) would otherwise mix rows.
  const_assert TPR == WG;
  var s: f32;
  if (op == 1u) { s = subgroupMax(v); } else if (op == 2u) { s = subgroupMin(v); } else { s = subgroupAdd(v); }
  if (invocation.sgi == 0u) { red_buf[invocation.sgid] = s; }
  workgroupBarrier();
  var t = red_buf[0];
  for (var k = 1u; k < invocation.nsg; k++) { t = red_op(t, red_buf[k], op); }
  workgroupBarrier();
  return t;
//#else
  let lid = invocation.lid;
  red_buf[lid] = v;
  workgroupBarrier();
  let lane = row_lane(invocation);
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red_buf[lid] = red_op(red_buf[lid], red_buf[lid + s], op); }
    workgroupBarrier();
  }
  let r = red_buf[lid - lane];
  workgroupBarrier();
  return r;
//#endif
}
