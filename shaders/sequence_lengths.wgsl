// Valid tokens per sequence of a packed batch ids [B, T]: padding sits at the end, so the
// length is one past the last non-pad token (at least 1, so an all-pad row still attends
// to something). Computed on the GPU so that only token ids cross the bus per step.

const WG: u32 = 64u;

struct Params { B: u32, T: u32, pad: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read_write> lengths: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= p.B) { return; }
  var L = p.T;
  while (L > 0u && ids[b * p.T + L - 1u] == p.pad) { L -= 1u; }
  lengths[b] = max(L, 1u);
}
