// Attention, forward and backward, both algorithms (fused flash-style kernels; materialised
// scores through the matmuls and the probs/grads row kernels) against the float64 reference:
// odd sequence lengths (not multiples of any tile), head dims 32/64/128, padding from full to
// nearly empty, dropout (mask shared by forward and backward), f16 storage, T = 512, shared
// scratch, bad shapes.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomNormal, expectClose, finiteDifference } from './harness.js';
import { attention, attentionBackward, attentionTileFits, releaseAttentionScratch, ATTENTION_ALGORITHMS, ATTENTION_GPU_TILE_CANDIDATES, ATTENTION_TILE_CANDIDATES, type AttentionAlgorithm, type AttentionDropout, type AttentionScratch, type AttentionTile, type PaddedQueries } from '../src/kernels/attention.js';
import { refAttentionBackward, refAttentionForward, dropoutKeep, type AttentionDims } from '../src/kernels/ref/attention.js';
import type { RowVariant } from '../src/kernels/reduce.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { DType } from '../src/gpu/tensor.js';

interface Case extends AttentionDims {
  lengths: number[];
}

// Lengths: full, nearly empty (1), in between, 0 (defined: out = 0, zero gradients), above T.
const CASES: Case[] = [
  { B: 1, T: 1, H: 1, D: 64, lengths: [1] },
  { B: 2, T: 7, H: 2, D: 32, lengths: [7, 3] },
  { B: 3, T: 33, H: 1, D: 128, lengths: [33, 1, 20] },
  { B: 2, T: 129, H: 2, D: 64, lengths: [129, 70] },
  { B: 3, T: 18, H: 3, D: 32, lengths: [0, 40, 17] },
  // T a multiple of 4: the materialised row kernel's vec4 path, a length inside a quad.
  { B: 2, T: 12, H: 2, D: 32, lengths: [12, 5] },
];

interface Run {
  out: Float32Array;
  lse: Float32Array;
  dqkv: Float32Array;
}

async function runGpu(
  rt: Runtime,
  c: Case,
  qkv: Float32Array,
  dout: Float32Array,
  o: { dropout?: AttentionDropout; tile?: AttentionTile; tileDq?: AttentionTile; tileDkv?: AttentionTile; dtype?: DType; step?: number; algorithm?: AttentionAlgorithm; scratch?: AttentionScratch; keepScores?: boolean; paddedQueries?: PaddedQueries; queryRows?: { limits: number[]; positions: number[] }; rowVariant?: RowVariant } = {},
): Promise<Run & { ops: string[] }> {
  const { B, T, H, D } = c;
  const dtype = o.dtype ?? 'f32';
  const tq = rt.upload(qkv, [B, T, 3 * H * D], dtype, 'qkv');
  const tl = rt.upload(c.lengths, [B], 'u32', 'lengths');
  const to = rt.empty([B, T, H * D], dtype, 'out');
  const tlse = rt.empty([B, H, T], 'f32', 'lse');
  const tg = rt.upload(dout, [B, T, H * D], dtype, 'dout');
  const tdq = rt.empty([B, T, 3 * H * D], dtype, 'dqkv');
  let kept: ReturnType<Runtime['empty']> | null = null;
  const keepScores = o.keepScores ? () => (kept = rt.empty([B * H, T, T], 'f32', 'kept scores')) : undefined;
  const qr = o.queryRows ? { limits: rt.upload(Uint32Array.from(o.queryRows.limits), [2 * B], 'u32'), positions: rt.upload(Uint32Array.from(o.queryRows.positions), [B * T], 'u32') } : undefined;
  const fwd = await attention(rt, tq, tl, to, tlse, { heads: H, dropout: o.dropout, tile: o.tile, algorithm: o.algorithm ?? 'fused', scratch: o.scratch, keepScores, paddedQueries: o.paddedQueries, queryRows: qr, rowVariant: o.rowVariant });
  expect(fwd.keptScores).toBe(kept);
  expect(fwd.algorithm).toBe(o.algorithm ?? 'fused');
  const bwd = await attentionBackward(rt, fwd, tg, tdq, { tileDq: o.tileDq, tileDkv: o.tileDkv });
  if (o.step !== undefined) fwd.setStep(o.step);
  await rt.run(...fwd.ops, ...bwd.ops);
  const r = { out: (await rt.read(to)) as Float32Array, lse: (await rt.read(tlse)) as Float32Array, dqkv: (await rt.read(tdq)) as Float32Array, ops: [...fwd.ops, ...bwd.ops].map((op) => op.label) };
  rt.release(tq, tl, to, tlse, tg, tdq, ...(kept ? [kept] : []), ...(qr ? [qr.limits, qr.positions] : []));
  if (!o.scratch) releaseAttentionScratch(rt, fwd.scratch);
  return r;
}

