// Host twin of the unigram generator (shaders/sampling.wgsl entry `unigram`,
// src/kernels/unigram.ts): the exact float64 law, and the draws from the same integer table
// and Philox words (bit-identical to the GPU; a linear scan instead of the binary search).
import { philox4x32_10 } from './rng.js';

/** Exact law p(v) = w_v / Σ w, w_v = count(v)^α (α = 0: 1), 0 for special ids. */
export function refUnigramProbs(counts: ArrayLike<number>, specialIds: readonly number[], alpha: number): Float64Array {
  const p = new Float64Array(counts.length);
  let total = 0;
  for (let v = 0; v < counts.length; v++) {
    if (specialIds.includes(v)) continue;
    p[v] = alpha === 0 ? 1 : counts[v] ** alpha;
    total += p[v];
  }
  for (let v = 0; v < p.length; v++) p[v] /= total;
  return p;
}

/** The smallest id v with cdf[v] > u. */
export function refUnigramPick(cdf: ArrayLike<number>, u: number): number {
  for (let v = 0; v < cdf.length; v++) if (cdf[v] > u) return v;
  throw new Error(`refUnigramPick: u = ${u} ≥ the table's total ${cdf[cdf.length - 1]}`);
}

export function refUnigramDraw(cdf: ArrayLike<number>, ids: ArrayLike<number>, list: ArrayLike<number>, count: number, o: { seed: number; stream: number; step: number; tries: number }): Uint32Array {
  const out = Uint32Array.from(ids);
  for (let k = 0; k < count; k++) {
    const pos = list[k];
    const x = ids[pos];
    let y = x;
    for (let a = 0; a < o.tries; a++) {
      const m = refUnigramPick(cdf, philox4x32_10([pos, o.step, o.stream, 1 + a], [o.seed, 0])[0] >>> 1);
      if (m !== x) { y = m; break; }
    }
    out[pos] = y;
  }
  return out;
}
