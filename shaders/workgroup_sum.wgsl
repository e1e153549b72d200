// A tree sum over one workgroup, included by the chunked reductions (bce.wgsl, clip.wgsl,
// xent.wgsl's finalize)
// with `//#include workgroup_sum.wgsl`: each invocation holds a vector of partial sums, and
// the workgroup's total goes on to a per-chunk slot or to the final result.
//
// The includer declares `const WG: u32` (invocations per workgroup, a power of two) and
// `alias WorkgroupSum = vec4f;` (the type summed: any type with +). The additions happen in
// a fixed order, so the total is bit-identical run to run (no float atomics).

var<workgroup> sum_buf: array<WorkgroupSum, WG>;

// Σ of v over the workgroup's invocations, returned to every invocation.
// Must be called from uniform control flow by every invocation (no early return before it).
// The closing barrier lets a caller sum again: no invocation's next write to sum_buf[0] can
// overtake another's read of this total (CPU adapters run a workgroup's lanes in an order
// that would hide the race; a GPU would not).
fn workgroup_sum(v: WorkgroupSum, lid: u32) -> WorkgroupSum {
  sum_buf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { sum_buf[lid] = sum_buf[lid] + sum_buf[lid + s]; }
    workgroupBarrier();
  }
  let total = sum_buf[0];
  workgroupBarrier();
  return total;
}