function inputs(c: Case, seed: number): { qkv: Float32Array; dout: Float32Array } {
  return { qkv: randomNormal(c.B * c.T * 3 * c.H * c.D, seed), dout: randomNormal(c.B * c.T * c.H * c.D, seed + 1) };
}

function label(c: Case): string {
  return `B=${c.B} T=${c.T} H=${c.H} D=${c.D} lengths=[${c.lengths}]`;
}

// f32 tolerances: scores are O(1) (unit-normal inputs, 1/√D scale); softmax and sums over ≤ T
// keys in f32 give errors ~ 1e-6 relative; gradients sum T·D products of O(1) terms.
const TOL_OUT = { atol: 2e-5, rtol: 1e-4 };
const TOL_LSE = { atol: 2e-5, rtol: 1e-5 };
const TOL_GRAD = { atol: 1e-4, rtol: 1e-3 };

describe('attention forward and backward vs float64 reference', () => {
  for (const algorithm of ATTENTION_ALGORITHMS)
    for (const [n, c] of CASES.entries()) {
      it(`${algorithm} ${label(c)}`, async () => {
        const rt = await getRuntime();
        const { qkv, dout } = inputs(c, 100 + n);
        const got = await runGpu(rt, c, qkv, dout, { algorithm });
        const ref = refAttentionForward(qkv, c.lengths, c);
        expectClose(got.out, ref.out, TOL_OUT, `out ${label(c)}`);
        expectClose(got.lse, ref.lse, TOL_LSE, `lse ${label(c)}`);
        expectClose(got.dqkv, refAttentionBackward(qkv, c.lengths, dout, c), TOL_GRAD, `dqkv ${label(c)}`);
      });
    }

  it('a small tile (several workgroups and key tiles per row) gives the same results', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 37, H: 1, D: 32, lengths: [37, 9] };
    const { qkv, dout } = inputs(c, 7);
    const ref = refAttentionForward(qkv, c.lengths, c);
    const refG = refAttentionBackward(qkv, c.lengths, dout, c);
    for (const t of [{ WG: 16, BT: 4 }]) {
      const got = await runGpu(rt, c, qkv, dout, { tile: t, tileDq: t, tileDkv: t });
      expectClose(got.out, ref.out, TOL_OUT, `out tile ${JSON.stringify(t)}`);
      expectClose(got.dqkv, refG, TOL_GRAD, `dqkv tile ${JSON.stringify(t)}`);
    }
  });

  it("every tile a GPU's autotuner may pick (two in their unrolled form), each pass, against the reference (padding, dropout, over every query and over selected ones)", async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 37, H: 2, D: 32, lengths: [37, 9] };
    const { qkv, dout } = inputs(c, 17);
    const dropout = { p: 0.1, seed: 4, stream: 6 };
    const ref = refAttentionForward(qkv, c.lengths, c, undefined, { ...dropout, step: 1 });
    const refG = refAttentionBackward(qkv, c.lengths, dout, c, undefined, { ...dropout, step: 1 });
    // Selected queries: the first of each sequence is every query, the second three of them (see the queryRows tests).
    const positions = [...Array.from({ length: 37 }, (_, t) => t), ...[1, 4, 8].map((t) => 37 + t), ...new Array<number>(34).fill(0xffffffff)];
    const compact = Float32Array.from(qkv);
    const W = c.H * c.D;
    [1, 4, 8].forEach((t, j) => compact.set(qkv.subarray((37 + t) * 3 * W, (37 + t) * 3 * W + W), (37 + j) * 3 * W));
    const dSel = Float32Array.from(dout).fill(0, 37 * W);
    [1, 4, 8].forEach((t, j) => dSel.set(dout.subarray((37 + j) * W, (38 + j) * W), (37 + t) * W));
    const refSel = refAttentionBackward(qkv, c.lengths, dSel, c, undefined, { ...dropout, step: 1 });
    let tried = 0;
    // Every candidate, and the unrolled head-dim loops (the same code, unrolled) at two of them:
    // lavapipe compiles the larger unrolled tiles for many seconds each (WG 128: ~14 s).
    const unrolled = ATTENTION_GPU_TILE_CANDIDATES.filter((t) => t.BT === 8 && (t.WG === 16 || t.WG === 64));
    for (const t of [...ATTENTION_TILE_CANDIDATES, ...unrolled]) {
      if (!(['fwd', 'dq', 'dkv'] as const).every((pass) => attentionTileFits(rt, pass, t, c.D, true))) continue;
      tried++;
      const what = `tile ${JSON.stringify(t)}`;
      const got = await runGpu(rt, c, qkv, dout, { dropout, step: 1, tile: t, tileDq: t, tileDkv: t });
      expectClose(got.out, ref.out, TOL_OUT, `out ${what}`);
      expectClose(got.lse, ref.lse, TOL_LSE, `lse ${what}`);
      expectClose(got.dqkv, refG, TOL_GRAD, `dqkv ${what}`);
      const sel = await runGpu(rt, c, compact, dout, { dropout, step: 1, tile: t, tileDq: t, tileDkv: t, queryRows: { limits: [37, 9, 37, 3], positions } });
      const rows = (x: ArrayLike<number>, from: number, to: number, at: (r: number) => number) => Float64Array.from({ length: (to - from) * W }, (_, i) => x[at(from + Math.floor(i / W)) * W + (i % W)]);
      const sequence2 = (r: number) => 37 + [1, 4, 8][r - 37];
      expectClose(rows(sel.out, 0, 40, (r) => r), [...rows(ref.out, 0, 37, (r) => r), ...rows(ref.out, 37, 40, sequence2)], TOL_OUT, `out, selected queries, ${what}`);
      const kv = (x: ArrayLike<number>) => Float64Array.from({ length: c.B * c.T * 2 * W }, (_, i) => x[Math.floor(i / (2 * W)) * 3 * W + W + (i % (2 * W))]);
      expectClose(kv(sel.dqkv), kv(refSel), TOL_GRAD, `dK, dV, selected queries, ${what}`);
    }
    expect(tried).toBe(ATTENTION_TILE_CANDIDATES.length + unrolled.length);
  });

  it('is deterministic (bit-identical run to run), both algorithms', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 21, H: 2, D: 32, lengths: [21, 5] };
    const { qkv, dout } = inputs(c, 9);
    const dropout = { p: 0.2, seed: 3 };
    for (const algorithm of ATTENTION_ALGORITHMS) {
      const a = await runGpu(rt, c, qkv, dout, { dropout, algorithm });
      const b = await runGpu(rt, c, qkv, dout, { dropout, algorithm });
      expect(Buffer.from(a.out.buffer).equals(Buffer.from(b.out.buffer))).toBe(true);
      expect(Buffer.from(a.dqkv.buffer).equals(Buffer.from(b.dqkv.buffer))).toBe(true);
    }
  });

  for (const algorithm of ATTENTION_ALGORITHMS)
    it(`${algorithm}: T = 512 works (B=1, H=1, D=64)`, async () => {
      const rt = await getRuntime();
      const c: Case = { B: 1, T: 512, H: 1, D: 64, lengths: [500] };
      const { qkv, dout } = inputs(c, 11);
      const got = await runGpu(rt, c, qkv, dout, { algorithm });
      const ref = refAttentionForward(qkv, c.lengths, c);
      expectClose(got.out, ref.out, TOL_OUT, 'out T=512');
      expectClose(got.lse, ref.lse, TOL_LSE, 'lse T=512');
      // 500 keys per row: a little more f32 accumulation error than the small cases.
      expectClose(got.dqkv, refAttentionBackward(qkv, c.lengths, dout, c), { atol: 2e-4, rtol: 2e-3 }, 'dqkv T=512');
    });
});

