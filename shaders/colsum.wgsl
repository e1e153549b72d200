// Column sums of a strided matrix view (bias gradients: db[c] = Σ_r dy[r, c]).
// Element (r, c) of the view is x[off + r·ld + c]. Invocation (column c, row block b) sums
// rows [b·rb, min((b+1)·rb, rows)) of column c in row order and writes out[outOff + b·cols + c]
// (ACCUM: adds the old value; the host uses it only with a single row block). With several
// blocks, a second dispatch of the same shader sums the [blocks, cols] partials. Adjacent
// invocations read adjacent columns of one row (one row of loads per step on CPU adapters,
// coalesced on GPUs). Deterministic: a fixed summation order, no atomics.
// X_F16: x is stored as f16 (mixed precision's activation gradients); sums stay f32. The
// second pass reads the f32 partials, so it never has X_F16.
//#if X_F16
enable f16;
alias TX = f16;
//#else
alias TX = f32;
//#endif

const WG: u32 = 64u;
const ACCUM: bool = false;

struct Params { rows: u32, cols: u32, ld: u32, off: u32, rb: u32, outOff: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<TX>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * WG + lid;
  if (c >= p.cols) { return; }
  let b = wid.y;
  let r0 = b * p.rb;
  let r1 = min(r0 + p.rb, p.rows);
  // Four interleaved partial sums (independent chains), combined in a fixed order.
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  var i = p.off + r0 * p.ld + c;
  var r = r0;
  for (; r + 4u <= r1; r += 4u) {
    s0 += f32(x[i]);
    s1 += f32(x[i + p.ld]);
    s2 += f32(x[i + 2u * p.ld]);
    s3 += f32(x[i + 3u * p.ld]);
    i += 4u * p.ld;
  }
  for (; r < r1; r++) { s0 += f32(x[i]); i += p.ld; }
  var y = (s0 + s1) + (s2 + s3);
  let o = p.outOff + b * p.cols + c;
  if (ACCUM) { y += out[o]; }
  out[o] = y;
}
