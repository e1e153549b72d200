// Benchmark cases for attention, forward and backward, both algorithms ('fused' flash-style
// kernels, 'materialized' scores through the matmuls), at small-BERT shapes with padding and
// attention dropout 0.1. FLOPs are nominal: forward 4·B·H·T²·D (QKᵀ and P·V), backward
// 8·B·H·T²·D (dV, dP, dQ, dK; both algorithms also recompute QKᵀ, not counted, except
// 'materialized kept', whose forward kept the scores for it, as the encoder does when they fit).
// The TensorFlow.js peer of the forward is matMul(Q, Kᵀ)·scale → softmax → matMul(·, V) on
// [B·H, T, D] tensors (no mask, no dropout: slightly less work than ours).
// At head dim 64, also f16 storage of qkv, the output and their gradients (f32 arithmetic),
// where the adapter has shader-f16 (what a mixed-precision step would run).
import type { DType } from '../src/gpu/tensor.js';
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { attention, attentionBackward, attentionTileCandidates, fusedPassOps, releaseAttentionScratch, ATTENTION_ALGORITHMS, type AttentionPass, type AttentionTile } from '../src/kernels/attention.js';
import type { Runtime } from '../src/gpu/runtime.js';

export function attentionCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const shapes = [
    { B: 32, T: 128, H: 4, D: 64 },
    { B: 4, T: 512, H: 4, D: 64 },
    { B: 2, T: 512, H: 2, D: 128 },
  ];
  for (const { B, T, H, D } of shapes)
  for (const dtype of (D === 64 ? ['f32', 'f16'] : ['f32']) as DType[])
  for (const algorithm of ATTENTION_ALGORITHMS) {
    const shape = `B${B} T${T} H${H} D${D}`;
    const f16 = dtype === 'f16';
    const make = async (rt: Parameters<BenchCase['setup']>[0], backward: boolean, keep = false) => {
      const qkv = rt.upload(fill(B * T * 3 * H * D, 1), [B, T, 3 * H * D], dtype);
      // Realistic padding: lengths spread between T/2 and T.
      const lengths = rt.upload(Array.from({ length: B }, (_, b) => T - Math.floor((b * T) / (2 * B))), [B], 'u32');
      const out = rt.empty([B, T, H * D], dtype), lse = rt.empty([B, H, T]);
      const dout = rt.upload(fill(B * T * H * D, 2), [B, T, H * D], dtype), dqkv = rt.empty([B, T, 3 * H * D], dtype);
      const kept = keep ? rt.empty([B * H, T, T]) : null;
      const fwd = await attention(rt, qkv, lengths, out, lse, { heads: H, dropout: { p: 0.1, seed: 1 }, algorithm, keepScores: () => kept });
      const ops = backward ? (await attentionBackward(rt, fwd, dout, dqkv)).ops : fwd.ops;
      if (backward) await rt.run(...fwd.ops);
      // (A kept-scores backward run again finds P̃ where the scores were: same work, other numbers.)
      return { ops, release: () => (rt.release(qkv, lengths, out, lse, dout, dqkv, ...(kept ? [kept] : [])), releaseAttentionScratch(rt, fwd.scratch)) };
    };
    const BH = B * H;
    if (f16) {
      cases.push({ kernel: `attention[${algorithm}] f16`, shape, flops: 4 * BH * T * T * D, needs: 'f16', setup: (rt) => make(rt, false) });
      cases.push({ kernel: `attention_bwd[${algorithm}] f16`, shape, flops: 8 * BH * T * T * D, needs: 'f16', setup: (rt) => make(rt, true) });
      continue;
    }
    cases.push({
      kernel: `attention[${algorithm}]`, shape, flops: 4 * BH * T * T * D, setup: (rt) => make(rt, false),
      tfjs: {
        setup: (tf) => {
          const q = tf.tensor(fill(BH * T * D, 1), [BH, T, D]), k = tf.tensor(fill(BH * T * D, 2), [BH, T, D]), v = tf.tensor(fill(BH * T * D, 3), [BH, T, D]);
          return {
            run: () => tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D))), v)),
            dispose: () => (q.dispose(), k.dispose(), v.dispose()),
          };
        },
      },
    });
    cases.push({ kernel: `attention_bwd[${algorithm}]`, shape, flops: 8 * BH * T * T * D, setup: (rt) => make(rt, true) });
    if (algorithm === 'materialized' && T === 128)
      cases.push({ kernel: 'attention_bwd[materialized kept]', shape, flops: 8 * BH * T * T * D, setup: (rt) => make(rt, true, true) });
    if (T === 128) {
      // The last layer of an MLM step: the queries of ~15 % of the real positions (every 7th),
      // regrouped per sequence (AttentionOptions.queryRows); FLOPs counted at those queries.
      const q15 = (backward: boolean) => async (rt: Parameters<BenchCase['setup']>[0]) => {
        const lengths = Array.from({ length: B }, (_, b) => T - Math.floor((b * T) / (2 * B)));
        const selected = lengths.map((len) => Array.from({ length: Math.ceil(len / 7) }, (_, j) => 7 * j));
        const positions = new Uint32Array(B * T).fill(0xffffffff);
        selected.forEach((sel, b) => sel.forEach((t, j) => (positions[b * T + j] = b * T + t)));
        const queryRows = { limits: rt.upload([...lengths, ...selected.map((x) => x.length)], [2 * B], 'u32'), positions: rt.upload(positions, [B * T], 'u32') };
        const qkv = rt.upload(fill(B * T * 3 * H * D, 1), [B, T, 3 * H * D]), tl = rt.upload(lengths, [B], 'u32');
        const out = rt.empty([B, T, H * D]), lse = rt.empty([B, H, T]);
        const dout = rt.upload(fill(B * T * H * D, 2), [B, T, H * D]), dqkv = rt.empty([B, T, 3 * H * D]);
        const fwd = await attention(rt, qkv, tl, out, lse, { heads: H, dropout: { p: 0.1, seed: 1 }, algorithm, queryRows });
        const ops = backward ? (await attentionBackward(rt, fwd, dout, dqkv)).ops : fwd.ops;
        if (backward) await rt.run(...fwd.ops);
        return { ops, release: () => (rt.release(qkv, tl, out, lse, dout, dqkv, queryRows.limits, queryRows.positions), releaseAttentionScratch(rt, fwd.scratch)) };
      };
      const share = 1 / 7;
      cases.push({ kernel: `attention[${algorithm}, 1/7 of the queries]`, shape, flops: share * 4 * BH * T * T * D, setup: q15(false) });
      cases.push({ kernel: `attention_bwd[${algorithm}, 1/7 of the queries]`, shape, flops: share * 8 * BH * T * T * D, setup: q15(true) });
    }
  }
  return cases;
}