describe('attention, materialised algorithm', () => {
  it('one scratch holder serves several calls of the same dims; other dims are refused by name', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 13, H: 2, D: 32, lengths: [13, 4] };
    const scratch: AttentionScratch = {};
    const refs = [];
    for (const seed of [41, 43]) {
      const { qkv, dout } = inputs(c, seed);
      const got = await runGpu(rt, c, qkv, dout, { algorithm: 'materialized', scratch });
      expectClose(got.dqkv, refAttentionBackward(qkv, c.lengths, dout, c), TOL_GRAD, `dqkv with shared scratch, seed ${seed}`);
      refs.push(scratch.scores);
    }
    expect(refs[0]).toBeDefined();
    expect(refs[1]).toBe(refs[0]);
    expect(scratch.scores?.shape).toEqual([4, 13, 13]);
    expect(scratch.grads?.shape).toEqual([4, 13, 13]);
    const other: Case = { B: 1, T: 13, H: 2, D: 32, lengths: [13] };
    const { qkv, dout } = inputs(other, 45);
    await expect(runGpu(rt, other, qkv, dout, { algorithm: 'materialized', scratch })).rejects.toThrow(/attention: the shared scratch holds scores \[4, 13, 13\] \(f32\), this call needs f32 \[2, 13, 13\]/);
    releaseAttentionScratch(rt, scratch);
    expect(scratch.scores).toBeUndefined();
  });

  it('i32 lengths give the same results as u32 (both algorithms)', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 11, H: 1, D: 32, lengths: [11, 6] };
    const { qkv } = inputs(c, 47);
    const tq = rt.upload(qkv, [2, 11, 96]);
    for (const algorithm of ATTENTION_ALGORITHMS) {
      const outs: Float32Array[] = [];
      for (const dtype of ['u32', 'i32'] as const) {
        const tl = rt.upload(c.lengths, [2], dtype), to = rt.empty([2, 11, 32]), tlse = rt.empty([2, 1, 11]);
        const f = await attention(rt, tq, tl, to, tlse, { heads: 1, algorithm });
        await rt.run(...f.ops);
        outs.push((await rt.read(to)) as Float32Array);
        releaseAttentionScratch(rt, f.scratch);
        rt.release(tl, to, tlse);
      }
      expect(Buffer.from(outs[1].buffer).equals(Buffer.from(outs[0].buffer))).toBe(true);
      expectClose(outs[0], refAttentionForward(qkv, c.lengths, c).out, TOL_OUT, `${algorithm} i32 lengths`);
    }
    rt.release(tq);
  });

  it('refuses dims whose scores exceed the binding limit, naming the sizes', async () => {
    const rt = await getRuntime();
    // B·H·T² f32 above maxStorageBufferBindingSize: nothing is allocated for the check.
    const T = 512, H = 1, D = 32;
    const B = Math.floor(rt.limits.maxStorageBufferBindingSize / (H * T * T * 4)) + 1;
    const qkv = rt.empty([B, T, 3 * H * D]), len = rt.empty([B], 'u32'), out = rt.empty([B, T, H * D]), lse = rt.empty([B, H, T]);
    await expect(attention(rt, qkv, len, out, lse, { heads: H, algorithm: 'materialized' })).rejects.toThrow(/materialized algorithm cannot run .* scores need \d+ bytes, above this adapter's binding limit/);
    // 'auto' falls back to the fused kernels there.
    const fwd = await attention(rt, qkv, len, out, lse, { heads: H, algorithm: 'auto' });
    expect(fwd.algorithm).toBe('fused');
    rt.release(qkv, len, out, lse);
  });
});

