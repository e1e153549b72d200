// Reductions: row reductions ([rows, cols] → [rows] sum, max, mean, sum of squares,
// argmax), whole-tensor reductions (sum, sum of squares, max) through per-block partials,
// and integer counts (equal elements, a value, masked). All deterministic: float results
// are combined in a fixed order (no float atomics); counts are integers.
//
// Row kernels share one layout scheme (shaders/row_common.wgsl): `tpr` invocations
// per row in workgroups of `wg`. Three variants, chosen by `rowLayout`:
//  - 'per-invocation' (tpr 1): one invocation owns a row, no barriers (CPU adapters);
//  - 'plain' (tpr = wg): a tree in workgroup memory;
//  - 'subgroups' (tpr = wg): subgroupAdd/Max, then a fixed-order fold across subgroups.
import type { Runtime, Op } from '../gpu/runtime.js';
import { isCpuAdapter } from '../gpu/adapter.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d } from './grid.js';
import { registerVariants } from './registry.js';

// ---- row layout shared by reduce_rows, layernorm, softmax ------------------------------

export type RowVariant = 'auto' | 'plain' | 'subgroups' | 'per-invocation';

export interface RowLayout {
  /** Invocations per workgroup. */
  wg: number;
  /** Invocations per row (1, or wg). */
  tpr: number;
  subgroups: boolean;
}


/**
 * The layout for row kernels on this adapter. 'auto': on a GPU the subgroup variant when the
 * adapter has subgroups, else the workgroup tree; on CPU adapters (lavapipe, llvmpipe-GL,
 * SwiftShader) one invocation per row, which measured fastest there (bench/cases-norm.ts).
 */
export function rowLayout(rt: Runtime, variant: RowVariant = 'auto', op = 'row kernel'): RowLayout {
  const wg = Math.max(64, rt.caps.subgroupMaxSize || 0);
  switch (variant) {
    case 'per-invocation':
      return { wg: 64, tpr: 1, subgroups: false };
    case 'plain':
      return { wg: 64, tpr: 64, subgroups: false };
    case 'subgroups':
      if (!rt.caps.subgroups) throw new Error(`${op}: the 'subgroups' variant needs the adapter feature 'subgroups', which this adapter lacks`);
      if (wg > (rt.limits.maxComputeInvocationsPerWorkgroup ?? 256)) throw new Error(`${op}: subgroup size ${wg} exceeds the workgroup limit`);
      return { wg, tpr: wg, subgroups: true };
    case 'auto':
      if (isCpuAdapter(rt.gpu.kind)) return { wg: 64, tpr: 1, subgroups: false };
      return rt.caps.subgroups ? { wg, tpr: wg, subgroups: true } : { wg: 64, tpr: 64, subgroups: false };
    default:
      throw new Error(`${op}: unknown row variant '${variant as string}' (expected auto, plain, subgroups, per-invocation)`);
  }
}

/** The layouts every row kernel registers (so the compile test covers each). */
export const ROW_LAYOUTS: readonly RowLayout[] = [
  { wg: 64, tpr: 1, subgroups: false },
  { wg: 64, tpr: 64, subgroups: false },
  { wg: 64, tpr: 64, subgroups: true },
];

/** Rows per workgroup and the grid covering `rows` rows. */
export function rowGrid(rt: Runtime, rows: number, l: RowLayout): [number, number] {
  return grid1d(rows, l.wg / l.tpr, rt.limits.maxComputeWorkgroupsPerDimension);
}

export function layoutSpec(file: string, l: RowLayout, consts: Record<string, number | boolean> = {}, defines: string[] = [], entry?: string): ShaderSpec {
  return { file, entry, consts: { WG: l.wg, TPR: l.tpr, ...consts }, defines, subgroups: l.subgroups || undefined };
}

// ---- row reductions ---------------------------------------------------------------------

export const ROW_REDUCE_OPS = { sum: 0, max: 1, mean: 2, sumsq: 3 } as const;
export type RowReduceOp = keyof typeof ROW_REDUCE_OPS;

const SIG: KernelSignature = { name: 'reduce_rows', bindings: ['read', 'rw', 'uniform'] };
for (const l of ROW_LAYOUTS) {
  registerVariants(
    ...Object.values(ROW_REDUCE_OPS).map((OP) => ({ sig: SIG, spec: layoutSpec('reduce_rows.wgsl', l, { OP }) })),
    { sig: SIG, spec: layoutSpec('reduce_rows.wgsl', l, {}, ['ARGMAX']) },
  );
}

export interface RowOptions {
  variant?: RowVariant;
}

interface RowReduceCall {
  name: string;
  x: Tensor;
  out: Tensor;
  rows: number;
  cols: number;
  n: number;
  outOffset: number;
  opCode: number;
  argmax: boolean;
  layout: RowLayout;
}