/**
 * `--tilings`: each fused pass at a small-BERT shape (B32 T128 H4 D64, padding, dropout 0.1)
 * with every tile the autotuner tries on this adapter (attentionTileCandidates; on CPU
 * adapters the default alone), f32 and, with shader-f16, f16 storage. FLOPs per pass count
 * its products, recomputations included: the forward 2 (QKᵀ, P̃V), dq 3 (QKᵀ, dO·Vᵀ, dS·K),
 * dkv 4 (QKᵀ, dO·Vᵀ, P̃ᵀ·dO, dSᵀ·Q), each 2·B·H·T²·D.
 */
export function attentionTilingCases(rt: Runtime): BenchCase[] {
  const B = 32, T = 128, H = 4, D = 64, shape = `B${B} T${T} H${H} D${D}`;
  const products: Record<AttentionPass, number> = { fwd: 2, dq: 3, dkv: 4 };
  const name = (t: AttentionTile) => `WG${t.WG} BT${t.BT}${t.UNROLL ? ' unrolled' : ''}`;
  const storages: DType[] = rt.caps.f16 ? ['f32', 'f16'] : ['f32'];
  return storages.flatMap((dtype) =>
    (['fwd', 'dq', 'dkv'] as AttentionPass[]).flatMap((pass) =>
      attentionTileCandidates(rt, pass, D).map((tile): BenchCase => ({
        kernel: `attention tiling ${pass}${dtype === 'f16' ? ' f16' : ''}`,
        shape,
        tile: name(tile),
        flops: products[pass] * 2 * B * H * T * T * D,
        ...(dtype === 'f16' ? { needs: 'f16' as const } : {}),
        setup: async (rt) => {
          const qkv = rt.upload(fill(B * T * 3 * H * D, 1), [B, T, 3 * H * D], dtype);
          const lengths = rt.upload(Array.from({ length: B }, (_, b) => T - Math.floor((b * T) / (2 * B))), [B], 'u32');
          const out = rt.empty([B, T, H * D], dtype), lse = rt.empty([B, H, T]);
          const dout = rt.upload(fill(B * T * H * D, 2), [B, T, H * D], dtype), dqkv = rt.empty([B, T, 3 * H * D], dtype);
          const release = () => rt.release(qkv, lengths, out, lse, dout, dqkv);
          try {
            return { ops: await fusedPassOps(rt, pass, tile, { qkv, lengths, out, lse, dout, dqkv }, { heads: H, dropout: { p: 0.1, seed: 1 } }), release };
          } catch (e) {
            release();
            throw e;
          }
        },
      })),
    ),
  );
}
