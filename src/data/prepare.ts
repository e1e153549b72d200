// `electrolite prepare`: corpus → tokenizer → packed shards → statistics, in passes over
// streamed documents (memory stays bounded whatever the corpus size):
//   1. count words and train the WordPiece vocabulary (skipped with --tokenizer, or when
//      the output folder already holds a tokenizer trained on the same inputs);
//   2. split documents into sentences, encode, pack, write train/validation shards, count
//      unigrams;
//   3. read the train shards back for co-occurrence statistics → token clusters;
//   4. write the manifest (last, atomically).
// Every option is checked before any work starts (`validatePrepareOptions`; the CLI turns
// its errors into usage errors). A re-run whose inputs and options match an existing,
// intact output reuses it and writes nothing. Otherwise the new output is built in a
// temporary sibling directory (`.NAME.prepare-PID-…`) and swapped in only once complete:
// the old directory is renamed aside (`.NAME.old-PID-…`), the new one renamed into place,
// then the old one removed. A prepare that fails leaves the old directory as it was; one
// killed between the two renames leaves the old output beside the final path, and the next
// prepare of that path puts it back before doing anything else.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { resolveSources, readDocuments, newStats, type DocMode, type IngestStats, type SourceFile } from './corpus.js';
import { BUNDLED_NAMES } from './bundled.js';
import { WordCounter, trainWordPiece } from './wordpiece-trainer.js';
import { WordPieceTokenizer, SPECIAL_TOKENS } from './tokenizer.js';
import { splitWords, normalizeBert } from './normalize.js';
import { Packer, splitSentences, isValidation } from './pack.js';
import { ShardWriter, dtypeFor, bytesOf, writeManifest, readManifest, sha256File, FORMAT, FORMAT_VERSION, type Manifest } from './shards.js';
import { UnigramCounter } from './stats.js';
import { Cooccurrence, clusterTokens, saveClusters, type ClusterOptions } from './clusters.js';
import { writeFileAtomic, processAlive } from './atomic.js';
import { ATTENTION_MAX_T } from '../kernels/attention.js';

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
  /** A warning (one line, no newline), e.g. a vocabulary smaller than asked; default: stderr. */
  onWarning?: (message: string) => void;
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

/** A bad prepare option, found before any work starts; the message names the option. */
export class PrepareOptionError extends Error {
  constructor(message: string) {
    super(`prepare: ${message}`);
    this.name = 'PrepareOptionError';
  }
}

/** The smallest --vocab-size: the special tokens and at least one more. */
export const MIN_VOCAB_SIZE = SPECIAL_TOKENS.length + 1;
export const MIN_SEQ_LEN = 8;
const MAX_SEED = 2 ** 32 - 1;
/** Files (and temporary files) that prepare writes into its output directory. */
const OWN_FILE = /^(vocab\.txt|tokenizer\.json|tokenizer\.meta\.json|manifest\.json|unigram\.json|clusters\.json|(train|validation)-\d{5}\.bin|\..+\.tmp-\d+)$/;

function checkInt(name: string, v: unknown, min: number, max?: number): void {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && (max === undefined || v <= max)) return;
  throw new PrepareOptionError(`--${name} must be an integer ≥ ${min}${max !== undefined ? ` and ≤ ${max}` : ''}, got '${String(v)}'`);
}

/** The directory prepare finally writes: `out` itself, or what it links to. */
function finalPath(out: string): string {
  const p = resolve(out);
  return existsSync(p) ? realpathSync(p) : p;
}

/**
 * Checks every option of `prepare` without doing any work or writing anything; throws a
 * PrepareOptionError naming the option (the CLI reports it as a usage error, exit 2).
 */
