// The cost of a dispatch on lavapipe at the thread count in LP_NUM_THREADS: the same total
// work (an elementwise kernel, 20 multiply-adds per element, over 512 Ki vec4s, 24 times)
// cut into 24, 240 or 2400 dispatches of one pass. More threads make large dispatches faster (the split is even, so
// one busy core no longer stalls each dispatch) but each dispatch's own cost higher
// (bench/RESULTS.md, 2026-12-06). Run: LP_NUM_THREADS=2 node bench/probes/dispatch.mjs, then 8.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['backend=vulkan', 'adapter=llvmpipe']);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
const N = 4096 * 128;
const x = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
const y = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
const code = `@group(0) @binding(0) var<storage, read> x: array<vec4f>; @group(0) @binding(1) var<storage, read_write> y: array<vec4f>;
struct P { n: u32 } @group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { let i = g.x; if (i < p.n) { var v = x[i]; for (var k = 0; k < 20; k++) { v = v * 0.999 + 0.001; } y[i] = v; } }`;
const module = device.createShaderModule({ code });
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
async function run(n, count) {
  const u = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(u, 0, new Uint32Array([n, 0, 0, 0]));
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }, { binding: 2, resource: { buffer: u } }] });
  let best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder(); const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bg);
    for (let i = 0; i < count; i++) pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end(); device.queue.submit([enc.finish()]); await device.queue.onSubmittedWorkDone();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`${count} dispatches of ${n} vec4: ${best.toFixed(1)} ms, ${(best / count).toFixed(3)} ms each`);
}
await run(N, 24); await run(N / 10, 240); await run(N / 100, 2400);
process.exit(0);
