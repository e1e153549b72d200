// Can a product escape lavapipe's per-lane loads by reading one operand at constant offsets?
// Mesa 25.0's gallivm loads once and broadcasts only where the address is built from constants
// (nir_src_is_always_uniform); every other load is a per-lane, per-component guarded loop.
// Here C[M, NB] = A[M, K] · W[K, NB] with W in a uniform buffer read at literal offsets (the
// k loop unrolled in the generated WGSL), A read per lane (TM rows a lane, vec4 along k).
// Run: node bench/probes/uniform-weights.mjs
import { fastestSubmit, lavapipeDevice, pipelineWith } from './lavapipe.mjs';

const device = await lavapipeDevice(['maxUniformBufferBindingSize', 'maxStorageBufferBindingSize', 'maxBufferSize']);
const M = 1 << 15;

function kernel(K, NB, TM, uniform) {
  const N4 = NB / 4;
  const lines = [];
  lines.push(`@group(0) @binding(0) var<storage, read> A: array<vec4f>;`);
  lines.push(uniform ? `@group(0) @binding(1) var<uniform> W: array<vec4f, ${(K * NB) / 4}>;` : `@group(0) @binding(1) var<storage, read> W: array<vec4f>;`);
  lines.push(`@group(0) @binding(2) var<storage, read_write> C: array<vec4f>;`);
  lines.push(`@compute @workgroup_size(8) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u) {`);
  lines.push(`  let m0 = (wg.x * 8u + l.x) * ${TM}u;`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < N4; j++) lines.push(`  var c${i}_${j} = vec4f(0.0);`);
  for (let k4 = 0; k4 < K / 4; k4++) {
    for (let i = 0; i < TM; i++) lines.push(`  let a${i}_${k4} = A[(m0 + ${i}u) * ${K / 4}u + ${k4}u];`);
    for (let kk = 0; kk < 4; kk++) {
      const k = k4 * 4 + kk, comp = 'xyzw'[kk];
      for (let j = 0; j < N4; j++) {
        lines.push(`  { let w = W[${k * N4 + j}u];`);
        for (let i = 0; i < TM; i++) lines.push(`    c${i}_${j} = fma(vec4f(a${i}_${k4}.${comp}), w, c${i}_${j});`);
        lines.push(`  }`);
      }
    }
  }
  for (let i = 0; i < TM; i++) for (let j = 0; j < N4; j++) lines.push(`  C[(m0 + ${i}u) * ${N4}u + ${j}u] = c${i}_${j};`);
  lines.push('}');
  return lines.join('\n');
}

const a = device.createBuffer({ size: M * 1024 * 4, usage: GPUBufferUsage.STORAGE });
const w = device.createBuffer({ size: 65536, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM });
const c = device.createBuffer({ size: M * 64 * 4, usage: GPUBufferUsage.STORAGE });
const configs = JSON.parse(process.argv[2] ?? '[[64,32,2],[64,32,4],[64,16,4],[128,32,2]]');
for (let r = 0; r < 2; r++)
  for (const [K, NB, TM] of configs)
    for (const uniform of [true]) {
      const t0 = performance.now();
      const p = pipelineWith(device, kernel(K, NB, TM, uniform), [a, w, c]);
      const built = performance.now() - t0;
      const ms = await fastestSubmit(device, p, [M / (8 * TM)], 3);
      console.log(`K ${K} NB ${NB} TM ${TM} ${uniform ? 'uniform' : 'storage'}: ${ms.toFixed(1)} ms, ${((2 * M * K * NB) / ms / 1e6).toFixed(1)} GFLOP/s (built in ${built.toFixed(0)} ms)`);
    }
process.exit(0);
