// Token → cluster map for the C-RTS generator, from corpus statistics alone:
//   1. co-occurrence counts of each token with the `contexts` most frequent non-special
//      tokens, within ±`window` positions inside a packed sequence (specials and padding
//      are neither centres nor contexts);
//   2. positive PMI with context-distribution smoothing (context counts ^ 0.75);
//   3. truncated SVD by subspace (power) iteration: the top `dims` right singular vectors
//      P of the PPMI matrix M; each token's vector is its row of M·P, scaled to unit length;
//   4. spherical k-means (k-means++ initialisation, then Lloyd iterations) with K clusters
//      on the tokens seen at least `minCount` times; every other non-special token goes to
//      the nearest centroid of its own vector (a token never seen has a zero vector and
//      lands in the cluster with the smallest centroid, i.e. the most diffuse one);
//   5. special tokens ([PAD] [UNK] [CLS] [SEP] [MASK]) get cluster -1: they are never
//      corrupted and never drawn as replacements.
// All randomness comes from Philox with the given seed: the same corpus and options give
// the same map.
import { readFileSync } from 'node:fs';
import { PhiloxStream } from './random.js';
import { writeFileAtomic } from './atomic.js';

export interface ClusterOptions {
  k?: number;
  window?: number;
  contexts?: number;
  dims?: number;
  minCount?: number;
  seed?: number;
  iterations?: number;
}
export interface ClusterResult {
  k: number;
  /** Cluster of each token id, -1 for special tokens. */
  assignment: Int32Array;
  /** Tokens used to fit the centroids. */
  fitted: number;
  iterations: number;
}

export class Cooccurrence {
  readonly ctxIndex: Int32Array;
  readonly ctxIds: number[];
  readonly m: Float32Array;
  constructor(readonly vocabSize: number, unigram: Float64Array, readonly specials: number[], contexts: number, readonly window: number) {
    const isSpecial = new Uint8Array(vocabSize);
    for (const s of specials) isSpecial[s] = 1;
    const order = [...unigram.keys()].filter((t) => !isSpecial[t] && unigram[t] > 0).sort((a, b) => unigram[b] - unigram[a] || a - b);
    this.ctxIds = order.slice(0, contexts);
    this.ctxIndex = new Int32Array(vocabSize).fill(-1);
    this.ctxIds.forEach((t, i) => (this.ctxIndex[t] = i));
    this.m = new Float32Array(vocabSize * this.ctxIds.length);
    this.isSpecial = isSpecial;
  }
  private isSpecial: Uint8Array;

  /** Adds the pairs of one packed sequence. */
  add(seq: ArrayLike<number>): void {
    const C = this.ctxIds.length, w = this.window;
    let n = seq.length;
    while (n > 0 && this.isSpecial[seq[n - 1]]) n--;
    for (let i = 0; i < n; i++) {
      const t = seq[i];
      if (this.isSpecial[t]) continue;
      const row = t * C;
      for (let j = Math.max(0, i - w); j <= Math.min(n - 1, i + w); j++) {
        if (j === i) continue;
        const c = this.ctxIndex[seq[j]];
        if (c >= 0) this.m[row + c]++;
      }
    }
  }

  /** PPMI (context smoothing α = 0.75) as sparse rows: CSR arrays. */
  ppmi(): { rowPtr: Int32Array; col: Int32Array; val: Float32Array; rowSum: Float64Array } {
    const V = this.vocabSize, C = this.ctxIds.length, m = this.m;
    const rowSum = new Float64Array(V);
    const colPow = new Float64Array(C);
    let nnz = 0;
    for (let t = 0; t < V; t++)
      for (let c = 0; c < C; c++) {
        const x = m[t * C + c];
        if (x > 0) { rowSum[t] += x; colPow[c] += x; nnz++; }
      }
    let z = 0;
    for (let c = 0; c < C; c++) z += (colPow[c] = Math.pow(colPow[c], 0.75));
    const rowPtr = new Int32Array(V + 1);
    const col = new Int32Array(nnz);
    const val = new Float32Array(nnz);
    let k = 0;
    for (let t = 0; t < V; t++) {
      rowPtr[t] = k;
      for (let c = 0; c < C; c++) {
        const x = m[t * C + c];
        if (x <= 0) continue;
        const pmi = Math.log((x * z) / (rowSum[t] * colPow[c]));
        if (pmi > 0) { col[k] = c; val[k] = pmi; k++; }
      }
    }
    rowPtr[V] = k;
    return { rowPtr, col: col.subarray(0, k), val: val.subarray(0, k), rowSum };
  }
}

function orthonormalize(p: Float64Array, rows: number, d: number): void {
  // Modified Gram–Schmidt on the columns of a rows×d row-major matrix.
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += p[r * d + i] * p[r * d + j];
      for (let r = 0; r < rows; r++) p[r * d + j] -= dot * p[r * d + i];
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += p[r * d + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < rows; r++) p[r * d + j] /= norm;
  }
}