describe('attention, padded queries skipped', () => {
  it("'skip' with dO zero at padded queries: real outputs and every gradient the same bits as 'attend' (both algorithms; dropout, kept scores); materialised leaves padded rows zero", async () => {
    const rt = await getRuntime();
    const c: Case = { B: 3, T: 20, H: 2, D: 32, lengths: [20, 9, 0] };
    const { qkv, dout } = inputs(c, 61);
    const W = c.H * c.D;
    const real = (b: number, t: number) => t < Math.min(c.lengths[b], c.T);
    // The caller's contract: the output gradient is zero at padded positions.
    dout.forEach((_, i) => { if (!real(Math.floor(i / (c.T * W)), Math.floor(i / W) % c.T)) dout[i] = 0; });
    const dropout = { p: 0.2, seed: 5, stream: 1 };
    for (const algorithm of ATTENTION_ALGORITHMS)
      for (const keepScores of algorithm === 'materialized' ? [false, true] : [false]) {
        const what = `${algorithm}${keepScores ? ', kept scores' : ''}`;
        const attend = await runGpu(rt, c, qkv, dout, { algorithm, dropout, step: 2, keepScores });
        const skip = await runGpu(rt, c, qkv, dout, { algorithm, dropout, step: 2, keepScores, paddedQueries: 'skip' });
        expect(Array.from(skip.dqkv), `dqkv ${what}`).toEqual(Array.from(attend.dqkv));
        expectClose(skip.dqkv, refAttentionBackward(qkv, c.lengths, dout, c, undefined, { ...dropout, step: 2 }), TOL_GRAD, `dqkv ${what}`);
        for (let i = 0; i < skip.out.length; i++) {
          const b = Math.floor(i / (c.T * W)), t = Math.floor(i / W) % c.T;
          if (real(b, t)) expect(skip.out[i], `out[${i}] ${what}`).toBe(attend.out[i]);
          else if (algorithm === 'materialized') expect(skip.out[i], `padded out[${i}] ${what}`).toBe(0);
        }
        for (let i = 0; i < skip.lse.length; i++) {
          const b = Math.floor(i / (c.H * c.T)), t = i % c.T;
          if (real(b, t)) expect(skip.lse[i], `lse[${i}] ${what}`).toBe(attend.lse[i]);
          else if (algorithm === 'materialized') expect(skip.lse[i], `padded lse[${i}] ${what}`).toBe(0);
        }
      }
    await expect(attention(rt, rt.empty([1, 4, 96]), rt.upload([4], [1], 'u32'), rt.empty([1, 4, 32]), rt.empty([1, 1, 4]), { heads: 1, paddedQueries: 'none' as PaddedQueries })).rejects.toThrow(/paddedQueries must be attend or skip, got 'none'/);
  });
});

