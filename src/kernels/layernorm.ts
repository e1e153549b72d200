// LayerNorm forward (optionally fused with the residual add) and backward; shaders/layernorm.wgsl.
//
// Forward: y = LN(x) or y = LN(x + res) (f32: optionally with x dropped first) over the last dimension h (any h), saving per-row
// stats [rows, 2] = (mean, rstd); the fused variant also writes s = x + res, which backward
// takes as its x. Backward is three ops: dx per row; per-column partial sums of dy·x̂ and dy
// over blocks of rows into a [blocks, 2, h] buffer; a fixed-order sum over blocks into dγ, dβ
// (deterministic, no float atomics; optionally accumulated into existing gradients).
// Activations (x, residual, sum, y, dy, dx) are f32, or all f16 where the adapter has
// shader-f16 (arithmetic in f32); gamma, beta, stats and their gradients are always f32.
// Where h is a multiple of 4 the kernels move four columns per access (VEC4).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { registerVariants } from './registry.js';
import { layoutSpec, rowGrid, rowLayout, ROW_LAYOUTS, type RowVariant } from './reduce.js';
import { vec4Defines, VEC4_PATHS } from './grid.js';
import { dropoutFields, type DropoutOptions } from './dropout.js';

const FWD: KernelSignature = { name: 'layernorm', bindings: ['read', 'read', 'read', 'rw', 'rw', 'uniform'] };
const FWD_RES: KernelSignature = { name: 'layernorm.residual', bindings: ['read', 'read', 'read', 'rw', 'rw', 'uniform', 'read', 'rw'] };
const FWD_RES_DROP: KernelSignature = { name: 'layernorm.residual_dropout', bindings: [...FWD_RES.bindings, 'read'] };
const BWD_DX: KernelSignature = { name: 'layernorm.backward_dx', bindings: ['read', 'read', 'read', 'read', 'rw', 'uniform'] };
const BWD_DX_DROP: KernelSignature = { name: 'layernorm.backward_dx_dropout', bindings: [...BWD_DX.bindings, 'read', 'rw'] };
const BWD_PARTIAL: KernelSignature = { name: 'layernorm.backward_partial', bindings: ['read', 'read', 'read', 'rw', 'uniform'] };
const BWD_FINAL: KernelSignature = { name: 'layernorm.backward_final', bindings: ['read', 'rw', 'rw', 'uniform'] };
const COL_WG = 64;
const MAX_BLOCKS = 256;

const spec16 = (spec: ShaderSpec, f16: boolean): ShaderSpec => ({ ...spec, f16: f16 || undefined });
/** The kernel's defines for width h: VEC4 (four columns per access) when h is a multiple of 4. */
const withVec4 = (defines: string[], h: number): string[] => [...defines, ...(vec4Defines(h) ?? [])];
for (const l of ROW_LAYOUTS)
  for (const f16 of [false, true])
    for (const h of VEC4_PATHS)
      registerVariants(
        { sig: FWD, spec: spec16(layoutSpec('layernorm.wgsl', l, {}, withVec4(['FWD'], h)), f16) },
        { sig: FWD_RES, spec: spec16(layoutSpec('layernorm.wgsl', l, {}, withVec4(['FWD', 'RESIDUAL'], h)), f16) },
        { sig: FWD_RES_DROP, spec: spec16(layoutSpec('layernorm.wgsl', l, {}, withVec4(['FWD', 'RESIDUAL', 'DROPOUT'], h)), f16) },
        { sig: BWD_DX_DROP, spec: spec16(layoutSpec('layernorm.wgsl', l, {}, withVec4(['BWD_DX', 'DROPOUT'], h)), f16) },
        { sig: BWD_DX, spec: spec16(layoutSpec('layernorm.wgsl', l, {}, withVec4(['BWD_DX'], h)), f16) },
      );
const partialSpec = (h: number, f16: boolean): ShaderSpec => spec16({ file: 'layernorm.wgsl', consts: { WG: COL_WG, TPR: 1 }, defines: withVec4(['BWD_PARTIAL'], h) }, f16);
registerVariants(
  ...VEC4_PATHS.flatMap((h) => [false, true].map((f16) => ({ sig: BWD_PARTIAL, spec: partialSpec(h, f16) }))),
  { sig: BWD_FINAL, spec: { file: 'layernorm.wgsl', consts: { WG: COL_WG, TPR: 1, ACCUMULATE: false }, defines: ['BWD_FINAL'] } },
  { sig: BWD_FINAL, spec: { file: 'layernorm.wgsl', consts: { WG: COL_WG, TPR: 1, ACCUMULATE: true }, defines: ['BWD_FINAL'] } },
);

