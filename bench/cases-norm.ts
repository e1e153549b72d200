// Benchmark cases for normalisation, activations, dropout, embeddings and reductions at
// small-BERT shapes: 4096 tokens (batch 32 × seq 128) × hidden 256, FFN 1024, attention
// probabilities [32·4·128, 128], vocabularies 8192 and 30522. Row kernels are timed in each
// layout this adapter has, which is how rowLayout's 'auto' choice was made.
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import type { Runtime, Op } from '../src/gpu/runtime.js';
import type { DType, Tensor } from '../src/gpu/tensor.js';
import { layerNorm, layerNormBackward } from '../src/kernels/layernorm.js';
import { softmax, softmaxBackward } from '../src/kernels/softmax.js';
import { gelu, geluBackward } from '../src/kernels/gelu.js';
import { dropout, dropoutRng } from '../src/kernels/dropout.js';
import { embedding, embeddingBackward } from '../src/kernels/embedding.js';
import { argmaxRows, reduceAll, type RowVariant } from '../src/kernels/reduce.js';
import { castToF16 } from '../src/kernels/elementwise.js';
import { gatherRows, scatterRows } from '../src/kernels/gather.js';

const N = 4096, H = 256;

function ids(n: number, v: number, seed: number): Uint32Array {
  let s = seed >>> 0;
  return Uint32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Zipf-like: many repeats of small ids, as real text.
    return Math.floor((s / 2 ** 32) ** 3 * v);
  });
}

function withTensors(rt: Runtime, make: (t: (data: ArrayLike<number>, shape: number[], dtype?: DType) => Tensor) => Promise<Op[]>): Promise<{ ops: Op[]; release(): void }> {
  const all: Tensor[] = [];
  const t = (data: ArrayLike<number>, shape: number[], dtype: DType = 'f32') => {
    const x = rt.upload(data, shape, dtype);
    all.push(x);
    return x;
  };
  return make(t).then((ops) => ({ ops, release: () => rt.release(...all) }));
}

/**
 * Row kernels in one layout each. 'auto' (what training uses) is in normCases(); the sweep
 * over every layout (rowLayoutCases, slow on CPU adapters: the workgroup-tree layouts take
 * 10–30× longer there) is what rowLayout's choice rests on; it is run by hand, e.g. from a
 * script, since `subgroups` cases need an adapter that has them.
 */
export function rowLayoutCases(variants: RowVariant[] = ['per-invocation', 'plain', 'subgroups']): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const variant of variants) {
    const tag = variant === 'auto' ? '' : `[${variant}]`;
    const sg = (rt: Runtime) => {
      if (variant === 'subgroups' && !rt.caps.subgroups) throw new Error(`bench ${variant}: this adapter has no subgroups`);
    };
    cases.push({
      kernel: `layernorm${tag}`,
      shape: `[${N}, ${H}]`,
      bytes: 2 * 4 * N * H,
      setup: (rt) => {
        sg(rt);
        return withTensors(rt, async (t) => {
          const x = t(fill(N * H, 1), [N, H]), g = t(fill(H, 2), [H]), b = t(fill(H, 3), [H]), y = t(new Float32Array(N * H), [N, H]), st = t(new Float32Array(2 * N), [N, 2]);
          return [await layerNorm(rt, x, g, b, y, st, { variant })];
        });
      },
    });
    cases.push({
      kernel: `layernorm.backward${tag}`,
      shape: `[${N}, ${H}]`,
      bytes: 5 * 4 * N * H,
      setup: (rt) => {
        sg(rt);
        return withTensors(rt, async (t) => {
          const x = t(fill(N * H, 1), [N, H]), g = t(fill(H, 2), [H]), b = t(fill(H, 3), [H]), y = t(new Float32Array(N * H), [N, H]), st = t(new Float32Array(2 * N), [N, 2]);
          const dy = t(fill(N * H, 4), [N, H]), dx = t(new Float32Array(N * H), [N, H]), dg = t(new Float32Array(H), [H]), db = t(new Float32Array(H), [H]);
          await rt.run(await layerNorm(rt, x, g, b, y, st));
          return layerNormBackward(rt, { dy, x, gamma: g, stats: st, dx, dgamma: dg, dbeta: db, variant });
        });
      },
    });
    const SR = 32 * 4 * 128, SC = 128;
    cases.push({
      kernel: `softmax${tag}`,
      shape: `[${SR}, ${SC}]`,
      bytes: 2 * 4 * SR * SC,
      setup: (rt) => {
        sg(rt);
        return withTensors(rt, async (t) => {
          const x = t(fill(SR * SC, 5), [SR, SC]), y = t(new Float32Array(SR * SC), [SR, SC]);
          return [await softmax(rt, x, y, { variant })];
        });
      },
    });
    cases.push({
      kernel: `softmax.backward${tag}`,
      shape: `[${SR}, ${SC}]`,
      bytes: 3 * 4 * SR * SC,
      setup: (rt) => {
        sg(rt);
        return withTensors(rt, async (t) => {
          const y = t(fill(SR * SC, 5), [SR, SC]), dy = t(fill(SR * SC, 6), [SR, SC]), dx = t(new Float32Array(SR * SC), [SR, SC]);
          return [await softmaxBackward(rt, y, dy, dx, { variant })];
        });
      },
    });
  }
  return cases;
}

