// Elementwise binary ops, the affine map, tanh (forward and backward) and the f32 → f16 cast,
// one shader specialised by op. Binary ops take f32 tensors, or all-f16 ones (mixed
// precision's activation gradients; arithmetic in f32).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type DType, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants } from './registry.js';

export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3, max: 4 } as const;
export type BinaryOp = keyof typeof BINARY_OPS;
const AFFINE = 10;
const TANH = 11;
const TANH_BACKWARD = 12;
const CAST = 13;
const WG = 256;

const SIG: KernelSignature = { name: 'elementwise', bindings: ['read', 'read', 'rw', 'uniform'] };

/** The shader for an op over `size` elements of inputs and output of these dtypes (four per access where size allows). */
function spec(op: number, inputs: DType, out: DType, size: number): ShaderSpec {
  const storage = [...(inputs === 'f16' ? ['IN_F16'] : []), ...(out === 'f16' ? ['OUT_F16'] : [])];
  return { file: 'elementwise.wgsl', consts: { OP: op }, defines: [...storage, ...(vec4Defines(size) ?? [])], ...(storage.length ? { f16: true } : {}) };
}

for (const size of VEC4_PATHS)
  registerVariants(
    ...[...Object.values(BINARY_OPS), AFFINE, TANH, TANH_BACKWARD].map((OP) => ({ sig: SIG, spec: spec(OP, 'f32', 'f32', size) })),
    { sig: SIG, spec: spec(BINARY_OPS.add, 'f16', 'f16', size) },
    { sig: SIG, spec: spec(CAST, 'f32', 'f16', size) },
  );

function build(rt: Runtime, op: number, a: Tensor, b: Tensor, out: Tensor, alpha: number, beta: number, label: string): Promise<Op> {
  const units = vec4Defines(a.size) ? a.size / 4 : a.size;
  const [gx, gy] = grid1d(units, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', a.size], ['u32', gx], ['f32', alpha], ['f32', beta]]), `${label}.params`);
  return rt.op(SIG, spec(op, a.dtype, out.dtype, a.size), [a, b, out, params], [gx, gy], label);
}

/** out = a OP b, elementwise over equal shapes: all f32, or all f16. */
export function binary(rt: Runtime, op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): Promise<Op> {
  const name = `elementwise.${op}`;
  expectDType(name, 'a', a, 'f32', 'f16');
  for (const [n, t] of [['b', b], ['out', out]] as const) expectDType(name, n, t, a.dtype);
  if (a.size !== b.size || a.size !== out.size)
    throw new Error(`${name}: sizes differ: a ${shapeStr(a.shape)}, b ${shapeStr(b.shape)}, out ${shapeStr(out.shape)}`);
  if (!(op in BINARY_OPS)) throw new Error(`${name}: unknown op (expected ${Object.keys(BINARY_OPS).join(', ')})`);
  return build(rt, BINARY_OPS[op], a, b, out, 0, 0, name);
}

/** out = a rounded to f16 (a f32, out f16, equal sizes): the f16 copy of an f32 tensor. */
export function castToF16(rt: Runtime, a: Tensor, out: Tensor): Promise<Op> {
  const name = 'elementwise.cast';
  expectDType(name, 'a', a, 'f32');
  expectDType(name, 'out', out, 'f16');
  if (a.size !== out.size) throw new Error(`${name}: sizes differ: a ${shapeStr(a.shape)}, out ${shapeStr(out.shape)}`);
  return build(rt, CAST, a, a, out, 0, 0, name);
}

/** out = alpha·a + beta. */
export function affine(rt: Runtime, a: Tensor, out: Tensor, alpha: number, beta = 0): Promise<Op> {
  const name = 'elementwise.affine';
  expectDType(name, 'a', a, 'f32');
  expectDType(name, 'out', out, 'f32');
  if (a.size !== out.size) throw new Error(`${name}: sizes differ: a ${shapeStr(a.shape)}, out ${shapeStr(out.shape)}`);
  return build(rt, AFFINE, a, a, out, alpha, beta, name);
}

/** out = tanh(a). */
export function tanhForward(rt: Runtime, a: Tensor, out: Tensor): Promise<Op> {
  const name = 'elementwise.tanh';
  expectDType(name, 'a', a, 'f32');
  expectDType(name, 'out', out, 'f32');
  if (a.size !== out.size) throw new Error(`${name}: sizes differ: a ${shapeStr(a.shape)}, out ${shapeStr(out.shape)}`);
  return build(rt, TANH, a, a, out, 0, 0, name);
}

/** dx = dy · (1 − y²) from tanh's output y: its backward without the input. */
export function tanhBackward(rt: Runtime, y: Tensor, dy: Tensor, dx: Tensor): Promise<Op> {
  const name = 'elementwise.tanh.backward';
  for (const [n, t] of [['y', y], ['dy', dy], ['dx', dx]] as const) expectDType(name, n, t, 'f32');
  if (y.size !== dy.size || y.size !== dx.size) throw new Error(`${name}: sizes differ: y ${shapeStr(y.shape)}, dy ${shapeStr(dy.shape)}, dx ${shapeStr(dx.shape)}`);
  return build(rt, TANH_BACKWARD, y, dy, dx, 0, 0, name);
}