describe("the materialised algorithm's row passes in every layout", () => {
  // CPU adapters pick one invocation per row ('auto'); a GPU the subgroup layout or the
  // workgroup tree, which only these runs check against the reference.
  it('per invocation, workgroup tree and subgroups: the float64 reference (padding, lengths 0 and past T, dropout, kept scores), and padded queries skipped', async () => {
    const rt = await getRuntime();
    const variants: RowVariant[] = rt.caps.subgroups ? ['per-invocation', 'plain', 'subgroups'] : ['per-invocation', 'plain'];
    const dropout = { p: 0.2, seed: 21, stream: 2 };
    for (const c of [CASES[1], CASES[3], CASES[4], CASES[5]]) {
      const { qkv, dout } = inputs(c, 31);
      const W = c.H * c.D;
      const real = (b: number, t: number) => t < Math.min(c.lengths[b], c.T);
      const ref = refAttentionForward(qkv, c.lengths, c, undefined, { ...dropout, step: 2 });
      const dref = refAttentionBackward(qkv, c.lengths, dout, c, undefined, { ...dropout, step: 2 });
      // 'skip': the output gradient zero at padded positions, as its contract says.
      const doutReal = dout.map((v, i) => (real(Math.floor(i / (c.T * W)), Math.floor(i / W) % c.T) ? v : 0));
      const drefReal = refAttentionBackward(qkv, c.lengths, doutReal, c, undefined, { ...dropout, step: 2 });
      for (const rowVariant of variants) {
        for (const keepScores of [false, true]) {
          const what = `${label(c)} ${rowVariant}${keepScores ? ', kept scores' : ''}`;
          const got = await runGpu(rt, c, qkv, dout, { algorithm: 'materialized', dropout, step: 2, keepScores, rowVariant });
          expectClose(got.out, ref.out, TOL_OUT, `out ${what}`);
          expectClose(got.lse, ref.lse, TOL_LSE, `lse ${what}`);
          expectClose(got.dqkv, dref, TOL_GRAD, `dqkv ${what}`);
        }
        const skip = await runGpu(rt, c, qkv, doutReal, { algorithm: 'materialized', dropout, step: 2, paddedQueries: 'skip', rowVariant });
        expectClose(skip.dqkv, drefReal, TOL_GRAD, `dqkv ${label(c)} ${rowVariant}, padded queries skipped`);
        const realOut = (x: ArrayLike<number>) => Float64Array.from({ length: x.length }, (_, i) => (real(Math.floor(i / (c.T * W)), Math.floor(i / W) % c.T) ? x[i] : 0));
        expectClose(skip.out, realOut(ref.out), TOL_OUT, `out ${label(c)} ${rowVariant}, padded queries skipped (zero there)`);
      }
    }
  });
});

