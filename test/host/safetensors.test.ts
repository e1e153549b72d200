// safetensors: round trip, atomic write, and every kind of corrupt file detected on load
// with a message naming the file and the tensor.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, fromFloat32, loadSafetensors, saveSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { tempDir } from '../tmp.js';

const dir = tempDir('electrolite-st-');

function sample() {
  return {
    'embeddings.word_embeddings.weight': fromFloat32(Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 3), [4, 3]),
    'pooler.dense.bias': fromFloat32(new Float32Array([1.5, -2]), [2]),
    ids: { dtype: 'I32' as const, shape: [3], data: new Uint8Array(new Int32Array([7, -1, 2]).buffer) },
  };
}

describe('safetensors', () => {
  it('round-trips tensors and metadata through a file, with the data 8-byte aligned', () => {
    const path = join(dir, 'ok.safetensors');
    saveSafetensors(path, sample(), { format: 'pt' });
    const bytes = readFileSync(path);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLen) % 8).toBe(0);
    const { tensors, metadata } = loadSafetensors(path);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(toFloat32(tensors['embeddings.word_embeddings.weight']))).toEqual(Array.from({ length: 12 }, (_, i) => i * 0.5 - 3));
    expect(tensors['pooler.dense.bias'].shape).toEqual([2]);
    expect(Array.from(new Int32Array(tensors.ids.data.slice().buffer))).toEqual([7, -1, 2]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads f16 and bf16 as float32', () => {
    const f16 = { dtype: 'F16' as const, shape: [3], data: new Uint8Array(new Uint16Array([0x3c00, 0xc100, 0x7bff]).buffer) };
    const bf16 = { dtype: 'BF16' as const, shape: [2], data: new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer) };
    const { tensors } = decodeSafetensors(encodeSafetensors({ f16, bf16 }));
    expect(Array.from(toFloat32(tensors.f16))).toEqual([1, -2.5, 65504]);
    expect(Array.from(toFloat32(tensors.bf16))).toEqual([1, -3]);
  });

  it('detects a truncated file, naming it and the tensor', () => {
    const bytes = encodeSafetensors(sample());
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, bytes.subarray(0, bytes.byteLength - 5));
    expect(() => loadSafetensors(path)).toThrow(new RegExp(`short\\.safetensors: truncated: tensor 'ids' ends at byte 68`));
    writeFileSync(path, bytes.subarray(0, 5));
    expect(() => loadSafetensors(path)).toThrow(/truncated: 5 bytes/);
    writeFileSync(path, bytes.subarray(0, 40));
    expect(() => loadSafetensors(path)).toThrow(/truncated or corrupt: header length/);
  });

  it('detects a header that lies about sizes, overlapping tensors, and a non-JSON header', () => {
    const make = (header: object, dataBytes: number) => {
      const json = Buffer.from(JSON.stringify(header));
      const out = new Uint8Array(8 + json.byteLength + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
      out.set(json, 8);
      return out;
    };
    expect(() => decodeSafetensors(make({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16), 'lie.st')).toThrow(
      "lie.st: tensor 'w': header says 12 bytes but F32 [2, 2] needs 16",
    );
    expect(() =>
      decodeSafetensors(make({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), 'ov.st'),
    ).toThrow("ov.st: corrupt: tensors 'a' and 'b' overlap");
    expect(() => decodeSafetensors(make({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1), 'q.st')).toThrow(/unsupported or missing dtype "Q4"/);
    const bad = make({}, 0);
    bad[8] = 0x7b;
    bad[9] = 0x7b;
    expect(() => decodeSafetensors(bad, 'j.st')).toThrow(/j\.st: corrupt header \(not JSON\)/);
  });

  it('refuses to write a tensor whose bytes do not match its shape', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Uint8Array(8) } })).toThrow("tensor 'w' has 8 bytes, expected 12 for F32 [3]");
  });
});