function rowReduceOp(rt: Runtime, c: RowReduceCall): Promise<Op> {
  const [gx, gy] = rowGrid(rt, c.rows, c.layout);
  const params = rt.uniform(packUniform([['u32', c.rows], ['u32', c.cols], ['u32', gx], ['u32', c.n], ['u32', c.outOffset], ['u32', 0xff800000], ['u32', 0], ['u32', 0]]), `${c.name}.params`);
  const spec = layoutSpec('reduce_rows.wgsl', c.layout, c.argmax ? {} : { OP: c.opCode }, c.argmax ? ['ARGMAX'] : []);
  return rt.op(SIG, spec, [c.x, c.out, params], [gx, gy], c.name);
}

function rowsCols(name: string, x: Tensor): [number, number] {
  if (x.shape.length < 1) throw new Error(`${name}: x must have at least one dimension, got ${shapeStr(x.shape)}`);
  const cols = x.shape[x.shape.length - 1];
  if (cols === 0) throw new Error(`${name}: cannot reduce rows of length 0 (x ${shapeStr(x.shape)})`);
  return [x.size / cols, cols];
}

/** out[r] = reduce(x[r, :]) for sum, max, mean or sumsq; x is reduced over its last dim. */
export function reduceRows(rt: Runtime, op: RowReduceOp, x: Tensor, out: Tensor, opts: RowOptions = {}): Promise<Op> {
  const name = `reduce_rows.${op}`;
  if (!(op in ROW_REDUCE_OPS)) throw new Error(`${name}: unknown op (expected ${Object.keys(ROW_REDUCE_OPS).join(', ')})`);
  expectDType(name, 'x', x, 'f32');
  expectDType(name, 'out', out, 'f32');
  const [rows, cols] = rowsCols(name, x);
  if (out.size !== rows) throw new Error(`${name}: out has ${out.size} elements (${shapeStr(out.shape)}), expected ${rows} (one per row of x ${shapeStr(x.shape)})`);
  const layout = rowLayout(rt, opts.variant, name);
  return rowReduceOp(rt, { name, x, out, rows, cols, n: x.size, outOffset: 0, opCode: ROW_REDUCE_OPS[op], argmax: false, layout });
}

/** out[r] = the index of the maximum of x[r, :] (u32 or i32), the lowest index on ties. NaNs: undefined. */
export function argmaxRows(rt: Runtime, x: Tensor, out: Tensor, opts: RowOptions = {}): Promise<Op> {
  const name = 'reduce_rows.argmax';
  expectDType(name, 'x', x, 'f32');
  expectDType(name, 'out', out, 'u32', 'i32');
  const [rows, cols] = rowsCols(name, x);
  if (cols > 1 << 24) throw new Error(`${name}: rows of ${cols} columns exceed the limit of 2^24 (x ${shapeStr(x.shape)})`);
  if (out.size !== rows) throw new Error(`${name}: out has ${out.size} elements (${shapeStr(out.shape)}), expected ${rows} (one per row of x ${shapeStr(x.shape)})`);
  const layout = rowLayout(rt, opts.variant, name);
  return rowReduceOp(rt, { name, x, out, rows, cols, n: x.size, outOffset: 0, opCode: 0, argmax: true, layout });
}

// ---- whole-tensor reductions -------------------------------------------------------------

export type FullReduceOp = 'sum' | 'sumsq' | 'max';

const MAX_BLOCKS = 1024;
const MIN_CHUNK = 4096;

/** How many partial results `reducePartials` writes for a tensor of n elements. */
export function partialCount(n: number): number {
  return Math.max(1, Math.min(MAX_BLOCKS, Math.ceil(n / MIN_CHUNK)));
}

/**
 * Writes partialCount(x.size) partial reductions of x into partials[offset, offset + count):
 * sums (for 'sum'), sums of squares ('sumsq') or maxima ('max') of fixed blocks. Reduce the
 * partials with `reduceRows(rt, 'sum' | 'max', partials, out)`. For the global gradient norm,
 * write every parameter's sum-of-squares partials into one buffer, then one final sum.
 */
export function reducePartials(rt: Runtime, op: FullReduceOp, x: Tensor, partials: Tensor, offset = 0, opts: RowOptions = {}): Promise<Op> {
  const name = `reduce_partials.${op}`;
  expectDType(name, 'x', x, 'f32');
  expectDType(name, 'partials', partials, 'f32');
  if (x.size === 0) throw new Error(`${name}: x ${shapeStr(x.shape)} is empty`);
  const blocks = partialCount(x.size);
  if (!Number.isInteger(offset) || offset < 0 || offset + blocks > partials.size)
    throw new Error(`${name}: x ${shapeStr(x.shape)} needs ${blocks} partials at offset ${offset}, but partials ${shapeStr(partials.shape)} has ${partials.size}`);
  const chunk = Math.ceil(x.size / blocks);
  // 'auto' on CPU adapters: one invocation per block (measured 3x faster than the tree on lavapipe).
  const layout = rowLayout(rt, opts.variant, name);
  return rowReduceOp(rt, { name, x, out: partials, rows: blocks, cols: chunk, n: x.size, outOffset: offset, opCode: ROW_REDUCE_OPS[op], argmax: false, layout });
}

