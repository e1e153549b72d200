// Elementwise binary ops, the affine map and tanh (forward and backward), one shader
// specialised by op.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { grid1d } from './grid.js';
import { registerVariants } from './registry.js';

export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3, max: 4 } as const;
export type BinaryOp = keyof typeof BINARY_OPS;
const AFFINE = 10;
const TANH = 11;
const TANH_BACKWARD = 12;
const WG = 256;

const SIG: KernelSignature = { name: 'elementwise', bindings: ['read', 'read', 'rw', 'uniform'] };

registerVariants(
  ...[...Object.values(BINARY_OPS), AFFINE, TANH, TANH_BACKWARD].map((OP) => ({ sig: SIG, spec: { file: 'elementwise.wgsl', consts: { OP } } })),
);

function build(rt: Runtime, op: number, a: Tensor, b: Tensor, out: Tensor, alpha: number, beta: number, label: string): Promise<Op> {
  const [gx, gy] = grid1d(a.size, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', a.size], ['u32', gx], ['f32', alpha], ['f32', beta]]), `${label}.params`);
  return rt.op(SIG, { file: 'elementwise.wgsl', consts: { OP: op } }, [a, b, out, params], [gx, gy], label);
}

/** out = a OP b, elementwise over equal shapes. */
export function binary(rt: Runtime, op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): Promise<Op> {
  const name = `elementwise.${op}`;
  for (const [n, t] of [['a', a], ['b', b], ['out', out]] as const) expectDType(name, n, t, 'f32');
  if (a.size !== b.size || a.size !== out.size)
    throw new Error(`${name}: sizes differ: a ${shapeStr(a.shape)}, b ${shapeStr(b.shape)}, out ${shapeStr(out.shape)}`);
  if (!(op in BINARY_OPS)) throw new Error(`${name}: unknown op (expected ${Object.keys(BINARY_OPS).join(', ')})`);
  return build(rt, BINARY_OPS[op], a, b, out, 0, 0, name);
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