export interface LayerNormOptions {
  /** Added to the variance (BERT: 1e-12; default 1e-12). */
  eps?: number;
  /** Fused residual: normalise x + residual (same shape as x) ... */
  residual?: Tensor;
  /** ... and write that sum here (same shape as x): backward's x. Required with residual. */
  sum?: Tensor;
  /**
   * With residual: x dropped first, as `dropout` with these options would (in f32 the same
   * bits; in f16 the dropped value enters the sum unrounded, one f16 rounding fewer), its
   * backward dropoutBackward with them — without that op's pass over x.
   */
  dropout?: DropoutOptions;
  variant?: RowVariant;
}

function rowsOf(name: string, x: Tensor, h: number): number {
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== h)
    throw new Error(`${name}: x ${shapeStr(x.shape)} must end in the normalised width h = ${h} (the size of gamma)`);
  return x.size / h;
}

function sameShape(name: string, what: string, t: Tensor, x: Tensor): void {
  expectDType(name, what, t, x.dtype);
  if (t.size !== x.size) throw new Error(`${name}: ${what} ${shapeStr(t.shape)} must have the shape of x ${shapeStr(x.shape)}`);
}

function checkParams(name: string, gamma: Tensor, other: Tensor | undefined, otherName: string): number {
  expectDType(name, 'gamma', gamma, 'f32');
  if (gamma.shape.length !== 1 || gamma.size === 0) throw new Error(`${name}: gamma must be a non-empty vector [h], got ${shapeStr(gamma.shape)}`);
  const h = gamma.size;
  if (other) {
    expectDType(name, otherName, other, 'f32');
    if (other.size !== h) throw new Error(`${name}: ${otherName} ${shapeStr(other.shape)} must match gamma ${shapeStr(gamma.shape)}`);
  }
  return h;
}

function checkStats(name: string, stats: Tensor, rows: number): void {
  expectDType(name, 'stats', stats, 'f32');
  if (stats.size !== rows * 2) throw new Error(`${name}: stats ${shapeStr(stats.shape)} must hold (mean, rstd) per row: [${rows}, 2]`);
}

/** y = LN(x) (or LN(x + residual), writing the sum), stats[r] = (mean, rstd). */
export function layerNorm(rt: Runtime, x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, stats: Tensor, opts: LayerNormOptions = {}): Promise<Op> {
  const name = opts.residual ? 'layernorm.residual' : 'layernorm';
  expectDType(name, 'x', x, 'f32', 'f16');
  const h = checkParams(name, gamma, beta, 'beta');
  const rows = rowsOf(name, x, h);
  sameShape(name, 'y', y, x);
  checkStats(name, stats, rows);
  const eps = opts.eps ?? 1e-12;
  if (!(eps >= 0)) throw new Error(`${name}: eps must be ≥ 0, got ${eps}`);
  if (opts.residual) {
    sameShape(name, 'residual', opts.residual, x);
    if (!opts.sum) throw new Error(`${name}: the fused residual variant needs 'sum' (x + residual, shape ${shapeStr(x.shape)}) for backward`);
    sameShape(name, 'sum', opts.sum, x);
  } else if (opts.sum) throw new Error(`${name}: 'sum' is only written with 'residual'`);
  if (opts.dropout && !opts.residual) throw new Error(`${name}: 'dropout' (of x) is only fused with 'residual'`);
  const drop = opts.dropout ? dropoutFields(name, opts.dropout) : { threshold: 0, stream: 0, scale: 1 };
  const layout = rowLayout(rt, opts.variant, name);
  const [gx, gy] = rowGrid(rt, rows, layout);
  const params = rt.uniform(layerNormParams({ rows, h, gridX: gx, eps, drop }), `${name}.params`);
  const defines = withVec4(['FWD', ...(opts.residual ? ['RESIDUAL'] : []), ...(opts.dropout ? ['DROPOUT'] : [])], h);
  const bindings = [x, gamma, beta, y, stats, params, ...(opts.residual ? [opts.residual, opts.sum!] : []), ...(opts.dropout ? [opts.dropout.rng] : [])];
  const sig = opts.dropout ? FWD_RES_DROP : opts.residual ? FWD_RES : FWD;
  return rt.op(sig, spec16(layoutSpec('layernorm.wgsl', layout, {}, defines), x.dtype === 'f16'), bindings, [gx, gy], name);
}

