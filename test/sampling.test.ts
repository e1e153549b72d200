// Token sampling: selections and corruptions bit-identical to the host twin, statistics of
// every draw (within 4σ, chi-square within df + 4·√(2·df)), no special id ever selected or
// produced, determinism, and overflow counting.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomInt, rng } from './harness.js';
import { chiBound, chiSquare } from './stats.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { createStepBuffer, writeStep } from '../src/kernels/adamw.js';
import { corrupt, crtsDraw, crtsState, crtsUpdate, detectLabels, gumbelSample, selectPositions, selectionCapacity, threshold24, vocabTables } from '../src/kernels/sampling.js';
import { CRTS_TRIES } from '../src/kernels/sampling.js';
import { refCorrupt, refCrtsDraw, refCrtsProbs, refCrtsUpdate, refGumbel, refSelect } from '../src/kernels/ref/sampling.js';

const u32 = async (rt: Runtime, t: Parameters<Runtime['read']>[0]) => (await rt.read(t)) as Uint32Array;

/** ids with ~5% padding (id 0) and some other special ids (1..4) in a vocabulary of V. */
function batch(n: number, V: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from(randomInt(n, seed, 0, V), (x) => (r() < 0.05 ? 0 : x));
}
const SPECIAL = [0, 1, 2, 3, 4];

describe('sampling: selection', () => {
  it('is bit-identical to the host reference, deterministic, and changes with the step', async () => {
    const rt = await getRuntime();
    const V = 97, n = 3001, p = 0.15;
    const vt = vocabTables(rt, V, SPECIAL);
    const flags = Uint32Array.from({ length: V }, (_, v) => (SPECIAL.includes(v) ? 1 : 0));
    const host = batch(n, V, 5);
    const ids = rt.upload(host, [n], 'u32', 'ids');
    const step = createStepBuffer(rt);
    const capacity = selectionCapacity(n, p);
    const sel = await selectPositions(rt, ids, vt, step, { p, capacity, seed: 1337, stream: 2 });
    let previous: Uint32Array | null = null;
    for (const t of [1, 2, 1]) {
      writeStep(rt, step, t, 0);
      await rt.run(...sel.ops);
      const want = refSelect({ ids: host, special: flags, pThresh24: threshold24(p, 't'), seed: 1337, stream: 2, step: t, capacity });
      expect(await u32(rt, sel.meta)).toEqual(want.meta);
      expect(await u32(rt, sel.list)).toEqual(want.list);
      expect(await u32(rt, sel.labels)).toEqual(want.labels);
      expect(await u32(rt, sel.outIds)).toEqual(host);
      expect(want.meta[2]).toBe(0);
      const list = await u32(rt, sel.list);
      if (previous && t === 2) expect(list).not.toEqual(previous);
      if (t === 1 && previous) continue;
      previous = list;
    }
    sel.release();
    vt.release();
    rt.release(ids);
  });

  it('selects at rate p (within 4σ), never a special or padding id', async () => {
    const rt = await getRuntime();
    const V = 1000, n = 60_013, p = 0.15;
    const vt = vocabTables(rt, V, SPECIAL);
    const host = batch(n, V, 9);
    const ids = rt.upload(host, [n], 'u32');
    const step = createStepBuffer(rt, 7);
    const sel = await selectPositions(rt, ids, vt, step, { p, capacity: selectionCapacity(n, p), seed: 42 });
    await rt.run(...sel.ops);
    const meta = await u32(rt, sel.meta), list = await u32(rt, sel.list);
    const eligible = host.filter((x) => !SPECIAL.includes(x)).length;
    expect(Math.abs(meta[1] - eligible * p)).toBeLessThan(4 * Math.sqrt(eligible * p * (1 - p)));
    for (let k = 0; k < meta[0]; k++) {
      expect(SPECIAL.includes(host[list[k]])).toBe(false);
      if (k > 0) expect(list[k]).toBeGreaterThan(list[k - 1]);
    }
    sel.release();
    vt.release();
    rt.release(ids);
  });

  it('counts overflow beyond the capacity and keeps the first positions', async () => {
    const rt = await getRuntime();
    const V = 50, n = 777, capacity = 10;
    const vt = vocabTables(rt, V, SPECIAL);
    const flags = Uint32Array.from({ length: V }, (_, v) => (SPECIAL.includes(v) ? 1 : 0));
    const host = batch(n, V, 3);
    const ids = rt.upload(host, [n], 'u32');
    const step = createStepBuffer(rt, 3);
    const sel = await selectPositions(rt, ids, vt, step, { p: 0.5, capacity, seed: 1 });
    await rt.run(...sel.ops);
    const want = refSelect({ ids: host, special: flags, pThresh24: threshold24(0.5, 't'), seed: 1, stream: 0, step: 3, capacity });
    const meta = await u32(rt, sel.meta);
    expect(meta).toEqual(want.meta);
    expect(meta[0]).toBe(10);
    expect(meta[2]).toBe(meta[1] - 10);
    expect(meta[2]).toBeGreaterThan(300);
    expect(await u32(rt, sel.list)).toEqual(want.list);
    sel.release();
    vt.release();
    rt.release(ids);
  });

  it('rejects bad options with the op name', async () => {
    const rt = await getRuntime();
    expect(() => vocabTables(rt, 10, [10])).toThrow(/vocabTables: special id 10 outside the vocabulary \[0, 10\)/);
    const vt = vocabTables(rt, 10, [0]);
    const ids = rt.upload([1, 2, 3], [3], 'u32'), fids = rt.empty([3]);
    const step = createStepBuffer(rt);
    await expect(selectPositions(rt, ids, vt, step, { p: 1.5, capacity: 3, seed: 0 })).rejects.toThrow(/sampling\.select: probability must be in \[0, 1\], got 1.5/);
    await expect(selectPositions(rt, ids, vt, step, { p: 0.5, capacity: 0, seed: 0 })).rejects.toThrow(/sampling\.select: capacity must be a positive integer/);
    await expect(selectPositions(rt, fids, vt, step, { p: 0.5, capacity: 3, seed: 0 })).rejects.toThrow(/sampling\.select: ids has dtype f32, expected u32/);
    vt.release();
    rt.release(ids, fids);
  });
});

