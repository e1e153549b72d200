// A quick end-to-end check of kernels against their float64 references on this adapter
// (what `npm start` shows before training exists).
import type { Runtime } from '../gpu/runtime.js';
import { binary, affine } from './elementwise.js';
import { reduceRows } from './reduce.js';
import { matmul } from './matmul.js';
import { attention, releaseAttentionScratch, ATTENTION_ALGORITHMS } from './attention.js';
import { refAffine, refBinary, refMatmul, refReduceRows } from './ref/basic.js';
import { refAttentionForward } from './ref/attention.js';

export interface SmokeResult {
  kernel: string;
  maxAbsErr: number;
  tolerance: number;
  ok: boolean;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isFinite(m) ? m : Infinity;
}

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

export async function smokeRun(rt: Runtime, log: (line: string) => void = () => {}): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  const check = (kernel: string, got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number) => {
    const err = maxAbsDiff(got, want);
    const r = { kernel, maxAbsErr: err, tolerance, ok: err <= tolerance };
    results.push(r);
    log(`${r.ok ? 'ok  ' : 'FAIL'} ${kernel.padEnd(28)} max abs err ${err.toExponential(2)} (tolerance ${tolerance.toExponential(0)})`);
  };
  const n = 1031;
  const a = values(n, 1), b = values(n, 2);
  const ta = rt.upload(a, [n]), tb = rt.upload(b, [n]), out = rt.empty([n]);
  await rt.run(await binary(rt, 'add', ta, tb, out));
  check('elementwise add [1031]', await rt.read(out), refBinary('add', a, b), 1e-6);
  await rt.run(await binary(rt, 'mul', ta, tb, out));
  check('elementwise mul [1031]', await rt.read(out), refBinary('mul', a, b), 1e-6);
  await rt.run(await affine(rt, ta, out, 2, 0.5));
  check('affine [1031]', await rt.read(out), refAffine(a, 2, 0.5), 1e-6);
  const rows = 37, cols = 211;
  const x = values(rows * cols, 3);
  const tx = rt.upload(x, [rows, cols]), tr = rt.empty([rows]);
  await rt.run(await reduceRows(rt, 'sum', tx, tr));
  check('reduce_rows sum [37, 211]', await rt.read(tr), refReduceRows('sum', x, rows, cols), 1e-4);
  const M = 67, K = 129, N = 45;
  const A = values(M * K, 4), B = values(K * N, 5);
  const tA = rt.upload(A, [M, K]), tB = rt.upload(B, [K, N]), tC = rt.empty([M, N]);
  await rt.run(await matmul(rt, tA, tB, tC));
  check('matmul [67,129]·[129,45]', await rt.read(tC), refMatmul(A, B, M, K, N), 1e-4);
  // Attention, both algorithms: B 2, T 19 (one sequence padded to 11), 2 heads of 32.
  const dims = { B: 2, T: 19, H: 2, D: 32 }, lengths = [19, 11];
  const qkv = values(dims.B * dims.T * 3 * dims.H * dims.D, 6);
  const want = refAttentionForward(qkv, lengths, dims).out;
  const tq = rt.upload(qkv, [dims.B, dims.T, 3 * dims.H * dims.D]), tl = rt.upload(lengths, [dims.B], 'u32');
  const to = rt.empty([dims.B, dims.T, dims.H * dims.D]), tlse = rt.empty([dims.B, dims.H, dims.T]);
  for (const algorithm of ATTENTION_ALGORITHMS) {
    const f = await attention(rt, tq, tl, to, tlse, { heads: dims.H, algorithm });
    await rt.run(...f.ops);
    check(`attention ${algorithm} [2,19,2×32]`, await rt.read(to), want, 1e-4);
    releaseAttentionScratch(rt, f.scratch);
  }
  rt.release(ta, tb, out, tx, tr, tA, tB, tC, tq, tl, to, tlse);
  return results;
}