/** out[0] = sum, sum of squares or max of every element of x: two ops (partials, final). */
export async function reduceAll(rt: Runtime, op: FullReduceOp, x: Tensor, out: Tensor, opts: RowOptions = {}): Promise<Op[]> {
  const name = `reduce_all.${op}`;
  if (!['sum', 'sumsq', 'max'].includes(op)) throw new Error(`${name}: unknown op (expected sum, sumsq, max)`);
  expectDType(name, 'x', x, 'f32');
  expectDType(name, 'out', out, 'f32');
  if (out.size !== 1) throw new Error(`${name}: out must hold one value, got ${shapeStr(out.shape)}`);
  const blocks = partialCount(x.size);
  const partials = rt.empty([1, blocks], 'f32', `${name}.partials`);
  const first = await reducePartials(rt, op, x, partials, 0, opts);
  const final = await reduceRows(rt, op === 'max' ? 'max' : 'sum', partials, out, opts);
  return [first, final];
}

// ---- counts --------------------------------------------------------------------------------

const COUNT_SIG: KernelSignature = { name: 'reduce_count', bindings: ['read', 'read', 'read', 'rw', 'uniform'] };
const COUNT_WG = 64;
registerVariants(
  { sig: COUNT_SIG, spec: { file: 'reduce_count.wgsl', consts: { WG: COUNT_WG, MODE: 0 } } },
  { sig: COUNT_SIG, spec: { file: 'reduce_count.wgsl', consts: { WG: COUNT_WG, MODE: 1 } } },
  { sig: COUNT_SIG, spec: { file: 'reduce_count.wgsl', consts: { WG: COUNT_WG, MODE: 0 }, entry: 'clear' } },
);

export interface CountOptions {
  /** Count a[i] == b[i] (predictions vs labels). */
  b?: Tensor;
  /** Count a[i] == value (when b is absent). */
  value?: number;
  /** Only where mask[i] != 0 (u32 or i32, same size). */
  mask?: Tensor;
  /** Skip positions whose b[i] (or a[i] when b is absent) equals this value (e.g. -100). */
  ignore?: number;
  /** Index of out to write (default 0). */
  index?: number;
  /** Add to out[index] instead of overwriting it (metrics accumulating over steps). */
  accumulate?: boolean;
}

/**
 * out[index] (u32) = number of i with a[i] == b[i] (or a[i] == value), where mask[i] != 0 and
 * b[i] != ignore. a, b, mask are u32 or i32 (compared as 32-bit patterns). Returns the ops
 * to record: a clear of out[index] (unless accumulate) and the count.
 */
export async function count(rt: Runtime, a: Tensor, out: Tensor, opts: CountOptions = {}): Promise<Op[]> {
  const name = 'reduce_count';
  expectDType(name, 'a', a, 'u32', 'i32');
  expectDType(name, 'out', out, 'u32');
  if (opts.b) {
    expectDType(name, 'b', opts.b, 'u32', 'i32');
    if (opts.b.size !== a.size) throw new Error(`${name}: a ${shapeStr(a.shape)} and b ${shapeStr(opts.b.shape)} differ in size`);
  } else if (opts.value === undefined) throw new Error(`${name}: give either b (to count a == b) or value (to count a == value)`);
  if (opts.mask) {
    expectDType(name, 'mask', opts.mask, 'u32', 'i32');
    if (opts.mask.size !== a.size) throw new Error(`${name}: a ${shapeStr(a.shape)} and mask ${shapeStr(opts.mask.shape)} differ in size`);
  }
  const index = opts.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= out.size) throw new Error(`${name}: index ${index} is outside out ${shapeStr(out.shape)}`);
  const mode = opts.b ? 0 : 1;
  const [gx, gy] = grid1d(Math.ceil(a.size / 4), COUNT_WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(
    packUniform([['u32', a.size], ['u32', gx], ['u32', (opts.value ?? 0) >>> 0], ['u32', (opts.ignore ?? 0) >>> 0], ['u32', opts.ignore === undefined ? 0 : 1], ['u32', opts.mask ? 1 : 0], ['u32', index], ['u32', 0]]),
    `${name}.params`,
  );
  const bindings = [a, opts.b ?? a, opts.mask ?? a, out, params];
  const ops: Op[] = [];
  if (!opts.accumulate) ops.push(await rt.op(COUNT_SIG, { file: 'reduce_count.wgsl', consts: { WG: COUNT_WG, MODE: 0 }, entry: 'clear' }, bindings, [1, 1], `${name}.clear`));
  ops.push(await rt.op(COUNT_SIG, { file: 'reduce_count.wgsl', consts: { WG: COUNT_WG, MODE: mode } }, bindings, [gx, gy], name));
  return ops;
}
