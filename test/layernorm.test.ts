// LayerNorm forward (plain, fused residual, fused residual with x's dropout) and backward on every row layout this
// adapter has, against the float64 reference; the reference backward against finite
// differences; determinism of dγ/dβ; shape errors.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, randomNormal, expectClose, finiteDifference } from './harness.js';
import { layerNorm, layerNormBackward } from '../src/kernels/layernorm.js';
import { dropout, dropoutBackward, dropoutRng } from '../src/kernels/dropout.js';
import { refLayerNorm, refLayerNormBackward } from '../src/kernels/ref/layernorm.js';
import type { RowVariant } from '../src/kernels/reduce.js';
import { fromF16, toF16 } from '../src/gpu/tensor.js';
import type { Runtime } from '../src/gpu/runtime.js';

function variants(rt: Runtime): RowVariant[] {
  return rt.caps.subgroups ? ['per-invocation', 'plain', 'subgroups'] : ['per-invocation', 'plain'];
}

// Odd widths and BERT's; rows not a multiple of any tile.
const SHAPES = [[1, 1], [3, 7], [5, 128], [9, 257], [2, 768], [67, 33]] as const;

function inputs(rows: number, h: number, seed: number) {
  // A non-zero mean per row tests the two-pass variance.
  const x = randomNormal(rows * h, seed, 2).map((v, i) => v + 3 * Math.sin(Math.floor(i / h)));
  return { x, gamma: randomArray(h, seed + 1, 0.5, 1.5), beta: randomArray(h, seed + 2, -0.5, 0.5), dy: randomNormal(rows * h, seed + 3) };
}

