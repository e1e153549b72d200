// Embedding sum forward vs float64 reference (with out-of-range ids clamped); backward vs
// the reference, and bit-identical to an f32 sum in token order (the kernel's fixed order),
// run to run, with many repeated ids and sizes that exercise every bitonic sort stage; the
// reference backward vs finite differences; accumulate; shape errors.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, randomInt, randomNormal, expectClose, finiteDifference } from './harness.js';
import { embedding, embeddingBackward, type EmbeddingTables } from '../src/kernels/embedding.js';
import { refEmbedding, refEmbeddingBackward, type RefEmbeddingShape } from '../src/kernels/ref/embedding.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { fromF16, toF16 } from '../src/gpu/tensor.js';

function setup(rt: Runtime, s: RefEmbeddingShape, B: number, seed: number, badIds = false) {
  const ids = randomInt(s.N, seed, 0, s.V);
  const types = randomInt(s.N, seed + 1, 0, s.NT);
  if (badIds) {
    ids[0] = s.V + 5; // clamped to V − 1
    ids[s.N - 1] = -1; // 0xffffffff as u32: clamped to V − 1
    types[1 % s.N] = s.NT + 2;
  }
  const word = randomArray(s.V * s.h, seed + 2), pos = randomArray(s.P * s.h, seed + 3), type = randomArray(s.NT * s.h, seed + 4);
  const host = { ids, types, word, pos, type };
  const tables: EmbeddingTables = { word: rt.upload(word, [s.V, s.h]), position: rt.upload(pos, [s.P, s.h]), type: rt.upload(type, [s.NT, s.h]) };
  const dev = { ids: rt.upload(ids, [B, s.T], 'i32'), types: rt.upload(types, [B, s.T], 'i32'), tables };
  return { host, dev };
}

/** The word gradient as the kernel computes it: f32 sums in token order. */
function f32TokenOrder(ids: ArrayLike<number>, dOut: Float32Array, s: RefEmbeddingShape): Float32Array {
  const g = new Float32Array(s.V * s.h);
  for (let n = 0; n < s.N; n++) {
    const id = Math.min(ids[n] >>> 0, s.V - 1);
    for (let c = 0; c < s.h; c++) g[id * s.h + c] = Math.fround(g[id * s.h + c] + dOut[n * s.h + c]);
  }
  return g;
}

// [B, T, h, V, P, NT]: tiny; odd; N = 1179 > 512 (global sort steps, Npad 2048); all ids
// alike; h a multiple of 4 (four columns per access).
const CASES = [[1, 1, 1, 1, 1, 1], [3, 7, 5, 11, 9, 2], [9, 131, 13, 37, 140, 3], [4, 33, 6, 3, 40, 2], [3, 40, 12, 5, 64, 3]] as const;

