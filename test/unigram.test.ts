// Unigram replacement generator (RTS --generator unigram): the u32 cumulative table against
// the exact float64 law (each id within 2^-31), GPU draws bit-identical to the host twin,
// chi-square of the draws against the exact law with the retry rule (α = 0.5 and α = 1),
// never a special id, and bad input rejected with the op name.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomInt, rng } from './harness.js';
import { chiBound, chiSquare } from './stats.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { createStepBuffer, writeStep } from '../src/kernels/adamw.js';
import { selectPositions, selectionCapacity, vocabTables } from '../src/kernels/sampling.js';
import { unigramCdf, unigramDraw, unigramTable, UNIGRAM_TOTAL, UNIGRAM_TRIES } from '../src/kernels/unigram.js';
import { refUnigramDraw, refUnigramProbs } from '../src/kernels/ref/unigram.js';

const u32 = async (rt: Runtime, t: Parameters<Runtime['read']>[0]) => (await rt.read(t)) as Uint32Array;

const SPECIAL = [0, 1, 2, 3, 4];
const V = 61; // odd, not a multiple of anything
// Zipf-like counts with a few zero counts (ids 40, 41) and large counts on special ids (which must not matter).
const COUNTS = Array.from({ length: V }, (_, v) => (v === 40 || v === 41 ? 0 : SPECIAL.includes(v) ? 5000 : Math.floor(3000 / (v - 3)) + 1));

describe('unigram: the cumulative table', () => {
  it('ends at exactly 2^31, is flat over special ids, and each id is within 2^-31 of the exact law', () => {
    for (const alpha of [0, 0.5, 0.75, 1]) {
      const cdf = unigramCdf(COUNTS, SPECIAL, alpha);
      const exact = refUnigramProbs(COUNTS, SPECIAL, alpha);
      expect(cdf[V - 1]).toBe(UNIGRAM_TOTAL);
      for (let v = 0; v < V; v++) {
        const width = cdf[v] - (v ? cdf[v - 1] : 0);
        expect(width, `alpha ${alpha} id ${v}`).toBeGreaterThanOrEqual(0);
        if (SPECIAL.includes(v)) expect(width).toBe(0);
        // rounding of both cumulative ends: at most one quantum off
        expect(Math.abs(width / UNIGRAM_TOTAL - exact[v])).toBeLessThanOrEqual(1 / UNIGRAM_TOTAL);
        if (alpha > 0 && COUNTS[v] === 0) expect(width).toBe(0);
      }
    }
    // α = 0: uniform over the non-special ids, zero counts included
    const p0 = refUnigramProbs(COUNTS, SPECIAL, 0);
    for (let v = 0; v < V; v++) expect(p0[v]).toBeCloseTo(SPECIAL.includes(v) ? 0 : 1 / (V - SPECIAL.length), 15);
  });

  it('rejects bad input naming the op', async () => {
    expect(() => unigramCdf(COUNTS, SPECIAL, -0.5)).toThrow(/unigram: alpha must be a finite number ≥ 0, got -0.5/);
    expect(() => unigramCdf(COUNTS, SPECIAL, NaN)).toThrow(/unigram: alpha/);
    expect(() => unigramCdf([1, -2, 3], [], 1)).toThrow(/unigram: count of id 1 must be a finite number ≥ 0, got -2/);
    expect(() => unigramCdf([5, 0, 0], [0], 1)).toThrow(/unigram: every non-special id of the vocabulary \(3\) has count 0/);
    expect(() => unigramCdf([1, 2], [2], 1)).toThrow(/unigram: special id 2 outside the vocabulary \[0, 2\)/);
    const rt = await getRuntime();
    const vt = vocabTables(rt, V, SPECIAL);
    expect(() => unigramTable(rt, COUNTS.slice(1), vt, 1)).toThrow(/unigram: the counts have 60 entries, the vocabulary 61/);
    vt.release();
  });
});

