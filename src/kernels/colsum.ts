// Column sums: db[c] (+)= Σ_r dy[r, c] over a 2-D view of dy — the bias gradient of a
// linear layer. (As a matmul onesᵀ·dy it has M = 1 and almost no parallelism.)
//
// Layout: one invocation per (column, block of rows), adjacent invocations on adjacent
// columns; each sums its block in row order. One block (rows ≤ rowsPerBlock) → one
// dispatch writing db directly; else a first dispatch writes [blocks, cols] partials and a
// second sums them in block order into db. Deterministic (fixed order, no atomics).
import type { Runtime, Op } from '../gpu/runtime.js';
import { packUniform } from '../gpu/runtime.js';
import { expectDType, shapeStr, type Tensor } from '../gpu/tensor.js';
import type { KernelSignature, ShaderSpec } from '../gpu/pipelines.js';
import { ceilDiv } from './grid.js';
import { registerVariants } from './registry.js';
import type { MatrixOperand, MatrixView } from './matmul.js';

const SIG: KernelSignature = { name: 'colsum', bindings: ['read', 'rw', 'uniform'] };
const WG = 64;
/** The shader of one pass: f16 input (X_F16) only where dy itself is read. */
const passSpec = (accum: boolean, x16: boolean): ShaderSpec => ({ file: 'colsum.wgsl', consts: { WG, ACCUM: accum }, ...(x16 ? { defines: ['X_F16'], f16: true } : {}) });
registerVariants(...[false, true].flatMap((x16) => [false, true].map((accum) => ({ sig: SIG, spec: passSpec(accum, x16) }))));

/** Default rows per block: one dispatch up to this many rows (a training step's 512–4096 tokens: see bench). */
export const COLSUM_ROWS_PER_BLOCK = 1024;

export interface ColumnSumOptions {
  /** db += column sums (gradient accumulation) instead of db = column sums. */
  accumulate?: boolean;
  /** Rows summed by one invocation before a second pass (default COLSUM_ROWS_PER_BLOCK). */
  rowsPerBlock?: number;
  /** Write db[dbOffset + c] (a slice of a longer vector, e.g. one vocabulary chunk's biases). Default 0. */
  dbOffset?: number;
  label?: string;
}

interface Flat {
  tensor: Tensor;
  rows: number;
  cols: number;
  ld: number;
  offset: number;
}

/** dy as [rows, cols] with row stride ld: a tensor of rank ≥ 2 is [Π leading dims, last dim]; a view's batch must stack contiguously. */
function flatten(name: string, dy: MatrixOperand): Flat {
  if ((dy as MatrixView).tensor === undefined) {
    const t = dy as Tensor;
    if (t.shape.length < 2) throw new Error(`${name}: dy must have at least 2 dimensions (rows, columns), got ${shapeStr(t.shape)}`);
    const cols = t.shape[t.shape.length - 1];
    return { tensor: t, rows: cols === 0 ? 0 : t.size / cols, cols, ld: cols, offset: 0 };
  }
  const v = dy as MatrixView;
  const what = () => `view[${v.batch.join('×')}, ${v.rows}, ${v.cols}] (ld ${v.ld}, batch strides ${v.batchStrides.join('/')}, offset ${v.offset}) of ${shapeStr(v.tensor.shape)}`;
  if (v.ld < v.cols) throw new Error(`${name}: dy has row stride ${v.ld} < ${v.cols} columns: ${what()}`);
  const [b1, b2] = v.batch;
  // Batch entries must follow each other exactly as further rows do.
  const ok = (b2 === 1 || v.batchStrides[1] === v.rows * v.ld) && (b1 === 1 || v.batchStrides[0] === b2 * v.rows * v.ld);
  if (!ok) throw new Error(`${name}: dy's batches are not stacked rows (need batch strides ${b2 * v.rows * v.ld}/${v.rows * v.ld}): ${what()}`);
  const rows = b1 * b2 * v.rows;
  if (rows > 0 && v.cols > 0) {
    const last = v.offset + (rows - 1) * v.ld + v.cols - 1;
    if (last >= v.tensor.size) throw new Error(`${name}: dy's view reaches element ${last}, beyond its tensor of ${v.tensor.size} elements: ${what()}`);
  }
  return { tensor: v.tensor, rows, cols: v.cols, ld: v.ld, offset: v.offset };
}

/**
 * db[c] = Σ_r dy[r, c] (or db[c] += … with `accumulate`), dy f32 or f16 (a tensor of rank ≥ 2
 * or a MatrixView; f16 needs shader-f16), db f32 [cols]. Returns the ops to record, in order (one, or two when
 * rows > rowsPerBlock; the second uses a partials buffer owned by the ops).
 */
export async function columnSum(rt: Runtime, dy: MatrixOperand, db: Tensor, opts: ColumnSumOptions = {}): Promise<Op[]> {
  const name = opts.label ?? 'colsum';
  const f = flatten(name, dy);
  expectDType(name, 'dy', f.tensor, 'f32', 'f16');
  expectDType(name, 'db', db, 'f32');
  if (f.cols === 0) throw new Error(`${name}: dy ${shapeStr(f.tensor.shape)} has no columns`);
  const dbOff = opts.dbOffset ?? 0;
  if (!Number.isInteger(dbOff) || dbOff < 0) throw new Error(`${name}: dbOffset must be a non-negative integer, got ${dbOff}`);
  if (opts.dbOffset === undefined ? db.size !== f.cols : db.size < dbOff + f.cols)
    throw new Error(`${name}: db has shape ${shapeStr(db.shape)}, expected [${f.cols}] (one per column of dy ${f.rows}×${f.cols})${dbOff ? ` from offset ${dbOff}` : ''}`);
  if (db === f.tensor) throw new Error(`${name}: db must not alias dy`);
  const rb = opts.rowsPerBlock ?? COLSUM_ROWS_PER_BLOCK;
  if (!Number.isInteger(rb) || rb < 1) throw new Error(`${name}: rowsPerBlock must be a positive integer, got ${rb}`);
  const maxDim = rt.limits.maxComputeWorkgroupsPerDimension;
  const gx = ceilDiv(f.cols, WG);
  const blocks = Math.max(1, ceilDiv(f.rows, rb));
  if (gx > maxDim || blocks > maxDim)
    throw new Error(`${name}: dy ${f.rows}×${f.cols} needs ${gx}×${blocks} workgroups (rowsPerBlock ${rb}), above this adapter's ${maxDim} per dimension`);
  const accum = Boolean(opts.accumulate);
  const pass = (x: Tensor, out: Tensor, rows: number, ld: number, off: number, rbk: number, acc: boolean, grid: number[], label: string, outOff = 0) =>
    rt.op(
      SIG,
      passSpec(acc, x.dtype === 'f16'),
      [x, out, rt.uniform(packUniform([['u32', rows], ['u32', f.cols], ['u32', ld], ['u32', off], ['u32', rbk], ['u32', outOff], ['u32', 0], ['u32', 0]]), `${label}.params`)],
      grid,
      label,
    );
  if (blocks === 1) return [await pass(f.tensor, db, f.rows, f.ld, f.offset, Math.max(f.rows, 1), accum, [gx, 1], name, dbOff)];
  const partials = rt.empty([blocks, f.cols], 'f32', `${name}.partials`);
  return [
    await pass(f.tensor, partials, f.rows, f.ld, f.offset, rb, false, [gx, blocks], `${name}.blocks`),
    await pass(partials, db, blocks, f.cols, 0, blocks, accum, [gx, 1], `${name}.final`, dbOff),
  ];
}
