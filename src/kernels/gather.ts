// Rows of a matrix at a list of positions (forward), and their gradient scattered back to
// a full-size matrix (backward) through an inverse index; see shaders/gather_rows.wgsl.
// Either side may be f16 (mixed precision: f16 hidden states gathered into an f32 head, its
// gradient scattered back down; or f16 on both sides, rows of the encoder's own activations);
// values pass through f32, so an f16 → f16 move is exact.
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type DType, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { grid1d, vec4Defines, VEC4_PATHS } from './grid.js';
import { registerVariants } from './registry.js';

const WG = 256;
const SIG: KernelSignature = { name: 'gather_rows', bindings: ['read', 'rw', 'rw', 'uniform'] };
const ENTRIES = ['gather', 'invert_fill', 'invert_set', 'scatter'] as const;
type Entry = (typeof ENTRIES)[number];
/**
 * An entry's shader: gather and scatter read an f16 source with IN_F16 and write an f16
 * destination with OUT_F16, and move four elements per access where the width allows (VEC4,
 * `width`); the inverse index's entries are u32 only.
 */
const spec = (entry: Entry, src: DType = 'f32', dst: DType = 'f32', width = 1): ShaderSpec => {
  if (entry !== 'gather' && entry !== 'scatter') return { file: 'gather_rows.wgsl', entry, consts: { WG }, defines: [] };
  const storage = [...(src === 'f16' ? ['IN_F16'] : []), ...(dst === 'f16' ? ['OUT_F16'] : [])];
  return { file: 'gather_rows.wgsl', entry, consts: { WG }, defines: [...storage, ...(vec4Defines(width) ?? [])], ...(storage.length ? { f16: true } : {}) };
};
const DTYPES = ['f32', 'f16'] as const;
registerVariants(
  ...(['invert_fill', 'invert_set'] as const).map((entry) => ({ sig: SIG, spec: spec(entry) })),
  ...(['gather', 'scatter'] as const).flatMap((entry) => DTYPES.flatMap((src) => DTYPES.flatMap((dst) => VEC4_PATHS.map((width) => ({ sig: SIG, spec: spec(entry, src, dst, width) }))))),
);
/** Invocations of gather or scatter over `elements` elements of rows `width` wide. */
const perAccess = (elements: number, width: number) => (vec4Defines(width) ? elements / 4 : elements);

function dims(name: string, x: Tensor, list: Tensor): { rows: number; width: number; cap: number } {
  expectDType(name, 'x', x, 'f32', 'f16');
  expectDType(name, 'list', list, 'u32');
  if (x.shape.length !== 2) throw new Error(`${name}: x must be [rows, width], got ${shapeStr(x.shape)}`);
  return { rows: x.shape[0], width: x.shape[1], cap: list.size };
}

/** out[k] = x[list[k]] (zero rows past the valid entries); out [cap, width] f32, or f16 when x is. */
export function gatherRows(rt: Runtime, x: Tensor, list: Tensor, out: Tensor): Promise<Op> {
  const name = 'gather_rows';
  const { rows, width, cap } = dims(name, x, list);
  expectDType(name, 'out', out, 'f32', ...(x.dtype === 'f16' ? ['f16' as const] : []));
  if (out.size !== cap * width) throw new Error(`${name}: out ${shapeStr(out.shape)} must be [${cap}, ${width}] (list ${shapeStr(list.shape)}, x ${shapeStr(x.shape)})`);
  const [gx, gy] = grid1d(perAccess(cap * width, width), WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', rows], ['u32', cap], ['u32', width], ['u32', gx]]), `${name}.params`);
  return rt.op(SIG, spec('gather', x.dtype, out.dtype, width), [x, list, out, params], [gx, gy], name);
}

/**
 * dx[n] = dy[k] where list[k] = n, zero elsewhere (dx fully written; f32 or f16; dy f32, or
 * f16 when dx is).
 * `inv` is a u32 scratch [rows]. Three ops, in order.
 */
export async function scatterRows(rt: Runtime, dy: Tensor, list: Tensor, inv: Tensor, dx: Tensor): Promise<Op[]> {
  const name = 'gather_rows.backward';
  const { rows, width, cap } = dims(name, dx, list);
  expectDType(name, 'dy', dy, 'f32', ...(dx.dtype === 'f16' ? ['f16' as const] : []));
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
    await rt.op(SIG, spec('scatter', dy.dtype, dx.dtype, width), [dy, inv, dx, u(gx)], [gx, gy], `${name}.scatter`),
  ];
}

const QUERY_ROWS: KernelSignature = { name: 'query_rows', bindings: ['read', 'read', 'read', 'rw', 'rw', 'uniform'] };
const QUERY_ROWS_WG = 64;
registerVariants({ sig: QUERY_ROWS, spec: { file: 'query_rows.wgsl', consts: { WG: QUERY_ROWS_WG } } });

/**
 * A sorted selection of rows of a [B·T] batch regrouped per sequence (shaders/query_rows.wgsl):
 * rows [B·T] ← sequence b's selected rows at b·T + j (0xffffffff past their count), limits
 * [2B] ← the lengths (capped at T), then each sequence's count. `list` holds increasing row
 * indices below B·T up to its count, meta[countOffset] (at most list's size).
 */
export function queryRows(rt: Runtime, sel: { list: Tensor; count: Tensor; countOffset?: number }, lengths: Tensor, T: number, rows: Tensor, limits: Tensor): Promise<Op> {
  const name = 'query_rows';
  for (const [what, t] of [['list', sel.list], ['count', sel.count], ['lengths', lengths], ['rows', rows], ['limits', limits]] as const) expectDType(name, what, t, 'u32');
  const B = lengths.size, off = sel.countOffset ?? 0;
  if (rows.size !== B * T) throw new Error(`${name}: rows ${shapeStr(rows.shape)} must have B·T = ${B * T} entries`);
  if (limits.size !== 2 * B) throw new Error(`${name}: limits ${shapeStr(limits.shape)} must have 2B = ${2 * B} entries`);
  if (!Number.isInteger(off) || off < 0 || off >= sel.count.size) throw new Error(`${name}: countOffset ${off} is outside the count tensor ${shapeStr(sel.count.shape)}`);
  const [gx, gy] = grid1d(B * T, QUERY_ROWS_WG, rt.limits.maxComputeWorkgroupsPerDimension);
  const params = rt.uniform(packUniform([['u32', B], ['u32', T], ['u32', off], ['u32', sel.list.size]]), `${name}.params`);
  return rt.op(QUERY_ROWS, { file: 'query_rows.wgsl', consts: { WG: QUERY_ROWS_WG } }, [sel.list, sel.count, lengths, rows, limits, params], [gx, gy], name);
}
