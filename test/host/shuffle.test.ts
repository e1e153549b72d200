// The loader's epoch order (shuffledOrder: Fisher–Yates driven by Philox) is a uniform random
// permutation: chi-square tests of where each element lands, of the law of whole
// permutations, and of pair orders; and the chi-square tail those p-values come from.
import { describe, expect, it } from 'vitest';
import { shuffledOrder } from '../../src/data/loader.js';
import { chiSquare, chiSquareSurvival } from '../stats.js';

// Each test below rejects uniformity at p < 1e-6, so a correct shuffle on fresh seeds fails it
// with probability 1e-6 (chi-square asymptotics, ≥ 1000 expected per cell); the three together
// with ≤ 3e-6. The seeds are fixed, so each outcome is deterministic.
const ALPHA = 1e-6;
const N = 7; // small enough for thousands of expected counts per cell, large enough for 36 df
const SEEDS = 7000; // 1000 expected per (element, position) cell

/** Positions of each element: pos[e] is where e lands in the order of (seed, epoch). */
function positions(n: number, seed: number, epoch: number): number[] {
  const pos = new Array<number>(n);
  shuffledOrder(n, seed, epoch).forEach((e, i) => (pos[e] = i));
  return pos;
}

/** p-value of k successes in s trials of probability p (chi-square, 1 df). */
function binomialP(k: number, s: number, p: number): number {
  return chiSquareSurvival(chiSquare([k, s - k], [p, 1 - p], s).chi2, 1);
}

describe('chi-square tail', () => {
  it('matches the closed form for even df and scipy for odd df', () => {
    // Even df: Q = e^{-x/2} Σ_{k < df/2} (x/2)^k / k!, exactly.
    const even = (x: number, df: number) => {
      let t = 1, s = 1;
      for (let k = 1; k < df / 2; k++) s += t *= x / 2 / k;
      return Math.exp(-x / 2) * s;
    };
    for (const df of [2, 10, 36]) for (const x of [0.5, df, 3 * df, 150]) expect(chiSquareSurvival(x, df) / even(x, df)).toBeCloseTo(1, 12);
    // scipy.stats.chi2.sf: both branches (series below x/2 = df/2 + 1, continued fraction above).
    const scipy: [number, number, number][] = [[0.1, 1, 0.7518296340458492], [1, 5, 0.9625657732472964], [3, 1, 0.08326451666355042], [3.841458820694124, 1, 0.05], [30, 49, 0.9851931781115962], [80, 49, 0.0034012114117295514], [200, 7, 1.147781224014262e-39]];
    for (const [x, df, q] of scipy) expect(chiSquareSurvival(x, df) / q).toBeCloseTo(1, 12);
    expect(chiSquareSurvival(0, 5)).toBe(1);
  });
});

describe('shuffledOrder', () => {
  it('is a permutation of 0..n-1, fixed by (seed, epoch)', () => {
    const p = shuffledOrder(1000, 3, 2);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(shuffledOrder(1000, 3, 2)).toEqual(p);
    expect(shuffledOrder(1000, 4, 2)).not.toEqual(p);
    expect(shuffledOrder(1000, 3, 3)).not.toEqual(p);
    expect(Array.from(shuffledOrder(1, 3, 2))).toEqual([0]);
    expect(shuffledOrder(0, 3, 2).length).toBe(0);
  });

  it('puts each element at each position with probability 1/n (chi-square over seeds)', () => {
    const counts = new Array(N * N).fill(0);
    for (let seed = 0; seed < SEEDS; seed++) positions(N, seed, 0).forEach((p, e) => counts[e * N + p]++);
    // Pearson's statistic over the n × n table of a uniform permutation is (n/(n-1))·χ²((n-1)²):
    // a permutation matrix's covariance is (I - J/n) ⊗ (I - J/n) / (n - 1).
    const { chi2 } = chiSquare(counts, new Array(N * N).fill(1 / (N * N)), N * SEEDS);
    const p = chiSquareSurvival((chi2 * (N - 1)) / N, (N - 1) ** 2);
    expect(p, `chi2 ${chi2.toFixed(1)}`).toBeGreaterThan(ALPHA);
  });

  it('draws all 24 orders of 4 elements equally often (chi-square over epochs)', () => {
    const S = 24_000; // 1000 expected per order
    const counts = new Array(24).fill(0);
    for (let epoch = 0; epoch < S; epoch++) {
      // Lehmer code: the rank of the permutation among the 24, in lexicographic order.
      const q = Array.from(shuffledOrder(4, 1, epoch));
      let rank = 0;
      for (let i = 0; i < 4; i++) rank = rank * (4 - i) + q.slice(i + 1).filter((x) => x < q[i]).length;
      counts[rank]++;
    }
    const { chi2, df } = chiSquare(counts, new Array(24).fill(1 / 24), S);
    expect(df).toBe(23);
    expect(chiSquareSurvival(chi2, df), `chi2 ${chi2.toFixed(1)}`).toBeGreaterThan(ALPHA);
  });

  it('puts a before b half the time, and b right after a 1/n of the time, for every pair', () => {
    const before = new Array(N * N).fill(0), next = new Array(N * N).fill(0);
    for (let seed = 0; seed < SEEDS; seed++) {
      const pos = positions(N, seed, 5);
      for (let a = 0; a < N; a++)
        for (let b = 0; b < N; b++) {
          if (pos[a] < pos[b]) before[a * N + b]++;
          if (pos[b] === pos[a] + 1) next[a * N + b]++;
        }
    }
    // Bonferroni over the 21 unordered and 42 ordered pairs: the family fails with probability ≤ ALPHA.
    const tests: number[] = [];
    for (let a = 0; a < N; a++)
      for (let b = 0; b < N; b++) {
        if (a < b) tests.push(binomialP(before[a * N + b], SEEDS, 1 / 2));
        if (a !== b) tests.push(binomialP(next[a * N + b], SEEDS, 1 / N));
      }
    expect(tests).toHaveLength(63);
    expect(Math.min(...tests)).toBeGreaterThan(ALPHA / tests.length);
  });
});
