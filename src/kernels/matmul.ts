// Plain matmul C = A·B (row-major f32), register-tiled.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { ceilDiv } from './grid.js';
import { registerVariants } from './registry.js';

export interface MatmulTile {
  TM: number;
  TN: number;
  WGX: number;
  WGY: number;
}

export const DEFAULT_TILE: MatmulTile = { TM: 4, TN: 4, WGX: 8, WGY: 8 };

const SIG: KernelSignature = { name: 'matmul', bindings: ['read', 'read', 'rw', 'uniform'] };
registerVariants({ sig: SIG, spec: { file: 'matmul.wgsl', consts: { ...DEFAULT_TILE } } });

/** C[M,N] = A[M,K]·B[K,N]. */
export function matmul(rt: Runtime, A: Tensor, B: Tensor, C: Tensor, tile: MatmulTile = DEFAULT_TILE): Promise<Op> {
  const name = 'matmul';
  for (const [n, t] of [['A', A], ['B', B], ['C', C]] as const) {
    expectDType(name, n, t, 'f32');
    if (t.shape.length !== 2) throw new Error(`${name}: ${n} must be 2-D, got ${shapeStr(t.shape)}`);
  }
  const [M, K] = A.shape;
  const [K2, N] = B.shape;
  if (K !== K2) throw new Error(`${name}: inner dimensions differ: A ${shapeStr(A.shape)} · B ${shapeStr(B.shape)}`);
  if (C.shape[0] !== M || C.shape[1] !== N) throw new Error(`${name}: C has shape ${shapeStr(C.shape)}, expected [${M}, ${N}] for A ${shapeStr(A.shape)} · B ${shapeStr(B.shape)}`);
  const params = rt.uniform(packUniform([['u32', M], ['u32', N], ['u32', K], ['u32', 0]]), `${name}.params`);
  const grid = [ceilDiv(ceilDiv(N, tile.TN), tile.WGX), ceilDiv(ceilDiv(M, tile.TM), tile.WGY)];
  return rt.op(SIG, { file: 'matmul.wgsl', consts: { ...tile } }, [A, B, C, params], grid, name);
}
