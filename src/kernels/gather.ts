// Rows of a matrix at a list of positions (forward), and their gradient scattered back to
// a full-size matrix (backward) through an inverse index; see shaders/gather_rows.wgsl.
// The full-size matrix may be f16 (mixed precision: f16 hidden states, an f32 head): the
// gather then converts up and the scatter down; the selected rows are always f32.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 256;
const SIG: KernelSignature = { name: 'gather_rows', bindings: ['read', 'rw', 'rw', 'uniform'] };
const ENTRIES = ['gather', 'invert_fill', 'invert_set', 'scatter'] as const;
type Entry = (typeof ENTRIES)[number];
/**
 * An entry's shader: gather reads an f16 x with SRC_F16, scatter writes an f16 dx with
 * DST_F16; both move four elements per access where the width allows (VEC4, `width`).
 */
const spec = (entry: Entry, full16 = false, width = 1): ShaderSpec => {
  const define = entry === 'gather' ? 'SRC_F16' : entry === 'scatter' ? 'DST_F16' : null;
  const defines = [...(full16 && define ? [define] : []), ...(define ? (vec4Defines(width) ?? []) : [])];
  return { file: 'gather_rows.wgsl', entry, consts: { WG }, defines, ...(full16 && define ? { f16: true } : {}) };
};
registerVariants(
  ...ENTRIES.map((entry) => ({ sig: SIG, spec: spec(entry) })),
  ...(['gather', 'scatter'] as const).flatMap((entry) => [{ sig: SIG, spec: spec(entry, true) }, { sig: SIG, spec: spec(entry, false, 4) }, { sig: SIG, spec: spec(entry, true, 4) }]),
);
/** Invocations of gather or scatter over `elements` elements of rows `width` wide. */
const perAccess = (elements: number, width: number) => (vec4Defines(width) ? elements / 4 : elements);

function dims(name: string, x: Tensor, list: Tensor): { rows: number; width: number; cap: number } {
  expectDType(name, 'x', x, 'f32', 'f16');
  expectDType(name, 'list', list, 'u32');
  if (x.shape.length !== 2) throw new Error(`${name}: x must be [rows, width], got ${shapeStr(x.shape)}`);
  return { rows: x.shape[0], width: x.shape[1], cap: list.size };
}

/** out[k] = x[list[k]] (zero rows past the valid entries); out is f32 [cap, width], x f32 or f16. */
export function gatherRows(rt: Runtime, x: Tensor, list: Tensor, out: Tensor): Promise<Op> {
  const name = 'gather_rows';
  const { rows, width, cap } = dims(name, x, list);
  expectDType(name, 'out', out, 'f32');
  if (out.size !== cap * width) throw new Error(`${name}: out ${shapeStr(out.shape)} must be [${cap}, ${width}] (list ${shapeStr(list.shape)}, x ${shapeStr(x.shape)})`);
  const [gx, gy] = grid1d(perAccess(cap * width, width), WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', rows], ['u32', cap], ['u32', width], ['u32', gx]]), `${name}.params`);
  return rt.op(SIG, spec('gather', x.dtype === 'f16', width), [x, list, out, params], [gx, gy], name);
}

/**
 * dx[n] = dy[k] where list[k] = n, zero elsewhere (dx fully written; f32 or f16, dy f32).
 * `inv` is a u32 scratch [rows]. Three ops, in order.
 */
export async function scatterRows(rt: Runtime, dy: Tensor, list: Tensor, inv: Tensor, dx: Tensor): Promise<Op[]> {
  const name = 'gather_rows.backward';
  const { rows, width, cap } = dims(name, dx, list);
  expectDType(name, 'dy', dy, 'f32');
  expectDType(name, 'inv', inv, 'u32');
  if (dy.size !== cap * width) throw new Error(`${name}: dy ${shapeStr(dy.shape)} must be [${cap}, ${width}]`);
  if (inv.size !== rows) throw new Error(`${name}: inv ${shapeStr(inv.shape)} must have one entry per row of dx (${rows})`);
  const [fx, fy] = grid1d(rows, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const [sx, sy] = grid1d(cap, WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const [gx, gy] = grid1d(perAccess(rows * width, width), WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const u = (gridX: number) => rt.uniform(packUniform([['u32', rows], ['u32', cap], ['u32', width], ['u32', gridX]]), `${name}.params`);
  return [
    await rt.op(SIG, spec('invert_fill'), [dy, list, inv, u(fx)], [fx, fy], `${name}.invert_fill`),
    await rt.op(SIG, spec('invert_set'), [dy, list, inv, u(sx)], [sx, sy], `${name}.invert_set`),
    await rt.op(SIG, spec('scatter', dx.dtype === 'f16', width), [dy, inv, dx, u(gx)], [gx, gy], `${name}.scatter`),
  ];
}