describe('sampling: corruption', () => {
  it('MLM 80/10/10 is bit-identical to the reference, splits within 4σ, and produces no special id but [MASK]', async () => {
    const rt = await getRuntime();
    const V = 200, n = 40_000, p = 0.5, MASK = 4;
    const vt = vocabTables(rt, V, SPECIAL);
    const flags = Uint32Array.from({ length: V }, (_, v) => (SPECIAL.includes(v) ? 1 : 0));
    const allowed = Array.from({ length: V }, (_, v) => v).filter((v) => !flags[v]);
    const host = batch(n, V, 11);
    const ids = rt.upload(host, [n], 'u32');
    const step = createStepBuffer(rt, 5);
    const sel = await selectPositions(rt, ids, vt, step, { p, capacity: selectionCapacity(n, p), seed: 77, stream: 1 });
    const op = await corrupt(rt, 'mlm', ids, vt, sel, step, { seed: 77, stream: 1, maskId: MASK });
    await rt.run(...sel.ops, op);
    const meta = await u32(rt, sel.meta), list = await u32(rt, sel.list), out = await u32(rt, sel.outIds);
    const want = refCorrupt('mlm', host, list, meta[0], allowed, { seed: 77, stream: 1, step: 5, maskId: MASK, tMask24: threshold24(0.8, ''), tRandom24: threshold24(0.9, '') });
    expect(out).toEqual(want);
    let masked = 0, same = 0, random = 0;
    for (let k = 0; k < meta[0]; k++) {
      const y = out[list[k]], x = host[list[k]];
      if (y === MASK) masked++;
      else if (y === x) same++;
      else random++;
      expect(y === MASK || !flags[y]).toBe(true);
    }
    const m = meta[0];
    const pSame = 0.1 + 0.1 / allowed.length; // a random token may equal the original
    for (const [obs, q] of [[masked, 0.8], [random, 0.1 - 0.1 / allowed.length], [same, pSame]] as const)
      expect(Math.abs(obs - m * q)).toBeLessThan(4 * Math.sqrt(m * q * (1 - q)));
    // positions not selected are untouched
    const inList = new Set(Array.from(list.slice(0, m)));
    for (let i = 0; i < n; i++) if (!inList.has(i)) expect(out[i]).toBe(host[i]);
    sel.release();
    vt.release();
    rt.release(ids);
  });

  it('uniform replacement draws every non-special id equally (chi-square), bit-identical to the reference; detection labels follow', async () => {
    const rt = await getRuntime();
    const V = 53, n = 30_011;
    const vt = vocabTables(rt, V, SPECIAL);
    const flags = Uint32Array.from({ length: V }, (_, v) => (SPECIAL.includes(v) ? 1 : 0));
    const allowed = Array.from({ length: V }, (_, v) => v).filter((v) => !flags[v]);
    const host = batch(n, V, 13);
    const ids = rt.upload(host, [n], 'u32');
    const step = createStepBuffer(rt, 1);
    const sel = await selectPositions(rt, ids, vt, step, { p: 1, capacity: n, seed: 5 });
    const op = await corrupt(rt, 'uniform', ids, vt, sel, step, { seed: 5 });
    const tgt = rt.empty([n]), w = rt.empty([n]);
    const det = await detectLabels(rt, ids, sel.outIds, vt, tgt, w, step);
    await rt.run(...sel.ops, op, det);
    const meta = await u32(rt, sel.meta), list = await u32(rt, sel.list), out = await u32(rt, sel.outIds);
    expect(out).toEqual(refCorrupt('uniform', host, list, meta[0], allowed, { seed: 5, stream: 0, step: 1 }));
    const eligible = host.filter((x) => !flags[x]).length;
    expect(meta[1]).toBe(eligible); // p = 1 selects every eligible position
    const counts = new Array(V).fill(0);
    for (let k = 0; k < meta[0]; k++) counts[out[list[k]]]++;
    const { chi2, df } = chiSquare(counts, Array.from({ length: V }, (_, v) => (flags[v] ? 0 : 1 / allowed.length)), meta[0]);
    expect(chi2).toBeLessThan(chiBound(df));
    const tv = await rt.read(tgt), wv = await rt.read(w);
    for (let i = 0; i < n; i++) {
      expect(wv[i]).toBe(flags[host[i]] ? 0 : 1);
      expect(tv[i]).toBe(!flags[host[i]] && out[i] !== host[i] ? 1 : 0);
    }
    sel.release();
    vt.release();
    rt.release(ids, tgt, w);
  });
});