describe('layernorm forward', () => {
  it('matches the float64 reference (plain and residual), every layout', async () => {
    const rt = await getRuntime();
    for (const variant of variants(rt))
      for (const [rows, h] of SHAPES) {
        // BERT's eps on most shapes, a larger one on some (its effect on rstd is visible).
        for (const eps of h === 128 ? [1e-12, 1e-2] : [1e-12]) {
          const { x, gamma, beta } = inputs(rows, h, rows * 31 + h);
          const res = randomNormal(rows * h, h);
          const tx = rt.upload(x, [rows, h]), tg = rt.upload(gamma, [h]), tb = rt.upload(beta, [h]), tr = rt.upload(res, [rows, h]);
          const y = rt.empty([rows, h]), stats = rt.empty([rows, 2]), y2 = rt.empty([rows, h]), stats2 = rt.empty([rows, 2]), sum = rt.empty([rows, h]);
          await rt.run(
            await layerNorm(rt, tx, tg, tb, y, stats, { eps, variant }),
            await layerNorm(rt, tx, tg, tb, y2, stats2, { eps, variant, residual: tr, sum }),
          );
          const what = `${rows}x${h} eps=${eps} ${variant}`;
          const ref = refLayerNorm(x, gamma, beta, rows, h, eps);
          // f32 mean/var over ≤768 values of size ~5: x̂ good to ~1e-6 relative; y = x̂γ+β, |y| ≲ 6.
          expectClose(await rt.read(y), ref.y, { atol: 2e-5, rtol: 1e-4 }, `y ${what}`);
          const st = await rt.read(stats);
          expectClose(st.filter((_, i) => i % 2 === 0), ref.mean, { atol: 1e-5, rtol: 1e-5 }, `mean ${what}`);
          // h = 1 gives var 0, rstd = 1/sqrt(eps): relative error only.
          expectClose(st.filter((_, i) => i % 2 === 1), ref.rstd, { atol: 0, rtol: 1e-4 }, `rstd ${what}`);
          const s = Float32Array.from(x, (v, i) => v + res[i]);
          expect(Array.from(await rt.read(sum)), `sum ${what}`).toEqual(Array.from(s));
          const ref2 = refLayerNorm(s, gamma, beta, rows, h, eps);
          expectClose(await rt.read(y2), ref2.y, { atol: 2e-5, rtol: 1e-4 }, `residual y ${what}`);
          rt.release(tx, tg, tb, tr, y, stats, y2, stats2, sum);
        }
      }
  });

  it("dropout of x fused into the residual add: the same bits as the dropout op and then the residual LayerNorm (every layout, odd and vec4 widths)", async () => {
    const rt = await getRuntime();
    const rng = dropoutRng(rt, 1234, 7);
    const dtype = 'f32';
    for (const variant of variants(rt))
        for (const [rows, h] of [[3, 7], [9, 257], [5, 128], [2, 768]] as const) {
          const { x, gamma, beta } = inputs(rows, h, rows * 13 + h);
          const res = randomNormal(rows * h, h + 5);
          const tx = rt.upload(x, [rows, h], dtype), tr = rt.upload(res, [rows, h], dtype), tg = rt.upload(gamma, [h]), tb = rt.upload(beta, [h]);
          const dropped = rt.empty([rows, h], dtype), outs = [0, 1].map(() => ({ y: rt.empty([rows, h], dtype), stats: rt.empty([rows, 2]), sum: rt.empty([rows, h], dtype) }));
          const drop = { rate: 0.3, rng, stream: 11 };
          await rt.run(
            await dropout(rt, tx, dropped, drop),
            await layerNorm(rt, dropped, tg, tb, outs[0].y, outs[0].stats, { variant, residual: tr, sum: outs[0].sum }),
            await layerNorm(rt, tx, tg, tb, outs[1].y, outs[1].stats, { variant, residual: tr, sum: outs[1].sum, dropout: drop }),
          );
          const what = `${rows}x${h} ${dtype} ${variant}`;
          for (const k of ['sum', 'stats', 'y'] as const) expect(Array.from(await rt.read(outs[1][k])), `${k} ${what}`).toEqual(Array.from(await rt.read(outs[0][k])));
          // Some elements dropped, some kept: the mask is not trivial.
          const d = await rt.read(dropped);
          expect(d.some((v) => v === 0) && d.some((v) => v !== 0), `mask ${what}`).toBe(true);
          rt.release(tx, tr, tg, tb, dropped, ...outs.flatMap((o) => [o.y, o.stats, o.sum]));
        }
    const x = rt.empty([2, 4]), g = rt.empty([4]);
    await expect(() => layerNorm(rt, x, g, g, rt.empty([2, 4]), rt.empty([2, 2]), { dropout: { rate: 0.1, rng, stream: 0 } })).toThrow(/layernorm: 'dropout' \(of x\) is only fused with 'residual'/);
    await expect(() => layerNorm(rt, x, g, g, rt.empty([2, 4]), rt.empty([2, 2]), { residual: x, sum: rt.empty([2, 4]), dropout: { rate: 1, rng, stream: 0 } })).toThrow(/layernorm.residual: rate must be in \[0, 1\), got 1/);
    rt.release(x, g, rng);
  });

  it('f16: the fused dropout\'s sum is the f32 kernel\'s rounded once (the dropped value unrounded), y within f16 error; backward dx through it likewise', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) {
      expect(() => rt.empty([2, 2], 'f16')).toThrow(/shader-f16/);
      return;
    }
    const rng = dropoutRng(rt, 77, 2);
    const r16 = (a: Float32Array) => fromF16(toF16(a));
    for (const variant of variants(rt))
      for (const [rows, h] of [[9, 257], [5, 128]] as const) {
        // f16-exact inputs, so both precisions start from the same numbers.
        const { x, gamma, beta, dy } = inputs(rows, h, rows * 7 + h);
        const [x16, res16, dy16] = [x, randomNormal(rows * h, h + 9), dy].map(r16);
        const drop = { rate: 0.3, rng, stream: 5 };
        const tg = rt.upload(gamma, [h]), tb = rt.upload(beta, [h]), dg = rt.empty([h]), db = rt.empty([h]);
        const run = async (dtype: 'f32' | 'f16') => {
          const tx = rt.upload(x16, [rows, h], dtype), tr = rt.upload(res16, [rows, h], dtype), tdy = rt.upload(dy16, [rows, h], dtype);
          const [y, sum, dx, dd] = [0, 1, 2, 3].map(() => rt.empty([rows, h], dtype)), stats = rt.empty([rows, 2]);
          await rt.run(
            await layerNorm(rt, tx, tg, tb, y, stats, { variant, residual: tr, sum, dropout: drop }),
            ...(await layerNormBackward(rt, { dy: tdy, x: sum, gamma: tg, stats, dx, dgamma: dg, dbeta: db, variant, dropout: { options: drop, dx: dd } })),
          );
          const out = { y: await rt.read(y), sum: await rt.read(sum), dx: await rt.read(dx), dd: await rt.read(dd) };
          rt.release(tx, tr, tdy, y, sum, dx, dd, stats);
          return out;
        };
        const [a, b] = [await run('f32'), await run('f16')];
        const what = `${rows}x${h} ${variant}`;
        // One f16 rounding of the f32 kernel's sum: the dropped value was not rounded first.
        expectClose(b.sum, a.sum, { atol: 1e-6, rtol: 2 ** -11 }, `sum ${what}`);
        expect(b.sum.every((v, i) => (v === 0) === (a.sum[i] === 0)), `zeros of the sum ${what}`).toBe(true);
        expectClose(b.y, a.y, { atol: 4e-3, rtol: 4e-3 }, `y ${what}`);
        // dx from the f16 sums; the dropped dx is dx's dropout before dx's rounding: the same mask.
        expectClose(b.dx, a.dx, { atol: 2e-2, rtol: 1e-2 }, `dx ${what}`);
        expectClose(b.dd, a.dd, { atol: 2e-2, rtol: 1e-2 }, `dropped dx ${what}`);
        expect(b.dd.every((v, i) => (v === 0) === (a.dd[i] === 0)), `mask of the dropped dx ${what}`).toBe(true);
        expect(a.dd.some((v) => v === 0) && a.dd.some((v) => v !== 0), `mask ${what}`).toBe(true);
        rt.release(tg, tb, dg, db);
      }
    rt.release(rng);
  });

  it('rejects bad shapes naming the op and the shapes', async () => {
    const rt = await getRuntime();
    const x = rt.empty([4, 6]), g = rt.empty([5]), g6 = rt.empty([6]), b = rt.empty([6]), y = rt.empty([4, 6]), st = rt.empty([4, 2]), st3 = rt.empty([3, 2]);
    await expect(() => layerNorm(rt, x, g, b, y, st)).toThrow(/layernorm: beta \[6\] must match gamma \[5\]/);
    await expect(() => layerNorm(rt, x, g6, b, y, st3)).toThrow(/layernorm: stats \[3, 2\] must hold \(mean, rstd\) per row: \[4, 2\]/);
    await expect(() => layerNorm(rt, x, g6, b, y, st, { residual: y })).toThrow(/layernorm\.residual: the fused residual variant needs 'sum'/);
    const x7 = rt.empty([4, 7]);
    await expect(() => layerNorm(rt, x7, g6, b, y, st)).toThrow(/layernorm: x \[4, 7\] must end in the normalised width h = 6/);
    rt.release(x, g, g6, b, y, st, st3, x7);
  });
});

