// What the lavapipe probes share: a plain Dawn device on lavapipe (no electrolite runtime, so
// nothing of ours in between), and the fastest of a few submits of one pass.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const keep = []; // Dawn's instance must outlive its devices

/** A device on lavapipe; `limits` are requested at the adapter's values. */
export async function lavapipeDevice(limits = []) {
  const gpu = create(['backend=vulkan', 'adapter=llvmpipe']);
  keep.push(gpu);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no lavapipe adapter (mesa-vulkan-drivers >= 24)');
  return adapter.requestDevice({ requiredLimits: Object.fromEntries(limits.map((k) => [k, adapter.limits[k]])) });
}

/** A pipeline from WGSL `code` (entry `main`) with its buffers bound in order at group 0. */
export function pipelineWith(device, code, buffers) {
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  return { pipeline, bindGroup };
}

/** Fastest of `rounds` submits, in ms; each records `dispatches` (workgroup counts) of `p` in one pass. */
export async function fastestSubmit(device, p, dispatches, rounds = 4) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, p.bindGroup);
    for (const n of dispatches) pass.dispatchWorkgroups(n);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
