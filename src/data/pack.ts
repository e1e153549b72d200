// Packing documents into fixed-length sequences `[CLS] sentences… [SEP] [PAD]…`:
// each sequence holds consecutive sentences of ONE document; a sentence that does not fit
// closes the sequence and starts the next; a sentence longer than a whole sequence is
// split; a document's remainder starts a new sequence (sequences never span documents).
// Documents go to train or validation by a seeded hash of their index (Philox).
import { philox4x32_10, unit } from '../kernels/ref/rng.js';
import type { SpecialIds } from './tokenizer.js';

/**
 * Sentences of a document: line breaks, and `. ! ?` (optionally followed by closing quotes
 * or brackets) followed by whitespace and then an upper-case letter, digit, or opening quote.
 */
const SENTENCE_END = /(?<=[.!?]["'”’)\]]*)\s+(?=["'“‘(\[]*[\p{Lu}\p{N}])/u;
export function splitSentences(doc: string): string[] {
  const out: string[] = [];
  for (const line of doc.split('\n')) {
    if (!line.trim()) continue;
    for (const s of line.split(SENTENCE_END)) if (s.trim()) out.push(s);
  }
  return out;
}

/** Calls `emit(seq)` with each packed sequence (a reused Uint32Array of `seqLen` ids). */
export class Packer {
  private buf: Uint32Array;
  private fill = 0;
  readonly cap: number;
  constructor(readonly seqLen: number, readonly special: SpecialIds, private emit: (seq: Uint32Array, tokens: number) => void) {
    if (!Number.isInteger(seqLen) || seqLen < 8) throw new RangeError(`pack: sequence length ${seqLen} is below the minimum of 8`);
    this.cap = seqLen - 2;
    this.buf = new Uint32Array(seqLen);
  }

  sentence(ids: ArrayLike<number>): void {
    const n = ids.length;
    if (n === 0) return;
    if (this.fill + n > this.cap && this.fill > 0) this.flush();
    let off = 0;
    while (n - off > this.cap) {
      this.put(ids, off, this.cap);
      off += this.cap;
      this.flush();
    }
    this.put(ids, off, n - off);
  }

  /** End of document: the remainder becomes a sequence of its own. */
  endDocument(): void {
    if (this.fill > 0) this.flush();
  }

  private put(ids: ArrayLike<number>, off: number, n: number) {
    for (let i = 0; i < n; i++) this.buf[1 + this.fill + i] = ids[off + i];
    this.fill += n;
  }

  private flush() {
    const b = this.buf;
    b[0] = this.special.cls;
    b[1 + this.fill] = this.special.sep;
    b.fill(this.special.pad, 2 + this.fill);
    this.emit(b, this.fill + 2);
    this.fill = 0;
  }
}

/** True when document `index` belongs to the validation split (probability `fraction`, fixed by `seed`). */
export function isValidation(index: number, seed: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  const [x] = philox4x32_10([index >>> 0, Math.floor(index / 2 ** 32), 0x5d11, 0], [seed >>> 0, 0x0da7a5e7]);
  return unit(x) < fraction;
}
