// `electrolite prepare`: corpus → tokenizer → packed shards → statistics, in passes over
// streamed documents (memory stays bounded whatever the corpus size):
//   1. count words and train the WordPiece vocabulary (skipped with --tokenizer, or when
//      the output folder already holds a tokenizer trained on the same inputs);
//   2. split documents into sentences, encode, pack, write train/validation shards, count
//      unigrams;
//   3. read the train shards back for co-occurrence statistics → token clusters;
//   4. write the manifest (last, atomically).
// A re-run whose inputs and options match an existing, intact output reuses it.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSources, readDocuments, newStats, type DocMode, type IngestStats, type SourceFile } from './corpus.js';
import { WordCounter, trainWordPiece } from './wordpiece-trainer.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { splitWords, normalizeBert } from './normalize.js';
import { Packer, splitSentences, isValidation } from './pack.js';
import { ShardWriter, clearShards, dtypeFor, bytesOf, writeManifest, readManifest, sha256File, FORMAT, FORMAT_VERSION, type Manifest } from './shards.js';
import { UnigramCounter } from './stats.js';
import { Cooccurrence, clusterTokens, saveClusters, type ClusterOptions } from './clusters.js';
import { writeFileAtomic } from './atomic.js';

export interface PrepareOptions {
  corpus: string[];
  out: string;
  vocabSize: number;
  seqLen: number;
  /** Use this tokenizer (folder or tokenizer.json / vocab.txt) instead of training one. */
  tokenizer?: string;
  docs?: DocMode;
  textField?: string;
  strict?: boolean;
  seed?: number;
  valFraction?: number;
  clusters?: ClusterOptions;
  limitAlphabet?: number;
  maxShardSequences?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface PrepareSummary {
  reused: boolean;
  tokenizerReused: boolean;
  documents: number;
  trainDocuments: number;
  validationDocuments: number;
  sequences: { train: number; validation: number };
  tokens: { train: number; validation: number };
  vocabSize: number;
  textMB: number;
  encodeMBps: number;
  seconds: { tokenizer: number; encode: number; clusters: number; total: number };
  skipped: Omit<IngestStats, 'files' | 'documents' | 'textBytes' | 'warnings'>;
  warnings: string[];
  out: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function sourcesFingerprint(files: SourceFile[], o: PrepareOptions): object {
  return { files: files.map((f) => [f.path, f.bytes, Math.round(f.mtimeMs)]), docs: o.docs ?? 'blank', textField: o.textField ?? 'text', strict: !!o.strict };
}

export async function prepare(o: PrepareOptions): Promise<PrepareSummary> {
  const t0 = performance.now();
  if (!Number.isInteger(o.seqLen) || o.seqLen < 8) throw new RangeError(`prepare: --seq-len ${o.seqLen} is below the minimum of 8 ([CLS] + [SEP] + at least 6 tokens)`);
  if (!o.tokenizer && (!Number.isInteger(o.vocabSize) || o.vocabSize < 1)) throw new RangeError(`prepare: --vocab-size must be a positive integer, got ${o.vocabSize}`);
  const valFraction = o.valFraction ?? 0.02;
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`prepare: --val-fraction must be in [0, 1), got ${valFraction}`);
  const seed = o.seed ?? 1337;
  const clusterOpts: ClusterOptions = { k: 100, window: 2, contexts: 1024, dims: 64, minCount: 5, seed, ...o.clusters };
  mkdirSync(o.out, { recursive: true });
  const files = resolveSources(o.corpus, o.docs ?? 'blank');
  const diskBytes = files.reduce((s, f) => s + f.bytes, 0);
  const ingest = { textField: o.textField, strict: o.strict };
  const progress = (phase: string) => {
    let done = 0;
    o.onProgress?.(phase, 0, diskBytes);
    return (n: number) => o.onProgress?.(phase, (done += n), diskBytes);
  };

  // 1. Tokenizer.
  const tStart = performance.now();
  let tok: WordPieceTokenizer;
  let tokenizerReused = true;
  const tokFingerprint = sha(JSON.stringify({ src: sourcesFingerprint(files, o), vocabSize: o.vocabSize, limitAlphabet: o.limitAlphabet ?? 1000 }));
  const metaPath = join(o.out, 'tokenizer.meta.json');
  if (o.tokenizer) tok = WordPieceTokenizer.load(o.tokenizer);
  else if (existsSync(metaPath) && existsSync(join(o.out, 'tokenizer.json')) && JSON.parse(readFileSync(metaPath, 'utf8')).fingerprint === tokFingerprint) tok = WordPieceTokenizer.load(o.out);
  else {
    tokenizerReused = false;
    const counter = new WordCounter();
    const add = (w: string) => counter.add(w);
    for await (const doc of readDocuments(files, newStats(), { ...ingest, onBytes: progress('counting words') })) splitWords(normalizeBert(doc.text, { lowercase: true, stripAccents: true }), add);
    o.onProgress?.('training vocabulary', 0, o.vocabSize);
    const vocab = trainWordPiece(counter.counts, { vocabSize: o.vocabSize, limitAlphabet: o.limitAlphabet, onProgress: (n, t) => o.onProgress?.('training vocabulary', n, t) });
    tok = new WordPieceTokenizer(vocab);
  }
  if (o.tokenizer || !tokenizerReused) {
    tok.save(o.out);
    writeFileAtomic(metaPath, JSON.stringify({ fingerprint: o.tokenizer ? 'given' : tokFingerprint, vocabSize: tok.size }) + '\n');
  }
  const tokSeconds = (performance.now() - tStart) / 1000;

  // Reuse a complete, intact previous output made from the same inputs.
  const fingerprint = sha(JSON.stringify({ v: FORMAT_VERSION, src: sourcesFingerprint(files, o), vocab: sha(tok.vocabTxt()), seqLen: o.seqLen, seed, valFraction, clusterOpts }));
  if (existsSync(join(o.out, 'manifest.json'))) {
    try {
      const m = readManifest(o.out);
      if (m.fingerprint === fingerprint) return { ...(m.summary as unknown as PrepareSummary), reused: true, tokenizerReused: true, seconds: { tokenizer: 0, encode: 0, clusters: 0, total: (performance.now() - t0) / 1000 } };
    } catch {
      // Damaged: rebuilt below.
    }
  }

  // 2. Encode and pack.
  clearShards(o.out);
  const dtype = dtypeFor(tok.size);
  const writers = {
    train: new ShardWriter(o.out, 'train', o.seqLen, dtype, o.maxShardSequences),
    validation: new ShardWriter(o.out, 'validation', o.seqLen, dtype, o.maxShardSequences),
  };
  const unigram = new UnigramCounter(tok.size, tok.special.pad);
  let current = writers.train;
  const packer = new Packer(o.seqLen, tok.special, (seq, n) => {
    current.add(seq, n);
    if (current === writers.train) unigram.add(seq.subarray(0, n));
  });
  const stats = newStats();
  const tEnc = performance.now();
  let docIndex = 0;
  try {
    for await (const doc of readDocuments(files, stats, { ...ingest, onBytes: progress('encoding') })) {
      current = isValidation(docIndex++, seed, valFraction) ? writers.validation : writers.train;
      current.documents++;
      for (const ids of tok.encodeLines(splitSentences(doc.text).join('\n'))) packer.sentence(ids);
      packer.endDocument();
    }
  } catch (e) {
    writers.train.abort();
    writers.validation.abort();
    throw e;
  }
  const splits = { train: writers.train.finish(), validation: writers.validation.finish() };
  const encSeconds = (performance.now() - tEnc) / 1000;
  if (stats.documents === 0) throw new Error(`prepare: no documents in ${o.corpus.join(', ')}${stats.warnings.length ? ` (${stats.warnings.slice(0, 3).join('; ')})` : ''}`);
  if (splits.train.sequences === 0) throw new Error(`prepare: every document went to validation; lower --val-fraction`);
  unigram.save(join(o.out, 'unigram.json'));

  // 3. Clusters from the train shards.
  const tCl = performance.now();
  const specials = Object.values(tok.special);
  const co = new Cooccurrence(tok.size, unigram.counts, specials, clusterOpts.contexts!, clusterOpts.window!);
  forEachSequence(o.out, splits.train.shards, o.seqLen, dtype, (seq) => co.add(seq), (n) => o.onProgress?.('clusters', n, splits.train.sequences));
  const clusters = clusterTokens(co, unigram.counts, clusterOpts);
  saveClusters(join(o.out, 'clusters.json'), clusters, clusterOpts);
  const clSeconds = (performance.now() - tCl) / 1000;

  // 4. Manifest.
  const textMB = stats.textBytes / 1e6;
  const summary: PrepareSummary = {
    reused: false,
    tokenizerReused,
    documents: stats.documents,
    trainDocuments: splits.train.documents,
    validationDocuments: splits.validation.documents,
    sequences: { train: splits.train.sequences, validation: splits.validation.sequences },
    tokens: { train: splits.train.tokens, validation: splits.validation.tokens },
    vocabSize: tok.size,
    textMB,
    encodeMBps: textMB / encSeconds,
    seconds: { tokenizer: tokSeconds, encode: encSeconds, clusters: clSeconds, total: (performance.now() - t0) / 1000 },
    skipped: { emptyFiles: stats.emptyFiles, binaryFiles: stats.binaryFiles, badUtf8Lines: stats.badUtf8Lines, badJsonLines: stats.badJsonLines, missingFieldLines: stats.missingFieldLines, ignoredFiles: stats.ignoredFiles },
    warnings: stats.warnings,
    out: o.out,
  };
  const manifest: Manifest = {
    format: FORMAT,
    version: FORMAT_VERSION,
    seqLen: o.seqLen,
    dtype,
    vocabSize: tok.size,
    vocab: { file: 'vocab.txt', sha256: sha256File(join(o.out, 'vocab.txt')) },
    tokenizer: 'tokenizer.json',
    special: tok.special,
    splits,
    files: { unigram: 'unigram.json', clusters: 'clusters.json' },
    fingerprint,
    summary: summary as unknown as Record<string, unknown>,
  };
  writeManifest(o.out, manifest);
  return summary;
}

/** Reads the sequences of some shards in order (large sequential reads). */
export function forEachSequence(dir: string, shards: { file: string; sequences: number }[], seqLen: number, dtype: 'uint16' | 'uint32', fn: (seq: Uint32Array) => void, progress?: (done: number) => void): void {
  const seqBytes = seqLen * bytesOf(dtype);
  const per = Math.max(1, Math.floor((4 << 20) / seqBytes));
  const buf = Buffer.alloc(per * seqBytes);
  const seq = new Uint32Array(seqLen);
  let done = 0;
  for (const sh of shards) {
    const fd = openSync(join(dir, sh.file), 'r');
    try {
      for (let i = 0; i < sh.sequences; i += per) {
        const n = Math.min(per, sh.sequences - i);
        readSync(fd, buf, 0, n * seqBytes, i * seqBytes);
        const view = dtype === 'uint16' ? new Uint16Array(buf.buffer, buf.byteOffset, n * seqLen) : new Uint32Array(buf.buffer, buf.byteOffset, n * seqLen);
        for (let s = 0; s < n; s++) {
          seq.set(view.subarray(s * seqLen, (s + 1) * seqLen));
          fn(seq);
        }
        progress?.((done += n));
      }
    } finally {
      closeSync(fd);
    }
  }
}
