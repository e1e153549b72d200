// The f32 step's last leads, each product timed alone against its alternatives (bench/RESULTS.md,
// fourteenth session): three rounds over every case in turn, medians. Shapes are `mini`'s
// (batch 32 × 128, hidden 256, FFN 1024, heads of 64) and `tiny`'s vocabulary head; sequence
// lengths from a fixed generator around the bundled corpus's mean (~100 of 128).
//   pad     per-sequence products (each sequence's length a row limit) with 16-, 24-, 32- and
//           40-row subgroup tiles: does a tile choice that sees the padding gain?
//   heads   attention's Q·Kᵀ per head (K = 64): no limit, full-length limits, real lengths,
//           and one unbatched product of the same FLOPs
//   ffn     the FFN's forward product: plain, bias, bias + GELU keeping the pre-activation,
//           the latter per sequence (full and real lengths), and real lengths without GELU
//   logits  tiny's MLM logits over a 768-row capacity with 500 selected (a row limit) against
//           a 500-row product, per tile
// Bundle and run from the repository root as bench/probes/optimizer-cost.ts says:
//   npx esbuild bench/probes/f32-leads.ts --bundle --platform=node --format=esm --outfile=scratch/f32-leads.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   node scratch/f32-leads.mjs pad|heads|ffn|logits
import { Runtime } from '../../src/gpu/runtime.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import type { Op } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { matmul, type MatmulTile, type MatrixView } from '../../src/kernels/matmul.js';
import { linearForward } from '../../src/model/linear.js';
import { timeOps, fill, median } from '../harness.js';

const which = process.argv[2] ?? 'pad';
const rt = await Runtime.create({ adapter: 'lavapipe' as never, sources: SHADER_SOURCES });
const B = 32, T = 128, H = 256, F = 1024, D = 64;
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const lens = Array.from({ length: B }, () => Math.min(T, Math.max(20, Math.round(105 + (rnd() - 0.5) * 90))));
const real = rt.upload(Uint32Array.from(lens), [B], 'u32'), full = rt.upload(new Uint32Array(B).fill(T), [B], 'u32');
const sg = (TM: number, TN = 4): MatmulTile => ({ TM, TN, WGX: 8, WGY: 1, SUBGROUP: true });
/** A [B·T, cols] buffer as B matrices of T rows. */
const bySeq = (t: Tensor, cols: number): MatrixView => ({ tensor: t, batch: [1, B], rows: T, cols, ld: cols, batchStrides: [0, T * cols], offset: 0 });
const realRows = lens.reduce((a, c) => a + c, 0);

