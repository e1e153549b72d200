// A linear layer's weight and bias gradients (src/kernels/weight-grad.ts) by either route —
// the bias gradient summed inside the weight gradient's product, or a column-sum pass after
// it — against the float64 reference, written and accumulated, at a bias offset; and the
// route measured per shape class and cached.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getRuntime, randomArray, expectClose } from './harness.js';
import { adapterKey } from '../src/kernels/autotune.js';
import { shapeClass, defaultTile, MATMUL_TUNE_KEY } from '../src/kernels/matmul.js';
import { weightAndBiasGrad, BIAS_GRAD_ROUTES, BIAS_GRAD_TUNE_KEY, type BiasGradRoute } from '../src/kernels/weight-grad.js';
import { refMatmulFull, refRowSums } from '../src/kernels/ref/matmul.js';
import { tempDir } from './tmp.js';
import type { Runtime } from '../src/gpu/runtime.js';

const [ROWS, OUT, IN] = [37, 20, 13];
const cls = shapeClass({ M: OUT, N: IN, K: ROWS, transA: true, transB: false, dtypeA: 'f32', dtypeB: 'f32' });

/**
 * Autotune options whose cache holds the untuned default tile for the products (tuning every
 * tile would compile dozens of pipelines) and, given a route, that route for this shape class.
 */
function seeded(rt: Runtime, route?: BiasGradRoute) {
  const cacheFile = join(tempDir('electrolite-bias-grad-'), 'autotune.json');
  const entries: Record<string, unknown> = {};
  for (const rowSums of [false, true])
    for (const [M, N, K] of [[OUT, IN, ROWS], [Math.min(OUT, 256), Math.min(IN, 256), Math.min(ROWS, 512)]])
      entries[`${adapterKey(rt)}|${MATMUL_TUNE_KEY}|${shapeClass({ M, N, K, transA: true, transB: false, dtypeA: 'f32', dtypeB: 'f32', rowSums })}`] = { choice: defaultTile(rt), ms: 1, when: 'test' };
  if (route) entries[`${adapterKey(rt)}|${BIAS_GRAD_TUNE_KEY}|${cls}`] = { choice: route, ms: 1, when: 'test' };
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify({ version: 1, entries }));
  return { enabled: true, cacheFile };
}

describe('weight and bias gradients', () => {
  for (const route of BIAS_GRAD_ROUTES)
    it(`${route}: dW and db match the reference, written and accumulated, db at an offset`, async () => {
      const rt = await getRuntime();
      const opts = seeded(rt, route);
      for (const accumulate of [false, true]) {
        const dy = randomArray(ROWS * OUT, 1), x = randomArray(ROWS * IN, 2), W0 = randomArray(OUT * IN, 3), b0 = randomArray(OUT + 7, 4);
        const tdy = rt.upload(dy, [ROWS, OUT]), tx = rt.upload(x, [ROWS, IN]), tW = rt.upload(W0, [OUT, IN]), tb = rt.upload(b0, [OUT + 7]);
        const ops = await weightAndBiasGrad(rt, { dy: tdy, x: tx, dW: tW, db: tb, dbOffset: 3, accumulate, label: 'test', autotune: opts });
        // One product, or a product and the column-sum pass.
        expect(ops.map((op) => op.label)[0]).toBe('test.dW');
        expect(ops.some((op) => op.label.startsWith('test.db'))).toBe(route === 'column-sum');
        if (route === 'row-sums') expect(ops.length).toBe(1);
        await rt.run(...ops);
        const tol = { atol: 1e-5, rtol: 1e-5 };
        expectClose(await rt.read(tW), refMatmulFull(dy, x, OUT, ROWS, IN, { transA: true, accumulate }, W0), tol, `dW ${route} accumulate=${accumulate}`);
        const db = await rt.read(tb);
        expectClose(db.subarray(3, 3 + OUT), refRowSums(dy, OUT, ROWS, true, accumulate ? b0.subarray(3, 3 + OUT) : undefined), tol, `db ${route} accumulate=${accumulate}`);
        expect([...db.subarray(0, 3), ...db.subarray(3 + OUT)]).toEqual([...b0.subarray(0, 3), ...b0.subarray(3 + OUT)].map(Math.fround));
        rt.release(tdy, tx, tW, tb);
      }
    });

  it('the route is measured once per shape class and cached', async () => {
    const rt = await getRuntime();
    const { cacheFile } = seeded(rt);
    const tdy = rt.upload(randomArray(ROWS * OUT, 5), [ROWS, OUT]), tx = rt.upload(randomArray(ROWS * IN, 6), [ROWS, IN]), tW = rt.empty([OUT, IN]), tb = rt.empty([OUT]);
    await weightAndBiasGrad(rt, { dy: tdy, x: tx, dW: tW, db: tb, accumulate: true, label: 'test', autotune: { enabled: true, cacheFile } });
    const entry = JSON.parse(readFileSync(cacheFile, 'utf8')).entries[`${adapterKey(rt)}|${BIAS_GRAD_TUNE_KEY}|${cls}`];
    expect(BIAS_GRAD_ROUTES).toContain(entry.choice);
    rt.release(tdy, tx, tW, tb);
  });
});