export function normCases(): BenchCase[] {
  const cases: BenchCase[] = rowLayoutCases(['auto']);
  cases.push({
    kernel: 'layernorm.residual',
    shape: `[${N}, ${H}]`,
    bytes: 4 * 4 * N * H,
    setup: (rt) =>
      withTensors(rt, async (t) => {
        const x = t(fill(N * H, 1), [N, H]), r = t(fill(N * H, 7), [N, H]), g = t(fill(H, 2), [H]), b = t(fill(H, 3), [H]);
        const y = t(new Float32Array(N * H), [N, H]), s = t(new Float32Array(N * H), [N, H]), st = t(new Float32Array(2 * N), [N, 2]);
        return [await layerNorm(rt, x, g, b, y, st, { residual: r, sum: s })];
      }),
  });
  const F = 4 * H;
  for (const bwd of [false, true])
    cases.push({
      kernel: bwd ? 'gelu.erf.backward' : 'gelu.erf',
      shape: `[${N}, ${F}]`,
      bytes: (bwd ? 3 : 2) * 4 * N * F,
      setup: (rt) =>
        withTensors(rt, async (t) => {
          const x = t(fill(N * F, 8), [N, F]), dy = t(fill(N * F, 9), [N, F]), o = t(new Float32Array(N * F), [N, F]);
          return [bwd ? await geluBackward(rt, x, dy, o) : await gelu(rt, x, o)];
        }),
    });
  cases.push({
    kernel: 'dropout p=0.1',
    shape: `[${N}, ${H}]`,
    bytes: 2 * 4 * N * H,
    setup: async (rt) => {
      const r = await withTensors(rt, async (t) => {
        const x = t(fill(N * H, 10), [N, H]), o = t(new Float32Array(N * H), [N, H]), s = t([1, 2], [2], 'u32');
        return [await dropout(rt, x, o, { rate: 0.1, rng: s, stream: 0 })];
      });
      void dropoutRng;
      return r;
    },
  });
  for (const V of [8192, 30522]) {
    const T = 128, B = N / T;
    cases.push({
      kernel: 'embedding',
      shape: `[${B}, ${T}] V=${V} h=${H}`,
      bytes: 3 * 4 * N * H,
      setup: (rt) =>
        withTensors(rt, async (t) => {
          const i = t(ids(N, V, 1), [B, T], 'u32'), ty = t(new Uint32Array(N), [B, T], 'u32');
          const tables = { word: t(fill(V * H, 1), [V, H]), position: t(fill(512 * H, 2), [512, H]), type: t(fill(2 * H, 3), [2, H]) };
          return [await embedding(rt, i, ty, tables, t(new Float32Array(N * H), [B, T, H]))];
        }),
    });
    cases.push({
      kernel: 'embedding.backward',
      shape: `[${B}, ${T}] V=${V} h=${H}`,
      // dOut read three times (word, position, type) and the word table written.
      bytes: 4 * (3 * N * H + V * H),
      setup: (rt) =>
        withTensors(rt, async (t) => {
          const i = t(ids(N, V, 1), [B, T], 'u32'), ty = t(new Uint32Array(N), [B, T], 'u32');
          const grads = { word: t(new Float32Array(V * H), [V, H]), position: t(new Float32Array(512 * H), [512, H]), type: t(new Float32Array(2 * H), [2, H]) };
          return embeddingBackward(rt, { ids: i, types: ty, dOut: t(fill(N * H, 4), [B, T, H]), grads });
        }),
    });
  }
  cases.push(...f16Cases());
  cases.push({
    kernel: 'reduce_all.sumsq',
    shape: `[30522, ${H}]`,
    bytes: 4 * 30522 * H,
    setup: (rt) =>
      withTensors(rt, async (t) => {
        const x = t(fill(30522 * H, 11), [30522, H]), o = t([0], [1]);
        return reduceAll(rt, 'sumsq', x, o);
      }),
  });
  cases.push({
    kernel: 'reduce_rows.argmax',
    shape: '[512, 8192]',
    bytes: 4 * 512 * 8192,
    setup: (rt) =>
      withTensors(rt, async (t) => {
        const x = t(fill(512 * 8192, 12), [512, 8192]), o = t(new Uint32Array(512), [512], 'u32');
        return [await argmaxRows(rt, x, o)];
      }),
  });
  return cases;
}

