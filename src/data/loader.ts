// Batches of packed sequences from shards. Each epoch visits the split's sequences in a
// permutation fixed by (seed, epoch) (Fisher–Yates driven by Philox), so batch (epoch,
// step) is a pure function of the data and the seed: training resumes exactly by asking
// for the batches from (epoch, step) on. Sequences are read on demand (no
// shard is held in memory; src/data/files.ts: a directory, or the bytes the web page fetched);
// an incomplete last batch of an epoch is dropped. Every
// sequence read is checked against the vocabulary (an id the model's embedding does not
// have would be read out of range on the GPU), also when opened without verification.
import { philox4x32_10, below } from '../kernels/ref/rng.js';
import { bytesOf, readManifest, ShardError, type Manifest } from './shards.js';
import { dataFiles, type DataFiles } from './files.js';

export interface LoaderOptions {
  split?: 'train' | 'validation';
  batchSize: number;
  seed: number;
  /** Verify shard checksums on open (default true). */
  verify?: boolean;
}

/** 0..n-1 in the order of epoch `epoch` under `seed`: Fisher–Yates, one Philox word per swap. */
export function shuffledOrder(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const key: [number, number] = [seed >>> 0, epoch >>> 0];
  let r: number[] = [];
  for (let i = n - 1; i > 0; i--) {
    if (!r.length) r = philox4x32_10([i >>> 0, 0x5ee1, 0, 0], key);
    const j = below(r.pop()!, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export class BatchLoader {
  readonly manifest: Manifest;
  readonly split: 'train' | 'validation';
  readonly batchSize: number;
  readonly seqLen: number;
  readonly sequences: number;
  readonly stepsPerEpoch: number;
  private files: DataFiles;
  private shardFiles: string[];
  private starts: number[]; // first sequence index of each shard
  private seqBytes: number;
  private buf: Uint8Array;
  private readonly ownsFiles: boolean;
  private permEpoch = -1;
  private perm: Uint32Array = new Uint32Array(0);

  /** `dir`: a prepared directory, or the files of one (its own, or shared with other readers: close() leaves those open). */
  constructor(dir: string | DataFiles, readonly opts: LoaderOptions) {
    this.files = dataFiles(dir);
    this.ownsFiles = this.files !== dir;
    this.manifest = readManifest(this.files, { verify: opts.verify });
    this.split = opts.split ?? 'train';
    const s = this.manifest.splits[this.split];
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`loader: batch size must be a positive integer, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    this.seqLen = this.manifest.seqLen;
    this.sequences = s.sequences;
    this.stepsPerEpoch = Math.floor(s.sequences / opts.batchSize);
    if (this.stepsPerEpoch === 0) throw new RangeError(`loader: the ${this.split} split of ${this.files.location} has ${s.sequences} sequences, fewer than one batch of ${opts.batchSize}`);
    this.shardFiles = s.shards.map((sh) => sh.file);
    this.starts = [];
    let at = 0;
    for (const sh of s.shards) {
      this.starts.push(at);
      at += sh.sequences;
    }
    this.seqBytes = this.seqLen * bytesOf(this.manifest.dtype);
    this.buf = new Uint8Array(this.seqBytes);
  }

  /** The order of sequence indices in `epoch`. */
  permutation(epoch: number): Uint32Array {
    if (epoch === this.permEpoch) return this.perm;
    this.perm = shuffledOrder(this.sequences, this.opts.seed, epoch);
    this.permEpoch = epoch;
    return this.perm;
  }

  /** Sequence `index` of the split into `out` at `offset`. */
  readSequence(index: number, out: Uint32Array, offset = 0): void {
    let s = this.starts.length - 1;
    while (this.starts[s] > index) s--;
    const pos = (index - this.starts[s]) * this.seqBytes;
    const n = this.files.read(this.shardFiles[s], pos, this.buf);
    if (n !== this.seqBytes) throw new Error(`loader: short read in ${this.files.path(this.shardFiles[s])} at byte ${pos}`);
    const src = this.manifest.dtype === 'uint16' ? new Uint16Array(this.buf.buffer, this.buf.byteOffset, this.seqLen) : new Uint32Array(this.buf.buffer, this.buf.byteOffset, this.seqLen);
    const V = this.manifest.vocabSize;
    for (let i = 0; i < src.length; i++)
      if (src[i] >= V) {
        const file = this.files.path(this.shardFiles[s]);
        throw new ShardError(`loader: ${file}: sequence ${index - this.starts[s]} holds token id ${src[i]}, outside the vocabulary of ${V} tokens (ids 0..${V - 1}); re-run prepare`);
      }
    out.set(src, offset);
  }

  /** Token ids of batch `step` of `epoch`: batchSize × seqLen, row-major. */
  batch(epoch: number, step: number): Uint32Array {
    if (step < 0 || step >= this.stepsPerEpoch) throw new RangeError(`loader: step ${step} is outside epoch of ${this.stepsPerEpoch} steps`);
    const p = this.permutation(epoch);
    const out = new Uint32Array(this.batchSize * this.seqLen);
    for (let b = 0; b < this.batchSize; b++) this.readSequence(p[step * this.batchSize + b], out, b * this.seqLen);
    return out;
  }

  /** Batches from (epoch, step) on, forever: { epoch, step, ids }. */
  *batches(epoch = 0, step = 0): Generator<{ epoch: number; step: number; ids: Uint32Array }> {
    for (;;) {
      for (; step < this.stepsPerEpoch; step++) yield { epoch, step, ids: this.batch(epoch, step) };
      epoch++;
      step = 0;
    }
  }

  close(): void {
    if (this.ownsFiles) this.files.close();
  }
}
