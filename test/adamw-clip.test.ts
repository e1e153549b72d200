// Global-norm clipping and fused AdamW against float64 references.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, expectClose } from './harness.js';
import { clipGradNorm } from '../src/kernels/clip.js';
import { adamw, createStepBuffer, unitClipState, writeStep } from '../src/kernels/adamw.js';
import { refClip } from '../src/kernels/ref/clip.js';
import { refAdamWStep } from '../src/kernels/ref/adamw.js';

describe('clip (global gradient norm)', () => {
  it('matches the reference above and below the threshold, over many tensors of odd sizes', async () => {
    const rt = await getRuntime();
    const sizes = [1, 7, 257, 40_000, 3, 16_385, 11, 5, 2, 9]; // 10 tensors: more than 8 bindings
    const host = sizes.map((n, i) => randomArray(n, 100 + i, -0.05, 0.05));
    const grads = host.map((h, i) => rt.upload(h, [h.length], 'f32', `g${i}`));
    const norm = refClip(host, Infinity).norm;
    for (const maxNorm of [norm * 0.5, norm * 2, 0]) {
      const c = await clipGradNorm(rt, grads, maxNorm);
      await rt.run(...c.ops);
      const st = await rt.read(c.state);
      const want = refClip(host, maxNorm);
      // ~56k squares summed in f32 in a tree: relative error well under 1e-5.
      expectClose(st.slice(0, 3), [want.scale, want.norm, want.sumsq], { atol: 1e-9, rtol: 1e-5 }, `clip maxNorm=${maxNorm}`);
      expect(st[3]).toBe(0);
      if (maxNorm === norm * 2 || maxNorm === 0) expect(st[0]).toBe(1);
      else expect(st[0]).toBeLessThan(0.51);
      c.release();
      rt.release(c.state);
    }
    rt.release(...grads);
  });

  it('flags a non-finite gradient (NaN or Inf) and is deterministic', async () => {
    const rt = await getRuntime();
    const a = randomArray(5000, 1), b = randomArray(33, 2);
    const ta = rt.upload(a, [5000]), tb = rt.upload(b, [33]);
    const c = await clipGradNorm(rt, [ta, tb], 1);
    await rt.run(...c.ops);
    const first = await rt.read(c.state);
    await rt.run(...c.ops);
    expect(await rt.read(c.state)).toEqual(first);
    expect(first[3]).toBe(0);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const b2 = b.slice();
      b2[17] = bad;
      rt.write(tb, b2);
      await rt.run(...c.ops);
      const st = await rt.read(c.state);
      expect(st[3], `flag for ${bad}`).toBe(1);
      expect(st[0]).toBe(1);
    }
    c.release();
    rt.release(ta, tb, c.state);
  });

  it('rejects bad inputs with the op name', async () => {
    const rt = await getRuntime();
    const i = rt.empty([4], 'i32', 'gi');
    await expect(clipGradNorm(rt, [], 1)).rejects.toThrow(/clip: no gradient tensors/);
    await expect(clipGradNorm(rt, [i], 1)).rejects.toThrow(/clip: grads\[0\] \('gi'\) has dtype i32/);
    rt.release(i);
  });
});

describe('adamw (fused)', () => {
  it('matches a float64 reference over several steps, with and without decay, with clipping', async () => {
    const rt = await getRuntime();
    const step = createStepBuffer(rt);
    // 1032 and 516, multiples of 4, take the kernel's vec4 path; 1, 1031 and 517 its element-wise one.
    for (const [n, decay] of [[1, true], [1031, true], [517, false], [1032, true], [516, false]] as const) {
      const p0 = randomArray(n, n, -1, 1);
      const param = rt.upload(p0, [n], 'f32', 'p'), grad = rt.empty([n]), m = rt.zeros([n]), v = rt.zeros([n]);
      const gHost = rt.empty([n], 'f32', 'gHost');
      const cfg = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decay };
      const clip = await clipGradNorm(rt, [grad], 0.3);
      const op = await adamw(rt, { param, grad, m, v }, clip.state, step, cfg);
      const ref = { param: Float64Array.from(p0), m: new Float64Array(n), v: new Float64Array(n) };
      for (let t = 1; t <= 6; t++) {
        const g = randomArray(n, 1000 * t + n, -0.2, 0.2);
        if (t === 3) g.fill(0); // a zero gradient: only decay moves the params
        rt.write(grad, g);
        const lr = 1e-3 * t;
        writeStep(rt, step, t, lr);
        await rt.run(...clip.ops, op);
        const c = (await rt.read(clip.state))[0];
        const want = refClip([g], 0.3).scale;
        expect(Math.abs(c - want)).toBeLessThan(1e-5 * want);
        refAdamWStep(ref, g, { step: t, lr, ...cfg, clipScale: want });
      }
      // f32 state over 6 steps; bias corrections 1 − β^t computed in f32 (rel. err ~1e-4 on 1−β2):
      // the update lr·m̂/√v̂ carries that relative error, so param differs by < lr·1e-4·few.
      expectClose(await rt.read(param), ref.param, { atol: 2e-6, rtol: 1e-5 }, `param n=${n} decay=${decay}`);
      expectClose(await rt.read(m), ref.m, { atol: 1e-7, rtol: 1e-4 }, `m n=${n}`);
      expectClose(await rt.read(v), ref.v, { atol: 1e-9, rtol: 1e-4 }, `v n=${n}`);
      clip.release();
      rt.release(param, grad, m, v, gHost, clip.state);
    }
  });

  it('skips the update when the clip state says non-finite; unit clip state means no scaling', async () => {
    const rt = await getRuntime();
    const step = createStepBuffer(rt, 1, 0.01);
    for (const n of [37, 36]) { // element-wise and vec4 paths
      const p0 = randomArray(n, 9);
      const param = rt.upload(p0, [n]), grad = rt.upload(randomArray(n, 10), [n]), m = rt.zeros([n]), v = rt.zeros([n]);
      const bad = rt.upload([1, 0, 0, 1], [4]);
      await rt.run(await adamw(rt, { param, grad, m, v }, bad, step, { decay: true }));
      expect(await rt.read(param)).toEqual(p0);
      expect(Array.from(await rt.read(m)).every((x) => x === 0)).toBe(true);
      const unit = unitClipState(rt);
      await rt.run(await adamw(rt, { param, grad, m, v }, unit, step, { decay: false }));
      // First step of Adam moves each param by ≈ lr·sign(g).
      const p1 = await rt.read(param);
      for (let i = 0; i < n; i++) expect(Math.abs(Math.abs(p1[i] - p0[i]) - 0.01)).toBeLessThan(1e-5);
      rt.release(param, grad, m, v, bad, unit);
    }
  });

  it('rejects mismatched tensors, naming the op and shapes', async () => {
    const rt = await getRuntime();
    const step = createStepBuffer(rt);
    const a = rt.empty([10], 'f32', 'w'), b = rt.empty([11]), c = rt.empty([4]);
    await expect(() => adamw(rt, { param: a, grad: b, m: a, v: a }, c, step, { decay: true })).toThrow(/adamw\[w\]: grad has shape \[11\], param has \[10\]/);
    rt.release(a, b, c);
  });
});