/**
 * The row and elementwise kernels of a mixed-precision step, f16 activations (statistics and
 * arithmetic f32): the residual LayerNorm with its fused dropout and its backward, GELU both
 * ways, dropout, the rows of the last FFN gathered and scattered back, and the f32 → f16
 * cast of the weights the matmuls read.
 */
function f16Cases(): BenchCase[] {
  type Make = (rt: Runtime, t: (data: ArrayLike<number>, shape: number[], dtype?: DType) => Tensor) => Promise<Op[]>;
  const cases: BenchCase[] = [];
  const add = (kernel: string, shape: number[], bytes: number, make: Make): void => {
    cases.push({ kernel: `${kernel} f16`, shape: `[${shape.join(', ')}]`, bytes, needs: 'f16', setup: (rt) => withTensors(rt, (t) => make(rt, t)) });
  };
  const F = 4 * H, NH = N * H;
  const ln = (t: Parameters<Make>[1]) => {
    const rng = t([1, 2], [2], 'u32');
    return { x: t(fill(NH, 1), [N, H], 'f16'), r: t(fill(NH, 7), [N, H], 'f16'), g: t(fill(H, 2), [H]), b: t(fill(H, 3), [H]), y: t(new Float32Array(NH), [N, H], 'f16'),
      s: t(new Float32Array(NH), [N, H], 'f16'), st: t(new Float32Array(2 * N), [N, 2]), dropout: { rate: 0.1, rng, stream: 0 } };
  };
  add('layernorm.residual+dropout', [N, H], 2 * 4 * NH, async (rt, t) => {
    const a = ln(t);
    return [await layerNorm(rt, a.x, a.g, a.b, a.y, a.st, { residual: a.r, sum: a.s, dropout: a.dropout })];
  });
  add('layernorm.backward+dropout', [N, H], 2 * 5 * NH, async (rt, t) => {
    const a = ln(t);
    await rt.run(await layerNorm(rt, a.x, a.g, a.b, a.y, a.st, { residual: a.r, sum: a.s, dropout: a.dropout }));
    const dy = t(fill(NH, 4), [N, H], 'f16'), dx = t(new Float32Array(NH), [N, H], 'f16'), dxd = t(new Float32Array(NH), [N, H], 'f16');
    return layerNormBackward(rt, { dy, x: a.s, gamma: a.g, stats: a.st, dx, dgamma: t(new Float32Array(H), [H]), dbeta: t(new Float32Array(H), [H]), dropout: { options: a.dropout, dx: dxd } });
  });
  for (const bwd of [false, true])
    add(bwd ? 'gelu.erf.backward' : 'gelu.erf', [N, F], (bwd ? 3 : 2) * 2 * N * F, async (rt, t) => {
      const x = t(fill(N * F, 8), [N, F], 'f16'), dy = t(fill(N * F, 9), [N, F], 'f16'), o = t(new Float32Array(N * F), [N, F], 'f16');
      return [bwd ? await geluBackward(rt, x, dy, o) : await gelu(rt, x, o)];
    });
  add('dropout p=0.1', [N, H], 2 * 2 * NH, async (rt, t) => [await dropout(rt, t(fill(NH, 10), [N, H], 'f16'), t(new Float32Array(NH), [N, H], 'f16'), { rate: 0.1, rng: t([1, 2], [2], 'u32'), stream: 0 })]);
  // The last FFN's rows (EncoderOptions.outputRows): 768 selection rows of [4096, 256] gathered, and scattered back.
  const C = 768, sel = (t: Parameters<Make>[1]) => t(Uint32Array.from({ length: C }, (_, k) => (k < 614 ? Math.floor((k * N) / 614) : 0xffffffff)), [C], 'u32');
  add('gather_rows', [C, H], 2 * 2 * C * H, async (rt, t) => [await gatherRows(rt, t(fill(NH, 12), [N, H], 'f16'), sel(t), t(new Float32Array(C * H), [C, H], 'f16'))]);
  add('gather_rows.backward', [N, H], 2 * 2 * NH, async (rt, t) => scatterRows(rt, t(fill(C * H, 13), [C, H], 'f16'), sel(t), t(new Uint32Array(N), [N], 'u32'), t(new Float32Array(NH), [N, H], 'f16')));
  add('elementwise.cast', [F, H], 6 * F * H, async (rt, t) => [await castToF16(rt, t(fill(F * H, 11), [F, H]), t(new Float32Array(F * H), [F, H], 'f16'))]);
  return cases;
}
