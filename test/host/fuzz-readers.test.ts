// Fuzz test of the readers: real files (a small prepared corpus, tokenizer files, a
// safetensors file and a checkpoint holding one), damaged by seeded random truncations and
// byte flips (a few hundred cases, deterministic). Every case either loads exactly as the
// original did, or fails with an error whose message names the damaged file — never a bare
// crash (TypeError, RangeError, stack overflow) and never silently different data.
//
// What protects what:
//  - shards, unigram.json, clusters.json, tokenizer.json, vocab.txt: their SHA-256 in the
//    manifest (plus the size check for shards), so every change is refused;
//  - manifest.json: its JSON syntax and its own checksum (over its re-serialised content),
//    so only a change of JSON whitespace between tokens loads, and loads identically;
//  - a standalone tokenizer file (`WordPieceTokenizer.load` outside a prepared directory)
//    has no checksum: a damaged one that still parses is a different tokenizer. Only "no
//    crash, errors name the file" is asserted for it; the prepared-directory path above is
//    the one that refuses such damage;
//  - a standalone safetensors file: the header checks (length, JSON, dtype, shape, offsets,
//    overlap) catch damage to the structure, but the format has no checksum, so a flip inside
//    the tensor data — and, in the header, inside a tensor name, a metadata string, or a
//    dtype letter that turns into another dtype of the same width (F32 ↔ I32 ↔ U32) — loads
//    as different tensors. For a standalone file those are only required not to crash; a
//    checkpoint (src/io/checkpoint.ts hashes its files) refuses every change, asserted below.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepare } from '../../src/data/prepare.js';
import { readManifest, type Manifest } from '../../src/data/shards.js';
import { BatchLoader } from '../../src/data/loader.js';
import { bundledSources } from '../../src/data/bundled.js';
import { WordPieceTokenizer } from '../../src/data/tokenizer.js';
import { fromFloat32, loadSafetensors, saveSafetensors, type SafeTensor, type DecodedSafetensors } from '../../src/io/safetensors.js';
import { checkpointDir, loadCheckpoint, saveCheckpoint } from '../../src/io/checkpoint.js';
import { tempDir } from '../tmp.js';

/** mulberry32: a small seeded generator, so every run damages the same bytes. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

type Damage = { kind: 'flip'; at: number[]; xor: number[] } | { kind: 'truncate'; to: number } | { kind: 'whitespace'; at: number; to: number };
const describeDamage = (d: Damage) => (d.kind === 'truncate' ? `truncated to ${d.to} bytes` : d.kind === 'flip' ? `bytes ${d.at.join(',')} ^ ${d.xor.join(',')}` : `whitespace at ${d.at} → ${d.to}`);

/** `n` seeded damages of a file of `bytes`: single and burst flips, truncations, and (for JSON) whitespace swaps. */
function damages(r: ReturnType<typeof rng>, bytes: Buffer, n: number, json = false): Damage[] {
  const ws = json ? [...bytes.keys()].filter((i) => bytes[i] === 0x20) : [];
  const out: Damage[] = [];
  for (let i = 0; i < n; i++) {
    const u = r.next();
    if (u < 0.2) out.push({ kind: 'truncate', to: r.int(bytes.length) });
    else if (json && u < 0.3 && ws.length) out.push({ kind: 'whitespace', at: ws[r.int(ws.length)], to: [0x09, 0x0a, 0x0d][r.int(3)] });
    else {
      const burst = u < 0.85 ? 1 : 2 + r.int(7);
      const start = r.int(bytes.length);
      const at = Array.from({ length: burst }, (_, k) => Math.min(bytes.length - 1, start + k));
      out.push({ kind: 'flip', at, xor: at.map(() => 1 + r.int(255)) });
    }
  }
  return out;
}

function apply(path: string, original: Buffer, d: Damage): void {
  if (d.kind === 'truncate') {
    writeFileSync(path, original);
    truncateSync(path, d.to);
    return;
  }
  const b = Buffer.from(original);
  if (d.kind === 'flip') d.at.forEach((p, k) => (b[p] ^= d.xor[k]));
  else b[d.at] = d.to;
  writeFileSync(path, b);
}

