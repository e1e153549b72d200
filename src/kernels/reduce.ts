// Row reductions: [rows, cols] → [rows] sum, max or mean; deterministic tree order.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { grid1d } from './grid.js';
import { registerVariants } from './registry.js';

export const ROW_REDUCE_OPS = { sum: 0, max: 1, mean: 2 } as const;
export type RowReduceOp = keyof typeof ROW_REDUCE_OPS;

const SIG: KernelSignature = { name: 'reduce_rows', bindings: ['read', 'rw', 'uniform'] };
registerVariants(...Object.values(ROW_REDUCE_OPS).map((OP) => ({ sig: SIG, spec: { file: 'reduce_rows.wgsl', consts: { OP } } })));

/** out[r] = reduce(x[r, :]); x is [rows, cols] (or any shape, reduced over its last dim). */
export function reduceRows(rt: Runtime, op: RowReduceOp, x: Tensor, out: Tensor): Promise<Op> {
  const name = `reduce_rows.${op}`;
  expectDType(name, 'x', x, 'f32');
  expectDType(name, 'out', out, 'f32');
  if (x.shape.length < 1) throw new Error(`${name}: x must have at least one dimension, got ${shapeStr(x.shape)}`);
  const cols = x.shape[x.shape.length - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  if (cols === 0) throw new Error(`${name}: cannot reduce rows of length 0 (x ${shapeStr(x.shape)})`);
  if (out.size !== rows) throw new Error(`${name}: out has ${out.size} elements (${shapeStr(out.shape)}), expected ${rows} (one per row of x ${shapeStr(x.shape)})`);
  if (!(op in ROW_REDUCE_OPS)) throw new Error(`${name}: unknown op (expected ${Object.keys(ROW_REDUCE_OPS).join(', ')})`);
  const [gx, gy] = grid1d(rows, 1, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', rows], ['u32', cols], ['u32', gx], ['u32', 0]]), `${name}.params`);
  return rt.op(SIG, { file: 'reduce_rows.wgsl', consts: { OP: ROW_REDUCE_OPS[op] } }, [x, out, params], [gx, gy], name);
}
