// Reductions over the invocations that share one row, included by the row kernels
// (reduce_rows, layernorm, softmax) with `//#include reduce_common.wgsl`.
//
// The includer declares `const WG: u32` (invocations per workgroup) and `const TPR: u32`
// (invocations per row, a power of two dividing WG): a workgroup handles WG / TPR rows.
//  - TPR == 1: each invocation owns a whole row; no barriers (what CPU adapters like).
//  - plain: a tree over the row's TPR slots in workgroup memory, fixed order.
//  - SUBGROUPS (TPR == WG, one row per workgroup): subgroupAdd / subgroupMax inside each
//    subgroup, then every invocation folds the per-subgroup results in subgroup_id order.
//    Any subgroup size works (subgroup_id / num_subgroups are builtins, no layout assumed).
// Every path is deterministic: the same inputs give bit-identical results run to run.
// op: 0 sum, 1 max, 2 min. Must be called from uniform control flow by every invocation.

var<workgroup> red_buf: array<f32, WG>;

fn red_op(a: f32, b: f32, op: u32) -> f32 {
  if (op == 1u) { return max(a, b); }
  if (op == 2u) { return min(a, b); }
  return a + b;
}

fn row_reduce(v: f32, op: u32, lid: u32, sgi: u32, sgid: u32, nsg: u32) -> f32 {
  if (TPR == 1u) { return v; }
//#if SUBGROUPS
  var s: f32;
  if (op == 1u) { s = subgroupMax(v); } else if (op == 2u) { s = subgroupMin(v); } else { s = subgroupAdd(v); }
  if (sgi == 0u) { red_buf[sgid] = s; }
  workgroupBarrier();
  var t = red_buf[0];
  for (var k = 1u; k < nsg; k++) { t = red_op(t, red_buf[k], op); }
  workgroupBarrier();
  return t;
//#else
  red_buf[lid] = v;
  workgroupBarrier();
  let lane = lid % TPR;
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red_buf[lid] = red_op(red_buf[lid], red_buf[lid + s], op); }
    workgroupBarrier();
  }
  let r = red_buf[lid - lane];
  workgroupBarrier();
  return r;
//#endif
}