/** The outcome of one read: its value, or the error. */
function attempt<T>(read: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A failure is acceptable only as a proper error naming the file (not a bare TypeError/RangeError, no stack overflow). */
function expectNamedError(error: unknown, file: string, what: string): void {
  expect(error, what).toBeInstanceOf(Error);
  const e = error as Error;
  expect(e instanceof TypeError || e instanceof RangeError, `${what}: ${e.name}: ${e.message}`).toBe(false);
  expect(e.message, what).not.toMatch(/Maximum call stack/);
  expect(e.message, what).toContain(file);
}

describe('fuzzed readers: damaged files load identically or fail naming the file', () => {
  const root = tempDir('fuzz-readers-');
  const data = join(root, 'data');
  let manifest: Manifest;
  let firstBatch: Uint32Array;

  beforeAll(async () => {
    await prepare({ corpus: bundledSources('moby-dick').slice(0, 12), out: data, vocabSize: 300, seqLen: 16, clusters: { k: 5 }, maxShardSequences: 1000 });
    manifest = readManifest(data);
    firstBatch = new BatchLoader(data, { batchSize: 8, seed: 1 }).batch(0, 0);
  });

  /** The prepared directory as training opens it: the verified manifest, then a batch. */
  const loadPrepared = () => {
    const m = readManifest(data);
    const L = new BatchLoader(data, { batchSize: 8, seed: 1 });
    const b = L.batch(0, 0);
    L.close();
    return { m, b };
  };

  /** Damages `file` of the prepared directory in `n` seeded ways; each must be refused, naming the file, unless it is harmless whitespace of manifest.json (which must then load identically). */
  function fuzzPrepared(file: string, n: number, seed: number): { refused: number; identical: number } {
    const path = join(data, file);
    const original = readFileSync(path);
    const r = rng(seed);
    const counts = { refused: 0, identical: 0 };
    try {
      for (const d of damages(r, original, n, file.endsWith('.json'))) {
        apply(path, original, d);
        const what = `${file}, ${describeDamage(d)}`;
        const got = attempt(loadPrepared);
        if (got.ok) {
          // Only manifest.json has bytes whose change the format need not refuse (JSON whitespace).
          expect(file, `${what}: loaded`).toBe('manifest.json');
          expect(got.value.m, what).toEqual(manifest);
          expect(got.value.b, what).toEqual(firstBatch);
          counts.identical++;
        } else {
          expectNamedError(got.error, file, what);
          counts.refused++;
        }
      }
    } finally {
      writeFileSync(path, original);
    }
    return counts;
  }

  it('shards: every truncation or flip is refused, naming the shard', () => {
    const shards = [...manifest.splits.train.shards, ...manifest.splits.validation.shards].map((s) => s.file);
    expect(shards.length).toBeGreaterThan(2);
    let refused = 0;
    shards.forEach((f, i) => (refused += fuzzPrepared(f, Math.ceil(60 / shards.length), 100 + i).refused));
    expect(refused).toBeGreaterThanOrEqual(60);
  });

  it('manifest.json: refused naming it, or (whitespace between tokens only) loaded identically', () => {
    const c = fuzzPrepared('manifest.json', 90, 7);
    expect(c.refused).toBeGreaterThan(60);
    expect(c.identical).toBeGreaterThan(0); // the whitespace swaps
  });

  it('tokenizer.json, vocab.txt, unigram.json, clusters.json in a prepared directory: every change is refused, naming the file', () => {
    for (const [f, seed] of [['tokenizer.json', 11], ['vocab.txt', 12], ['unigram.json', 13], ['clusters.json', 14]] as const) {
      const c = fuzzPrepared(f, f.startsWith('tok') || f.startsWith('vocab') ? 40 : 15, seed);
      expect(c.identical, f).toBe(0);
    }
  });

  it('standalone tokenizer files: a damaged one loads or fails naming the file, never a crash', () => {
    const dir = join(root, 'tok');
    mkdirSync(dir);
    WordPieceTokenizer.load(data).save(dir);
    let errors = 0;
    for (const [f, seed] of [['tokenizer.json', 21], ['vocab.txt', 22]] as const) {
      const path = join(dir, f);
      const original = readFileSync(path);
      for (const d of damages(rng(seed), original, 40, f.endsWith('.json'))) {
        apply(path, original, d);
        const got = attempt(() => WordPieceTokenizer.load(path));
        if (!got.ok) {
          expectNamedError(got.error, path, `${f}, ${describeDamage(d)}`);
          errors++;
        }
      }
      writeFileSync(path, original);
    }
    expect(errors).toBeGreaterThan(10);
  });

  describe('safetensors', () => {
    const tensors: Record<string, SafeTensor> = {
      'embeddings.word_embeddings.weight': fromFloat32(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3), [6, 4]),
      'encoder.layer.0.output.LayerNorm.bias': fromFloat32(new Float32Array([0.5, -1.25, 2, 0]), [4]),
      half: { dtype: 'F16', shape: [5], data: new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0xbc00, 0x3555, 0x0001]).buffer) },
      ids: { dtype: 'I32', shape: [3], data: new Uint8Array(new Int32Array([7, -1, 2]).buffer) },
    };
    const canon = (d: DecodedSafetensors) =>
      JSON.stringify([d.metadata, Object.keys(d.tensors).sort().map((k) => [k, d.tensors[k].dtype, d.tensors[k].shape, Buffer.from(d.tensors[k].data).toString('hex')])]);

    it('a standalone file: refused naming it, or loaded identically, or — only where the format cannot tell — loaded differently; never a crash', () => {
      const path = join(root, 'model.safetensors');
      saveSafetensors(path, tensors, { format: 'pt', note: 'fuzz' });
      const original = readFileSync(path);
      const want = canon(loadSafetensors(path));
      const headerEnd = 8 + Number(original.readBigUInt64LE(0));
      const header = original.subarray(8, headerEnd).toString('latin1');
      // Header bytes inside tensor names, metadata strings and dtype letters: unprotected by the format.
      const unprotected = new Set<number>();
      for (const s of [...Object.keys(tensors), 'pt', 'fuzz', 'format', 'note']) for (let i = header.indexOf(`"${s}"`); i >= 0; i = header.indexOf(`"${s}"`, i + 1)) for (let k = 1; k <= s.length; k++) unprotected.add(8 + i + k);
      for (let i = header.indexOf('"dtype":"'); i >= 0; i = header.indexOf('"dtype":"', i + 1)) unprotected.add(8 + i + 9);
      const counts = { refused: 0, identical: 0, different: 0 };
      for (const d of damages(rng(31), original, 120)) {
        apply(path, original, d);
        const what = describeDamage(d);
        const got = attempt(() => loadSafetensors(path));
        if (!got.ok) {
          expectNamedError(got.error, path, what);
          counts.refused++;
        } else if (canon(got.value) === want) counts.identical++;
        else {
          // Loaded, but differently: allowed only for damage confined to what the format cannot check.
          expect(d.kind, what).toBe('flip');
          const flips = (d as Extract<Damage, { kind: 'flip' }>).at;
          expect(flips.every((p) => p >= headerEnd || unprotected.has(p)), `${what}: a different model from a header flip the format should catch`).toBe(true);
          counts.different++;
        }
      }
      writeFileSync(path, original);
      expect(counts.refused).toBeGreaterThan(20);
      expect(counts.different).toBeGreaterThan(0); // flips in the tensor data
    });

    it('inside a checkpoint (files hashed in state.json): every change is refused, naming the file', () => {
      const run = join(root, 'run');
      saveCheckpoint(run, { step: 3, tensors: { model: tensors }, state: { note: 'fuzz' } });
      const dir = checkpointDir(run, 3);
      const want = JSON.stringify(loadCheckpoint(dir).tensors.model, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
      expect(want).toContain('"dtype":"F16"');
      const path = join(dir, 'model.safetensors');
      const original = readFileSync(path);
      for (const d of damages(rng(41), original, 60)) {
        apply(path, original, d);
        const got = attempt(() => loadCheckpoint(dir));
        expect(got.ok, describeDamage(d)).toBe(false);
        if (!got.ok) expectNamedError(got.error, path, describeDamage(d));
      }
      writeFileSync(path, original);
      expect(JSON.stringify(loadCheckpoint(dir).tensors.model, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))).toBe(want);
    });
  });
});