describe('unigram: GPU draws', () => {
  it('are bit-identical to the host twin on a random batch at two steps, and never a special id', async () => {
    const rt = await getRuntime();
    const vt = vocabTables(rt, V, SPECIAL);
    const table = unigramTable(rt, COUNTS, vt, 0.75);
    const cdf = await u32(rt, table.cdf);
    expect(cdf).toEqual(unigramCdf(COUNTS, SPECIAL, 0.75));
    const n = 4099;
    const r = rng(11);
    // ~5 % padding (id 0); frequent ids more likely as originals, so the retry rule is exercised
    const host = Uint32Array.from(randomInt(n, 11, 0, V), (x) => (r() < 0.05 ? 0 : r() < 0.3 ? 5 : x));
    const ids = rt.upload(host, [n], 'u32', 'ids');
    const step = createStepBuffer(rt);
    const capacity = selectionCapacity(n, 0.3);
    const sel = await selectPositions(rt, ids, vt, step, { p: 0.3, capacity, seed: 99, stream: 1 });
    const op = await unigramDraw(rt, ids, sel, table, step, { seed: 99, stream: 5 });
    let previous: Uint32Array | null = null;
    for (const t of [3, 4]) {
      writeStep(rt, step, t, 0);
      await rt.run(...sel.ops, op);
      const meta = await u32(rt, sel.meta), list = await u32(rt, sel.list), out = await u32(rt, sel.outIds);
      expect(meta[2]).toBe(0);
      expect(out).toEqual(refUnigramDraw(cdf, host, list, meta[0], { seed: 99, stream: 5, step: t, tries: UNIGRAM_TRIES }));
      let replaced = 0;
      for (let k = 0; k < meta[0]; k++) {
        expect(SPECIAL.includes(out[list[k]])).toBe(false);
        if (out[list[k]] !== host[list[k]]) replaced++;
      }
      // p(x = 5) ≈ 0.17 at α = 0.75, so a few keep their token after 8 tries only with 0.17^8: ~all replaced
      expect(replaced).toBeGreaterThan(meta[0] - 3);
      const listed = new Set(list.subarray(0, meta[0]));
      for (let i = 0; i < n; i++) if (!listed.has(i)) expect(out[i]).toBe(host[i]);
      if (previous) expect(out).not.toEqual(previous);
      previous = out;
    }
    sel.release();
    table.release();
    vt.release();
    rt.release(ids);
  });

  for (const alpha of [0.5, 1]) {
    it(`follow the exact law count^${alpha} with the retry rule (chi-square), for a frequent and a rare original`, async () => {
      const rt = await getRuntime();
      // id 5 dominates (q ≈ 0.75 at α = 1), so the original is often redrawn and sometimes stays
      const counts = COUNTS.map((c, v) => (v === 5 ? 40000 : c));
      const vt = vocabTables(rt, V, SPECIAL);
      const table = unigramTable(rt, counts, vt, alpha);
      const q = refUnigramProbs(counts, SPECIAL, alpha);
      const n = 20_011;
      for (const x of [5, 37]) {
        const ids = rt.upload(new Uint32Array(n).fill(x), [n], 'u32');
        const step = createStepBuffer(rt, 7);
        const sel = await selectPositions(rt, ids, vt, step, { p: 1, capacity: n, seed: 3 });
        const op = await unigramDraw(rt, ids, sel, table, step, { seed: 3, stream: 2 });
        await rt.run(...sel.ops, op);
        const out = await u32(rt, sel.outIds);
        // final token: m ≠ x with q(m)·(1 − q(x)^T)/(1 − q(x)); x itself with q(x)^T
        const qx = q[x];
        const probs = Array.from(q, (qm, m) => (m === x ? qx ** UNIGRAM_TRIES : (qm * (1 - qx ** UNIGRAM_TRIES)) / (1 - qx)));
        const obs = new Array(V).fill(0);
        for (const y of out) obs[y]++;
        const { chi2, df } = chiSquare(obs, probs, n);
        expect(chi2, `alpha ${alpha} x=${x}`).toBeLessThan(chiBound(df));
        if (alpha === 1 && x === 5) expect(obs[5]).toBeGreaterThan(0); // q^8 ≈ 0.1: the retry limit is reached
        sel.release();
        rt.release(ids);
      }
      table.release();
      vt.release();
    });
  }

  it('keeps the original when it is the only id with mass (all tries equal it)', async () => {
    const rt = await getRuntime();
    const counts = new Array(V).fill(0);
    counts[9] = 10;
    const vt = vocabTables(rt, V, SPECIAL);
    const table = unigramTable(rt, counts, vt, 1);
    const n = 257;
    const host = Uint32Array.from({ length: n }, (_, i) => (i % 2 ? 9 : 30));
    const ids = rt.upload(host, [n], 'u32');
    const step = createStepBuffer(rt, 1);
    const sel = await selectPositions(rt, ids, vt, step, { p: 1, capacity: n, seed: 1 });
    await rt.run(...sel.ops, await unigramDraw(rt, ids, sel, table, step, { seed: 1 }));
    // 9 stays 9 (counts as original); every other token becomes 9
    expect(await u32(rt, sel.outIds)).toEqual(new Uint32Array(n).fill(9));
    sel.release();
    table.release();
    vt.release();
    rt.release(ids);
  });
});
