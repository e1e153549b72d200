// Benchmark cases for fused attention, forward and backward, at small-BERT shapes.
// FLOPs are nominal: forward 4·B·H·T²·D (QKᵀ and P·V), backward 8·B·H·T²·D (dV, dP, dQ, dK;
// the kernels also recompute QKᵀ twice, not counted).
import type { BenchCase } from './harness.js';
import { fill } from './harness.js';
import { attention, attentionBackward } from '../src/kernels/attention.js';

export function attentionCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const shapes = [
    { B: 32, T: 128, H: 4, D: 64 },
    { B: 4, T: 512, H: 4, D: 64 },
    { B: 2, T: 512, H: 2, D: 128 },
  ];
  for (const { B, T, H, D } of shapes) {
    const shape = `B${B} T${T} H${H} D${D}`;
    const make = async (rt: Parameters<BenchCase['setup']>[0], backward: boolean) => {
      const qkv = rt.upload(fill(B * T * 3 * H * D, 1), [B, T, 3 * H * D]);
      // Realistic padding: lengths spread between T/2 and T.
      const lengths = rt.upload(Array.from({ length: B }, (_, b) => T - Math.floor((b * T) / (2 * B))), [B], 'u32');
      const out = rt.empty([B, T, H * D]), lse = rt.empty([B, H, T]);
      const dout = rt.upload(fill(B * T * H * D, 2), [B, T, H * D]), dqkv = rt.empty([B, T, 3 * H * D]);
      const fwd = await attention(rt, qkv, lengths, out, lse, { heads: H, dropout: { p: 0.1, seed: 1 } });
      const ops = backward ? (await attentionBackward(rt, fwd, dout, dqkv)).ops : fwd.ops;
      if (backward) await rt.run(...fwd.ops);
      return { ops, release: () => rt.release(qkv, lengths, out, lse, dout, dqkv) };
    };
    cases.push({ kernel: 'attention', shape, flops: 4 * B * H * T * T * D, setup: (rt) => make(rt, false) });
    cases.push({ kernel: 'attention_bwd', shape, flops: 8 * B * H * T * T * D, setup: (rt) => make(rt, true) });
  }
  return cases;
}
