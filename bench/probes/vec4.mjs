// An elementwise kernel (y = 0.5·x + 1 over 2 Mi floats) three ways on lavapipe: one element
// per invocation, four scalar accesses per invocation, one vec4 per invocation. Every access
// costs per invocation there, so the vec4 form does a quarter of them and runs ~2× faster
// than the first (bench/RESULTS.md, 2026-12-06) — why GELU and dropout move vec4s when the
// size allows. Run: node bench/probes/vec4.mjs
import { fastestSubmit, lavapipeDevice, pipelineWith } from './lavapipe.mjs';

const device = await lavapipeDevice();
const N = 4096 * 512;
const x = device.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE });
const y = device.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE });
const variants = {
  scalar: [`@group(0) @binding(0) var<storage, read> x: array<f32>; @group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) { let i = g.x + g.y * 65535u * 256u; if (i < arrayLength(&x)) { y[i] = x[i] * 0.5 + 1.0; } }`, N / 256],
  vec4: [`@group(0) @binding(0) var<storage, read> x: array<vec4f>; @group(0) @binding(1) var<storage, read_write> y: array<vec4f>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) { let i = g.x; if (i < arrayLength(&x)) { y[i] = x[i] * 0.5 + 1.0; } }`, N / 1024],
  scalar4: [`@group(0) @binding(0) var<storage, read> x: array<f32>; @group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) { for (var k = 0u; k < 4u; k++) { let i = (g.x / 256u * 4u + k) * 256u + g.x % 256u; if (i < arrayLength(&x)) { y[i] = x[i] * 0.5 + 1.0; } } }`, N / 1024],
};
async function time(name) {
  const [code, wg] = variants[name];
  const best = await fastestSubmit(device, pipelineWith(device, code, [x, y]), [wg], 5);
  console.log(name.padEnd(10), best.toFixed(2), 'ms', (N * 8 / best / 1e6).toFixed(2), 'GB/s');
}
for (let r = 0; r < 2; r++) for (const k of Object.keys(variants)) await time(k);
process.exit(0);
