// The kernels mixed precision adds or extends, against float64 references: the dynamic loss
// scale in clipping (unscaling, halving on overflow, growth, AdamW's update equal to the
// unscaled one), the loss-scaled seeds of xent and bce (exactly S × the unscaled gradients
// for a power-of-two S), and f16 storage in column sums, row gather/scatter, the cast of
// master weights and the elementwise add. f16 parts need shader-f16 (lavapipe); on the
// OpenGL adapter they check that f16 is refused.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, randomInt, expectClose } from './harness.js';
import { clipGradNorm, createLossScaler, lossScalerOf } from '../src/kernels/clip.js';
import { adamw, createStepBuffer, writeStep } from '../src/kernels/adamw.js';
import { refClipDynamic } from '../src/kernels/ref/clip.js';
import { refAdamWStep } from '../src/kernels/ref/adamw.js';
import { xent } from '../src/kernels/xent.js';
import { bce } from '../src/kernels/bce.js';
import { columnSum } from '../src/kernels/colsum.js';
import { refColumnSum } from '../src/kernels/ref/colsum.js';
import { gatherRows, scatterRows } from '../src/kernels/gather.js';
import { binary, castToF16 } from '../src/kernels/elementwise.js';
import { fromF16, toF16 } from '../src/gpu/tensor.js';

/** Values as f16 storage would hold them. */
const asF16 = (x: Float32Array) => fromF16(toF16(x));

