// The arithmetic ceiling of lavapipe on this machine: a kernel with no memory traffic in its
// loop, only multiply-adds on registers (acc = fma(acc, x, c), ACC independent vec4
// accumulators per invocation), in workgroups of one subgroup (8) and of 64. No matmul can
// beat it; the matmul's best tiles reach ~60–80 % of it (bench/RESULTS.md, 2026-12-06,
// eleventh session), which bounds what faster kernels could still give a training step.
// (lavapipe splits `fma` into a multiply and an add, and more accumulators than the 16
// vector registers spill.) Run: LP_NUM_THREADS=8 node bench/probes/fma-peak.mjs
import { fastestSubmit, lavapipeDevice, pipelineWith } from './lavapipe.mjs';

const device = await lavapipeDevice();
const ITER = 4096, LANES = 4096 * 8;
const out = device.createBuffer({ size: LANES * 16, usage: GPUBufferUsage.STORAGE });
const kernel = (acc, wg) => `
@group(0) @binding(0) var<storage, read_write> o: array<vec4f>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) g: vec3u) {
  var acc: array<vec4f, ${acc}>;
  let x = vec4f(f32(g.x % 8u) * 0.001 + 0.9);
  for (var j = 0u; j < ${acc}u; j++) { acc[j] = vec4f(f32(j)); }
  for (var i = 0u; i < ${ITER}u; i++) {
    for (var j = 0u; j < ${acc}u; j++) { acc[j] = fma(acc[j], x, vec4f(0.01)); }
  }
  var s = vec4f(0.0);
  for (var j = 0u; j < ${acc}u; j++) { s += acc[j]; }
  o[g.x] = s;
}`;
for (let round = 0; round < 2; round++)
  for (const [acc, wg] of [[2, 8], [4, 8], [8, 8], [16, 8], [4, 64], [8, 64]]) {
    const ms = await fastestSubmit(device, pipelineWith(device, kernel(acc, wg), [out]), [LANES / wg]);
    const flops = LANES * ITER * acc * 4 * 2;
    console.log(`accumulators ${acc} vec4, workgroup ${wg}`.padEnd(36), `${ms.toFixed(1)} ms`.padStart(10), `${(flops / ms / 1e6).toFixed(1)} GFLOP/s`.padStart(14));
  }
process.exit(0);
