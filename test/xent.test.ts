// Sparse vocabulary cross-entropy, chunked over V: reference vs finite differences, GPU
// forward and backward vs reference on odd shapes (chunks that do not divide V, invalid
// rows and bad labels), gradient accumulation, determinism, shape errors.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, randomInt, expectClose, finiteDifference } from './harness.js';
import { xent } from '../src/kernels/xent.js';
import { refXent } from '../src/kernels/ref/xent.js';

function problem(S: number, h: number, V: number, seed: number, count = S) {
  const hidden = randomArray(S * h, seed, -1, 1);
  const weight = randomArray(V * h, seed + 1, -0.5, 0.5);
  const bias = randomArray(V, seed + 2, -0.2, 0.2);
  const labels = Uint32Array.from(randomInt(S, seed + 3, 0, V));
  return { hidden, weight, bias, labels, count, S, h, V };
}

describe('xent (reference)', () => {
  it('backward matches finite differences of the loss (hidden, weight, bias)', () => {
    const p = problem(4, 3, 7, 11, 3);
    p.labels[1] = 0xffffffff; // ignored row
    const base = { ...p, lossWeight: 1.5 };
    const r = refXent(base);
    expect(r.nValid).toBe(2);
    expect(r.bad).toBe(1);
    const fd = (key: 'hidden' | 'weight' | 'bias') =>
      finiteDifference((x) => refXent({ ...base, [key]: x }).total, Float64Array.from(p[key]));
    // central differences, eps 1e-6, smooth loss of O(1): error ~1e-9.
    expectClose(r.dHidden, fd('hidden'), { atol: 1e-8, rtol: 1e-6 }, 'dHidden');
    expectClose(r.dWeight, fd('weight'), { atol: 1e-8, rtol: 1e-6 }, 'dWeight');
    expectClose(r.dBias, fd('bias'), { atol: 1e-8, rtol: 1e-6 }, 'dBias');
  });
});

describe('xent (GPU)', () => {
  const cases: [number, number, number, number, number | undefined][] = [
    // S, h, V, count, chunk
    [1, 1, 2, 1, undefined],
    [7, 5, 37, 6, 10],
    [13, 33, 101, 13, 32],
    [29, 17, 259, 21, undefined],
    [9, 12, 67, 8, 20], // h % 4 == 0: the logits product uses vec4 loads
  ];
  for (const [S, h, V, count, chunk] of cases) {
    it(`forward and backward match the reference: S=${S} h=${h} V=${V} valid=${count} chunk=${chunk ?? 'auto'}`, async () => {
      const rt = await getRuntime();
      const p = problem(S, h, V, S * 7 + V, count);
      if (S > 4) p.labels[2] = V + 5; // bad label: ignored, counted
      const want = refXent({ ...p, lossWeight: 2 });
      const T = {
        hidden: rt.upload(p.hidden, [S, h]),
        weight: rt.upload(p.weight, [V, h]),
        bias: rt.upload(p.bias, [V]),
        labels: rt.upload(p.labels, [S], 'u32'),
        meta: rt.upload([count, 0, 0, 0], [4], 'u32'),
        dHidden: rt.empty([S, h]),
        dWeight: rt.zeros([V, h]),
        dBias: rt.zeros([V]),
      };
      const x = await xent(rt, T, { lossWeight: 2, chunk });
      if (chunk) expect(x.chunks.length).toBe(Math.ceil(V / chunk));
      await rt.run(...x.forward, ...x.backward);
      const stats = await rt.read(x.stats);
      const rows = Array.from({ length: S }, (_, i) => [want.lse[i], want.loss[i], want.argmax[i], want.valid[i]]).flat();
      // lse and loss: sums of V exp terms and h products in f32: ~1e-6 relative.
      expectClose(stats.slice(0, 4 * S), rows, { atol: 2e-5, rtol: 2e-5 }, 'per-row stats');
      expectClose(stats.slice(4 * S, 4 * S + 6), [want.total, want.lossSum, want.nValid, want.correct, want.bad, want.scale], { atol: 1e-5, rtol: 2e-5 }, 'totals');
      // gradients: scale·(p − onehot) products summed over V (dH) or S (dW): f32 accumulation.
      const tol = { atol: 2e-6 * Math.sqrt(V + S), rtol: 1e-4 };
      expectClose(await rt.read(T.dHidden), want.dHidden, tol, 'dHidden');
      expectClose(await rt.read(T.dWeight), want.dWeight, tol, 'dWeight');
      expectClose(await rt.read(T.dBias), want.dBias, tol, 'dBias');
      // again: dHidden is overwritten, dWeight/dBias accumulate (2×), bit-identical per run
      const dh1 = await rt.read(T.dHidden), dw1 = await rt.read(T.dWeight);
      await rt.run(...x.forward, ...x.backward);
      expect(await rt.read(T.dHidden)).toEqual(dh1);
      expectClose(await rt.read(T.dWeight), Array.from(dw1, (v) => 2 * v), { atol: 1e-12, rtol: 1e-6 }, 'dWeight accumulated');
      expect(await rt.read(x.stats)).toEqual(stats);
      x.release();
      rt.release(...Object.values(T));
    });
  }

  it('zero valid rows: zero loss and zero gradients, no NaN', async () => {
    const rt = await getRuntime();
    const S = 5, h = 3, V = 9;
    const p = problem(S, h, V, 3);
    const T = {
      hidden: rt.upload(p.hidden, [S, h]), weight: rt.upload(p.weight, [V, h]), bias: rt.upload(p.bias, [V]),
      labels: rt.upload(p.labels, [S], 'u32'), meta: rt.upload([0], [1], 'u32'),
      dHidden: rt.empty([S, h]), dWeight: rt.zeros([V, h]), dBias: rt.zeros([V]),
    };
    const x = await xent(rt, T, { accumulate: false });
    await rt.run(...x.forward, ...x.backward);
    const st = await rt.read(x.stats);
    expect(Array.from(st.slice(4 * S, 4 * S + 5))).toEqual([0, 0, 0, 0, 0]);
    for (const g of [T.dHidden, T.dWeight, T.dBias]) expect(Array.from(await rt.read(g)).every((v) => v === 0)).toBe(true);
    x.release();
    rt.release(...Object.values(T));
  });

  it('rejects wrong shapes, naming the op and shapes', async () => {
    const rt = await getRuntime();
    const H = rt.empty([4, 8]), W = rt.empty([10, 7]), b = rt.empty([10]), l = rt.empty([4], 'u32'), m = rt.empty([1], 'u32'), lf = rt.empty([4]);
    await expect(xent(rt, { hidden: H, weight: W, bias: b, labels: l, meta: m })).rejects.toThrow(/xent: weight has shape \[10, 7\], expected \[V, 8\] for hidden \[4, 8\]/);
    const W2 = rt.empty([10, 8]), b2 = rt.empty([11]);
    await expect(xent(rt, { hidden: H, weight: W2, bias: b2, labels: l, meta: m })).rejects.toThrow(/xent: bias has shape \[11\], expected \[10\]/);
    await expect(xent(rt, { hidden: H, weight: W2, bias: b, labels: lf, meta: m })).rejects.toThrow(/xent: labels has dtype f32, expected u32 or i32/);
    await expect(xent(rt, { hidden: H, weight: W2, bias: b, labels: l, meta: m, dHidden: H })).rejects.toThrow(/xent: give all of dHidden, dWeight, dBias/);
    rt.release(H, W, b, l, m, lf, W2, b2);
  });
});

