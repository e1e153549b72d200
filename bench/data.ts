// Tokenizer encoding throughput (MB/s of text, one core) on the bundled State of the Union
// corpus, with a tokenizer of 8192 tokens trained on it first (training time reported too).
// `electrolite bench data [--json] [--mb N]` (src/cli/bench.ts) runs it.
import { readFileSync } from 'node:fs';
import { bundledSources } from '../src/data/bundled.js';
import { WordCounter, trainWordPiece } from '../src/data/wordpiece-trainer.js';
import { WordPieceTokenizer } from '../src/data/tokenizer.js';
import { normalizeBert, splitWords, UNCASED } from '../src/data/normalize.js';
import { splitSentences } from '../src/data/pack.js';

export interface DataBenchOptions {
  /** Use only the first documents, up to about this many MB of text (default: all of it). */
  mb?: number;
}

export interface DataBenchResult {
  corpus: string;
  textMB: number;
  vocabSize: number;
  tokens: number;
  countWordsMBps: number;
  trainSeconds: number;
  encodeMBps: number;
  encodeMBpsMedian: number;
}

export function benchData(o: DataBenchOptions = {}): DataBenchResult {
  const docs = bundledSources('sotu').map((f) => readFileSync(f, 'utf8'));
  const limit = o.mb !== undefined ? o.mb * 1e6 : Infinity;
  const texts: string[] = [];
  let bytes = 0;
  for (const d of docs) {
    if (bytes >= limit) break;
    texts.push(d);
    bytes += Buffer.byteLength(d);
  }
  const mb = bytes / 1e6;
  let t = performance.now();
  const counter = new WordCounter();
  for (const d of texts) splitWords(normalizeBert(d, UNCASED), (w) => counter.add(w));
  const countS = (performance.now() - t) / 1000;
  t = performance.now();
  const tok = new WordPieceTokenizer(trainWordPiece(counter.counts, { vocabSize: 8192 }));
  const trainS = (performance.now() - t) / 1000;
  // As prepare does: each document's sentences, encoded line by line in one call.
  const sentences = texts.map((d) => splitSentences(d).join('\n'));
  const encode = () => {
    const t0 = performance.now();
    let n = 0;
    for (const s of sentences) for (const ids of tok.encodeLines(s)) n += ids.length;
    return { s: (performance.now() - t0) / 1000, n };
  };
  encode(); // warm: JIT and the word cache
  const runs = [encode(), encode(), encode()].sort((a, b) => a.s - b.s);
  const best = runs[0];
  return {
    corpus: 'bundled:sotu', textMB: Number(mb.toFixed(2)), vocabSize: tok.size, tokens: best.n,
    countWordsMBps: Number((mb / countS).toFixed(2)), trainSeconds: Number(trainS.toFixed(2)),
    encodeMBps: Number((mb / best.s).toFixed(2)), encodeMBpsMedian: Number((mb / runs[1].s).toFixed(2)),
  };
}

/** The result as `bench data` prints it without --json. */
export function formatDataBench(result: DataBenchResult): string {
  return (
    `text            ${result.textMB} MB (${result.corpus}), ${result.tokens} tokens\n` +
    `count words     ${result.countWordsMBps} MB/s\n` +
    `train vocab     ${result.trainSeconds} s (${result.vocabSize} tokens)\n` +
    `encode          ${result.encodeMBps} MB/s best, ${result.encodeMBpsMedian} MB/s median of 3 (one core)\n`
  );
}
