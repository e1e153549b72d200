// Does Dawn's `disable_robustness` toggle change what lavapipe does with an out-of-bounds
// read? One dispatch reads 8 words through a 4-word binding of a larger buffer (words 100…)
// and prints them, with and without the toggle. Clamped reads would repeat 103; lavapipe's
// own bounds check returns 0 either way, so the toggle has nothing to remove there
// (bench/RESULTS.md, 2026-12-06). Run: node bench/probes/robustness.mjs
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const keep = [];
async function probe(extra) {
  const gpu = create(['backend=vulkan', 'adapter=llvmpipe', ...extra]);
  keep.push(gpu); // Dawn's instance must outlive its device
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no lavapipe adapter (mesa-vulkan-drivers >= 24)');
  const device = await adapter.requestDevice();
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read> a: array<u32>;
           @group(0) @binding(1) var<storage, read_write> o: array<u32>;
           @compute @workgroup_size(1) fn main() { for (var i = 0u; i < 8u; i++) { o[i] = a[i]; } }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const src = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(src, 0, new Uint32Array(64).map((_, i) => 100 + i));
  const out = device.createBuffer({ size: 32, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: src, offset: 0, size: 16 } }, { binding: 1, resource: { buffer: out } }],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, 32);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  return Array.from(new Uint32Array(read.getMappedRange()));
}
console.log('default              ', (await probe([])).join(' '));
console.log('disable_robustness   ', (await probe(['enable-dawn-features=disable_robustness'])).join(' '));
process.exit(0); // Dawn's exit is racy without it