describe('xent + Gumbel-max (ELECTRA generator)', () => {
  it('sampling from the logits tile chunk by chunk equals sampling from one whole-vocabulary tile', async () => {
    const { createStepBuffer } = await import('../src/kernels/adamw.js');
    const { gumbelSample, selectPositions, vocabTables } = await import('../src/kernels/sampling.js');
    const rt = await getRuntime();
    const S = 11, h = 8, V = 45, n = 40;
    const vt = vocabTables(rt, V, [0, 1]);
    const step = createStepBuffer(rt, 3);
    const ids = rt.upload(Uint32Array.from({ length: n }, (_, i) => 2 + (i % (V - 2))), [n], 'u32');
    const sel = await selectPositions(rt, ids, vt, step, { p: 0.3, capacity: S, seed: 4 });
    const p = problem(S, h, V, 5);
    const T = { hidden: rt.upload(p.hidden, [S, h]), weight: rt.upload(p.weight, [V, h]), bias: rt.upload(p.bias, [V]), labels: sel.labels, meta: sel.meta };
    const samples: Uint32Array[] = [];
    for (const chunk of [V, 7]) {
      const x = await xent(rt, T, { chunk });
      const g = await gumbelSample(rt, sel, vt, x.chunks.map((c) => ({ logits: x.logitsTile, ...c })), step, { seed: 4, stream: 9 });
      const ops = [...sel.ops];
      x.forwardChunks.forEach((f, c) => ops.push(...f, g.ops[c]));
      await rt.run(...ops, x.finalize);
      samples.push((await rt.read(g.samples)) as Uint32Array);
      g.release();
      x.release();
    }
    const count = ((await rt.read(sel.meta)) as Uint32Array)[0];
    expect(count).toBeGreaterThan(3);
    // tile logits do not depend on the chunking (same K loop per element): identical samples
    expect(samples[1].slice(0, count)).toEqual(samples[0].slice(0, count));
    for (let k = 0; k < count; k++) expect(samples[0][k]).toBeGreaterThan(1);
    sel.release();
    vt.release();
    rt.release(ids, T.hidden, T.weight, T.bias);
  });
});
