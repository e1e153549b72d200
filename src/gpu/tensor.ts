// Tensors: a shape, a dtype and a GPU buffer. Plain data; the runtime owns the buffers.

export type DType = 'f32' | 'i32' | 'u32' | 'f16';

export const BYTES: Record<DType, number> = { f32: 4, i32: 4, u32: 4, f16: 2 };

export type Shape = readonly number[];

export interface Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Number of elements (product of the shape). */
  readonly size: number;
  /** Bytes of data (size × element bytes), before alignment. */
  readonly byteLength: number;
  readonly buffer: GPUBuffer;
  readonly label: string;
  /**
   * A view into another tensor's buffer (an arena: Runtime.arena): where it starts, in bytes
   * (a multiple of the adapter's storage-offset alignment), and the tensor that owns the
   * buffer. Kernels bind a view like any tensor; only the owner is released.
   */
  readonly view?: { readonly byteOffset: number; readonly owner: Tensor };
}

/** Bytes a tensor of `size` elements takes in an arena: its data rounded up to whole `align`s (at least 4 bytes of data). */
export function arenaBytes(size: number, dtype: DType, align: number): number {
  return Math.ceil(Math.max(4, size * BYTES[dtype]) / align) * align;
}

/** Where a tensor starts in its buffer, in bytes (0 unless it is a view). */
export function byteOffsetOf(t: Tensor): number {
  return t.view?.byteOffset ?? 0;
}

/**
 * One view over consecutive views of the same buffer (parts of an arena that follow each
 * other with no gap), shaped `shape` — e.g. the query, key and value weights [h, h] as one
 * [3h, h] matrix — or null when they are not consecutive. Plain data: nothing is allocated.
 */
export function spanOf(parts: readonly Tensor[], shape: Shape, label: string): Tensor | null {
  const first = parts[0];
  if (!first?.view) return null;
  let end = first.view.byteOffset, size = 0;
  for (const t of parts) {
    if (t.view?.owner !== first.view.owner || t.dtype !== first.dtype || t.view.byteOffset !== end) return null;
    end += t.byteLength;
    size += t.size;
  }
  if (numel(shape) !== size) throw new Error(`${label}: shape ${shapeStr(shape)} does not hold the ${size} elements of ${parts.map((t) => t.label).join(', ')}`);
  return { shape: [...shape], dtype: first.dtype, size, byteLength: end - first.view.byteOffset, buffer: first.buffer, label, view: { byteOffset: first.view.byteOffset, owner: first.view.owner } };
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(shape: Shape, what: string): void {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid shape ${shapeStr(shape)} (dimensions must be non-negative integers)`);
}

/** Bytes a binding of this tensor covers: WebGPU bindings are multiples of 4 bytes. */
export function bindingBytes(t: Tensor): number {
  return Math.max(4, Math.ceil(t.byteLength / 4) * 4);
}

export type HostArray = Float32Array | Int32Array | Uint32Array | Uint16Array;

/** Throw an error naming the op if a tensor has the wrong dtype. */
export function expectDType(op: string, name: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype))
    throw new Error(`${op}: ${name} has dtype ${t.dtype}, expected ${allowed.join(' or ')} (shape ${shapeStr(t.shape)})`);
}

/** Throw an error naming the op if a tensor's shape differs from the expected one. */
export function expectShape(op: string, name: string, t: Tensor, expected: Shape): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))
    throw new Error(`${op}: ${name} has shape ${shapeStr(t.shape)}, expected ${shapeStr(expected)}`);
}

// f16 conversion on the host (Node 20 has no Float16Array).
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f32ToF16Bits(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++; // round to nearest even (may carry into exp: correct)
  return sign | half;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toF16(data: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32ToF16Bits(data[i]);
  return out;
}

export function fromF16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
  return out;
}