describe('dynamic loss scale (clip DYNAMIC)', () => {
  it('unscales the norm, halves on overflow, grows after the interval, matching the reference step by step', async () => {
    const rt = await getRuntime();
    const sizes = [3, 5000, 17, 9, 2, 1, 7, 11, 40]; // more tensors than bindings
    const S0 = 1024, growth = 3, maxNorm = 0.5;
    const scaler = createLossScaler(rt, S0);
    const grads = sizes.map((n, i) => rt.empty([n], 'f32', `g${i}`));
    const c = await clipGradNorm(rt, grads, maxNorm, undefined, { scaler, growthInterval: growth });
    let want: [number, number, number, number] = [S0, 0, 0, 0];
    // good, good, overflow (Inf), good ×3 (grows), overflow (NaN), overflow (Inf), good
    const plan = ['ok', 'ok', Infinity, 'ok', 'ok', 'ok', NaN, -Infinity, 'ok'] as const;
    for (const [k, what] of plan.entries()) {
      const S = want[0];
      const host = sizes.map((n, i) => randomArray(n, 10 * k + i, -0.05, 0.05).map((v) => v * S));
      if (what !== 'ok') host[1][123] = what;
      host.forEach((h, i) => rt.write(grads[i], h));
      await rt.run(...c.ops);
      const r = refClipDynamic(host, maxNorm, want, growth);
      const st = await rt.read(c.state);
      expect(st[3], `step ${k}: nonfinite flag`).toBe(r.nonfinite ? 1 : 0);
      if (!r.nonfinite) expectClose([st[0], st[1]], [r.scale, r.norm], { atol: 1e-12, rtol: 1e-5 }, `step ${k}: AdamW's multiplier and the true norm`);
      expect(Array.from(await rt.read(scaler)), `step ${k}: scaler`).toEqual(r.scaler);
      want = r.scaler;
    }
    // Two overflows, a growth, one more overflow: S0 → 512 → 1024 → 256 (the 2 overflows in a row) → still 256.
    expect(lossScalerOf(await rt.read(scaler))).toEqual({ scale: 256, goodSteps: 1, skipped: 3, overflowRun: 0 });
    c.release();
    rt.release(scaler, c.state, ...grads);
  });

  it('the scale stays within [2^-16, 2^24]', async () => {
    const rt = await getRuntime();
    const g = rt.empty([4], 'f32', 'g');
    for (const [S, bad, growth, next] of [[2 ** -16, true, 5, 2 ** -16], [2 ** 24, false, 1, 2 ** 24]] as const) {
      const scaler = createLossScaler(rt, S);
      const c = await clipGradNorm(rt, [g], 1, undefined, { scaler, growthInterval: growth });
      rt.write(g, bad ? [1, Infinity, 0, 0] : [1, 2, 3, 4]);
      await rt.run(...c.ops);
      expect(lossScalerOf(await rt.read(scaler)).scale).toBe(next);
      c.release();
      rt.release(scaler, c.state);
    }
    rt.release(g);
    expect(() => createLossScaler(rt, 0)).toThrow(/positive finite/);
    const scaler = createLossScaler(rt);
    await expect(clipGradNorm(rt, [scaler], 1, undefined, { scaler, growthInterval: 0 })).rejects.toThrow(/growth interval must be a positive integer/);
    rt.release(scaler);
  });

  it('AdamW on scaled gradients makes the unscaled update, and skips an overflowed step', async () => {
    const rt = await getRuntime();
    const n = 301, S = 4096;
    const p0 = randomArray(n, 1), g = randomArray(n, 2, -0.1, 0.1);
    const param = rt.upload(p0, [n]), grad = rt.upload(g.map((v) => v * S), [n]);
    const m = rt.zeros([n]), v = rt.zeros([n]);
    const scaler = createLossScaler(rt, S);
    const clip = await clipGradNorm(rt, [grad], 1e9, undefined, { scaler, growthInterval: 100 });
    const step = createStepBuffer(rt);
    const opts = { lr: 1e-3, weightDecay: 0.01, decay: true };
    const op = await adamw(rt, { param, grad, m, v }, clip.state, step, { decay: true, weightDecay: opts.weightDecay });
    writeStep(rt, step, 1, opts.lr);
    await rt.run(...clip.ops, op);
    const want = { param: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
    refAdamWStep(want, g, { step: 1, lr: opts.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: opts.weightDecay, decay: true, clipScale: 1 });
    expectClose(await rt.read(param), want.param, { atol: 1e-7, rtol: 1e-5 }, 'AdamW on S·g = AdamW on g');
    const before = await rt.read(param);
    rt.write(grad, g.map((x, i) => (i === 7 ? Infinity : x * S)));
    writeStep(rt, step, 2, opts.lr);
    await rt.run(...clip.ops, op);
    expect(await rt.read(param)).toEqual(before);
    expect(lossScalerOf(await rt.read(scaler)).scale).toBe(S / 2);
    clip.release();
    rt.release(param, grad, m, v, scaler, clip.state);
  });
});

describe('loss-scaled gradient seeds', () => {
  it('xent: with a power-of-two scale every gradient is exactly S × the unscaled one, the loss unchanged', async () => {
    const rt = await getRuntime();
    const [S, h, V, count, S2] = [13, 9, 41, 11, 256];
    const hidden = randomArray(S * h, 3), weight = randomArray(V * h, 4, -0.5, 0.5), bias = randomArray(V, 5, -0.2, 0.2);
    const labels = Uint32Array.from(randomInt(S, 6, 0, V));
    const scale = rt.upload([S2, 0, 0, 0], [4]);
    const run = async (gradScale?: typeof scale) => {
      const T = {
        hidden: rt.upload(hidden, [S, h]), weight: rt.upload(weight, [V, h]), bias: rt.upload(bias, [V]),
        labels: rt.upload(labels, [S], 'u32'), meta: rt.upload([count, 0, 0, 0], [4], 'u32'),
        dHidden: rt.empty([S, h]), dWeight: rt.zeros([V, h]), dBias: rt.zeros([V]),
      };
      const x = await xent(rt, T, { lossWeight: 0.5, chunk: 16, gradScale });
      await rt.run(...x.forward, ...x.backward);
      const out = { stats: await rt.read(x.stats), dHidden: await rt.read(T.dHidden), dWeight: await rt.read(T.dWeight), dBias: await rt.read(T.dBias) };
      x.release();
      rt.release(...Object.values(T));
      return out;
    };
    const plain = await run(), scaled = await run(scale);
    expect(scaled.stats).toEqual(plain.stats);
    for (const k of ['dHidden', 'dWeight', 'dBias'] as const) expect(Array.from(scaled[k]), k).toEqual(Array.from(plain[k], (x) => x * S2));
    expect(plain.dHidden.some((x) => x !== 0)).toBe(true);
    rt.release(scale);
  });

  it('bce: dlogits exactly S × the unscaled ones, written and accumulated; the loss unchanged', async () => {
    const rt = await getRuntime();
    const n = 777, S2 = 1 / 8;
    const z = randomArray(n, 7, -6, 6), y = Float32Array.from(randomInt(n, 8, 0, 2)), w = Float32Array.from(randomInt(n, 9, 0, 2));
    const scale = rt.upload([S2, 0, 0, 0], [4]);
    const run = async (gradScale?: typeof scale) => {
      const t = { logits: rt.upload(z, [n]), target: rt.upload(y, [n]), weight: rt.upload(w, [n]), dlogits: rt.empty([n]) };
      const b = await bce(rt, t, { lambda: 50, gradScale });
      const acc = await bce(rt, t, { lambda: 50, gradScale, accumulate: true });
      await rt.run(...b.forward, ...b.backward);
      const written = await rt.read(t.dlogits);
      await rt.run(...acc.forward, ...acc.backward);
      const out = { out: await rt.read(b.out), written, accumulated: await rt.read(t.dlogits) };
      b.release();
      acc.release();
      rt.release(...Object.values(t));
      return out;
    };
    const plain = await run(), scaled = await run(scale);
    expect(scaled.out).toEqual(plain.out);
    expect(Array.from(scaled.written)).toEqual(Array.from(plain.written, (x) => x * S2));
    expect(Array.from(scaled.accumulated)).toEqual(Array.from(plain.accumulated, (x) => x * S2));
    rt.release(scale);
  });
});

describe('f16 storage in the small kernels', () => {
  it('column sums of an f16 dy (one and two passes, a strided view) match the reference', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    let seed = 30;
    for (const [rows, cols, rowsPerBlock] of [[1, 1, undefined], [67, 13, undefined], [301, 70, 64], [129, 3, 5]] as const) {
      const x = asF16(randomArray(rows * cols, seed++));
      const tx = rt.upload(x, [rows, cols], 'f16'), db = rt.upload(randomArray(cols, seed++), [cols]);
      const d0 = await rt.read(db);
      await rt.run(...(await columnSum(rt, tx, db, { rowsPerBlock, accumulate: true })));
      // f32 sums of ≤ 301 exact f16 values |x| ≤ 1.
      expectClose(await rt.read(db), refColumnSum(x, rows, cols, cols, 0, d0), { atol: 1e-6 * rows + 1e-6, rtol: 1e-6 }, `f16 ${rows}x${cols} rowsPerBlock ${rowsPerBlock}`);
      rt.release(tx, db);
    }
    // A column window of a wider f16 buffer: 5 of 12 columns from offset 4.
    const [rows, ld, cols, off] = [33, 12, 5, 4];
    const x = asF16(randomArray(rows * ld, 99));
    const tx = rt.upload(x, [rows, ld], 'f16'), db = rt.empty([cols]);
    await rt.run(...(await columnSum(rt, { tensor: tx, batch: [1, 1], rows, cols, ld, batchStrides: [0, 0], offset: off }, db)));
    expectClose(await rt.read(db), refColumnSum(x, rows, cols, ld, off), { atol: 1e-5, rtol: 1e-6 }, 'f16 strided view');
    rt.release(tx, db);
  });

  it('gather from f16 rows into f32 or f16, scatter f32 or f16 rows into f16 (zeros elsewhere), width odd and a multiple of 4', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    for (const width of [7, 12]) {
      const [rows, cap] = [23, 6];
      const x = asF16(randomArray(rows * width, 40));
      const list = Uint32Array.from([5, 0, 22, 9, 0xffffffff, 0xffffffff]);
      const tx = rt.upload(x, [rows, width], 'f16'), tl = rt.upload(list, [cap], 'u32'), out = rt.empty([cap, width]);
      await rt.run(await gatherRows(rt, tx, tl, out));
      const want = new Float32Array(cap * width);
      list.forEach((r, k) => { if (r < rows) want.set(x.subarray(r * width, (r + 1) * width), k * width); });
      expect(await rt.read(out)).toEqual(want);
      const dy = randomArray(cap * width, 41);
      const tdy = rt.upload(dy, [cap, width]), inv = rt.empty([rows], 'u32'), dx = rt.upload(randomArray(rows * width, 42), [rows, width], 'f16');
      await rt.run(...(await scatterRows(rt, tdy, tl, inv, dx)));
      const wantDx = new Float32Array(rows * width);
      list.forEach((r, k) => { if (r < rows) wantDx.set(dy.subarray(k * width, (k + 1) * width), r * width); });
      expect(await rt.read(dx)).toEqual(asF16(wantDx));
      // f16 on both sides (the encoder's own rows): an exact move each way.
      const out16 = rt.empty([cap, width], 'f16'), dx16 = rt.upload(randomArray(rows * width, 43), [rows, width], 'f16');
      await rt.run(await gatherRows(rt, tx, tl, out16));
      expect(await rt.read(out16)).toEqual(want);
      await rt.run(...(await scatterRows(rt, out16, tl, inv, dx16)));
      const back = new Float32Array(rows * width);
      list.forEach((r, k) => { if (r < rows) back.set(want.subarray(k * width, (k + 1) * width), r * width); });
      expect(await rt.read(dx16)).toEqual(back);
      rt.release(tx, tl, out, tdy, inv, dx, out16, dx16);
    }
  });

  it('the f32 → f16 cast rounds to nearest (overflow to Inf, which the loss scale relies on); the f16 add', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    const a = Float32Array.from([...randomArray(1001, 50, -3, 3), 1e-8, 65504, 1 / 3]);
    const ta = rt.upload(a, [a.length]), t16 = rt.empty([a.length], 'f16');
    await rt.run(await castToF16(rt, ta, t16));
    expect(await rt.read(t16)).toEqual(asF16(a));
    // Overflow: a matmul or a cast storing a value beyond f16's range must give ±Inf — by
    // element (3) and by quads packed as words (4, 8: the vec4 path).
    for (const n of [3, 4, 8]) {
      const vals = [70000, -1e6, 65519, 1 / 3, -65520, 2 ** -25, -(2 ** -24), 1e-3].slice(0, n);
      const big = rt.upload(vals, [n]), big16 = rt.empty([n], 'f16');
      await rt.run(await castToF16(rt, big, big16));
      expect(Array.from(await rt.read(big16)), `n=${n}`).toEqual(Array.from(asF16(Float32Array.from(vals))));
      expect(Array.from(await rt.read(big16)).slice(0, 3)).toEqual([Infinity, -Infinity, 65504]);
      rt.release(big, big16);
    }
    // The scalar path on an odd size, the same rounding.
    const odd = rt.upload(a.subarray(0, 1001), [1001]), odd16 = rt.empty([1001], 'f16');
    await rt.run(await castToF16(rt, odd, odd16));
    expect(await rt.read(odd16)).toEqual(asF16(a.subarray(0, 1001)));
    rt.release(odd, odd16);
    const b = asF16(randomArray(a.length, 51, -3, 3));
    const tb = rt.upload(b, [a.length], 'f16'), sum = rt.empty([a.length], 'f16');
    await rt.run(await binary(rt, 'add', t16, tb, sum));
    const a16 = asF16(a);
    expect(await rt.read(sum)).toEqual(asF16(Float32Array.from(a16, (x, i) => x + b[i])));
    expect(() => binary(rt, 'add', t16, ta, sum)).toThrow(/elementwise.add: b has dtype f32, expected f16/);
    expect(() => castToF16(rt, ta, ta)).toThrow(/elementwise.cast: out has dtype f32, expected f16/);
    rt.release(ta, t16, tb, sum);
  });
});
