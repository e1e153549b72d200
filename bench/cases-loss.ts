// Benchmark cases for losses, the optimizer, clipping and sampling at small-BERT shapes:
// batch 32 × 128 tokens, hidden 256, S = 0.15·32·128 ≈ 615 selected positions.
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { xent } from '../src/kernels/xent.js';
import { bce } from '../src/kernels/bce.js';
import { adamw, createStepBuffer } from '../src/kernels/adamw.js';
import { clipGradNorm } from '../src/kernels/clip.js';
import { corrupt, crtsDraw, crtsState, gumbelSample, selectPositions, selectionCapacity, vocabTables } from '../src/kernels/sampling.js';

const N = 32 * 128, S = 615, H = 256;
const ids = (n: number, V: number) => Uint32Array.from({ length: n }, (_, i) => 5 + ((i * 7919) % (V - 5)));

export function lossCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const V of [8192, 30522]) {
    cases.push({
      kernel: 'xent.fwd+bwd',
      shape: `S${S} h${H} V${V}`,
      // useful work: logits, dHidden, dWeight (2·S·V·h each); recomputing the logits in the
      // backward (more than one chunk) is overhead, not counted.
      flops: 6 * S * V * H,
      async setup(rt) {
        const T = {
          hidden: rt.upload(fill(S * H, 1), [S, H]),
          weight: rt.upload(fill(V * H, 2), [V, H]),
          bias: rt.zeros([V]),
          labels: rt.upload(ids(S, V), [S], 'u32'),
          meta: rt.upload([S], [1], 'u32'),
          dHidden: rt.empty([S, H]),
          dWeight: rt.zeros([V, H]),
          dBias: rt.zeros([V]),
        };
        const x = await xent(rt, T);
        return { ops: [...x.forward, ...x.backward], release: () => { x.release(); rt.release(...Object.values(T)); } };
      },
    });
  }
  cases.push({
    kernel: 'bce.fwd+bwd',
    shape: `[${N}]`,
    bytes: 5 * 4 * N,
    async setup(rt) {
      const z = rt.upload(fill(N, 3), [N]), y = rt.zeros([N]), w = rt.upload(new Float32Array(N).fill(1), [N]), d = rt.empty([N]);
      const b = await bce(rt, { logits: z, target: y, weight: w, dlogits: d }, { lambda: 50 });
      return { ops: [...b.forward, ...b.backward], release: () => { b.release(); rt.release(z, y, w, d); } };
    },
  });
  const P = 10_000_000;
  cases.push({
    kernel: 'clip+adamw',
    shape: `[${P}]`,
    bytes: 4 * P * 8, // clip reads grad; AdamW reads grad, param, m, v and writes param, m, v
    async setup(rt) {
      const param = rt.upload(fill(P, 4), [P]), grad = rt.upload(fill(P, 5), [P]), m = rt.zeros([P]), v = rt.zeros([P]);
      const step = createStepBuffer(rt, 1, 1e-4);
      const c = await clipGradNorm(rt, [grad], 1);
      const op = await adamw(rt, { param, grad, m, v }, c.state, step, { decay: true });
      return { ops: [...c.ops, op], release: () => { c.release(); rt.release(param, grad, m, v, c.state); } };
    },
  });
  cases.push({
    kernel: 'sampling.select+mlm',
    shape: `[${N}] V30522`,
    async setup(rt) {
      const vt = vocabTables(rt, 30522, [0, 100, 101, 102, 103]);
      const t = rt.upload(ids(N, 30522), [N], 'u32');
      const step = createStepBuffer(rt);
      const sel = await selectPositions(rt, t, vt, step, { p: 0.15, capacity: selectionCapacity(N, 0.15), seed: 1337 });
      const op = await corrupt(rt, 'mlm', t, vt, sel, step, { seed: 1337, maskId: 103 });
      return { ops: [...sel.ops, op], release: () => { sel.release(); vt.release(); rt.release(t); } };
    },
  });
  cases.push({
    kernel: 'sampling.select+crts',
    shape: `[${N}] V30522 K100`,
    async setup(rt) {
      const V = 30522, K = 100;
      const vt = vocabTables(rt, V, [0, 100, 101, 102, 103]);
      const t = rt.upload(ids(N, V), [N], 'u32');
      const step = createStepBuffer(rt);
      const sel = await selectPositions(rt, t, vt, step, { p: 0.15, capacity: selectionCapacity(N, 0.15), seed: 1 });
      const st = crtsState(rt, Array.from({ length: V }, (_, v) => v % K), K, vt);
      const op = await crtsDraw(rt, t, sel, st, vt, step, { seed: 1 });
      return { ops: [...sel.ops, op], release: () => { sel.release(); st.release(); vt.release(); rt.release(t); } };
    },
  });
  cases.push({
    kernel: 'sampling.gumbel',
    shape: `S${S} V8192`,
    async setup(rt) {
      const V = 8192;
      const vt = vocabTables(rt, V, [0, 100, 101, 102, 103]);
      const t = rt.upload(ids(N, V), [N], 'u32');
      const step = createStepBuffer(rt);
      const sel = await selectPositions(rt, t, vt, step, { p: 0.15, capacity: S, seed: 1 });
      const logits = rt.upload(fill(S * V, 6), [S, V]);
      const g = await gumbelSample(rt, sel, vt, [{ logits, v0: 0, vcount: V }], step, { seed: 1 });
      return { ops: [...sel.ops, ...g.ops], release: () => { g.release(); sel.release(); vt.release(); rt.release(t, logits); } };
    },
  });
  return cases;
}
