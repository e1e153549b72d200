// What one lane-varying load costs on lavapipe, by address space: each invocation of one
// subgroup-sized workgroup reads vec4s at lane-dependent indices from a storage buffer, a
// uniform buffer, or workgroup memory (filled from the storage buffer first), and sums them.
// Mesa 25.0's lavapipe loads per invocation and per component in every case (its
// single-load path needs an address built from constants only), so the three run at the
// same rate (bench/RESULTS.md, 2026-12-06): the matmul cannot escape its per-lane loads by
// moving an operand to another address space. Run: node bench/probes/loads.mjs
import { fastestSubmit, lavapipeDevice, pipelineWith } from './lavapipe.mjs';

const device = await lavapipeDevice(['maxUniformBufferBindingSize']);
const ITER = 4096, WG = 2048;
const kinds = {
  storage: `@group(0) @binding(0) var<storage, read> a: array<vec4f>;`,
  uniform: `@group(0) @binding(0) var<uniform> a: array<vec4f, 4096>;`,
};
const body = (decl, wgmem) => `${decl}
@group(0) @binding(1) var<storage, read_write> o: array<vec4f>;
${wgmem ? 'var<workgroup> s: array<vec4f, 1024>;' : ''}
@compute @workgroup_size(8) fn main(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) w: vec3u) {
  ${wgmem ? 'for (var i = l.x; i < 1024u; i += 8u) { s[i] = a[i]; } workgroupBarrier();' : ''}
  var acc = vec4f(0.0);
  var idx = l.x * 17u + w.x;
  for (var i = 0u; i < ${ITER}u; i++) {
    acc += ${wgmem ? "s[idx & 1023u]" : "a[idx & 4095u]"};
    idx += 8u;
  }
  o[w.x * 8u + l.x] = acc;
}`;
const a = device.createBuffer({ size: 65536, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const o = device.createBuffer({ size: WG * 8 * 16, usage: GPUBufferUsage.STORAGE });
async function time(name, code) {
  const best = await fastestSubmit(device, pipelineWith(device, code, [a, o]), [WG]);
  const loads = WG * 8 * ITER;
  console.log(name.padEnd(20), best.toFixed(1), 'ms', (loads / best / 1e6).toFixed(2), 'G vec4 loads/s');
}
for (let r = 0; r < 2; r++) {
  await time('storage', body(kinds.storage, false));
  await time('uniform', body(kinds.uniform, false));
  await time('storage->wgmem', body(kinds.storage, true));
}
process.exit(0);