// Both layouts (one invocation per token / vocabulary row, or a workgroup each) on every adapter.
describe('embedding', () => {
  it('forward matches the float64 reference; out-of-range ids are clamped', async () => {
    const rt = await getRuntime();
    for (const variant of ['per-invocation', 'plain'] as const)
    for (const [B, T, h, V, P, NT] of CASES) {
      const s = { N: B * T, T, h, V, P, NT };
      const { host, dev } = setup(rt, s, B, B * T + h, true);
      const out = rt.empty([B, T, h]);
      await rt.run(await embedding(rt, dev.ids, dev.types, dev.tables, out, { variant }));
      // Two f32 additions of |x| < 1.
      expectClose(await rt.read(out), refEmbedding(host.ids, host.types, host.word, host.pos, host.type, s), { atol: 5e-7, rtol: 0 }, `forward ${B}x${T}x${h} ${variant}`);
      rt.release(dev.ids, dev.types, dev.tables.word, dev.tables.position, dev.tables.type, out);
    }
  });

  it('backward matches the reference, is bit-identical run to run and to the token-order f32 sum', async () => {
    const rt = await getRuntime();
    for (const variant of ['per-invocation', 'plain'] as const)
    for (const [B, T, h, V, P, NT] of CASES) {
      const s = { N: B * T, T, h, V, P, NT };
      const { host, dev } = setup(rt, s, B, 3 * B + T, true);
      const dOut = randomNormal(s.N * h, h + 1);
      const tdOut = rt.upload(dOut, [B, T, h]);
      const grads: EmbeddingTables = { word: rt.empty([V, h]), position: rt.empty([P, h]), type: rt.empty([NT, h]) };
      const ops = await embeddingBackward(rt, { ids: dev.ids, types: dev.types, dOut: tdOut, grads, variant });
      await rt.run(...ops);
      const what = `backward ${B}x${T}x${h} V=${V} ${variant}`;
      const ref = refEmbeddingBackward(host.ids, host.types, dOut, s);
      const gw = Float32Array.from(await rt.read(grads.word));
      const gp = Float32Array.from(await rt.read(grads.position));
      const gt = Float32Array.from(await rt.read(grads.type));
      // Sums of up to ~1179 normal terms in f32: error ≲ n·ulp·|partial| ≈ 1e-3 at worst.
      expectClose(gw, ref.word, { atol: 2e-3, rtol: 1e-4 }, `word ${what}`);
      expectClose(gp, ref.position, { atol: 1e-5, rtol: 1e-5 }, `position ${what}`);
      expectClose(gt, ref.type, { atol: 2e-3, rtol: 1e-4 }, `type ${what}`);
      // The fixed summation order is token order: bit-identical to the host's f32 emulation.
      expect(Array.from(gw)).toEqual(Array.from(f32TokenOrder(host.ids, dOut, s)));
      // Run to run: bit-identical (grads overwritten, not accumulated).
      await rt.run(...ops);
      expect(Float32Array.from(await rt.read(grads.word))).toEqual(gw);
      expect(Float32Array.from(await rt.read(grads.type))).toEqual(gt);
      // Accumulate: adds the same gradient again.
      await rt.run(...(await embeddingBackward(rt, { ids: dev.ids, types: dev.types, dOut: tdOut, grads, variant, accumulate: true })));
      expectClose(await rt.read(grads.position), ref.position.map((v) => 2 * v), { atol: 2e-5, rtol: 1e-5 }, `position accumulated ${what}`);
      expectClose(await rt.read(grads.word), ref.word.map((v) => 2 * v), { atol: 4e-3, rtol: 1e-4 }, `word accumulated ${what}`);
      rt.release(dev.ids, dev.types, dev.tables.word, dev.tables.position, dev.tables.type, tdOut, grads.word, grads.position, grads.type);
    }
  });

  it('the reference backward matches finite differences', () => {
    const s = { N: 6, T: 3, h: 2, V: 4, P: 4, NT: 2 };
    const ids = [1, 3, 1, 0, 9, 1], types = [0, 1, 1, 0, 0, 5];
    const word = Float64Array.from(randomArray(8, 1)), pos = Float64Array.from(randomArray(8, 2)), type = Float64Array.from(randomArray(4, 3));
    const dOut = randomNormal(12, 4);
    const loss = (w: ArrayLike<number>, p: ArrayLike<number>, t: ArrayLike<number>) => refEmbedding(ids, types, w, p, t, s).reduce((a, v, i) => a + v * dOut[i], 0);
    const ref = refEmbeddingBackward(ids, types, dOut, s);
    // Linear in the tables: central differences are exact up to rounding.
    const tol = { atol: 1e-8, rtol: 1e-8 };
    expectClose(ref.word, finiteDifference((w) => loss(w, pos, type), word), tol, 'word vs FD');
    expectClose(ref.position, finiteDifference((p) => loss(word, p, type), pos), tol, 'position vs FD');
    expectClose(ref.type, finiteDifference((t) => loss(word, pos, t), type), tol, 'type vs FD');
  });

  it('rejects bad shapes naming the op and the shapes', async () => {
    const rt = await getRuntime();
    const ids = rt.empty([2, 8], 'u32'), types = rt.empty([2, 8], 'u32'), typesBad = rt.empty([15], 'u32');
    const tables = { word: rt.empty([10, 4]), position: rt.empty([6, 4]), type: rt.empty([2, 4]) };
    const tablesOk = { ...tables, position: rt.empty([8, 4]) };
    const out = rt.empty([2, 8, 4]), outBad = rt.empty([2, 8, 5]);
    await expect(() => embedding(rt, ids, types, tables, out)).toThrow(/embedding: the position table \[6, 4\] has fewer rows than the sequence length 8/);
    await expect(() => embedding(rt, ids, types, tablesOk, outBad)).toThrow(/embedding: out \[2, 8, 5\] must hold 16 tokens × h = 4/);
    await expect(() => embedding(rt, ids, typesBad, tablesOk, out)).toThrow(/embedding: types \[15\] must have the shape of ids \[2, 8\]/);
    await expect(() => embedding(rt, ids, types, { ...tablesOk, type: rt.empty([2, 3]) }, out)).toThrow(/embedding: type \[2, 3\] must have width h = 4/);
    await expect(() => embeddingBackward(rt, { ids, types, dOut: outBad, grads: tablesOk })).rejects.toThrow(/embedding\.backward: dOut \[2, 8, 5\] must hold 16 tokens/);
    rt.release(ids, types, typesBad, tables.word, tables.position, tables.type, tablesOk.position, out, outBad);
  });
});