/** layernorm.wgsl's Params. */
function layerNormParams(o: { rows: number; h: number; gridX: number; eps?: number; rowsPerBlock?: number; blocks?: number; drop?: { threshold: number; stream: number; scale: number } }): ArrayBuffer {
  const d = o.drop ?? { threshold: 0, stream: 0, scale: 1 };
  return packUniform([
    ['u32', o.rows], ['u32', o.h], ['u32', o.gridX], ['f32', o.eps ?? 0], ['u32', o.rowsPerBlock ?? 0], ['u32', o.blocks ?? 0],
    ['u32', d.threshold], ['u32', d.stream], ['f32', d.scale], ['u32', 0], ['u32', 0], ['u32', 0],
  ]);
}

export interface LayerNormBackwardArgs {
  dy: Tensor;
  /** The forward's input (for the residual variant: its `sum`). */
  x: Tensor;
  gamma: Tensor;
  /** The forward's stats. */
  stats: Tensor;
  dx: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
  /** Add to dgamma/dbeta instead of overwriting (gradient accumulation). dx is always written. */
  accumulate?: boolean;
  /**
   * The forward's fused dropout (its `dropout` options): dx through it is also written to
   * `dx` — in f32 the same bits as dropoutBackward of dx; in f16 from dx before its rounding —
   * without that op's pass.
   */
  dropout?: { options: DropoutOptions; dx: Tensor };
  variant?: RowVariant;
}

/** dx, dγ, dβ: three ops to record in order. */
export async function layerNormBackward(rt: Runtime, a: LayerNormBackwardArgs): Promise<Op[]> {
  const name = 'layernorm.backward';
  expectDType(name, 'x', a.x, 'f32', 'f16');
  const h = checkParams(name, a.gamma, a.dgamma, 'dgamma');
  checkParams(name, a.gamma, a.dbeta, 'dbeta');
  const rows = rowsOf(name, a.x, h);
  sameShape(name, 'dy', a.dy, a.x);
  sameShape(name, 'dx', a.dx, a.x);
  checkStats(name, a.stats, rows);
  if (a.dropout) {
    sameShape(name, 'dropout.dx', a.dropout.dx, a.x);
    if (a.dropout.dx.buffer === a.dx.buffer) throw new Error(`${name}: dropout.dx must not share a buffer with dx`);
  }
  const drop = a.dropout ? dropoutFields(name, a.dropout.options) : undefined;
  const layout = rowLayout(rt, a.variant, name);
  const [gx, gy] = rowGrid(rt, rows, layout);
  const rowsPerBlock = Math.max(16, Math.ceil(rows / MAX_BLOCKS));
  const blocks = Math.max(1, Math.ceil(rows / rowsPerBlock));
  const params = rt.uniform(layerNormParams({ rows, h, gridX: gx, rowsPerBlock, blocks, drop }), `${name}.params`);
  const part = rt.empty([blocks, 2, h], 'f32', `${name}.partials`);
  const f16 = a.x.dtype === 'f16';
  const units = vec4Defines(h) ? h / 4 : h; // columns per access (withVec4)
  return [
    a.dropout
      ? await rt.op(BWD_DX_DROP, spec16(layoutSpec('layernorm.wgsl', layout, {}, withVec4(['BWD_DX', 'DROPOUT'], h)), f16), [a.dy, a.x, a.gamma, a.stats, a.dx, params, a.dropout.options.rng, a.dropout.dx], [gx, gy], `${name}.dx`)
      : await rt.op(BWD_DX, spec16(layoutSpec('layernorm.wgsl', layout, {}, withVec4(['BWD_DX'], h)), f16), [a.dy, a.x, a.gamma, a.stats, a.dx, params], [gx, gy], `${name}.dx`),
    await rt.op(BWD_PARTIAL, partialSpec(h, f16), [a.dy, a.x, a.stats, part, params], [Math.ceil(units / COL_WG), blocks], `${name}.partial`),
    await rt.op(BWD_FINAL, { file: 'layernorm.wgsl', consts: { WG: COL_WG, TPR: 1, ACCUMULATE: Boolean(a.accumulate) }, defines: ['BWD_FINAL'] }, [part, a.dgamma, a.dbeta, params], [Math.ceil(h / COL_WG), 1], `${name}.params_grad`),
  ];
}
