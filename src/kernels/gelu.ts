// GELU forward and backward as standalone elementwise kernels (shaders/gelu.wgsl), erf form
// (BERT, default) or tanh form, sharing shaders/activations.wgsl with the matmul epilogue.
// Tensors are f32, or all f16 (computed in f32) where the adapter has shader-f16.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants } from './registry.js';

export type GeluForm = 'erf' | 'tanh';
const FORMS: Record<GeluForm, number> = { erf: 0, tanh: 1 };
const WG = 256;
/** Elements per invocation: 8 measured ~2× faster than 1 on lavapipe; plenty of threads remain on GPUs. A multiple of 4 (the vec4 path moves VPT / 4 vectors). */
const VPT = 8;
const SIG: KernelSignature = { name: 'gelu', bindings: ['read', 'read', 'rw', 'uniform'] };
for (const FORM of [0, 1]) for (const BWD of [false, true]) for (const f16 of [false, true]) for (const size of VEC4_PATHS) registerVariants({ sig: SIG, spec: spec(FORM, BWD, f16, size) });

function spec(FORM: number, BWD: boolean, f16: boolean, size: number): ShaderSpec {
  return { file: 'gelu.wgsl', consts: { FORM, BWD, VPT }, f16: f16 || undefined, defines: vec4Defines(size) };
}

function build(rt: Runtime, name: string, form: GeluForm, x: Tensor, dy: Tensor | null, out: Tensor): Promise<Op> {
  if (!(form in FORMS)) throw new Error(`${name}: unknown form '${form}' (expected erf or tanh)`);
  expectDType(name, 'x', x, 'f32', 'f16');
  expectDType(name, dy ? 'dx' : 'out', out, x.dtype);
  if (dy) {
    expectDType(name, 'dy', dy, x.dtype);
    if (dy.size !== x.size) throw new Error(`${name}: dy ${shapeStr(dy.shape)} must have the shape of x ${shapeStr(x.shape)}`);
  }
  if (out.size !== x.size) throw new Error(`${name}: ${dy ? 'dx' : 'out'} ${shapeStr(out.shape)} must have the shape of x ${shapeStr(x.shape)}`);
  const [gx, gy] = grid1d(Math.ceil(x.size / VPT), WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', x.size], ['u32', gx], ['u32', 0], ['u32', 0]]), `${name}.params`);
  return rt.op(SIG, spec(FORMS[form], dy !== null, x.dtype === 'f16', x.size), [x, dy ?? x, out, params], [gx, gy], name);
}

/** out = GELU(x), elementwise. */
export function gelu(rt: Runtime, x: Tensor, out: Tensor, opts: { form?: GeluForm } = {}): Promise<Op> {
  const form = opts.form ?? 'erf';
  return build(rt, `gelu.${form}`, form, x, null, out);
}

/** dx = dy · GELU'(x), with x the forward's input. */
export function geluBackward(rt: Runtime, x: Tensor, dy: Tensor, dx: Tensor, opts: { form?: GeluForm } = {}): Promise<Op> {
  const form = opts.form ?? 'erf';
  return build(rt, `gelu.${form}.backward`, form, x, dy, dx);
}
