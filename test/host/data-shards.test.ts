// Packing rules, the seeded train/validation split, shard files and manifest (atomic
// writes, truncation and corruption detected), and the deterministic resumable loader.
import { describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync, readFileSync, truncateSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Packer, isValidation, splitSentences } from '../../src/data/pack.js';
import { ShardWriter, writeManifest, readManifest, clearShards, sha256File, FORMAT, FORMAT_VERSION, type Manifest } from '../../src/data/shards.js';
import { BatchLoader, shuffledOrder } from '../../src/data/loader.js';
import { tempDir } from '../tmp.js';

const SP = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 };

function pack(seqLen: number, docs: number[][][]): number[][] {
  const out: number[][] = [];
  const p = new Packer(seqLen, SP, (s) => out.push([...s]));
  for (const d of docs) {
    for (const s of d) p.sentence(s);
    p.endDocument();
  }
  return out;
}

describe('packing', () => {
  it('fills sequences with whole consecutive sentences of one document', () => {
    const r = pack(8, [[[10, 11], [12, 13, 14], [15, 16]], [[20]]]);
    expect(r).toEqual([
      [2, 10, 11, 12, 13, 14, 3, 0], // 2 + 3 tokens fit in 6; the next sentence would not
      [2, 15, 16, 3, 0, 0, 0, 0], // the document's remainder
      [2, 20, 3, 0, 0, 0, 0, 0], // a new document starts a new sequence
    ]);
  });
  it('splits a sentence longer than a sequence', () => {
    const long = Array.from({ length: 14 }, (_, i) => 100 + i);
    const r = pack(8, [[[7], long, [8]]]);
    expect(r).toEqual([[2, 7, 3, 0, 0, 0, 0, 0], [2, 100, 101, 102, 103, 104, 105, 3], [2, 106, 107, 108, 109, 110, 111, 3], [2, 112, 113, 8, 3, 0, 0, 0]]);
  });
  it('rejects a sequence length below 8', () => {
    expect(() => new Packer(7, SP, () => {})).toThrow(/sequence length 7 is below the minimum of 8/);
  });
  it('splits sentences at . ! ? before a capital, and at line breaks', () => {
    expect(splitSentences('Mr. Smith went. He said "Hi!" Then 3 more. ok? no\nNew line')).toEqual(['Mr.', 'Smith went.', 'He said "Hi!"', 'Then 3 more. ok? no', 'New line']);
  });
  it('assigns documents to validation by a seeded hash, at the requested rate', () => {
    const val = Array.from({ length: 20000 }, (_, i) => isValidation(i, 1337, 0.1));
    const rate = val.filter(Boolean).length / val.length;
    expect(rate).toBeGreaterThan(0.09); // binomial sd at n = 20000 is 0.002: ±5 sd
    expect(rate).toBeLessThan(0.11);
    expect(Array.from({ length: 20000 }, (_, i) => isValidation(i, 1337, 0.1))).toEqual(val);
    expect(Array.from({ length: 200 }, (_, i) => isValidation(i, 7, 0.1))).not.toEqual(val.slice(0, 200));
    expect(isValidation(5, 1, 0)).toBe(false);
  });
});

function writeShards(dir: string, n: number, seqLen: number, perShard: number): Manifest {
  const w = new ShardWriter(dir, 'train', seqLen, 'uint16', perShard);
  const v = new ShardWriter(dir, 'validation', seqLen, 'uint16', perShard);
  const seq = new Uint32Array(seqLen);
  for (let i = 0; i < n; i++) {
    seq.fill(i % 60000);
    seq[0] = 2;
    (i % 10 === 9 ? v : w).add(seq, seqLen);
  }
  // Stand-ins for the tokenizer files (readManifest hashes them, it does not parse them).
  writeFileSync(join(dir, 'vocab.txt'), 'vocab\n');
  writeFileSync(join(dir, 'tokenizer.json'), '{}\n');
  const sha256 = { 'vocab.txt': sha256File(join(dir, 'vocab.txt')), 'tokenizer.json': sha256File(join(dir, 'tokenizer.json')) };
  const m: Manifest = {
    format: FORMAT, version: FORMAT_VERSION, seqLen, dtype: 'uint16', vocabSize: 60000, vocab: { file: 'vocab.txt', sha256: sha256['vocab.txt'] }, tokenizer: 'tokenizer.json',
    special: SP, splits: { train: w.finish(), validation: v.finish() }, files: {}, sha256, fingerprint: 'x', summary: {},
  };
  writeManifest(dir, m);
  return m;
}