describe('attention over selected queries (queryRows)', () => {
  it('the selected queries\' outputs, lse and dQ, and every dK and dV, equal full attention\'s with dO zero elsewhere, either algorithm (dropout at their positions; kept scores; T odd and a multiple of 4)', async () => {
    const rt = await getRuntime();
    for (const c of [{ B: 3, T: 20, H: 2, D: 32, lengths: [20, 9, 0] }, { B: 2, T: 13, H: 1, D: 64, lengths: [11, 13] }] as Case[]) {
      const { B, T, H, D } = c, W = H * D;
      // Selected positions per sequence: the first and the last real one, none, one.
      const selected = B === 3 ? [[0, 3, 4, 11, 19], [8], []] : [[2, 5, 10], [0, 1, 12]];
      const full = inputs(c, 71), compact = inputs(c, 72);
      // Full attention's inputs: dO zero off the selected positions, the compact run's rows at them.
      const dFull = new Float32Array(full.dout.length);
      const positions = new Array<number>(B * T).fill(0xffffffff);
      for (let b = 0; b < B; b++)
        selected[b].forEach((t, j) => {
          positions[b * T + j] = b * T + t;
          // Compact Q row j of sequence b = position t's Q; K and V stay in place.
          for (let d = 0; d < W; d++) compact.qkv[(b * T + j) * 3 * W + d] = full.qkv[(b * T + t) * 3 * W + d];
          dFull.set(compact.dout.subarray((b * T + j) * W, (b * T + j + 1) * W), (b * T + t) * W);
        });
      for (let r = 0; r < B * T; r++) compact.qkv.set(full.qkv.subarray(r * 3 * W + W, (r + 1) * 3 * W), r * 3 * W + W);
      const limits = [...c.lengths.map((l) => Math.min(l, T)), ...selected.map((s) => s.length)];
      const dropout = { p: 0.2, seed: 9, stream: 3 };
      const ref = refAttentionForward(full.qkv, c.lengths, c, undefined, { ...dropout, step: 4 });
      const dref = refAttentionBackward(full.qkv, c.lengths, dFull, c, undefined, { ...dropout, step: 4 });
      for (const [algorithm, keepScores] of [['materialized', false], ['materialized', true], ['fused', false]] as const) {
        const what = `${algorithm} B=${B} T=${T}${keepScores ? ', kept scores' : ''}`;
        // The fused kernels' smallest tiles, so that a sequence's queries span several workgroups and key tiles.
        const tiles = algorithm === 'fused' ? { tile: { WG: 4, BT: 4 }, tileDq: { WG: 4, BT: 4 }, tileDkv: { WG: 4, BT: 4 } } : {};
        const got = await runGpu(rt, c, compact.qkv, compact.dout, { algorithm, dropout, step: 4, keepScores, queryRows: { limits, positions }, ...tiles });
        const pick = (x: ArrayLike<number>, rowOf: (b: number, j: number) => number, width: number, offset: number, stride: number) =>
          Float64Array.from(selected.flatMap((sel, b) => sel.flatMap((_, j) => Array.from({ length: width }, (_, d) => x[rowOf(b, j) * stride + offset + d]))));
        const atCompact = (b: number, j: number) => b * T + j, atPosition = (b: number, j: number) => b * T + selected[b][j];
        expectClose(pick(got.out, atCompact, W, 0, W), pick(ref.out, atPosition, W, 0, W), TOL_OUT, `out ${what}`);
        expectClose(pick(got.dqkv, atCompact, W, 0, 3 * W), pick(dref, atPosition, W, 0, 3 * W), TOL_GRAD, `dQ ${what}`);
        const kv = (x: ArrayLike<number>) => Float64Array.from({ length: B * T * 2 * W }, (_, i) => x[Math.floor(i / (2 * W)) * 3 * W + W + (i % (2 * W))]);
        expectClose(kv(got.dqkv), kv(dref), TOL_GRAD, `dK, dV ${what}`);
        const lsePick = (x: ArrayLike<number>, rowOf: (b: number, j: number) => number) =>
          Float64Array.from(selected.flatMap((sel, b) => Array.from({ length: H }, (_, h) => sel.map((_, j) => x[(b * H + h) * T + (rowOf(b, j) - b * T)])).flat()));
        expectClose(lsePick(got.lse, atCompact), lsePick(ref.lse, atPosition), TOL_LSE, `lse ${what}`);
        // Rows past each count are zero (the materialised algorithm leaves them as they were: zero here) and cost nothing.
        for (let b = 0; b < B; b++)
          for (let j = selected[b].length; j < T; j++) {
            expect(got.out.subarray((b * T + j) * W, (b * T + j + 1) * W).every((v) => v === 0), `out row ${b}.${j} ${what}`).toBe(true);
            expect(got.dqkv.subarray((b * T + j) * 3 * W, (b * T + j) * 3 * W + W).every((v) => v === 0), `dQ row ${b}.${j} ${what}`).toBe(true);
            for (let h = 0; h < H; h++) expect(got.lse[(b * H + h) * T + j], `lse row ${b}.${h}.${j} ${what}`).toBe(0);
          }
      }
    }
    const q = rt.empty([1, 4, 96]), l = rt.upload([4], [1], 'u32'), o = rt.empty([1, 4, 32]), lse = rt.empty([1, 1, 4]);
    const queryRows = { limits: rt.upload([4, 2], [2], 'u32'), positions: rt.upload([0, 3, 0xffffffff, 0xffffffff], [4], 'u32') };
    await expect(attention(rt, q, l, o, lse, { heads: 1, algorithm: 'materialized', queryRows: { ...queryRows, limits: l } })).rejects.toThrow(/queryRows.limits/);
  });
});