describe('layernorm backward', () => {
  it('the float64 reference backward matches finite differences', () => {
    const rows = 3, h = 5, eps = 1e-5;
    const { x, gamma, beta, dy } = inputs(rows, h, 77);
    const ref = refLayerNormBackward(dy, x, gamma, rows, h, eps);
    const loss = (xx: ArrayLike<number>, gg: ArrayLike<number>, bb: ArrayLike<number>) => refLayerNorm(xx, gg, bb, rows, h, eps).y.reduce((s, v, i) => s + v * dy[i], 0);
    // Central differences in float64, step 1e-6: truncation and rounding ≲ 1e-7.
    const tol = { atol: 1e-6, rtol: 1e-5 };
    expectClose(ref.dx, finiteDifference((v) => loss(v, gamma, beta), Float64Array.from(x)), tol, 'dx vs FD');
    expectClose(ref.dgamma, finiteDifference((v) => loss(x, v, beta), Float64Array.from(gamma)), tol, 'dgamma vs FD');
    expectClose(ref.dbeta, finiteDifference((v) => loss(x, gamma, v), Float64Array.from(beta)), tol, 'dbeta vs FD');
  });

  it('GPU backward matches the reference backward, every layout; accumulate adds', async () => {
    const rt = await getRuntime();
    for (const variant of variants(rt))
      for (const [rows, h] of [...SHAPES, [600, 5], [5000, 3]] as const) {
        const eps = 1e-12;
        const { x, gamma, beta, dy } = inputs(rows, h, rows + 13 * h);
        const tx = rt.upload(x, [rows, h]), tg = rt.upload(gamma, [h]), tb = rt.upload(beta, [h]), tdy = rt.upload(dy, [rows, h]);
        const y = rt.empty([rows, h]), stats = rt.empty([rows, 2]), dx = rt.empty([rows, h]);
        const dgamma = rt.upload(new Float32Array(h).fill(1), [h]), dbeta = rt.upload(new Float32Array(h).fill(-1), [h]);
        const ops = [await layerNorm(rt, tx, tg, tb, y, stats, { eps, variant }), ...(await layerNormBackward(rt, { dy: tdy, x: tx, gamma: tg, stats, dx, dgamma, dbeta, variant }))];
        await rt.run(...ops);
        const ref = refLayerNormBackward(dy, x, gamma, rows, h, eps);
        const what = `${rows}x${h} ${variant}`;
        // h = 1: x̂ = 0 and dx = 0 exactly in both; otherwise f32 row sums over ≤768 terms.
        expectClose(await rt.read(dx), ref.dx, { atol: 1e-4, rtol: 1e-3 }, `dx ${what}`);
        // Column sums over up to 5000 rows (blocks of 20 rows) of |dy·x̂| ≲ 10: f32 error ≲ 1e-4.
        const dg = Float32Array.from(await rt.read(dgamma)), db = Float32Array.from(await rt.read(dbeta));
        expectClose(dg, ref.dgamma, { atol: 2e-4, rtol: 1e-4 }, `dgamma ${what}`);
        expectClose(db, ref.dbeta, { atol: 2e-4, rtol: 1e-4 }, `dbeta ${what}`);
        // Run again: bit-identical; then accumulate onto it.
        await rt.run(...ops);
        expect(Float32Array.from(await rt.read(dgamma))).toEqual(dg);
        const acc = await layerNormBackward(rt, { dy: tdy, x: tx, gamma: tg, stats, dx, dgamma, dbeta, variant, accumulate: true });
        await rt.run(...acc);
        expectClose(await rt.read(dbeta), ref.dbeta.map((v) => 2 * v), { atol: 4e-4, rtol: 1e-4 }, `dbeta accumulated ${what}`);
        rt.release(tx, tg, tb, tdy, y, stats, dx, dgamma, dbeta);
      }
  });

  it('dx through the forward\'s fused dropout: the same bits as dropoutBackward of dx (every layout, odd and vec4 widths, rate 0 a copy)', async () => {
    const rt = await getRuntime();
    const rng = dropoutRng(rt, 99, 4);
    for (const variant of variants(rt))
      for (const [rows, h] of [[3, 7], [9, 257], [5, 128]] as const)
        for (const rate of [0.25, 0]) {
          const { x, gamma, beta, dy } = inputs(rows, h, rows * 5 + h);
          const tx = rt.upload(x, [rows, h]), tg = rt.upload(gamma, [h]), tb = rt.upload(beta, [h]), tdy = rt.upload(dy, [rows, h]);
          const y = rt.empty([rows, h]), stats = rt.empty([rows, 2]), dg = rt.empty([h]), db = rt.empty([h]);
          const [dx0, dx1, dd0, dd1] = [0, 1, 2, 3].map(() => rt.empty([rows, h]));
          const options = { rate, rng, stream: 3 };
          await rt.run(
            await layerNorm(rt, tx, tg, tb, y, stats, { variant }),
            ...(await layerNormBackward(rt, { dy: tdy, x: tx, gamma: tg, stats, dx: dx0, dgamma: dg, dbeta: db, variant })),
            await dropoutBackward(rt, dx0, dd0, options),
            ...(await layerNormBackward(rt, { dy: tdy, x: tx, gamma: tg, stats, dx: dx1, dgamma: dg, dbeta: db, variant, dropout: { options, dx: dd1 } })),
          );
          const what = `${rows}x${h} rate ${rate} ${variant}`;
          expect(Array.from(await rt.read(dx1)), `dx ${what}`).toEqual(Array.from(await rt.read(dx0)));
          const want = await rt.read(dd0);
          expect(Array.from(await rt.read(dd1)), `dropped dx ${what}`).toEqual(Array.from(want));
          if (rate > 0) expect(want.some((v) => v === 0), `mask ${what}`).toBe(true);
          rt.release(tx, tg, tb, tdy, y, stats, dg, db, dx0, dx1, dd0, dd1);
        }
    const x = rt.empty([2, 4]), g = rt.empty([4]), st = rt.empty([2, 2]);
    await expect(() => layerNormBackward(rt, { dy: x, x, gamma: g, stats: st, dx: x, dgamma: g, dbeta: g, dropout: { options: { rate: 0.1, rng, stream: 0 }, dx: x } })).rejects.toThrow(/layernorm.backward: dropout.dx must not share a buffer with dx/);
    rt.release(x, g, st, rng);
  });

  it('rejects bad shapes naming the op and the shapes', async () => {
    const rt = await getRuntime();
    const x = rt.empty([4, 6]), g = rt.empty([6]), st = rt.empty([4, 2]), dy = rt.empty([4, 5]), dg = rt.empty([6]), db = rt.empty([7]);
    await expect(() => layerNormBackward(rt, { dy, x, gamma: g, stats: st, dx: x, dgamma: dg, dbeta: dg })).rejects.toThrow(/layernorm\.backward: dy \[4, 5\] must have the shape of x \[4, 6\]/);
    await expect(() => layerNormBackward(rt, { dy: x, x, gamma: g, stats: st, dx: x, dgamma: dg, dbeta: db })).rejects.toThrow(/layernorm\.backward: dbeta \[7\] must match gamma \[6\]/);
    rt.release(x, g, st, dy, dg, db);
  });
});