describe('shards', () => {
  it('writes shards and a manifest that loads back, counts and checksums included', () => {
    const dir = tempDir('shards-');
    const m = writeShards(dir, 100, 9, 32);
    expect(m.splits.train.sequences).toBe(90);
    expect(m.splits.train.shards.map((s) => s.sequences)).toEqual([32, 32, 26]);
    expect(readManifest(dir).splits.validation.sequences).toBe(10);
    expect(readdirSync(dir).filter((f) => f.includes('tmp'))).toEqual([]);
    const bytes = readFileSync(join(dir, 'train-00000.bin'));
    expect(bytes.length).toBe(32 * 9 * 2);
    expect(bytes.readUInt16LE(2)).toBe(0); // little-endian uint16: sequence 0 is [2, 0, 0…]
  });

  it('detects truncated and corrupted shards, and a missing manifest, with clear errors', () => {
    const dir = tempDir('shards-');
    writeShards(dir, 50, 9, 16);
    truncateSync(join(dir, 'train-00001.bin'), 100);
    expect(() => readManifest(dir)).toThrow(/train-00001\.bin is truncated: 100 bytes, the manifest says 288; re-run prepare/);
    const dir2 = tempDir('shards-');
    writeShards(dir2, 50, 9, 16);
    const f = join(dir2, 'validation-00000.bin');
    const b = readFileSync(f);
    b[5] ^= 1;
    writeFileSync(f, b);
    expect(() => readManifest(dir2)).toThrow(/validation-00000\.bin is corrupted: its SHA-256 differs/);
    expect(() => readManifest(dir2, { verify: false })).not.toThrow();
    clearShards(dir2);
    expect(readdirSync(dir2).sort()).toEqual(['tokenizer.json', 'vocab.txt']); // clearShards removes shards and the manifest only
    expect(() => readManifest(dir2)).toThrow(/manifest\.json does not exist \(no complete prepare run/);
  });

  it('an interrupted run leaves only temporary files, which nothing accepts', () => {
    const dir = tempDir('shards-');
    const w = new ShardWriter(dir, 'train', 8, 'uint16', 4);
    for (let i = 0; i < 6; i++) w.add(new Uint32Array(8).fill(i), 8);
    // "crash" here: one shard complete, one half-written, no manifest
    expect(readdirSync(dir).some((f) => f.startsWith('.train-00001.bin.tmp-'))).toBe(true);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    expect(() => readManifest(dir)).toThrow(/does not exist/);
    w.abort();
    expect(readdirSync(dir)).toEqual(['train-00000.bin']);
  });
});

describe('loader', () => {
  const dir = tempDir('loader-');
  writeShards(dir, 115, 9, 16); // 104 train sequences over 7 shards
  const first = (ids: Uint32Array) => Array.from({ length: ids.length / 9 }, (_, r) => ids[r * 9 + 1]);

  it('visits every sequence once per epoch in a seeded order, dropping the last partial batch', () => {
    const L = new BatchLoader(dir, { batchSize: 10, seed: 5 });
    expect([L.sequences, L.stepsPerEpoch]).toEqual([104, 10]);
    const seen = new Set<number>();
    for (let s = 0; s < L.stepsPerEpoch; s++) for (const v of first(L.batch(0, s))) seen.add(v);
    expect(seen.size).toBe(100);
    const e1 = first(L.batch(1, 0));
    expect(e1).not.toEqual(first(L.batch(0, 0)));
    const L2 = new BatchLoader(dir, { batchSize: 10, seed: 5 });
    expect(first(L2.batch(1, 0))).toEqual(e1);
    expect(first(new BatchLoader(dir, { batchSize: 10, seed: 6 }).batch(1, 0))).not.toEqual(e1);
    // Batch s of epoch e holds rows s·B.. of shuffledOrder; train index k is sequence k + ⌊k/9⌋ (every 10th went to validation).
    expect(L.permutation(1)).toEqual(shuffledOrder(104, 5, 1));
    expect(first(L.batch(1, 3))).toEqual(Array.from(shuffledOrder(104, 5, 1).slice(30, 40), (k) => k + Math.floor(k / 9)));
    const b = L.batch(0, 3);
    expect(b.length).toBe(90);
    expect(b[0]).toBe(2);
  });

  it('resumes exactly at any (epoch, step)', () => {
    const L = new BatchLoader(dir, { batchSize: 7, seed: 1 });
    const all: number[][] = [];
    const it = L.batches();
    for (let i = 0; i < 40; i++) all.push(first(it.next().value!.ids));
    const resumed = new BatchLoader(dir, { batchSize: 7, seed: 1 }).batches(2, 3);
    const r = resumed.next().value!;
    expect([r.epoch, r.step]).toEqual([2, 3]);
    expect(first(r.ids)).toEqual(all[2 * L.stepsPerEpoch + 3]);
    expect(() => L.batch(0, L.stepsPerEpoch)).toThrow(/outside epoch/);
    expect(() => new BatchLoader(dir, { batchSize: 1000, seed: 1 })).toThrow(/fewer than one batch of 1000/);
  });
});
