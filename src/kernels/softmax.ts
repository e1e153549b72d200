// Row-wise softmax forward and backward over the last dimension (shaders/softmax.wgsl),
// with an optional scale on the logits (y = softmax(scale·x)); row layouts as reduce.ts.
// Tensors are f32, or all f16 (computed in f32) where the adapter has shader-f16.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature } from '../gpu/pipelines.js';
import { registerVariants } from './registry.js';
import { layoutSpec, rowGrid, rowLayout, ROW_LAYOUTS, type RowVariant } from './reduce.js';

const FWD: KernelSignature = { name: 'softmax', bindings: ['read', 'rw', 'uniform'] };
const BWD: KernelSignature = { name: 'softmax.backward', bindings: ['read', 'read', 'rw', 'uniform'] };
for (const l of ROW_LAYOUTS)
  for (const f16 of [false, true])
    registerVariants({ sig: FWD, spec: { ...layoutSpec('softmax.wgsl', l, {}, ['FWD']), f16: f16 || undefined } }, { sig: BWD, spec: { ...layoutSpec('softmax.wgsl', l, {}, ['BWD']), f16: f16 || undefined } });

export interface SoftmaxOptions {
  /** Multiplies the logits before the softmax (default 1). */
  scale?: number;
  variant?: RowVariant;
}

function check(name: string, ts: [string, Tensor][]): [number, number] {
  const [n0, x] = ts[0];
  expectDType(name, n0, x, 'f32', 'f16');
  for (const [n, t] of ts.slice(1)) expectDType(name, n, t, x.dtype);
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] === 0) throw new Error(`${name}: ${n0} ${shapeStr(x.shape)} needs a non-empty last dimension`);
  for (const [n, t] of ts.slice(1)) if (t.size !== x.size) throw new Error(`${name}: ${n} ${shapeStr(t.shape)} must have the shape of ${n0} ${shapeStr(x.shape)}`);
  const cols = x.shape[x.shape.length - 1];
  return [x.size / cols, cols];
}

function params(rt: Runtime, name: string, rows: number, cols: number, gx: number, scale: number): GPUBuffer {
  return rt.uniform(packUniform([['u32', rows], ['u32', cols], ['u32', gx], ['f32', scale]]), `${name}.params`);
}

/** y = softmax(scale·x) over the last dimension. */
export function softmax(rt: Runtime, x: Tensor, y: Tensor, opts: SoftmaxOptions = {}): Promise<Op> {
  const name = 'softmax';
  const [rows, cols] = check(name, [['x', x], ['y', y]]);
  const layout = rowLayout(rt, opts.variant, name);
  const [gx, gy] = rowGrid(rt, rows, layout);
  return rt.op(FWD, { ...layoutSpec('softmax.wgsl', layout, {}, ['FWD']), f16: x.dtype === 'f16' || undefined }, [x, y, params(rt, name, rows, cols, gx, opts.scale ?? 1)], [gx, gy], name);
}

/** dx = scale · y ⊙ (dy − Σ_row dy ⊙ y), with y the forward's output. */
export function softmaxBackward(rt: Runtime, y: Tensor, dy: Tensor, dx: Tensor, opts: SoftmaxOptions = {}): Promise<Op> {
  const name = 'softmax.backward';
  const [rows, cols] = check(name, [['y', y], ['dy', dy], ['dx', dx]]);
  const layout = rowLayout(rt, opts.variant, name);
  const [gx, gy] = rowGrid(rt, rows, layout);
  return rt.op(BWD, { ...layoutSpec('softmax.wgsl', layout, {}, ['BWD']), f16: y.dtype === 'f16' || undefined }, [y, dy, dx, params(rt, name, rows, cols, gx, opts.scale ?? 1)], [gx, gy], name);
}