describe('sampling: Gumbel-max', () => {
  it('samples follow softmax(logits) over non-special ids; chunked equals whole; agrees with the float64 twin', async () => {
    const rt = await getRuntime();
    const V = 37, n = 6_000;
    const vt = vocabTables(rt, V, [0, 5, 36]);
    const flags = Uint32Array.from({ length: V }, (_, v) => ([0, 5, 36].includes(v) ? 1 : 0));
    const ids = rt.upload(new Uint32Array(n).fill(7), [n], 'u32');
    const step = createStepBuffer(rt, 9);
    const sel = await selectPositions(rt, ids, vt, step, { p: 1, capacity: n, seed: 3 });
    const row = Float32Array.from({ length: V }, (_, v) => Math.sin(v * 1.7) * 2);
    const logits = new Float32Array(n * V);
    for (let k = 0; k < n; k++) logits.set(row, k * V);
    const whole = rt.upload(logits, [n, V]);
    const g1 = await gumbelSample(rt, sel, vt, [{ logits: whole, v0: 0, vcount: V }], step, { seed: 3, stream: 4 });
    await rt.run(...sel.ops, ...g1.ops);
    const s1 = await u32(rt, g1.samples);
    // the same draws from three chunks of 13 + 13 + 11 columns
    const chunkT = [0, 13, 26].map((v0) => {
      const w = Math.min(13, V - v0);
      const c = new Float32Array(n * 13);
      for (let k = 0; k < n; k++) c.set(row.subarray(v0, v0 + w), k * 13);
      return { logits: rt.upload(c, [n, 13]), v0, vcount: w };
    });
    const g2 = await gumbelSample(rt, sel, vt, chunkT, step, { seed: 3, stream: 4 });
    await rt.run(...sel.ops, ...g2.ops);
    expect(await u32(rt, g2.samples)).toEqual(s1);
    expect(await u32(rt, sel.outIds)).toEqual(s1);
    let z = 0;
    const probs = Array.from(row, (l, v) => (flags[v] ? 0 : Math.exp(l)));
    probs.forEach((q) => (z += q));
    const counts = new Array(V).fill(0);
    let agree = 0;
    for (let k = 0; k < n; k++) {
      counts[s1[k]]++;
      if (k < 2000 && refGumbel(row, flags, k, { seed: 3, stream: 4, step: 9 }) === s1[k]) agree++;
    }
    const { chi2, df } = chiSquare(counts, probs.map((q) => q / z), n);
    expect(chi2).toBeLessThan(chiBound(df));
    // f32 vs float64 noise: only near-ties can differ.
    expect(agree).toBeGreaterThanOrEqual(1990);
    g1.release();
    g2.release();
    sel.release();
    vt.release();
    rt.release(ids, whole, ...chunkT.map((c) => c.logits));
  });
});

