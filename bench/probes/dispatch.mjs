// The cost of a dispatch on lavapipe at the thread count in LP_NUM_THREADS: the same total
// work (an elementwise kernel, 20 multiply-adds per element, over 512 Ki vec4s, 24 times)
// cut into 24, 240 or 2400 dispatches of one pass. More threads make large dispatches faster (the split is even, so
// one busy core no longer stalls each dispatch) but each dispatch's own cost higher
// (bench/RESULTS.md, 2026-12-06). Run: LP_NUM_THREADS=2 node bench/probes/dispatch.mjs, then 8.
import { fastestSubmit, lavapipeDevice, pipelineWith } from './lavapipe.mjs';

const device = await lavapipeDevice();
const N = 4096 * 128;
const x = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
const y = device.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
const code = `@group(0) @binding(0) var<storage, read> x: array<vec4f>; @group(0) @binding(1) var<storage, read_write> y: array<vec4f>;
struct P { n: u32 } @group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { let i = g.x; if (i < p.n) { var v = x[i]; for (var k = 0; k < 20; k++) { v = v * 0.999 + 0.001; } y[i] = v; } }`;
async function run(n, count) {
  const u = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(u, 0, new Uint32Array([n, 0, 0, 0]));
  const best = await fastestSubmit(device, pipelineWith(device, code, [x, y, u]), Array(count).fill(Math.ceil(n / 64)));
  console.log(`${count} dispatches of ${n} vec4: ${best.toFixed(1)} ms, ${(best / count).toFixed(3)} ms each`);
}
await run(N, 24); await run(Math.round(N / 10), 240); await run(Math.round(N / 100), 2400);
process.exit(0);
