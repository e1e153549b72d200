// C[M,N] = A[M,K] · B[K,N], row-major f32.
// Register tiling without workgroup memory: each invocation computes a TM×TN block of C
// from TM rows of A and TN columns of B (CPU adapters prefer lots of independent work per
// invocation and no barriers; see shaders' autotuning in src/kernels). Edges are masked,
// so any M, N, K works.

const TM: u32 = 4u;
const TN: u32 = 4u;
const WGX: u32 = 8u;
const WGY: u32 = 8u;

struct Params { M: u32, N: u32, K: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * TM;
  let col0 = gid.x * TN;
  if (row0 >= p.M || col0 >= p.N) { return; }
  var acc: array<f32, TM * TN>;
  var a: array<f32, TM>;
  var b: array<f32, TN>;
  for (var k = 0u; k < p.K; k++) {
    for (var i = 0u; i < TM; i++) {
      let r = min(row0 + i, p.M - 1u);
      a[i] = A[r * p.K + k];
    }
    for (var j = 0u; j < TN; j++) {
      let c = min(col0 + j, p.N - 1u);
      b[j] = B[k * p.N + c];
    }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) {
        acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let c = col0 + j;
      if (c < p.N) { C[r * p.N + c] = acc[i * TN + j]; }
    }
  }
}
