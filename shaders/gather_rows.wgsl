// Rows at a list of positions, and the way back (for heads evaluated only at selected
// positions). list[k] is a row index, or 0xffffffff past the valid entries.
//   GATHER:  out[k, :] = x[list[k], :]          (zeros for invalid entries)
//   INVERT:  inv[n] = k where list[k] == n, else 0xffffffff (entry 'invert_fill' first)
//   SCATTER: dx[n, :] = dy[inv[n], :]           (zeros for rows not in the list)
// Positions in a list are distinct, so every output element has one writer:
// deterministic, no atomics, and dx needs no separate clear.
// Mixed precision reads f16 hidden states into an f32 head and writes the head's f32
// gradient back as f16, or moves the encoder's own f16 rows: IN_F16 stores src as f16,
// OUT_F16 stores dst as f16 (converted on the way; the inverse index entries never use
// either). VEC4 (width a multiple of 4): four elements per invocation and access, f16 as two
// words of two halves (activation_storage.wgsl: on CPU adapters every access costs per
// invocation, the list entry's too).
//#if F16
enable f16;
//#endif
//#include activation_storage.wgsl

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;

struct Params { rows: u32, cap: u32, width: u32, gridX: u32 }

@group(0) @binding(0) var<storage, read> src: array<TIN>;
@group(0) @binding(1) var<storage, read_write> list: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<TOUT>;
@group(0) @binding(3) var<uniform> p: Params;
// The inverse index is u32 data in binding 2; WGSL lets entry points that never share a
// variable bind different types at one binding.
@group(0) @binding(2) var<storage, read_write> inv_out: array<u32>;

fn flat(wid: vec3u, lid: u32) -> u32 {
  return (wid.y * p.gridX + wid.x) * WG + lid;
}

// One invocation per W elements of out [cap, width].
@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, lid);
  let w = p.width / W;
  if (i >= p.cap * w) { return; }
  let k = i / w;
  let c = i - k * w;
  let r = list[k];
  var v = FV(0.0);
  if (r < p.rows) { v = unit_of_in(src[r * w + c]); }
  dst[i] = unit_to_out(v);
}

// inv [rows] ← NONE.
@compute @workgroup_size(WG)
fn invert_fill(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n = flat(wid, lid);
  if (n >= p.rows) { return; }
  inv_out[n] = NONE;
}

// inv[list[k]] = k.
@compute @workgroup_size(WG)
fn invert_set(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = flat(wid, lid);
  if (k >= p.cap) { return; }
  let r = list[k];
  if (r < p.rows) { inv_out[r] = k; }
}

// src = dy [cap, width], list = inv [rows], dst = dx [rows, width].
@compute @workgroup_size(WG)
fn scatter(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat(wid, lid);
  let w = p.width / W;
  if (i >= p.rows * w) { return; }
  let n = i / w;
  let c = i - n * w;
  let k = list[n];
  var v = FV(0.0);
  if (k < p.cap) { v = unit_of_in(src[k * w + c]); }
  dst[i] = unit_to_out(v);
}