export function validatePrepareOptions(o: PrepareOptions): void {
  if (!Array.isArray(o.corpus) || !o.corpus.length) throw new PrepareOptionError('--corpus is required');
  for (const c of o.corpus) {
    if (typeof c !== 'string' || !c) throw new PrepareOptionError(`--corpus must name a file, a directory or bundled:NAME, got '${String(c)}'`);
    if (c.startsWith('bundled:')) {
      const name = c.slice(8);
      if (!BUNDLED_NAMES.includes(name)) throw new PrepareOptionError(`--corpus ${c}: unknown bundled corpus '${name}' (available: ${BUNDLED_NAMES.map((n) => 'bundled:' + n).join(', ')})`);
    } else if (!existsSync(resolve(c))) throw new PrepareOptionError(`--corpus ${c} does not exist`);
  }
  if (typeof o.out !== 'string' || !o.out) throw new PrepareOptionError('--out is required');
  if (o.tokenizer !== undefined && !existsSync(o.tokenizer)) throw new PrepareOptionError(`--tokenizer ${o.tokenizer} does not exist`);
  if (o.tokenizer === undefined) checkInt('vocab-size', o.vocabSize, MIN_VOCAB_SIZE);
  if (typeof o.seqLen !== 'number' || !Number.isInteger(o.seqLen)) throw new PrepareOptionError(`--seq-len must be an integer, got '${String(o.seqLen)}'`);
  if (o.seqLen < MIN_SEQ_LEN) throw new PrepareOptionError(`--seq-len ${o.seqLen} is below the minimum of ${MIN_SEQ_LEN} ([CLS] + [SEP] + at least 6 tokens)`);
  if (o.seqLen > ATTENTION_MAX_T)
    throw new PrepareOptionError(`--seq-len ${o.seqLen} is above ${ATTENTION_MAX_T}, the longest sequence the attention kernel supports (ATTENTION_MAX_T): pretrain could not use these shards`);
  if (o.docs !== undefined && !['blank', 'line', 'file'].includes(o.docs)) throw new PrepareOptionError(`--docs must be blank, line or file, got '${String(o.docs)}'`);
  if (o.textField !== undefined && (typeof o.textField !== 'string' || !o.textField)) throw new PrepareOptionError(`--text-field must not be empty`);
  if (o.seed !== undefined) checkInt('seed', o.seed, 0, MAX_SEED);
  if (o.valFraction !== undefined && !(typeof o.valFraction === 'number' && o.valFraction >= 0 && o.valFraction < 1))
    throw new PrepareOptionError(`--val-fraction must be a number ≥ 0 and < 1, got '${String(o.valFraction)}'`);
  if (o.clusters?.k !== undefined) {
    checkInt('clusters', o.clusters.k, 1);
    if (o.tokenizer === undefined && o.clusters.k > o.vocabSize - SPECIAL_TOKENS.length)
      throw new PrepareOptionError(`--clusters ${o.clusters.k} must be below --vocab-size ${o.vocabSize} (at most ${o.vocabSize - SPECIAL_TOKENS.length}: clusters group the non-special tokens)`);
  }
  if (o.limitAlphabet !== undefined) checkInt('limit-alphabet', o.limitAlphabet, 1);
  if (o.maxShardSequences !== undefined) checkInt('max-shard-sequences', o.maxShardSequences, 1);
  // The output: a new path, or a directory holding nothing but an earlier prepare's files
  // (it is replaced as a whole, so anything else in it would be lost).
  const final = finalPath(o.out);
  if (existsSync(final)) {
    if (!statSync(final).isDirectory()) throw new PrepareOptionError(`--out ${o.out} is not a directory`);
    const cwd = process.cwd();
    if (cwd === final || cwd.startsWith(final + sep)) throw new PrepareOptionError(`--out ${o.out} holds the current directory; prepare replaces the whole output directory, so give one elsewhere`);
    const foreign = readdirSync(final).filter((f) => !OWN_FILE.test(f)).sort();
    if (foreign.length)
      throw new PrepareOptionError(
        `--out ${o.out} holds ${foreign[0]}${foreign.length > 1 ? ` (and ${foreign.length - 1} other entr${foreign.length > 2 ? 'ies' : 'y'})` : ''}, which prepare did not write; ` +
          'prepare replaces the whole output directory, so give a new or empty directory, or one an earlier prepare made',
      );
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function sourcesFingerprint(files: SourceFile[], o: PrepareOptions): object {
  return { files: files.map((f) => [f.path, f.bytes, Math.round(f.mtimeMs)]), docs: o.docs ?? 'blank', textField: o.textField ?? 'text', strict: !!o.strict };
}


/**
 * Leftovers of a prepare of `final` that was killed (its process is gone): an unfinished
 * temporary directory is removed; an old output moved aside is put back when the final path
 * is empty (killed between the two renames), else removed.
 */
function recoverStale(final: string): void {
  const parent = dirname(final);
  if (!existsSync(parent)) return;
  const base = basename(final);
  for (const e of readdirSync(parent)) {
    for (const kind of ['prepare', 'old'] as const) {
      const prefix = `.${base}.${kind}-`;
      if (!e.startsWith(prefix)) continue;
      const pid = Number(/^(\d+)-/.exec(e.slice(prefix.length))?.[1]);
      if (!Number.isInteger(pid) || processAlive(pid)) continue;
      const p = join(parent, e);
      if (kind === 'old' && !existsSync(final)) renameSync(p, final);
      else rmSync(p, { recursive: true, force: true });
    }
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the renames are still atomic.
  }
}

/** Puts the complete directory `tmp` at `final`: the old one aside, the new one in, the old one removed. */
function swapIn(tmp: string, final: string): void {
  if (!existsSync(final)) {
    renameSync(tmp, final);
    fsyncDir(dirname(final));
    return;
  }
  const old = join(dirname(final), `.${basename(final)}.old-${process.pid}-${Date.now().toString(36)}`);
  renameSync(final, old);
  try {
    renameSync(tmp, final);
  } catch (e) {
    renameSync(old, final);
    throw e;
  }
  fsyncDir(dirname(final));
  rmSync(old, { recursive: true, force: true });
}

export async function prepare(o: PrepareOptions): Promise<PrepareSummary> {
  const t0 = performance.now();
  validatePrepareOptions(o);
  const warn = o.onWarning ?? ((m: string) => void process.stderr.write(`electrolite: warning: ${m}\n`));
  const valFraction = o.valFraction ?? 0.02;
  const seed = o.seed ?? 1337;
  const clusterOpts: ClusterOptions = { k: 100, window: 2, contexts: 1024, dims: 64, minCount: 5, seed, ...o.clusters };
  const final = finalPath(o.out);
  recoverStale(final);
  const files = resolveSources(o.corpus, o.docs ?? 'blank');
  const diskBytes = files.reduce((s, f) => s + f.bytes, 0);
  const ingest = { textField: o.textField, strict: o.strict };
  const progress = (phase: string) => {
    let done = 0;
    o.onProgress?.(phase, 0, diskBytes);
    return (n: number) => o.onProgress?.(phase, (done += n), diskBytes);
  };

  // 1. Tokenizer (the existing output is only read here).
  const tStart = performance.now();
  let tok: WordPieceTokenizer;
  let tokenizerFrom: 'given' | 'existing' | 'trained' = o.tokenizer ? 'given' : 'existing';
  const tokFingerprint = sha(JSON.stringify({ src: sourcesFingerprint(files, o), vocabSize: o.vocabSize, limitAlphabet: o.limitAlphabet ?? 1000 }));
  const metaOf = (dir: string): { fingerprint?: string } | null => {
    try {
      return JSON.parse(readFileSync(join(dir, 'tokenizer.meta.json'), 'utf8'));
    } catch {
      return null; // absent or damaged: retrain
    }
  };
  if (o.tokenizer) tok = WordPieceTokenizer.load(o.tokenizer);
  else if (existsSync(join(final, 'tokenizer.json')) && metaOf(final)?.fingerprint === tokFingerprint) tok = WordPieceTokenizer.load(final);
  else {
    tokenizerFrom = 'trained';
    const counter = new WordCounter();
    const add = (w: string) => counter.add(w);
    for await (const doc of readDocuments(files, newStats(), { ...ingest, onBytes: progress('counting words') })) splitWords(normalizeBert(doc.text, { lowercase: true, stripAccents: true }), add);
    o.onProgress?.('training vocabulary', 0, o.vocabSize);
    const vocab = trainWordPiece(counter.counts, { vocabSize: o.vocabSize, limitAlphabet: o.limitAlphabet, onProgress: (n, t) => o.onProgress?.('training vocabulary', n, t) });
    tok = new WordPieceTokenizer(vocab);
  }
  if (!o.tokenizer && tok.size < o.vocabSize)
    warn(`prepare: --vocab-size ${o.vocabSize} asked, the corpus supports ${tok.size} (the vocabulary has ${tok.size} tokens: no further pair of pieces occurs twice)`);
  const tokSeconds = (performance.now() - tStart) / 1000;

  // Reuse a complete, intact previous output made from the same inputs.
  const fingerprint = sha(
    JSON.stringify({ v: FORMAT_VERSION, src: sourcesFingerprint(files, o), vocab: sha(tok.vocabTxt()), tokenizer: sha(JSON.stringify(tok.tokenizerJson())), seqLen: o.seqLen, seed, valFraction, clusterOpts, maxShardSequences: o.maxShardSequences ?? null }),
  );
  if (existsSync(join(final, 'manifest.json'))) {
    try {
      const m = readManifest(final);
      if (m.fingerprint === fingerprint) return { ...(m.summary as unknown as PrepareSummary), reused: true, tokenizerReused: true, out: o.out, seconds: { tokenizer: 0, encode: 0, clusters: 0, total: (performance.now() - t0) / 1000 } };
    } catch {
      // Damaged or inconsistent: rebuilt below (and replaced only once the new one is complete).
    }
  }

  // 2.–4. into a temporary sibling, swapped in when complete.
  mkdirSync(dirname(final), { recursive: true });
  let tmp: string;
  try {
    tmp = mkdtempSync(join(dirname(final), `.${basename(final)}.prepare-${process.pid}-`));
  } catch (e) {
    throw new Error(`prepare: cannot create a temporary directory beside --out ${o.out} (in ${dirname(final)}): ${(e as Error).message}`);
  }
  try {
    const summary = await build(tmp);
    swapIn(tmp, final);
    return summary;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }

  async function build(dir: string): Promise<PrepareSummary> {
    if (tokenizerFrom === 'existing') for (const f of ['vocab.txt', 'tokenizer.json', 'tokenizer.meta.json']) copyFileSync(join(final, f), join(dir, f));
    else {
      tok.save(dir);
      writeFileAtomic(join(dir, 'tokenizer.meta.json'), JSON.stringify({ fingerprint: o.tokenizer ? 'given' : tokFingerprint, vocabSize: tok.size }) + '\n');
    }

    // 2. Encode and pack.
    const dtype = dtypeFor(tok.size);
    const writers = {
      train: new ShardWriter(dir, 'train', o.seqLen, dtype, o.maxShardSequences),
      validation: new ShardWriter(dir, 'validation', o.seqLen, dtype, o.maxShardSequences),
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
    unigram.save(join(dir, 'unigram.json'));

    // 3. Clusters from the train shards.
    const tCl = performance.now();
    const specials = Object.values(tok.special);
    const co = new Cooccurrence(tok.size, unigram.counts, specials, clusterOpts.contexts!, clusterOpts.window!);
    forEachSequence(dir, splits.train.shards, o.seqLen, dtype, (seq) => co.add(seq), (n) => o.onProgress?.('clusters', n, splits.train.sequences));
    const clusters = clusterTokens(co, unigram.counts, clusterOpts);
    saveClusters(join(dir, 'clusters.json'), clusters, clusterOpts);
    const clSeconds = (performance.now() - tCl) / 1000;

    // 4. Manifest.
    const textMB = stats.textBytes / 1e6;
    const summary: PrepareSummary = {
      reused: false,
      tokenizerReused: tokenizerFrom !== 'trained',
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
    const hashes: Record<string, string> = {};
    for (const f of ['tokenizer.json', 'vocab.txt', 'unigram.json', 'clusters.json']) hashes[f] = sha256File(join(dir, f));
    const manifest: Manifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      seqLen: o.seqLen,
      dtype,
      vocabSize: tok.size,
      vocab: { file: 'vocab.txt', sha256: hashes['vocab.txt'] },
      tokenizer: 'tokenizer.json',
      special: tok.special,
      splits,
      files: { unigram: 'unigram.json', clusters: 'clusters.json' },
      sha256: hashes,
      fingerprint,
      summary: summary as unknown as Record<string, unknown>,
    };
    writeManifest(dir, manifest);
    return summary;
  }
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