export function clusterTokens(co: Cooccurrence, unigram: Float64Array, opts: ClusterOptions = {}): ClusterResult {
  const K = opts.k ?? 100, d = opts.dims ?? 64, minCount = opts.minCount ?? 5, maxIter = opts.iterations ?? 40;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`clusters: K must be a positive integer, got ${K}`);
  const V = co.vocabSize, C = co.ctxIds.length;
  const rng = new PhiloxStream(opts.seed ?? 1337, 0xc1);
  const { rowPtr, col, val } = co.ppmi();
  const D = Math.min(d, C);
  // Subspace iteration for the top-D right singular vectors P (C×D).
  const P = new Float64Array(C * D);
  for (let i = 0; i < P.length; i++) P[i] = rng.normal();
  orthonormalize(P, C, D);
  const Y = new Float64Array(V * D);
  const mulMP = () => {
    Y.fill(0);
    for (let t = 0; t < V; t++)
      for (let k = rowPtr[t]; k < rowPtr[t + 1]; k++) {
        const v = val[k], pc = col[k] * D, yt = t * D;
        for (let j = 0; j < D; j++) Y[yt + j] += v * P[pc + j];
      }
  };
  for (let it = 0; it < 4; it++) {
    mulMP();
    P.fill(0);
    for (let t = 0; t < V; t++)
      for (let k = rowPtr[t]; k < rowPtr[t + 1]; k++) {
        const v = val[k], pc = col[k] * D, yt = t * D;
        for (let j = 0; j < D; j++) P[pc + j] += v * Y[yt + j];
      }
    orthonormalize(P, C, D);
  }
  mulMP();
  for (let t = 0; t < V; t++) {
    let n = 0;
    for (let j = 0; j < D; j++) n += Y[t * D + j] ** 2;
    n = Math.sqrt(n);
    if (n > 0) for (let j = 0; j < D; j++) Y[t * D + j] /= n;
  }

  const special = new Set(co.specials);
  const fit = [...Array(V).keys()].filter((t) => !special.has(t) && unigram[t] >= minCount && rowPtr[t + 1] > rowPtr[t]);
  if (fit.length < K) throw new RangeError(`clusters: only ${fit.length} tokens occur ${minCount}+ times, fewer than K = ${K} clusters; use a larger corpus or a smaller K`);
  const n = fit.length;
  const dist2 = (t: number, cent: Float64Array, c: number) => {
    let s = 0;
    for (let j = 0; j < D; j++) { const x = Y[t * D + j] - cent[c * D + j]; s += x * x; }
    return s;
  };
  // k-means++ initialisation.
  const cent = new Float64Array(K * D);
  const best = new Float64Array(n).fill(Infinity);
  let pick = fit[Math.floor(rng.uniform() * n)];
  for (let c = 0; c < K; c++) {
    cent.set(Y.subarray(pick * D, pick * D + D), c * D);
    let total = 0;
    for (let i = 0; i < n; i++) { best[i] = Math.min(best[i], dist2(fit[i], cent, c)); total += best[i]; }
    let r = rng.uniform() * total;
    let i = 0;
    while (i < n - 1 && (r -= best[i]) > 0) i++;
    pick = fit[i];
  }
  // Lloyd iterations; nearest centroid = argmax x·c − ||c||²/2 (same as least distance).
  const half = new Float64Array(K);
  const norms = () => {
    for (let c = 0; c < K; c++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += cent[c * D + j] ** 2;
      half[c] = s / 2;
    }
  };
  const nearest = (t: number) => {
    let bc = 0, bv = -Infinity;
    const o = t * D;
    for (let c = 0; c < K; c++) {
      let dot = 0;
      const co = c * D;
      for (let j = 0; j < D; j++) dot += Y[o + j] * cent[co + j];
      const v = dot - half[c];
      if (v > bv) { bv = v; bc = c; }
    }
    return bc;
  };
  const label = new Int32Array(n).fill(-1);
  let iterations = 0;
  for (; iterations < maxIter; iterations++) {
    norms();
    let changed = 0;
    for (let i = 0; i < n; i++) { const c = nearest(fit[i]); if (c !== label[i]) { label[i] = c; changed++; } }
    if (changed === 0) break;
    const size = new Float64Array(K);
    cent.fill(0);
    for (let i = 0; i < n; i++) { size[label[i]]++; for (let j = 0; j < D; j++) cent[label[i] * D + j] += Y[fit[i] * D + j]; }
    for (let c = 0; c < K; c++) if (size[c] > 0) for (let j = 0; j < D; j++) cent[c * D + j] /= size[c];
    for (let c = 0; c < K; c++) {
      if (size[c] > 0) continue;
      // Empty cluster: restart it at the point farthest from its centroid.
      let far = 0, fd = -1;
      for (let i = 0; i < n; i++) { const x = dist2(fit[i], cent, label[i]); if (x > fd) { fd = x; far = i; } }
      cent.set(Y.subarray(fit[far] * D, fit[far] * D + D), c * D);
      label[far] = c;
    }
  }
  norms();
  const assignment = new Int32Array(V).fill(-1);
  fit.forEach((t, i) => (assignment[t] = label[i]));
  for (let t = 0; t < V; t++) if (!special.has(t) && assignment[t] < 0) assignment[t] = nearest(t);
  return { k: K, assignment, fitted: n, iterations };
}

export interface ClusterFile {
  k: number;
  method: string;
  vocabSize: number;
  assignment: number[];
}

export const CLUSTER_METHOD = 'k-means (k-means++, spherical) over truncated-SVD PPMI co-occurrence vectors';

export function saveClusters(path: string, r: ClusterResult, opts: ClusterOptions): void {
  const j = { k: r.k, method: CLUSTER_METHOD, options: opts, fitted: r.fitted, iterations: r.iterations, vocabSize: r.assignment.length, assignment: Array.from(r.assignment) };
  writeFileAtomic(path, JSON.stringify(j) + '\n');
}

export function loadClusters(path: string): ClusterFile {
  return parseClusters(readFileSync(path, 'utf8'), path);
}

/** A cluster file's text (`path` names it in errors). */
export function parseClusters(text: string, path: string): ClusterFile {
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!j || !Array.isArray(j.assignment) || j.assignment.length !== j.vocabSize || !Number.isInteger(j.k)) throw new Error(`${path}: not a cluster file`);
  return j;
}
