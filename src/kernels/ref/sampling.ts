// Host twins of shaders/sampling.wgsl and shaders/crts.wgsl. Selection and corruption are
// bit-identical (integer arithmetic on the same Philox words); the C-RTS and Gumbel draws
// are computed in float64, so they agree with the GPU except where f32 rounding moves a
// draw across a boundary (rare), and the tests also give their exact probabilities.
import { below, philox4x32_10, unit } from './rng.js';

export function draw(pos: number, step: number, stream: number, sub: number, seed: number): [number, number, number, number] {
  return philox4x32_10([pos, step, stream, sub], [seed, 0]);
}

export interface RefSelectArgs {
  ids: ArrayLike<number>;
  special: ArrayLike<number>; // flag per vocabulary id
  pThresh24: number;
  seed: number;
  stream: number;
  step: number;
  capacity: number;
}

export function refSelected(a: RefSelectArgs, i: number): boolean {
  const x = a.ids[i];
  if (x >= a.special.length || a.special[x]) return false;
  return draw(i, a.step, a.stream, 0, a.seed)[0] >>> 8 < a.pThresh24;
}

export function refSelect(a: RefSelectArgs): { list: Uint32Array; labels: Uint32Array; meta: Uint32Array } {
  const list = new Uint32Array(a.capacity).fill(0xffffffff);
  const labels = new Uint32Array(a.capacity).fill(0xffffffff);
  let total = 0;
  for (let i = 0; i < a.ids.length; i++) {
    if (!refSelected(a, i)) continue;
    if (total < a.capacity) {
      list[total] = i;
      labels[total] = a.ids[i];
    }
    total++;
  }
  const count = Math.min(total, a.capacity);
  return { list, labels, meta: Uint32Array.from([count, total, total - count, 0]) };
}

/** MLM (tMask24/tRandom24 thresholds) or uniform corruption of the listed positions. */
export function refCorrupt(
  mode: 'mlm' | 'uniform',
  ids: ArrayLike<number>,
  list: ArrayLike<number>,
  count: number,
  allowed: ArrayLike<number>,
  o: { seed: number; stream: number; step: number; maskId?: number; tMask24?: number; tRandom24?: number },
): Uint32Array {
  const out = Uint32Array.from(ids);
  for (let k = 0; k < count; k++) {
    const pos = list[k];
    const r = draw(pos, o.step, o.stream, 1, o.seed);
    let y = allowed[below(r[1], allowed.length)];
    if (mode === 'mlm') {
      const u = r[0] >>> 8;
      if (u < o.tMask24!) y = o.maskId!;
      else if (u >= o.tRandom24!) y = ids[pos];
    }
    out[pos] = y;
  }
  return out;
}

/** C-RTS target-cluster probabilities for source cluster s (empty clusters get 0). */
export function refCrtsProbs(counts: ArrayLike<number>, K: number, s: number, offsets: ArrayLike<number>, beta: number): Float64Array {
  let lo = Infinity, hi = -Infinity;
  const nonEmpty = (t: number) => offsets[t + 1] > offsets[t];
  for (let t = 0; t < K; t++) if (nonEmpty(t)) { lo = Math.min(lo, counts[s * K + t]); hi = Math.max(hi, counts[s * K + t]); }
  const q = new Float64Array(K);
  let total = 0;
  for (let t = 0; t < K; t++) if (nonEmpty(t)) { q[t] = Math.exp(hi > lo ? (beta * (counts[s * K + t] - lo)) / (hi - lo) : 0); total += q[t]; }
  for (let t = 0; t < K; t++) q[t] /= total;
  return q;
}

export interface RefCrts {
  K: number;
  cluster: ArrayLike<number>;
  offsets: ArrayLike<number>;
  members: ArrayLike<number>;
  counts: ArrayLike<number>;
  beta: number;
  tries: number;
}

export function refCrtsDraw(c: RefCrts, ids: ArrayLike<number>, list: ArrayLike<number>, count: number, o: { seed: number; stream: number; step: number }): Uint32Array {
  const out = Uint32Array.from(ids);
  for (let k = 0; k < count; k++) {
    const pos = list[k];
    const x = ids[pos];
    const s = Math.min(c.cluster[x], c.K - 1);
    const q = refCrtsProbs(c.counts, c.K, s, c.offsets, c.beta);
    let y = x;
    for (let a = 0; a < c.tries; a++) {
      const r = draw(pos, o.step, o.stream, 1 + a, o.seed);
      const u = unit(r[0]);
      let acc = 0, pick = -1, last = 0;
      for (let t = 0; t < c.K; t++) {
        if (q[t] === 0) continue;
        last = t;
        acc += q[t];
        if (pick < 0 && u < acc) pick = t;
      }
      if (pick < 0) pick = last;
      const size = c.offsets[pick + 1] - c.offsets[pick];
      const m = c.members[c.offsets[pick] + below(r[1], size)];
      if (m !== x) { y = m; break; }
    }
    out[pos] = y;
  }
  return out;
}

export function refCrtsUpdate(c: Pick<RefCrts, 'K' | 'cluster'>, counts: Int32Array, ids: ArrayLike<number>, outIds: ArrayLike<number>, list: ArrayLike<number>, count: number, logits: ArrayLike<number>): void {
  for (let k = 0; k < count; k++) {
    const pos = list[k];
    const x = ids[pos], r = outIds[pos];
    if (x === r) continue;
    counts[Math.min(c.cluster[x], c.K - 1) * c.K + Math.min(c.cluster[r], c.K - 1)] += logits[pos] > 0 ? -1 : 1;
  }
}

/** Gumbel-max sample in float64 from the same noise bits as the GPU. */
export function refGumbel(logitsRow: ArrayLike<number>, special: ArrayLike<number>, pos: number, o: { seed: number; stream: number; step: number }): number {
  let best = -Infinity, bi = -1;
  for (let v = 0; v < logitsRow.length; v++) {
    if (special[v]) continue;
    const r = draw(pos, o.step, o.stream, 0x10000 + (v >>> 2), o.seed)[v & 3];
    const u = ((r >>> 8) + 0.5) / 16777216;
    const val = logitsRow[v] - Math.log(-Math.log(u));
    if (val > best) { best = val; bi = v; }
  }
  return bi;
}
