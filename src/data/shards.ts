// Token shards: flat binary files of fixed-length sequences (little-endian uint16 when the
// vocabulary has at most 65,536 tokens, else uint32), plus `manifest.json` naming every
// shard with its sequence count, byte size, SHA-256 and largest token id. Shards are
// written under a temporary name and renamed when complete; the manifest is written last
// (atomically). Loading checks sizes (truncation) and, by default, checksums (corruption),
// every token id against the vocabulary (the recorded maximum, and the bytes themselves on
// the checksum pass), and the SHA-256 of the tokenizer and statistics files beside the
// shards. The manifest carries a checksum of its own content, so a damaged manifest that is
// still valid JSON is refused too.
//
// Versions: 1 had no per-shard `maxId`, no `sha256` of the other files and no `checksum`.
// Version-1 manifests still load: their shards' maxima are computed on the verifying pass
// (and checked just the same), their vocab.txt is checked against `vocab.sha256` when that
// was recorded, and the checks that need the missing fields are skipped.
import { closeSync, existsSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, mkdirSync, readdirSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { tmpName, writeFileAtomic } from './atomic.js';
import { dataFiles, directoryFiles, type DataFiles } from './files.js';

export const MANIFEST = 'manifest.json';
export const FORMAT = 'electrolite-shards';
export const FORMAT_VERSION = 2;
/** Manifest versions this build reads. */
export const FORMAT_VERSIONS_READ = [1, 2] as const;

export type TokenDType = 'uint16' | 'uint32';
export const dtypeFor = (vocabSize: number): TokenDType => (vocabSize <= 65536 ? 'uint16' : 'uint32');
export const bytesOf = (d: TokenDType) => (d === 'uint16' ? 2 : 4);

export interface ShardInfo {
  file: string;
  sequences: number;
  bytes: number;
  sha256: string;
  /** Largest token id in the shard (version ≥ 2; absent in version-1 manifests). */
  maxId?: number;
}
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
  /** SHA-256 of the files beside the shards (tokenizer.json, vocab.txt, statistics), by file name (version ≥ 2). */
  sha256?: Record<string, string>;
  /** What produced this (inputs and options), for reuse on re-runs. */
  fingerprint: string;
  summary: Record<string, unknown>;
  /** SHA-256 of the manifest's JSON without this field (version ≥ 2; set by writeManifest). */
  checksum?: string;
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
  private maxInShard = 0;
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
    let max = this.maxInShard;
    for (let i = 0; i < seq.length; i++) if (seq[i] > max) max = seq[i];
    if (this.dtype === 'uint16' && max > 0xffff) throw new ShardError(`shards: token id ${max} does not fit a uint16 shard (${this.fileName(this.shards.length)})`);
    this.maxInShard = max;
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
    this.shards.push({ file, sequences: this.inShard, bytes: this.bytesInShard, sha256: this.hash!.digest('hex'), maxId: this.maxInShard });
    this.fd = -1;
    this.inShard = 0;
    this.bytesInShard = 0;
    this.maxInShard = 0;
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

/** The manifest's checksum: SHA-256 of its JSON without the `checksum` field. */
function manifestChecksum(m: Manifest): string {
  const { checksum: _, ...rest } = m;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** Writes `DIR/manifest.json` atomically, with its checksum (version ≥ 2). */
export function writeManifest(dir: string, m: Manifest): void {
  const out: Manifest = { ...m };
  delete out.checksum;
  if (m.version >= 2) out.checksum = manifestChecksum(out);
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(out, null, 2) + '\n');
}

/** Reads a whole file in large chunks, calling `fn` with each (every chunk but the last is full). */
function scanFile(files: DataFiles, name: string, fn: (chunk: Uint8Array) => void): void {
  const buf = new Uint8Array(1 << 22);
  for (let at = 0; ; ) {
    const n = files.read(name, at, buf);
    if (n > 0) fn(buf.subarray(0, n));
    if (n < buf.length) break;
    at += n;
  }
}

export function sha256File(path: string): string {
  const files = directoryFiles(dirname(path));
  try {
    return sha256Of(files, basename(path));
  } finally {
    files.close();
  }
}

function sha256Of(files: DataFiles, name: string): string {
  const h = createHash('sha256');
  scanFile(files, name, (c) => h.update(c));
  return h.digest('hex');
}

/** SHA-256 and largest token id of a shard, in one pass over its bytes. */
export function scanShard(files: DataFiles, name: string, dtype: TokenDType): { sha256: string; maxId: number } {
  const h = createHash('sha256');
  const eb = bytesOf(dtype);
  let max = 0;
  scanFile(files, name, (c) => {
    h.update(c);
    const n = Math.floor(c.length / eb);
    // Chunks are 4 MiB (a multiple of 4) except the last, so elements never straddle two.
    const v = dtype === 'uint16' ? new Uint16Array(c.buffer, c.byteOffset, n) : new Uint32Array(c.buffer, c.byteOffset, n);
    for (let i = 0; i < n; i++) if (v[i] > max) max = v[i];
  });
  return { sha256: h.digest('hex'), maxId: max };
}

const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
/** A plain file name in the data directory (no folders, no way out of it). */
const isPlainName = (f: unknown): f is string => typeof f === 'string' && f.length > 0 && !/[\\/]/.test(f) && f !== '.' && f !== '..';
const vocabRange = (n: number) => `outside the vocabulary of ${n} tokens (ids 0..${n - 1})`;

/**
 * Reads and checks `DIR/manifest.json` and the files it names; throws ShardError saying
 * what is wrong and naming the file. With `verify` (the default) every shard is read once to
 * check its SHA-256 and that no token id reaches the vocabulary size, and the tokenizer and
 * statistics files are checked against their recorded SHA-256; without it, only sizes, the
 * manifest's own consistency and the recorded maxima are checked. `dir` is a directory or the
 * files of one (src/data/files.ts: a corpus the web page fetched).
 */
export function readManifest(dir: string | DataFiles, opts: { verify?: boolean } = {}): Manifest {
  const files = dataFiles(dir);
  try {
    return checkManifest(files, opts.verify !== false);
  } finally {
    if (files !== dir) files.close();
  }
}

function checkManifest(files: DataFiles, verify: boolean): Manifest {
  const path = files.path(MANIFEST);
  if (!files.exists(MANIFEST)) throw new ShardError(`shards: ${path} does not exist (no complete prepare run in ${files.location}; run \`electrolite prepare\`)`);
  let m: Manifest;
  try {
    m = JSON.parse(files.text(MANIFEST));
  } catch (e) {
    throw new ShardError(`shards: ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new ShardError(`shards: ${path} is not a manifest (not a JSON object)`);
  if (m.format !== FORMAT || !(FORMAT_VERSIONS_READ as readonly unknown[]).includes(m.version))
    throw new ShardError(`shards: ${path} is not an ${FORMAT} manifest of version ${FORMAT_VERSIONS_READ.join(' or ')} (format ${JSON.stringify(m.format)}, version ${JSON.stringify(m.version)})`);
  const v2 = m.version >= 2;
  if (v2 && m.checksum !== manifestChecksum(m)) throw new ShardError(`shards: ${path} is corrupted: its checksum does not match its content; re-run prepare`);
  const bad = (what: string) => new ShardError(`shards: ${path} is inconsistent: ${what}; re-run prepare`);
  if (m.dtype !== 'uint16' && m.dtype !== 'uint32') throw bad(`dtype ${JSON.stringify(m.dtype)} is not uint16 or uint32`);
  if (!Number.isInteger(m.seqLen) || m.seqLen < 1) throw bad(`seqLen ${JSON.stringify(m.seqLen)} is not a positive integer`);
  if (!Number.isInteger(m.vocabSize) || m.vocabSize < 1) throw bad(`vocabSize ${JSON.stringify(m.vocabSize)} is not a positive integer`);
  if (m.dtype === 'uint16' && m.vocabSize > 65536) throw bad(`a vocabulary of ${m.vocabSize} tokens does not fit uint16 shards`);
  for (const k of ['pad', 'unk', 'cls', 'sep', 'mask'] as const) {
    const id = m.special?.[k];
    if (!isCount(id) || id >= m.vocabSize) throw bad(`special token ${k} has id ${JSON.stringify(id)}, ${vocabRange(m.vocabSize)}`);
  }
  const seqBytes = m.seqLen * bytesOf(m.dtype);
  for (const split of ['train', 'validation'] as const) {
    const s = m.splits?.[split];
    if (!s || !Array.isArray(s.shards)) throw new ShardError(`shards: ${path} lacks the ${split} split`);
    let total = 0;
    for (const sh of s.shards) {
      if (!sh || !isPlainName(sh.file)) throw bad(`a ${split} shard's file name ${JSON.stringify(sh?.file)} is not a plain file name`);
      if (!isCount(sh.sequences) || !isCount(sh.bytes)) throw bad(`${sh.file} has sequences ${JSON.stringify(sh.sequences)} and bytes ${JSON.stringify(sh.bytes)}`);
      const f = files.path(sh.file);
      if (!files.exists(sh.file)) throw new ShardError(`shards: ${f} is missing (listed in ${path})`);
      const size = files.size(sh.file);
      if (sh.bytes !== sh.sequences * seqBytes) throw new ShardError(`shards: ${path} is inconsistent for ${sh.file}: ${sh.sequences} sequences × ${seqBytes} bytes ≠ ${sh.bytes}`);
      if (size !== sh.bytes) throw new ShardError(`shards: ${f} is ${size < sh.bytes ? 'truncated' : 'too long'}: ${size} bytes, the manifest says ${sh.bytes}; re-run prepare`);
      if (v2 && !isCount(sh.maxId)) throw bad(`${sh.file} has no maximum token id (maxId ${JSON.stringify(sh.maxId)})`);
      if (sh.maxId !== undefined && sh.maxId >= m.vocabSize)
        throw new ShardError(`shards: ${path}: ${sh.file} holds token ids up to ${sh.maxId}, ${vocabRange(m.vocabSize)}; the shards and the manifest's vocabSize disagree; re-run prepare`);
      if (verify) {
        const got = scanShard(files, sh.file, m.dtype);
        const over = got.maxId >= m.vocabSize ? ` and holds token id ${got.maxId}, ${vocabRange(m.vocabSize)}` : '';
        if (got.sha256 !== sh.sha256) throw new ShardError(`shards: ${f} is corrupted: its SHA-256 differs from the manifest's${over}; re-run prepare`);
        if (over) throw new ShardError(`shards: ${f} holds token id ${got.maxId}, ${vocabRange(m.vocabSize)} (${path}); re-run prepare`);
        if (sh.maxId !== undefined && got.maxId !== sh.maxId) throw bad(`${sh.file}'s largest token id is ${got.maxId}, the manifest says ${sh.maxId}`);
      }
      total += sh.sequences;
    }
    if (total !== s.sequences) throw new ShardError(`shards: ${path}: the ${split} shards hold ${total} sequences, the manifest says ${s.sequences}`);
  }
  if (verify) checkSideFiles(files, m);
  return m;
}

/** The tokenizer and statistics files against the SHA-256 the manifest recorded. */
function checkSideFiles(files: DataFiles, m: Manifest): void {
  const path = files.path(MANIFEST);
  const hashes: Record<string, string> = {};
  if (m.version >= 2) {
    if (!m.sha256 || typeof m.sha256 !== 'object') throw new ShardError(`shards: ${path} is inconsistent: no SHA-256 of the tokenizer files; re-run prepare`);
    for (const need of [m.tokenizer, m.vocab?.file])
      if (!isPlainName(need) || typeof m.sha256[need] !== 'string') throw new ShardError(`shards: ${path} is inconsistent: no SHA-256 of ${JSON.stringify(need)}; re-run prepare`);
    Object.assign(hashes, m.sha256);
  } else if (m.vocab && isPlainName(m.vocab.file) && m.vocab.sha256 && files.exists(m.vocab.file)) {
    // Version 1 recorded only vocab.txt's hash (and tests wrote it empty): check it when there is one.
    hashes[m.vocab.file] = m.vocab.sha256;
  }
  for (const [file, hash] of Object.entries(hashes)) {
    if (!isPlainName(file)) throw new ShardError(`shards: ${path} is inconsistent: ${JSON.stringify(file)} is not a plain file name; re-run prepare`);
    const f = files.path(file);
    if (!files.exists(file)) throw new ShardError(`shards: ${f} is missing (listed in ${path}); re-run prepare`);
    if (sha256Of(files, file) !== hash) throw new ShardError(`shards: ${f} has changed since prepare (its SHA-256 differs from ${path}'s); restore it or re-run prepare`);
  }
}

/**
 * Checks only the tokenizer files of a prepared directory against its manifest (cheap: no
 * shard is read), for readers that use the tokenizer alone (export, predict). Nothing to
 * check — and no error — when `dir` has no manifest, or a version-1 one without hashes.
 */
export function verifyTokenizerFiles(dir: string): void {
  const files = directoryFiles(dir);
  try {
    const path = files.path(MANIFEST);
    if (!files.exists(MANIFEST)) return;
    let m: Manifest;
    try {
      m = JSON.parse(files.text(MANIFEST));
    } catch (e) {
      throw new ShardError(`shards: ${path} is not valid JSON (${(e as Error).message})`);
    }
    if (m?.format !== FORMAT) return;
    if (m.version >= 2 && m.checksum !== manifestChecksum(m)) throw new ShardError(`shards: ${path} is corrupted: its checksum does not match its content; re-run prepare`);
    const names = [m.tokenizer, m.vocab?.file].filter(isPlainName);
    const only: Manifest = { ...m, sha256: m.sha256 ? Object.fromEntries(Object.entries(m.sha256).filter(([f]) => names.includes(f))) : undefined };
    checkSideFiles(files, only);
  } finally {
    files.close();
  }
}
