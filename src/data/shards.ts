// Token shards: flat binary files of fixed-length sequences (little-endian uint16 when the
// vocabulary has at most 65,536 tokens, else uint32), plus `manifest.json` naming every
// shard with its sequence count, byte size and SHA-256. Shards are written under a
// temporary name and renamed when complete; the manifest is written last (atomically)
// and removed before a new run starts, so an interrupted run leaves nothing a later load
// accepts. Loading checks sizes (truncation) and, by default, checksums (corruption).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync, mkdirSync, readdirSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { tmpName, writeFileAtomic } from './atomic.js';

export const MANIFEST = 'manifest.json';
export const FORMAT = 'electrolite-shards';
export const FORMAT_VERSION = 1;

export type TokenDType = 'uint16' | 'uint32';
export const dtypeFor = (vocabSize: number): TokenDType => (vocabSize <= 65536 ? 'uint16' : 'uint32');
export const bytesOf = (d: TokenDType) => (d === 'uint16' ? 2 : 4);

export interface ShardInfo { file: string; sequences: number; bytes: number; sha256: string }
export interface SplitInfo { sequences: number; tokens: number; documents: number; shards: ShardInfo[] }
export interface Manifest {
  format: typeof FORMAT;
  version: number;
  seqLen: number;
  dtype: TokenDType;
  vocabSize: number;
  vocab: { file: string; sha256: string };
  tokenizer: string;
  special: { pad: number; unk: number; cls: number; sep: number; mask: number };
  splits: { train: SplitInfo; validation: SplitInfo };
  /** Other files beside the shards (unigram counts, clusters), by role. */
  files: Record<string, string>;
  /** What produced this (inputs and options), for reuse on re-runs. */
  fingerprint: string;
  summary: Record<string, unknown>;
}

export class ShardError extends Error {}

/** Streams sequences of one split into shards of at most `maxSequences` each. */
export class ShardWriter {
  readonly shards: ShardInfo[] = [];
  sequences = 0;
  tokens = 0;
  documents = 0;
  private fd = -1;
  private tmp = '';
  private hash: Hash | null = null;
  private inShard = 0;
  private bytesInShard = 0;
  private out: Buffer;
  private outLen = 0;
  private view: Uint16Array | Uint32Array;

  constructor(readonly dir: string, readonly split: string, readonly seqLen: number, readonly dtype: TokenDType, readonly maxSequences = 1 << 16) {
    mkdirSync(dir, { recursive: true });
    const seqBytes = seqLen * bytesOf(dtype);
    this.out = Buffer.alloc(Math.max(seqBytes, Math.floor((1 << 20) / seqBytes) * seqBytes));
    this.view = dtype === 'uint16' ? new Uint16Array(this.out.buffer, this.out.byteOffset, this.out.length / 2) : new Uint32Array(this.out.buffer, this.out.byteOffset, this.out.length / 4);
  }

  private fileName(i: number) {
    return `${this.split}-${String(i).padStart(5, '0')}.bin`;
  }

  add(seq: Uint32Array, tokens: number): void {
    if (this.fd < 0) {
      this.tmp = tmpName(join(this.dir, this.fileName(this.shards.length)));
      this.fd = openSync(this.tmp, 'w');
      this.hash = createHash('sha256');
    }
    const at = this.outLen / bytesOf(this.dtype);
    this.view.set(seq, at); // Buffer is little-endian on every platform Node supports (checked below)
    this.outLen += seq.length * bytesOf(this.dtype);
    if (this.outLen === this.out.length) this.drain();
    this.inShard++;
    this.sequences++;
    this.tokens += tokens;
    if (this.inShard === this.maxSequences) this.closeShard();
  }

  private drain() {
    const chunk = this.out.subarray(0, this.outLen);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
    this.hash!.update(chunk);
    this.bytesInShard += chunk.length;
    this.outLen = 0;
  }

  private closeShard() {
    if (this.fd < 0) return;
    this.drain();
    fsyncSync(this.fd);
    closeSync(this.fd);
    const file = this.fileName(this.shards.length);
    renameSync(this.tmp, join(this.dir, file));
    this.shards.push({ file, sequences: this.inShard, bytes: this.bytesInShard, sha256: this.hash!.digest('hex') });
    this.fd = -1;
    this.inShard = 0;
    this.bytesInShard = 0;
  }

  finish(): SplitInfo {
    this.closeShard();
    return { sequences: this.sequences, tokens: this.tokens, documents: this.documents, shards: this.shards };
  }

  /** Removes a half-written shard (on error). */
  abort(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      unlinkSync(this.tmp);
      this.fd = -1;
    }
  }
}
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('shards: big-endian hosts are not supported');

/** Deletes the manifest and every shard or temporary file of a previous run in `dir`. */
export function clearShards(dir: string): void {
  if (!existsSync(dir)) return;
  if (existsSync(join(dir, MANIFEST))) unlinkSync(join(dir, MANIFEST));
  for (const f of readdirSync(dir)) if (/^(train|validation)-\d{5}\.bin$/.test(f) || /^\..*\.tmp-\d+$/.test(f)) unlinkSync(join(dir, f));
}

export function writeManifest(dir: string, m: Manifest): void {
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(m, null, 2) + '\n');
}

export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 22);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Reads and checks `DIR/manifest.json` and its shards; throws ShardError saying what is wrong. */
export function readManifest(dir: string, opts: { verify?: boolean } = {}): Manifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new ShardError(`shards: ${path} does not exist (no complete prepare run in ${dir}; run \`electrolite prepare\`)`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ShardError(`shards: ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== FORMAT || m.version !== FORMAT_VERSION) throw new ShardError(`shards: ${path} is not an ${FORMAT} v${FORMAT_VERSION} manifest`);
  const seqBytes = m.seqLen * bytesOf(m.dtype);
  for (const split of ['train', 'validation'] as const) {
    const s = m.splits?.[split];
    if (!s || !Array.isArray(s.shards)) throw new ShardError(`shards: ${path} lacks the ${split} split`);
    let total = 0;
    for (const sh of s.shards) {
      const f = join(dir, sh.file);
      if (!existsSync(f)) throw new ShardError(`shards: ${f} is missing (listed in ${path})`);
      const size = statSync(f).size;
      if (sh.bytes !== sh.sequences * seqBytes) throw new ShardError(`shards: ${path} is inconsistent for ${sh.file}: ${sh.sequences} sequences × ${seqBytes} bytes ≠ ${sh.bytes}`);
      if (size !== sh.bytes) throw new ShardError(`shards: ${f} is ${size < sh.bytes ? 'truncated' : 'too long'}: ${size} bytes, the manifest says ${sh.bytes}; re-run prepare`);
      if (opts.verify !== false && sha256File(f) !== sh.sha256) throw new ShardError(`shards: ${f} is corrupted: its SHA-256 differs from the manifest's; re-run prepare`);
      total += sh.sequences;
    }
    if (total !== s.sequences) throw new ShardError(`shards: ${path}: the ${split} shards hold ${total} sequences, the manifest says ${s.sequences}`);
  }
  return m;
}
