// A sorted selection of rows of a [B·T] batch (list[0 .. count): increasing row indices, as
// the MLM selection writes them; entries past count are ignored) regrouped per sequence,
// for attention over the selected queries only (src/kernels/gather.ts):
//   rows[b·T + j]  = the j-th selected row of sequence b, j < n_b; 0xffffffff from n_b on
//   limits[b]      = min(lengths[b], T)   (the keys every query of sequence b attends to)
//   limits[B + b]  = n_b                  (its query count)
// One invocation per (b, j). Sequence b's entries are the contiguous run of the list in
// [b·T, (b+1)·T), found by two binary searches: no scan, no atomics, deterministic.

const WG: u32 = 64u;
const NONE: u32 = 0xffffffffu;

struct Params { B: u32, T: u32, countOffset: u32, cap: u32 }

@group(0) @binding(0) var<storage, read> list: array<u32>;
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read_write> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> limits: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

// The first index k < n with list[k] >= x (n if none).
fn lower_bound(n: u32, x: u32) -> u32 {
  var lo = 0u;
  var hi = n;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (list[mid] < x) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.y * nwg.x * WG + gid.x;
  if (c >= p.B * p.T) { return; }
  let b = c / p.T;
  let j = c - b * p.T;
  let n = min(counts[p.countOffset], p.cap);
  let start = lower_bound(n, b * p.T);
  let count = lower_bound(n, (b + 1u) * p.T) - start;
  rows[c] = select(NONE, list[start + j], j < count);
  if (j == 0u) {
    limits[b] = min(lengths[b], p.T);
    limits[p.B + b] = count;
  }
}