describe('attention dropout', () => {
  it('materialised with the scores kept for the backward: the same bits as recomputing them, one matmul less (dropout, padding)', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 20, H: 3, D: 32, lengths: [20, 9] };
    const { qkv, dout } = inputs(c, 51);
    const dropout = { p: 0.2, seed: 77, stream: 1 };
    const recompute = await runGpu(rt, c, qkv, dout, { algorithm: 'materialized', dropout, step: 3 });
    const kept = await runGpu(rt, c, qkv, dout, { algorithm: 'materialized', dropout, step: 3, keepScores: true });
    for (const k of ['out', 'lse', 'dqkv'] as const) expect(Array.from(kept[k]), k).toEqual(Array.from(recompute[k]));
    expectClose(kept.dqkv, refAttentionBackward(qkv, c.lengths, dout, c, undefined, { ...dropout, step: 3 }), TOL_GRAD, 'dqkv, kept scores');
    expect(recompute.ops.filter((l) => l.endsWith('.scores'))).toEqual(['attention.scores', 'attention_bwd.scores']);
    expect(kept.ops.filter((l) => l.endsWith('.scores'))).toEqual(['attention.scores']);
    // 'fused' never asks for a buffer.
    const fused = await attention(rt, rt.empty([1, 4, 96]), rt.upload([4], [1], 'u32'), rt.empty([1, 4, 32]), rt.empty([1, 1, 4]), { heads: 1, algorithm: 'fused', keepScores: () => { throw new Error('asked'); } });
    expect(fused.keptScores).toBeNull();
    // A wrong buffer is refused by name.
    const bad = () => rt.empty([2, 4, 4], 'f32');
    await expect(attention(rt, rt.empty([1, 4, 96]), rt.upload([4], [1], 'u32'), rt.empty([1, 4, 32]), rt.empty([1, 1, 4]), { heads: 1, algorithm: 'materialized', keepScores: bad })).rejects.toThrow(/attention: keepScores/);
  });

  it('forward and backward use the reference mask (several steps via setStep), both algorithms', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 19, H: 2, D: 32, lengths: [19, 11] };
    const { qkv, dout } = inputs(c, 13);
    for (const algorithm of ATTENTION_ALGORITHMS)
    for (const step of [0, 5]) {
      const drop = { p: 0.25, seed: 1234, stream: 2 };
      const got = await runGpu(rt, c, qkv, dout, { dropout: drop, step, algorithm });
      const d = { ...drop, step };
      const ref = refAttentionForward(qkv, c.lengths, c, undefined, d);
      expectClose(got.out, ref.out, TOL_OUT, `out dropout step ${step}`);
      expectClose(got.lse, ref.lse, TOL_LSE, `lse dropout step ${step}`);
      expectClose(got.dqkv, refAttentionBackward(qkv, c.lengths, dout, c, undefined, d), TOL_GRAD, `dqkv dropout step ${step}`);
    }
  });

  for (const algorithm of ATTENTION_ALGORITHMS)
  it(`${algorithm}: the GPU mask equals the reference mask exactly and keeps 1−p within 4σ`, async () => {
    const rt = await getRuntime();
    // Q = K = 0 makes every probability 1/T; V_j = e_j (T = D) makes out[i, j] = P̃_ij.
    const c: Case = { B: 2, T: 32, H: 2, D: 32, lengths: [32, 32] };
    const { B, T, H, D } = c;
    const qkv = new Float32Array(B * T * 3 * H * D);
    for (let b = 0; b < B; b++) for (let j = 0; j < T; j++) for (let h = 0; h < H; h++) qkv[(b * T + j) * 3 * H * D + 2 * H * D + h * D + j] = 1;
    const p = 0.3;
    const drop = { p, seed: 99, stream: 1, step: 4 };
    const got = await runGpu(rt, c, qkv, new Float32Array(B * T * H * D), { dropout: drop, algorithm });
    let kept = 0;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++)
          for (let j = 0; j < T; j++) {
            const v = got.out[(b * T + i) * H * D + h * D + j];
            const keep = v > 0;
            if (keep !== dropoutKeep(drop, H, b, h, i, j)) throw new Error(`mask differs at b=${b} h=${h} i=${i} j=${j}`);
            if (keep) expect(Math.abs(v - 1 / (T * (1 - p)))).toBeLessThan(1e-6);
            kept += Number(keep);
          }
    const n = B * H * T * T;
    expect(Math.abs(kept / n - (1 - p))).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
  });

  it('p = 0 equals no dropout, bit for bit (both algorithms)', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 1, T: 9, H: 1, D: 64, lengths: [9] };
    const { qkv, dout } = inputs(c, 17);
    for (const algorithm of ATTENTION_ALGORITHMS) {
      const a = await runGpu(rt, c, qkv, dout, { algorithm });
      const b = await runGpu(rt, c, qkv, dout, { dropout: { p: 0, seed: 77, step: 3 }, algorithm });
      expect(Buffer.from(a.out.buffer).equals(Buffer.from(b.out.buffer))).toBe(true);
      expect(Buffer.from(a.dqkv.buffer).equals(Buffer.from(b.dqkv.buffer))).toBe(true);
    }
  });
});

describe('attention reference backward', () => {
  it('matches finite differences of the reference forward (with and without dropout, with padding)', () => {
    const c: Case = { B: 2, T: 5, H: 2, D: 4, lengths: [5, 3] };
    const x = Float64Array.from(randomNormal(c.B * c.T * 3 * c.H * c.D, 21));
    const g = randomNormal(c.B * c.T * c.H * c.D, 22);
    for (const drop of [undefined, { p: 0.4, seed: 5, step: 1 }]) {
      const loss = (v: Float64Array) => {
        const { out } = refAttentionForward(v, c.lengths, c, 0.7, drop);
        let s = 0;
        for (let i = 0; i < out.length; i++) s += out[i] * g[i];
        return s;
      };
      // Central differences of a smooth function in float64: error ~ eps² + roundoff/eps.
      expectClose(refAttentionBackward(x, c.lengths, g, c, 0.7, drop), finiteDifference(loss, x, 1e-5), { atol: 1e-7, rtol: 1e-6 }, `fd ${drop ? 'dropout' : 'plain'}`);
    }
  });
});

