// Fused AdamW (shaders/adamw.wgsl): one dispatch per tensor updates param, m and v (the trainer
// passes whole parameter arenas: src/model/params.ts).
//
//   const step = createStepBuffer(rt);                 // [step u32, lr f32], shared by all ops
//   const op = await adamw(rt, { param, grad, m, v }, clip.state, step, { weightDecay: 0.01, decay: true });
//   each step: writeStep(rt, step, t, lr); rt.record(...clip.ops, op, ...)
//
// The step t is 1-based (bias correction 1 − β^t). `decay: false` for biases and LayerNorm.
// The clip state ([scale, norm, sumsq, nonfinite], see clip.ts) scales the gradient; when its
// nonfinite flag is set the update is skipped. Use `unitClipState` when not clipping.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 256;
/** Elements per invocation: 4, so that sizes that are a multiple of 4 move as one vec4 per tensor (VEC4). */
const PER = 4;
const SIG: KernelSignature = { name: 'adamw', bindings: ['rw', 'read', 'rw', 'rw', 'read', 'uniform', 'uniform'] };
const spec = (size: number): ShaderSpec => ({ file: 'adamw.wgsl', consts: { WG, PER }, defines: vec4Defines(size) });
for (const size of VEC4_PATHS) registerVariants({ sig: SIG, spec: spec(size) });

export interface AdamWConfig {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Apply weight decay to this tensor (false for biases and LayerNorm). */
  decay: boolean;
}

export interface AdamWTensors {
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
}

/** The per-step uniform [step u32, lr f32, 0, 0]; also read by the sampling kernels (step). */
export function createStepBuffer(rt: Runtime, step = 1, lr = 0): GPUBuffer {
  return rt.uniform(packUniform([['u32', step], ['f32', lr], ['u32', 0], ['u32', 0]]), 'step');
}

/** Write the step counter and learning rate (queued; takes effect at the next submit). */
export function writeStep(rt: Runtime, buf: GPUBuffer, step: number, lr: number): void {
  rt.device.queue.writeBuffer(buf, 0, packUniform([['u32', step], ['f32', lr], ['u32', 0], ['u32', 0]]));
}

/** A clip state meaning "no clipping": [scale 1, norm 0, sumsq 0, finite]. */
export function unitClipState(rt: Runtime): Tensor {
  return rt.upload([1, 0, 0, 0], [4], 'f32', 'clip.unit');
}

export function adamw(rt: Runtime, t: AdamWTensors, clipState: Tensor, step: GPUBuffer, cfg: AdamWConfig): Promise<Op> {
  const name = `adamw[${t.param.label}]`;
  for (const [n, x] of Object.entries(t)) {
    expectDType(name, n, x, 'f32');
    if (x.size !== t.param.size) throw new Error(`${name}: ${n} has shape ${shapeStr(x.shape)}, param has ${shapeStr(t.param.shape)} (sizes must match)`);
  }
  expectDType(name, 'clipState', clipState, 'f32');
  if (clipState.size < 4) throw new Error(`${name}: clipState has shape ${shapeStr(clipState.shape)}, needs 4 elements [scale, norm, sumsq, nonfinite]`);
  const beta1 = cfg.beta1 ?? 0.9, beta2 = cfg.beta2 ?? 0.999, eps = cfg.eps ?? 1e-8, wd = cfg.weightDecay ?? 0.01;
  for (const [n, b] of [['beta1', beta1], ['beta2', beta2]] as const)
    if (!(b > 0 && b < 1)) throw new Error(`${name}: ${n} must be in (0, 1), got ${b}`);
  const [gx, gy] = grid1d(Math.ceil(t.param.size / PER), WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(
    packUniform([['u32', t.param.size], ['u32', gx], ['f32', beta1], ['f32', beta2], ['f32', eps], ['f32', wd], ['u32', cfg.decay ? 1 : 0], ['u32', 0]]),
    `${name}.params`,
  );
  return rt.op(SIG, spec(t.param.size), [t.param, t.grad, t.m, t.v, clipState, step, params], [gx, gy], name);
}