const cases: { name: string; op: Op; flops: number }[] = [];
if (which === 'pad') {
  for (const [kind, K, N] of [['NT', H, F], ['NN', F, H], ['NN', H, F]] as const) {
    const x = rt.upload(fill(B * T * K, 1), [B * T, K]), W = rt.upload(fill(N * K, 2), kind === 'NT' ? [N, K] : [K, N]), y = rt.empty([B * T, N]);
    for (const TM of [16, 24, 32, 40])
      cases.push({ name: `${kind} ${K}→${N} ${TM}×4`, op: await matmul(rt, bySeq(x, K), W, bySeq(y, N), { transB: kind === 'NT', tile: sg(TM), limit: { dims: ['M'], tensor: real, per: 1 } }), flops: 2 * realRows * K * N });
  }
} else if (which === 'heads') {
  const NH = 4, q = rt.upload(fill(B * T * NH * D, 1), [B * T, NH * D]), k = rt.upload(fill(B * T * NH * D, 2), [B * T, NH * D]), S = rt.empty([B * NH, T, T]);
  const heads = (t: Tensor): MatrixView => ({ tensor: t, batch: [B, NH], rows: T, cols: D, ld: NH * D, batchStrides: [T * NH * D, D], offset: 0 });
  const scores: MatrixView = { tensor: S, batch: [B, NH], rows: T, cols: T, ld: T, batchStrides: [NH * T * T, T * T], offset: 0 };
  const dense = 2 * B * NH * T * T * D, realFlops = 2 * NH * D * lens.reduce((a, c) => a + c * c, 0);
  cases.push({ name: 'per head, no limit', op: await matmul(rt, heads(q), heads(k), scores, { transB: true, alpha: 0.125 }), flops: dense });
  cases.push({ name: 'per head, lengths 128', op: await matmul(rt, heads(q), heads(k), scores, { transB: true, alpha: 0.125, limit: { dims: ['M', 'N'], tensor: full, per: NH } }), flops: dense });
  cases.push({ name: 'per head, real lengths', op: await matmul(rt, heads(q), heads(k), scores, { transB: true, alpha: 0.125, limit: { dims: ['M', 'N'], tensor: real, per: NH } }), flops: realFlops });
  const q1: MatrixView = { tensor: q, batch: [1, 1], rows: B * T, cols: D, ld: NH * D, batchStrides: [0, 0], offset: 0 };
  cases.push({ name: 'one product, same FLOPs', op: await matmul(rt, q1, rt.upload(fill(NH * T * D, 3), [NH * T, D]), rt.empty([B * T, NH * T]), { transB: true }), flops: dense });
} else if (which === 'ffn') {
  const M = B * T, x = rt.upload(fill(M * H, 1), [M, H]), W = rt.upload(fill(F * H, 2), [F, H]), b = rt.upload(fill(F, 3), [F]), y = rt.empty([M, F]), pre = rt.empty([M, F]);
  const dense = 2 * M * H * F, realFlops = 2 * realRows * H * F;
  cases.push({ name: 'plain', op: await matmul(rt, x, W, y, { transB: true }), flops: dense });
  cases.push({ name: 'bias', op: await matmul(rt, x, W, y, { transB: true, bias: b }), flops: dense });
  cases.push({ name: 'bias+GELU, pre kept', op: await linearForward(rt, x, W, b, y, 'ffn', 'gelu', pre), flops: dense });
  cases.push({ name: '… per sequence, lengths 128', op: await linearForward(rt, x, W, b, y, 'ffn', 'gelu', pre, { lengths: full, seqLen: T }), flops: dense });
  cases.push({ name: '… per sequence, real lengths', op: await linearForward(rt, x, W, b, y, 'ffn', 'gelu', pre, { lengths: real, seqLen: T }), flops: realFlops });
  cases.push({ name: 'bias, real lengths, no GELU', op: await linearForward(rt, x, W, b, y, 'ffn', 'none', undefined, { lengths: real, seqLen: T }), flops: realFlops });
} else if (which === 'logits') {
  const S = 768, h = 128, V = 8192, count = 500;
  const hid = rt.upload(fill(S * h, 1), [S, h]), W = rt.upload(fill(V * h, 2), [V, h]), b = rt.upload(fill(V, 3), [V]), Z = rt.empty([S, V]);
  const meta = rt.upload(Uint32Array.from([count]), [1], 'u32'), hid5 = rt.upload(fill(count * h, 1), [count, h]), Z5 = rt.empty([count, V]);
  for (const tile of [undefined, sg(16), sg(8, 8)]) {
    const t = tile ? `${tile.TM}×${tile.TN}` : 'autotuned';
    cases.push({ name: `${S} rows, limit ${count}, ${t}`, op: await matmul(rt, hid, W, Z, { transB: true, bias: b, tile, limit: { dims: ['M'], tensor: meta } }), flops: 2 * count * h * V });
    cases.push({ name: `${count} rows, ${t}`, op: await matmul(rt, hid5, W, Z5, { transB: true, bias: b, tile }), flops: 2 * count * h * V });
  }
} else throw new Error(`f32-leads: unknown case set '${which}' (pad, heads, ffn, logits)`);

const times = cases.map(() => [] as number[]);
for (let r = 0; r < 3; r++) for (const [i, c] of cases.entries()) times[i].push(await timeOps(rt, [c.op], { minSampleMs: 100, samples: 3 }));
console.log(`${which} on ${rt.gpu.adapter.description}: median of 3 alternating rounds (GFLOP/s of the work needed)`);
for (const [i, c] of cases.entries()) {
  const ms = median(times[i]);
  console.log(`${c.name.padEnd(34)} ${ms.toFixed(2).padStart(8)} ms ${(c.flops / ms / 1e6).toFixed(1).padStart(6)} GFLOP/s   rounds ${times[i].map((t) => t.toFixed(1)).join(' ')}`);
}
process.exit(0);
