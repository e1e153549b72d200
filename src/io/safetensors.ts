// The safetensors format, written and read by the project: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?},
// then the raw little-endian tensor bytes. Writes are atomic (temporary file + rename);
// loads check every offset, size and dtype, so a truncated or lying file is an error that
// names the file and the tensor, never silent damage.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { fromF16, numel } from '../gpu/tensor.js';
import { writeFileAtomic } from '../data/atomic.js';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'I32' | 'U32' | 'I64' | 'U16' | 'U8' | 'F64';

const DTYPE_BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, U32: 4, I64: 8, U16: 2, U8: 1, F64: 8 };

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** Raw little-endian bytes. */
  data: Uint8Array;
}

export class SafetensorsError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** Serialise tensors (in the given order) with optional string metadata. */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const want = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== want) throw new Error(`safetensors: tensor '${name}' has ${t.data.byteLength} bytes, expected ${want} for ${t.dtype} [${t.shape.join(', ')}]`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + want] };
    offset += want;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const t of Object.values(tensors)) {
    out.set(t.data, pos);
    pos += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** A tensor as the header describes it: dtype, shape and its byte span within the data section. */
export interface SafeTensorInfo {
  dtype: SafeDType;
  shape: number[];
  /** [begin, end) within the data that follows the header. */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Record<string, SafeTensorInfo>;
  metadata: Record<string, string>;
  /** Where the data section starts in the file (8 + header length). */
  dataStart: number;
}

/**
 * Validate a header: every dtype, shape and offset, against `dataLen` bytes of data
 * (truncation), and no two tensors overlapping. `headerText` returns the header's text
 * once its length is known to fit in `fileBytes`.
 */
function parseHeader(file: string, fileBytes: number, headerLen: number, headerText: () => string): SafetensorsHeader {
  if (headerLen > 100 * 2 ** 20 || 8 + headerLen > fileBytes)
    throw new SafetensorsError(file, `truncated or corrupt: header length ${headerLen} but the file has ${fileBytes} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(headerText());
  } catch (e) {
    throw new SafetensorsError(file, `corrupt header (not JSON): ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(file, 'corrupt header: not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = fileBytes - dataStart;
  const tensors: Record<string, SafeTensorInfo> = {};
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new SafetensorsError(file, `tensor '${name}': unsupported or missing dtype ${JSON.stringify(e?.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(file, `tensor '${name}': invalid shape ${JSON.stringify(e.shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0])
      throw new SafetensorsError(file, `tensor '${name}': invalid data_offsets ${JSON.stringify(offs)}`);
    const dtype = e.dtype as SafeDType;
    const want = numel(e.shape) * DTYPE_BYTES[dtype];
    if (offs[1] - offs[0] !== want)
      throw new SafetensorsError(file, `tensor '${name}': header says ${offs[1] - offs[0]} bytes but ${dtype} [${e.shape.join(', ')}] needs ${want}`);
    if (offs[1] > dataLen) throw new SafetensorsError(file, `truncated: tensor '${name}' ends at byte ${offs[1]} of the data, which has only ${dataLen} bytes`);
    spans.push([offs[0], offs[1], name]);
    tensors[name] = { dtype, shape: e.shape as number[], offsets: [offs[0], offs[1]] };
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i][0] < spans[i - 1][1]) throw new SafetensorsError(file, `corrupt: tensors '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`);
  return { tensors, metadata, dataStart };
}

/** Parse and validate a safetensors byte image; `file` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, file = '<memory>'): DecodedSafetensors {
  if (bytes.byteLength < 8) throw new SafetensorsError(file, `truncated: ${bytes.byteLength} bytes, not even a header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  const h = parseHeader(file, bytes.byteLength, headerLen, () => Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLen).toString('utf8'));
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(h.tensors))
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: bytes.subarray(h.dataStart + t.offsets[0], h.dataStart + t.offsets[1]) };
  return { tensors, metadata: h.metadata };
}

/**
 * Only the header of a safetensors file (names, dtypes, shapes, offsets), checked against the
 * file's size as decodeSafetensors checks it, without reading the tensor data: sizes can be
 * compared with a config before gigabytes are read or any array is built.
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`);
  }
  try {
    const fileBytes = fstatSync(fd).size;
    if (fileBytes < 8) throw new SafetensorsError(path, `truncated: ${fileBytes} bytes, not even a header length`);
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const headerLen = Number(len.readBigUInt64LE(0));
    return parseHeader(path, fileBytes, headerLen, () => {
      const buf = Buffer.alloc(headerLen);
      let off = 0;
      while (off < headerLen) {
        const n = readSync(fd, buf, off, headerLen - off, 8 + off);
        if (n === 0) break;
        off += n;
      }
      return buf.toString('utf8', 0, off);
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuse a tensor holding NaN or ±Infinity: such weights make every output NaN (or a loss
 * that only looks like a bad learning rate), so they are an error on load, naming the
 * tensor, the file, how many values are bad and where the first one is.
 */
export function assertFinite(name: string, values: ArrayLike<number>, file: string, shape?: readonly number[]): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (!bad) return;
  const v = values[first];
  let at = `index ${first}`;
  if (shape && shape.length > 1) {
    const idx: number[] = [];
    let r = first;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx.unshift(r % shape[d]);
      r = Math.floor(r / shape[d]);
    }
    at = `[${idx.join(', ')}]`;
  }
  throw new SafetensorsError(file, `tensor '${name}' holds ${bad} non-finite value${bad > 1 ? 's' : ''} of ${values.length} (the first, ${v}, at ${at}); the weights are corrupt or the run diverged`);
}

export function saveSafetensors(path: string, tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): DecodedSafetensors {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`);
  }
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

// ---- conversions to and from float32 --------------------------------------------------

function bf16ToF32(bits: number): number {
  const b = new Uint32Array([bits << 16]);
  return new Float32Array(b.buffer)[0];
}

/** A float tensor's values as Float32Array (F32, F16, BF16, F64 stored). */
export function toFloat32(t: SafeTensor, name = 'tensor'): Float32Array {
  const n = numel(t.shape);
  const copy = t.data.slice(); // aligned copy
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(copy.buffer, 0, n);
    case 'F64':
      return Float32Array.from(new Float64Array(copy.buffer, 0, n));
    case 'F16':
      return fromF16(new Uint16Array(copy.buffer, 0, n));
    case 'BF16': {
      const h = new Uint16Array(copy.buffer, 0, n);
      return Float32Array.from(h, bf16ToF32);
    }
    default:
      throw new Error(`tensor '${name}' has dtype ${t.dtype}; a float tensor (F32, F16, BF16, F64) was expected`);
  }
}

export function fromFloat32(values: Float32Array, shape: number[]): SafeTensor {
  return { dtype: 'F32', shape, data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}
