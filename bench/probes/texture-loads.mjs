// Whether lane-varying vec4 reads are cheaper through a texture on lavapipe: the same loop as
// loads.mjs reading a storage buffer, a textureLoad of rgba32float, and scalar f32 loads.
// On Mesa 25.0 the texture is not faster (bench/RESULTS.md, twelfth session).
// Run: LP_NUM_THREADS=8 node bench/probes/texture-loads.mjs
import { fastestSubmit, lavapipeDevice } from './lavapipe.mjs';
const device = await lavapipeDevice();
const ITER = 4096, WG = 2048;
const a = device.createBuffer({ size: 65536, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
const o = device.createBuffer({ size: WG * 8 * 16, usage: GPUBufferUsage.STORAGE });
const tex = device.createTexture({ size: [64, 64], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
const code = {
  storage: `@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4f>;
@compute @workgroup_size(8) fn main(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) w: vec3u) {
  var acc = vec4f(0.0);
  var idx = l.x * 17u + w.x;
  for (var i = 0u; i < ${ITER}u; i++) { acc += a[idx & 4095u]; idx += 8u; }
  o[w.x * 8u + l.x] = acc;
}`,
  texture: `@group(0) @binding(0) var a: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4f>;
@compute @workgroup_size(8) fn main(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) w: vec3u) {
  var acc = vec4f(0.0);
  var idx = l.x * 17u + w.x;
  for (var i = 0u; i < ${ITER}u; i++) { let j = idx & 4095u; acc += textureLoad(a, vec2u(j & 63u, j >> 6u), 0); idx += 8u; }
  o[w.x * 8u + l.x] = acc;
}`,
  scalar_storage: `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4f>;
@compute @workgroup_size(8) fn main(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) w: vec3u) {
  var acc = vec4f(0.0);
  var idx = l.x * 17u + w.x;
  for (var i = 0u; i < ${ITER}u; i++) { acc.x += a[idx & 16383u]; idx += 8u; }
  o[w.x * 8u + l.x] = acc;
}`,
};
async function time(name) {
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: code[name] }), entryPoint: 'main' } });
  const res = name === 'texture' ? tex.createView() : { buffer: a };
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: res }, { binding: 1, resource: { buffer: o } }] });
  const best = await fastestSubmit(device, { pipeline, bindGroup }, [WG]);
  console.log(name.padEnd(20), best.toFixed(1), 'ms', (WG * 8 * ITER / best / 1e6).toFixed(2), 'G loads/s');
}
for (let r = 0; r < 2; r++) for (const n of Object.keys(code)) await time(n);
process.exit(0);