describe('C-RTS', () => {
  const V = 40, K = 6;
  const special = [0, 1, 2, 3];
  // cluster 5 holds only special ids: empty once they are removed
  const clusterOf = Array.from({ length: V }, (_, v) => (v < 4 ? 5 : v % 5));
  const counts = Int32Array.from({ length: K * K }, (_, i) => ((i * 7) % 11) - 3);

  it('draws follow the exact distribution (min-max along the row, β = 2, re-draws when equal to x)', async () => {
    const rt = await getRuntime();
    const vt = vocabTables(rt, V, special);
    const st = crtsState(rt, clusterOf, K, vt, counts);
    const offsets = await u32(rt, st.offsets), members = await u32(rt, st.members);
    const n = 20_000;
    for (const x of [7, 13]) {
      const ids = rt.upload(new Uint32Array(n).fill(x), [n], 'u32');
      const step = createStepBuffer(rt, 2);
      const sel = await selectPositions(rt, ids, vt, step, { p: 1, capacity: n, seed: 8 });
      const op = await crtsDraw(rt, ids, sel, st, vt, step, { seed: 8, beta: 2 });
      await rt.run(...sel.ops, op);
      const out = await u32(rt, sel.outIds);
      // exact law of the final token: q(m) per attempt, retried when m = x (CRTS_TRIES attempts)
      const s = clusterOf[x];
      const q = refCrtsProbs(counts, K, s, offsets, 2);
      const qm = (m: number) => q[clusterOf[m]] / (offsets[clusterOf[m] + 1] - offsets[clusterOf[m]]);
      const qx = qm(x);
      const probs = new Array(V).fill(0);
      for (const m of members) if (m !== x) probs[m] = (qm(m) * (1 - qx ** CRTS_TRIES)) / (1 - qx);
      probs[x] = qx ** CRTS_TRIES;
      const obs = new Array(V).fill(0);
      for (const y of out) obs[y]++;
      const { chi2, df } = chiSquare(obs, probs, n);
      expect(chi2, `x=${x}`).toBeLessThan(chiBound(df));
      sel.release();
      rt.release(ids);
    }
    st.release();
    vt.release();
  });

  it('agrees with the host twin on random batches; the count update matches exactly', async () => {
    const rt = await getRuntime();
    const vt = vocabTables(rt, V, special);
    const st = crtsState(rt, clusterOf, K, vt, counts);
    const offsets = await u32(rt, st.offsets), members = await u32(rt, st.members);
    const n = 4099;
    const host = batch(n, V, 21);
    const ids = rt.upload(host, [n], 'u32');
    const step = createStepBuffer(rt, 4);
    const sel = await selectPositions(rt, ids, vt, step, { p: 0.3, capacity: selectionCapacity(n, 0.3), seed: 8, stream: 1 });
    const op = await crtsDraw(rt, ids, sel, st, vt, step, { seed: 8, stream: 1 });
    const logitsHost = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const logits = rt.upload(logitsHost, [n]);
    const upd = await crtsUpdate(rt, ids, sel, st, vt, logits, step);
    await rt.run(...sel.ops, op);
    const meta = await u32(rt, sel.meta), list = await u32(rt, sel.list), out = await u32(rt, sel.outIds);
    const want = refCrtsDraw({ K, cluster: clusterOf, offsets, members, counts, beta: 2, tries: CRTS_TRIES }, host, list, meta[0], { seed: 8, stream: 1, step: 4 });
    let agree = 0;
    for (let i = 0; i < n; i++) if (out[i] === want[i]) agree++;
    expect(agree).toBeGreaterThanOrEqual(n - 3); // f32 vs float64 CDF: only boundary draws may differ
    for (let k = 0; k < meta[0]; k++) expect(special.includes(out[list[k]])).toBe(false);
    await rt.run(upd);
    const c2 = Int32Array.from(counts);
    refCrtsUpdate({ K, cluster: clusterOf }, c2, host, out, list, meta[0], logitsHost);
    expect((await rt.read(st.counts)) as Int32Array).toEqual(c2);
    expect(c2).not.toEqual(counts);
    sel.release();
    st.release();
    vt.release();
    rt.release(ids, logits);
  });

  it('rejects a bad cluster map with the op name', async () => {
    const rt = await getRuntime();
    const vt = vocabTables(rt, V, special);
    expect(() => crtsState(rt, clusterOf.slice(1), K, vt)).toThrow(/crts: cluster map has 39 entries, the vocabulary 40/);
    expect(() => crtsState(rt, clusterOf.map((c) => c + 1), K, vt)).toThrow(/crts: id \d+ has cluster 6, outside \[0, 6\)/);
    vt.release();
  });
});
