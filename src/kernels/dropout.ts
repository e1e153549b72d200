// Dropout from the counter RNG (shaders/dropout.wgsl): the keep decision for element i is a
// pure function of (seed, step, stream, i), so the backward is the same kernel applied to dy
// with the same (seed, step, stream): no mask tensor is stored. Rate 0 is an exact identity.
//
// seed and step are read at run time from a small u32 tensor [seed, step] (`dropoutRng`):
// ops are built once, and the trainer writes the step into that tensor before each submit
// (rt.write). `stream` tells apart the dropout sites of one step (e.g. 2 per layer).
// Tensors are f32, or f16 (scaled in f32) where the adapter has shader-f16.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 64;
const SIG: KernelSignature = { name: 'dropout', bindings: ['read', 'rw', 'read', 'uniform'] };
for (const f16 of [false, true]) for (const size of VEC4_PATHS) registerVariants({ sig: SIG, spec: spec(f16, size) });

function spec(f16: boolean, size: number): ShaderSpec {
  return { file: 'dropout.wgsl', consts: { WG }, f16: f16 || undefined, defines: vec4Defines(size) };
}

export interface DropoutOptions {
  /** Probability of dropping an element, in [0, 1). */
  rate: number;
  /** u32 tensor holding [seed, step] (see dropoutRng). */
  rng: Tensor;
  /** Which dropout site this is (distinct per site within a step). */
  stream: number;
}

/** A u32 [2] tensor [seed, step] for dropout ops; update the step with rt.write(t, [seed, step]). */
export function dropoutRng(rt: Runtime, seed: number, step = 0): Tensor {
  return rt.upload([seed >>> 0, step >>> 0], [2], 'u32', 'dropout.rng');
}

/** Threshold on a 32-bit draw below which an element is dropped. */
export function dropoutThreshold(rate: number): number {
  return Math.min(Math.floor(rate * 2 ** 32), 2 ** 32 - 1);
}

/**
 * The checked options as a kernel's uniform fields: the threshold on a draw, the stream and
 * the scale of kept elements (also the dropout fused into layernorm.residual).
 */
export function dropoutFields(name: string, o: DropoutOptions): { threshold: number; stream: number; scale: number } {
  expectDType(name, 'rng', o.rng, 'u32');
  if (o.rng.size < 2) throw new Error(`${name}: rng ${shapeStr(o.rng.shape)} must hold [seed, step]`);
  if (!(o.rate >= 0 && o.rate < 1)) throw new Error(`${name}: rate must be in [0, 1), got ${o.rate}`);
  if (!Number.isInteger(o.stream) || o.stream < 0 || o.stream > 0xffffffff) throw new Error(`${name}: stream must be a u32, got ${o.stream}`);
  return { threshold: dropoutThreshold(o.rate), stream: o.stream, scale: o.rate === 0 ? 1 : 1 / (1 - o.rate) };
}

function build(rt: Runtime, name: string, inp: Tensor, out: Tensor, o: DropoutOptions, inName: string, outName: string): Promise<Op> {
  expectDType(name, inName, inp, 'f32', 'f16');
  expectDType(name, outName, out, inp.dtype);
  if (out.size !== inp.size) throw new Error(`${name}: ${outName} ${shapeStr(out.shape)} must have the shape of ${inName} ${shapeStr(inp.shape)}`);
  const d = dropoutFields(name, o);
  const [gx, gy] = grid1d(Math.ceil(inp.size / 4), WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(
    packUniform([['u32', inp.size], ['u32', gx], ['u32', d.threshold], ['u32', d.stream], ['f32', d.scale], ['u32', 0], ['u32', 0], ['u32', 0]]),
    `${name}.params`,
  );
  return rt.op(SIG, spec(inp.dtype === 'f16', inp.size), [inp, out, o.rng, params], [gx, gy], name);
}

/** out = dropout(x). */
export function dropout(rt: Runtime, x: Tensor, out: Tensor, o: DropoutOptions): Promise<Op> {
  return build(rt, 'dropout', x, out, o, 'x', 'out');
}

/** dx = dy masked and scaled exactly as the forward with the same options (and rng contents). */
export function dropoutBackward(rt: Runtime, dy: Tensor, dx: Tensor, o: DropoutOptions): Promise<Op> {
  return build(rt, 'dropout.backward', dy, dx, o, 'dy', 'dx');
}
