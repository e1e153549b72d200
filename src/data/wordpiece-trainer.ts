// WordPiece vocabulary training — the algorithm of Hugging Face `tokenizers`'
// WordPieceTrainer, which is BPE with a `##` continuation prefix:
//   1. count the pre-tokenised words of the corpus (WordCounter, streaming);
//   2. the alphabet: the `limitAlphabet` most frequent characters (default 1000; rarer
//      characters make their words [UNK]); vocabulary = specials, then the characters,
//      then their `##` forms (both in code-point order);
//   3. split each word into characters (`c ##h ##a ##r`) and repeatedly merge the most
//      frequent adjacent pair (ties: the pair whose ids are smaller), `a` + `##b` → `ab`,
//      until the vocabulary has `vocabSize` tokens or no pair occurs `minFrequency` times.
// Merges are incremental (pair counts + the words where each pair occurs + a lazy
// max-heap), so the cost is proportional to the changed words, not the corpus.
import { SPECIAL_TOKENS } from './tokenizer.js';

export interface TrainOptions {
  vocabSize: number;
  minFrequency?: number;
  limitAlphabet?: number;
  /** Called every 256 merges with (vocabulary size so far, target). */
  onProgress?: (size: number, target: number) => void;
}

/** Streaming word counter with bounded memory: past `maxWords` distinct words, rare ones are pruned. */
export class WordCounter {
  readonly counts = new Map<string, number>();
  pruned = 0;
  private floor = 1;
  constructor(readonly maxWords = 2_000_000) {}
  add(word: string): void {
    this.counts.set(word, (this.counts.get(word) ?? 0) + 1);
    if (this.counts.size > this.maxWords) this.prune();
  }
  private prune(): void {
    // Drop words seen at most `floor` times; raise the floor until the map is 3/4 full.
    while (this.counts.size > (this.maxWords * 3) / 4) {
      for (const [w, c] of this.counts) if (c <= this.floor) { this.counts.delete(w); this.pruned++; }
      this.floor++;
    }
  }
}

export class VocabTooSmallError extends Error {}

class MaxHeap {
  // Entries: pair key and the count it had when pushed; ties → smaller key first.
  keys: number[] = [];
  cnts: number[] = [];
  private less(i: number, j: number) {
    return this.cnts[i] < this.cnts[j] || (this.cnts[i] === this.cnts[j] && this.keys[i] > this.keys[j]);
  }
  private swap(i: number, j: number) {
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
    [this.cnts[i], this.cnts[j]] = [this.cnts[j], this.cnts[i]];
  }
  push(key: number, cnt: number) {
    this.keys.push(key);
    this.cnts.push(cnt);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(p, i)) break;
      this.swap(p, i);
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    if (!this.keys.length) return undefined;
    const top: [number, number] = [this.keys[0], this.cnts[0]];
    const k = this.keys.pop()!, c = this.cnts.pop()!;
    if (this.keys.length) {
      this.keys[0] = k;
      this.cnts[0] = c;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.keys.length && this.less(m, l)) m = l;
        if (r < this.keys.length && this.less(m, r)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

const KEY = 1 << 22; // pair key = a * KEY + b (ids < 4M)

export function trainWordPiece(wordCounts: Map<string, number>, opts: TrainOptions): string[] {
  const { vocabSize, minFrequency = 2, limitAlphabet = 1000 } = opts;
  // Alphabet: most frequent characters.
  const charFreq = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + c);
  const chars = [...charFreq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limitAlphabet).map((e) => e[0]);
  chars.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const alphabet = new Set(chars);
  const need = SPECIAL_TOKENS.length + 2 * chars.length;
  if (vocabSize < need)
    throw new VocabTooSmallError(
      `vocabulary size ${vocabSize} is too small for the alphabet: the corpus has ${chars.length} characters (limit ${limitAlphabet}), ` +
        `which need ${2 * chars.length} tokens (each character and its ## form) plus ${SPECIAL_TOKENS.length} special tokens = ${need}; ` +
        `use --vocab-size ${need} or more, or a smaller --limit-alphabet`,
    );
  const vocab: string[] = [...SPECIAL_TOKENS, ...chars, ...chars.map((c) => '##' + c)];
  const idOf = new Map<string, number>(vocab.map((t, i) => [t, i]));

  // Words as symbol arrays.
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of wordCounts) {
    const syms: number[] = [];
    let ok = true;
    let first = true;
    for (const ch of w) {
      if (!alphabet.has(ch)) { ok = false; break; }
      syms.push(idOf.get(first ? ch : '##' + ch)!);
      first = false;
    }
    if (ok && syms.length > 1) { words.push(syms); freq.push(c); }
  }

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const add = (a: number, b: number, wi: number, c: number) => {
    const k = a * KEY + b;
    pairCount.set(k, (pairCount.get(k) ?? 0) + c);
    let s = where.get(k);
    if (!s) where.set(k, (s = new Set()));
    s.add(wi);
  };
  const sub = (a: number, b: number, c: number) => {
    const k = a * KEY + b;
    pairCount.set(k, pairCount.get(k)! - c);
  };
  for (let wi = 0; wi < words.length; wi++) {
    const s = words[wi];
    for (let i = 0; i + 1 < s.length; i++) add(s[i], s[i + 1], wi, freq[wi]);
  }
  const heap = new MaxHeap();
  for (const [k, c] of pairCount) heap.push(k, c);

  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const [key, cnt] = top;
    const cur = pairCount.get(key) ?? 0;
    if (cur !== cnt) {
      if (cur > 0) heap.push(key, cur);
      continue;
    }
    if (cnt < minFrequency) break;
    const a = Math.floor(key / KEY), b = key % KEY;
    const tok = vocab[a] + vocab[b].slice(2);
    let nw = idOf.get(tok);
    if (nw === undefined) {
      nw = vocab.length;
      vocab.push(tok);
      idOf.set(tok, nw);
    }
    const touched = new Set<number>();
    for (const wi of where.get(key)!) {
      const s = words[wi];
      const c = freq[wi];
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] !== a || s[i + 1] !== b) continue;
        if (i > 0) { sub(s[i - 1], a, c); add(s[i - 1], nw, wi, c); touched.add(s[i - 1] * KEY + nw); }
        if (i + 2 < s.length) { sub(b, s[i + 2], c); add(nw, s[i + 2], wi, c); touched.add(nw * KEY + s[i + 2]); }
        s.splice(i, 2, nw);
      }
    }
    pairCount.delete(key);
    where.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push(k, c);
    }
    if (opts.onProgress && vocab.length % 256 === 0) opts.onProgress(vocab.length, vocabSize);
  }
  return vocab;
}