describe('layernorm f16 storage (lavapipe; adapters without shader-f16 refuse f16 tensors)', () => {
  it('forward (plain, residual) and backward on f16 activations match the references, every layout', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) return expect(() => rt.empty([1], 'f16')).toThrow(/shader-f16/);
    const r16 = (a: Float32Array) => fromF16(toF16(a));
    for (const variant of variants(rt))
      for (const [rows, h] of [[3, 7], [9, 257], [5, 128]] as const) {
        const { x: x32, gamma, beta, dy: dy32 } = inputs(rows, h, rows * 7 + h);
        const x = r16(x32), dy = r16(dy32), res = r16(randomNormal(rows * h, 99));
        const tx = rt.upload(x, [rows, h], 'f16'), tres = rt.upload(res, [rows, h], 'f16'), tdy = rt.upload(dy, [rows, h], 'f16');
        const tg = rt.upload(gamma, [h]), tb = rt.upload(beta, [h]);
        const y = rt.empty([rows, h], 'f16'), s = rt.empty([rows, h], 'f16'), dx = rt.empty([rows, h], 'f16');
        const st = rt.empty([rows, 2]), st2 = rt.empty([rows, 2]), dg = rt.empty([h]), db = rt.empty([h]), y2 = rt.empty([rows, h], 'f16');
        await rt.run(
          await layerNorm(rt, tx, tg, tb, y, st, { variant }),
          await layerNorm(rt, tx, tg, tb, y2, st2, { variant, residual: tres, sum: s }),
          ...(await layerNormBackward(rt, { dy: tdy, x: tx, gamma: tg, stats: st, dx, dgamma: dg, dbeta: db, variant })),
        );
        const what = `${rows}x${h} f16 ${variant}`;
        // Outputs rounded to f16 (half an ulp: 2^-11 relative); statistics and sums in f32.
        const tol = { atol: 2e-3, rtol: 2e-3 };
        expectClose(await rt.read(y), refLayerNorm(x, gamma, beta, rows, h, 1e-12).y, tol, `y ${what}`);
        const sum = r16(Float32Array.from(x, (v, i) => v + res[i]));
        expect(Array.from(await rt.read(s)), `sum ${what}`).toEqual(Array.from(sum));
        expectClose(await rt.read(y2), refLayerNorm(sum, gamma, beta, rows, h, 1e-12).y, tol, `residual y ${what}`);
        const ref = refLayerNormBackward(dy, x, gamma, rows, h, 1e-12);
        expectClose(await rt.read(dx), ref.dx, tol, `dx ${what}`);
        // dγ, dβ are f32 sums of the f16 inputs: f32 accuracy.
        expectClose(await rt.read(dg), ref.dgamma, { atol: 2e-4, rtol: 1e-4 }, `dgamma ${what}`);
        expectClose(await rt.read(db), ref.dbeta, { atol: 2e-4, rtol: 1e-4 }, `dbeta ${what}`);
        rt.release(tx, tres, tdy, tg, tb, y, s, dx, st, st2, dg, db, y2);
      }
    const x = rt.empty([2, 3], 'f16'), g = rt.empty([3]), st = rt.empty([2, 2]);
    await expect(() => layerNorm(rt, x, g, g, rt.empty([2, 3]), st)).toThrow(/layernorm: y has dtype f32, expected f16/);
    rt.release(x, g, st);
  });
});
