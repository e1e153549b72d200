// An elementwise kernel (y = 0.5·x + 1 over 2 Mi floats) three ways on lavapipe: one element
// per invocation, four scalar accesses per invocation, one vec4 per invocation. Every access
// costs per invocation there, so the vec4 form does a quarter of them and runs ~2× faster
// than the first (bench/RESULTS.md, 2026-12-06) — why GELU and dropout move vec4s when the
// size allows. Run: node bench/probes/vec4.mjs
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['backend=vulkan', 'adapter=llvmpipe']);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
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
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }] });
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder(); const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(wg); pass.end();
    device.queue.submit([enc.finish()]); await device.queue.onSubmittedWorkDone();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(name.padEnd(10), best.toFixed(2), 'ms', (N * 8 / best / 1e6).toFixed(2), 'GB/s');
}
for (let r = 0; r < 2; r++) for (const k of Object.keys(variants)) await time(k);
process.exit(0);