describe('embedding f16 output / dOut (lavapipe; adapters without shader-f16 refuse f16 tensors)', () => {
  it('f16 out is the f32 sum rounded; f16 dOut gives the token-order f32 gradient of the rounded values', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    // h odd and a multiple of 4 (four columns per access).
    for (const [B, T, h, V, P, NT] of [[5, 13, 7, 9, 16, 2], [5, 13, 8, 9, 16, 2]]) {
      const s = { N: B * T, T, h, V, P, NT };
      const { host, dev } = setup(rt, s, B, 5);
      for (const variant of ['per-invocation', 'plain'] as const) {
        const out = rt.empty([B, T, h], 'f16');
        await rt.run(await embedding(rt, dev.ids, dev.types, dev.tables, out, { variant }));
        const want32 = Float32Array.from(refEmbedding(host.ids, host.types, host.word, host.pos, host.type, s));
        // f32 sum (two adds) then one f16 rounding: equal to the rounded reference except at rounding ties.
        expectClose(await rt.read(out), fromF16(toF16(want32)), { atol: 1e-3, rtol: 1e-3 }, `f16 forward h=${h} ${variant}`);
        const dOut = fromF16(toF16(randomNormal(s.N * h, 8)));
        const tdOut = rt.upload(dOut, [B, T, h], 'f16');
        const grads: EmbeddingTables = { word: rt.empty([V, h]), position: rt.empty([P, h]), type: rt.empty([NT, h]) };
        await rt.run(...(await embeddingBackward(rt, { ids: dev.ids, types: dev.types, dOut: tdOut, grads, variant })));
        expect(Array.from(await rt.read(grads.word))).toEqual(Array.from(f32TokenOrder(host.ids, dOut, s)));
        // Sums of ≤ 65 terms in f32 of f16-exact inputs.
        expectClose(await rt.read(grads.position), refEmbeddingBackward(host.ids, host.types, dOut, s).position, { atol: 1e-5, rtol: 1e-5 }, `f16 position h=${h} ${variant}`);
        rt.release(out, tdOut, grads.word, grads.position, grads.type);
      }
      rt.release(dev.ids, dev.types, dev.tables.word, dev.tables.position, dev.tables.type);
    }
  });
});