describe('attention f16 storage', () => {
  it('f16 variant matches the f32 path (lavapipe), over every query and over selected ones, or is refused without shader-f16', async () => {
    const rt = await getRuntime();
    const c: Case = { B: 2, T: 23, H: 2, D: 64, lengths: [23, 6] };
    const { qkv, dout } = inputs(c, 31);
    if (!rt.caps.f16) {
      expect(() => rt.empty([c.B, c.T, 3 * c.H * c.D], 'f16')).toThrow(/shader-f16/);
      return;
    }
    for (const algorithm of ATTENTION_ALGORITHMS) {
      const a = await runGpu(rt, c, qkv, dout, { dropout: { p: 0.1, seed: 8 }, algorithm });
      const b = await runGpu(rt, c, qkv, dout, { dropout: { p: 0.1, seed: 8 }, dtype: 'f16', algorithm });
      // f16 storage rounds inputs and outputs to 11 significant bits (rel 2^-11 ≈ 5e-4);
      // O(1) values and gradients summed over ≤ 23 keys.
      expectClose(b.out, a.out, { atol: 5e-3, rtol: 5e-3 }, `${algorithm} f16 out`);
      expectClose(b.lse, a.lse, { atol: 1e-2, rtol: 5e-3 }, `${algorithm} f16 lse`);
      expectClose(b.dqkv, a.dqkv, { atol: 2e-2, rtol: 1e-2 }, `${algorithm} f16 dqkv`);
      // Over selected queries (the last layer at a head's rows) too: three of the first sequence's, two of the second's.
      const selected = [[0, 5, 22], [1, 4]];
      const positions = new Array<number>(c.B * c.T).fill(0xffffffff);
      selected.forEach((sel, b) => sel.forEach((t, j) => (positions[b * c.T + j] = b * c.T + t)));
      const queryRows = { limits: [...c.lengths, ...selected.map((x) => x.length)], positions };
      const qa = await runGpu(rt, c, qkv, dout, { dropout: { p: 0.1, seed: 8 }, algorithm, queryRows });
      const qb = await runGpu(rt, c, qkv, dout, { dropout: { p: 0.1, seed: 8 }, dtype: 'f16', algorithm, queryRows });
      expectClose(qb.out, qa.out, { atol: 5e-3, rtol: 5e-3 }, `${algorithm} f16 out, selected queries`);
      expectClose(qb.dqkv, qa.dqkv, { atol: 2e-2, rtol: 1e-2 }, `${algorithm} f16 dqkv, selected queries`);
    }
  });
});

describe('attention bad input', () => {
  it('rejects bad shapes with errors naming the op and the shapes', async () => {
    const rt = await getRuntime();
    const len = rt.empty([1], 'u32');
    const mk = (T: number, W: number) => rt.empty([1, T, W]);
    const q1 = mk(513, 96), o1 = rt.empty([1, 513, 32]), l1 = rt.empty([1, 1, 513]);
    await expect(attention(rt, q1, len, o1, l1, { heads: 1 })).rejects.toThrow(/attention: qkv \[1, 513, 96\]: sequence length 513 outside 1\.\.512/);
    const q2 = mk(4, 3 * 48), o2 = rt.empty([1, 4, 48]), l2 = rt.empty([1, 1, 4]);
    await expect(attention(rt, q2, len, o2, l2, { heads: 1 })).rejects.toThrow(/attention: .*head dim 48; supported head dims are 32, 64, 128/);
    const q3 = mk(4, 100);
    await expect(attention(rt, q3, len, o2, l2, { heads: 1 })).rejects.toThrow(/attention: qkv \[1, 4, 100\]: width 100 is not 3·H·D/);
    const q4 = mk(4, 96), o4 = rt.empty([1, 4, 64]);
    await expect(attention(rt, q4, len, o4, l2, { heads: 1 })).rejects.toThrow(/attention: out has shape \[1, 4, 64\], expected \[1, 4, 32\]/);
    const lenF = rt.empty([1]);
    const o5 = rt.empty([1, 4, 32]);
    await expect(attention(rt, q4, lenF, o5, l2, { heads: 1 })).rejects.toThrow(/attention: lengths has dtype f32/);
    await expect(attention(rt, q4, len, o5, l2, { heads: 1, dropout: { p: 1, seed: 0 } })).rejects.toThrow(/dropout p must be in \[0, 1\)/);
    await expect(attention(rt, q4, len, o5, l2, { heads: 1, tile: { WG: 64, BT: 256 } })).rejects.toThrow(/workgroup memory/);
    await expect(attention(rt, q4, len, o5, l2, { heads: 1, algorithm: 'dense' as never })).rejects.toThrow(/attention: unknown algorithm 'dense' \(expected auto, fused, materialized\)/);
    const fwd = await attention(rt, q4, len, o5, l2, { heads: 1 });
    await expect(attentionBackward(rt, fwd, o5, rt.empty([1, 4, 32]))).rejects.toThrow(/attention_bwd: dqkv has shape \[1, 4, 32\], expected \[1, 4, 96\]/);
  });
});
