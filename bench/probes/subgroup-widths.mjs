// Which subgroup sizes lavapipe emulates correctly (bench/RESULTS.md, nineteenth session): its
// subgroup is LP_NATIVE_VECTOR_WIDTH / 32 lanes. A subgroupShuffle over every lane (the
// matmul's subgroup tile's pattern) and one at a lane-dependent index, checked on the host.
// Run: for w in 128 256 512 1024; do LP_NATIVE_VECTOR_WIDTH=$w node bench/probes/subgroup-widths.mjs; done
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create(['backend=vulkan', 'adapter=llvmpipe']);
const adapter = await gpu.requestAdapter();
const SG = adapter.info.subgroupMinSize;
const device = await adapter.requestDevice({ requiredFeatures: ['subgroups'] });
const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(${SG}) fn main(@builtin(subgroup_invocation_id) l: u32) {
  let v = vec4f(f32(l), f32(l) + 100.0, f32(l) + 200.0, f32(l) + 300.0);
  var acc = 0.0;
  for (var i = 0u; i < ${SG}u; i++) { let a = subgroupShuffle(v, i); acc += a.x * f32(i + 1u) + a.w; }
  o[l] = acc;
  o[${SG}u + l] = subgroupShuffle(v, (l + 3u) % ${SG}u).y;
}`;
const bytes = 2 * SG * 4;
const out = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const enc = device.createCommandEncoder();
const pass = enc.beginComputePass();
pass.setPipeline(pipeline);
pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
pass.dispatchWorkgroups(1);
pass.end();
enc.copyBufferToBuffer(out, 0, read, 0, bytes);
device.queue.submit([enc.finish()]);
await read.mapAsync(GPUMapMode.READ);
const got = new Float32Array(read.getMappedRange());
let sum = 0;
for (let i = 0; i < SG; i++) sum += i * (i + 1) + i + 300;
const bad = [];
for (let l = 0; l < SG; l++) {
  if (got[l] !== sum) bad.push(`lane ${l} loop ${got[l]} (expected ${sum})`);
  if (got[SG + l] !== ((l + 3) % SG) + 100) bad.push(`lane ${l} shuffle ${got[SG + l]} (expected ${((l + 3) % SG) + 100})`);
}
console.log(`${adapter.info.device}: subgroups of ${SG}: ${bad.length ? `WRONG in ${bad.length} checks, e.g. ${bad.slice(0, 3).join('; ')}` : 'every lane right'}`);
process.exit(0);
