// Why attention over selected queries is a tuning class of its own (bench/RESULTS.md,
// seventeenth session): the fused forward and dq over every 7th position of B32 T128 H4 D64
// (MLM's 15 % of the queries, regrouped as query_rows does) with every candidate tile, against
// the same passes over every query, alternating, 3 rounds; the fastest sample of each. Bundle
// and run from the repository root as bench/probes/optimizer-cost.ts says:
//   npx esbuild bench/probes/fused-selected-tiles.ts --bundle --platform=node --format=esm --outfile=scratch/fused-selected-tiles.mjs \
//     --external:webgpu --alias:virtual:shaders=./scratch/shaders.mjs
//   node scratch/fused-selected-tiles.mjs [adapter]
import { Runtime, type Op } from '../../src/gpu/runtime.js';
import { SHADER_SOURCES } from '../../src/kernels/sources.js';
import { attention, attentionBackward, defaultAttentionTile, ATTENTION_TILE_CANDIDATES, type AttentionTile } from '../../src/kernels/attention.js';
import { timeOps } from '../harness.js';

const rt = await Runtime.create({ adapter: (process.argv[2] ?? 'lavapipe') as never, sources: SHADER_SOURCES });
const B = 32, T = 128, H = 4, D = 64, STRIDE = 7, count = Math.ceil(T / STRIDE);
const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
const qkv = rt.upload(fill(B * T * 3 * H * D, 1), [B, T, 3 * H * D]), lengths = rt.upload(new Uint32Array(B).fill(T), [B], 'u32');
const out = rt.empty([B, T, H * D]), lse = rt.empty([B, H, T]), dout = rt.upload(fill(B * T * H * D, 2), [B, T, H * D]), dqkv = rt.empty([B, T, 3 * H * D]);
const queryRows = {
  limits: rt.upload([...new Array<number>(B).fill(T), ...new Array<number>(B).fill(count)], [2 * B], 'u32'),
  positions: rt.upload(Uint32Array.from({ length: B * T }, (_, r) => (r % T < count ? r - (r % T) + STRIDE * (r % T) : 0)), [B * T], 'u32'),
};
const tiles = ATTENTION_TILE_CANDIDATES.filter((t) => t.BT <= 16 || t.WG <= 64);
const cases: { name: string; ops: Op[] }[] = [];
for (const selected of [false, true])
  for (const tile of tiles) {
    const fwd = await attention(rt, qkv, lengths, out, lse, { heads: H, algorithm: 'fused', tile, dropout: { p: 0.1, seed: 1 }, ...(selected ? { queryRows } : {}) });
    await rt.run(...fwd.ops);
    const dq = (await attentionBackward(rt, fwd, dout, dqkv, { tileDq: tile, tileDkv: defaultAttentionTile('dkv', D, selected) })).ops[0];
    const name = (t: AttentionTile) => `WG${t.WG} BT${t.BT}`;
    cases.push({ name: `${selected ? '1/7 ' : 'all '} fwd ${name(tile)}`, ops: fwd.ops }, { name: `${selected ? '1/7 ' : 'all '} dq  ${name(tile)}`, ops: [dq] });
  }
const best = new Map<string, number>();
for (let r = 0; r < 3; r++)
  for (const c of cases) {
    const ms = await timeOps(rt, c.ops, { minSampleMs: 50, samples: 2 });
    best.set(c.name, Math.min(best.get(c.name) ?? Infinity, ms));
  }
for (const [name, ms] of best) console.log(`${name.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms`);
rt.destroy();
