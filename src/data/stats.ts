// Unigram token counts of the training split (every token of every packed sequence,
// [PAD] excluded), saved as `unigram.json` beside the shards.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

export class UnigramCounter {
  readonly counts: Float64Array;
  total = 0;
  constructor(readonly vocabSize: number, private pad: number) {
    this.counts = new Float64Array(vocabSize);
  }
  add(seq: ArrayLike<number>): void {
    for (let i = 0; i < seq.length; i++) {
      const t = seq[i];
      if (t === this.pad) continue;
      this.counts[t]++;
      this.total++;
    }
  }
  save(path: string): void {
    writeFileAtomic(path, JSON.stringify({ vocabSize: this.vocabSize, total: this.total, counts: Array.from(this.counts) }) + '\n');
  }
}

export function loadUnigram(path: string): { vocabSize: number; total: number; counts: Float64Array } {
  return parseUnigram(readFileSync(path, 'utf8'), path);
}

/** A unigram file's text (`path` names it in errors). */
export function parseUnigram(text: string, path: string): { vocabSize: number; total: number; counts: Float64Array } {
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!j || !Array.isArray(j.counts) || j.counts.length !== j.vocabSize) throw new Error(`${path}: not a unigram count file (counts must have vocabSize entries)`);
  return { vocabSize: j.vocabSize, total: j.total, counts: Float64Array.from(j.counts) };
}
