// Integer counts: out[index] += #{ i : a[i] == b[i] (MODE 0) or a[i] == value (MODE 1),
// and mask[i] != 0 (when useMask), and b[i] (or a[i]) != ignore (when useIgnore) }.
// Each invocation counts 4 elements per grid stride; a workgroup sums its counts in a
// workgroup atomic and adds that once to out[index]. Integer atomics: the result does not
// depend on order. Entry `clear` zeroes out[index] first (one invocation).

const MODE: u32 = 0u;
const WG: u32 = 64u;

struct Params { n: u32, gridX: u32, value: u32, ignore: u32, useIgnore: u32, useMask: u32, index: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> wcount: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i0 = ((wid.y * p.gridX + wid.x) * WG + lid) * 4u;
  var c = 0u;
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i < p.n) {
      let av = a[i];
      var ref_v = p.value;
      if (MODE == 0u) { ref_v = b[i]; }
      var hit = av == ref_v;
      if (p.useMask != 0u && mask[i] == 0u) { hit = false; }
      // The ignored value is looked for in the labels (b), or in a when there is no b.
      var key = av;
      if (MODE == 0u) { key = ref_v; }
      if (p.useIgnore != 0u && key == p.ignore) { hit = false; }
      if (hit) { c += 1u; }
    }
  }
  if (c > 0u) { atomicAdd(&wcount, c); }
  workgroupBarrier();
  if (lid == 0u) {
    let total = atomicLoad(&wcount);
    if (total > 0u) { atomicAdd(&out[p.index], total); }
  }
}

@compute @workgroup_size(1)
fn clear() {
  atomicStore(&out[p.index], 0u);
}
