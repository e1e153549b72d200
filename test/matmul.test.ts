// The matmul family against its float64 reference (src/kernels/ref/matmul.ts) on random
// odd shapes: every transpose combination, every tile candidate the autotuner may pick,
// batched and strided (attention-head) views, every epilogue, f16 storage (lavapipe).
// Autotuning is off under vitest (deterministic); tiles are passed explicitly here.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray, expectClose } from './harness.js';
import { matmul, headsView, DEFAULT_TILE, CPU_REGISTER_TILE, TILE_CANDIDATES, GPU_TILE_CANDIDATES, tileCandidates, subgroupTiles, fixedSubgroupSize, subgroupTilesAgree, pairsRowsOfA, type MatmulTile, type MatrixView, type MatrixLayout } from '../src/kernels/matmul.js';
import { refMatmulFull, refMatmulView, refRowSums, hostMatrix, type HostView, type RefMatmulOptions } from '../src/kernels/ref/matmul.js';
import { toF16, fromF16, type DType } from '../src/gpu/tensor.js';
import { gelu } from '../src/kernels/gelu.js';
import { geluErf, geluErfGrad, geluTanh, geluTanhGrad } from '../src/kernels/ref/activations.js';
import type { Runtime } from '../src/gpu/runtime.js';

// K products of |x| < 1 summed in f32 (fma): error grows ~ sqrt(K)..K ulps of the sum.
const WGMEM_TILE = TILE_CANDIDATES.find((t) => t.WGMEM)!;

const tolF32 = (K: number) => ({ atol: 2e-6 * K + 1e-6, rtol: 1e-5 });

/** The register tile, plus the first subgroup tile where the adapter has a fixed subgroup size (lavapipe: yes; OpenGL: no subgroups). */
function baseTiles(rt: Runtime): MatmulTile[] {
  const sg = fixedSubgroupSize(rt);
  return sg ? [DEFAULT_TILE, subgroupTiles(sg)[0]] : [DEFAULT_TILE];
}

async function check2d(rt: Runtime, M: number, K: number, N: number, o: RefMatmulOptions & { tile?: MatmulTile }, seed: number, what: string) {
  const A = randomArray(M * K, seed), B = randomArray(K * N, seed + 1);
  const tA = rt.upload(A, o.transA ? [K, M] : [M, K]), tB = rt.upload(B, o.transB ? [N, K] : [K, N]);
  const C0 = randomArray(M * N, seed + 2);
  const tC = rt.upload(C0, [M, N]);
  const bias = o.bias ? rt.upload(o.bias, [N]) : undefined;
  // A run-time limit sits at offset 1 of a small u32 tensor (an offset other than 0).
  const lim = o.limit ? rt.upload(new Uint32Array([7, o.limit.values[0], 3]), [3], 'u32') : undefined;
  await rt.run(await matmul(rt, tA, tB, tC, { ...o, bias, tile: o.tile ?? DEFAULT_TILE, limit: o.limit && lim ? { dims: o.limit.dims, tensor: lim, offset: 1 } : undefined }));
  expectClose(await rt.read(tC), refMatmulFull(A, B, M, K, N, o, C0), tolF32(K), `${what} ${M}x${K}x${N}${o.limit ? ` limit ${o.limit.dims.join('')} ${o.limit.values[0]}` : ''}`);
  rt.release(tA, tB, tC, ...(bias ? [bias] : []), ...(lim ? [lim] : []));
}

describe('matmul', () => {
  it('lavapipe with LP_NATIVE_VECTOR_WIDTH (the lavapipe-sg4 project) forms subgroups of that width in f32 lanes', async () => {
    const rt = await getRuntime();
    const width = Number(process.env.LP_NATIVE_VECTOR_WIDTH ?? 256);
    if (rt.gpu.kind === 'lavapipe') expect(fixedSubgroupSize(rt)).toBe(width / 32);
    else expect(fixedSubgroupSize(rt)).toBe(0); // llvmpipe through OpenGL: no subgroups
  });

  it('every transpose combination on odd and aligned shapes (scalar and vec4 loads)', async () => {
    const rt = await getRuntime();
    let seed = 1;
    for (const tile of baseTiles(rt))
      for (const transA of [false, true])
        for (const transB of [false, true])
          // [.., 37, ..] forces scalar loads (row stride not a multiple of 4), [.., 36, ..] vec4.
          for (const [M, K, N] of [[1, 1, 1], [13, 37, 21], [20, 36, 44]])
            await check2d(rt, M, K, N, { transA, transB, tile }, seed++, `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${JSON.stringify(tile)}`);
  }, 200_000);

  it('every autotune candidate tile gives the same results (odd shapes)', async () => {
    const rt = await getRuntime();
    // The once-per-runtime check that guards the autotuner: true where subgroups of a fixed size exist (lavapipe).
    expect(await subgroupTilesAgree(rt)).toBe(fixedSubgroupSize(rt) > 0);
    const all = tileCandidates(rt);
    if (fixedSubgroupSize(rt)) expect(all.length).toBeGreaterThan(TILE_CANDIDATES.length);
    // The GPU-only candidates compute the same function: checked here, where tests run (their
    // transposed loads are the other workgroup-memory tile's code).
    for (const tile of GPU_TILE_CANDIDATES) if (!all.includes(tile)) await check2d(rt, 45, 39, 83, { tile }, 99, `GPU tile ${JSON.stringify(tile)}`);
    for (const [t, tile] of all.entries()) {
      await check2d(rt, 45, 39, 83, { tile }, 100 + t, `tile ${JSON.stringify(tile)}`);
      if (tile.WGMEM || tile.SUBGROUP) await check2d(rt, 66, 20, 17, { tile, transA: true, transB: true }, 200 + t, `tile ${JSON.stringify(tile)} TT`);
    }
    // Each candidate is a separate pipeline: on a cold Mesa cache of a loaded 2-core machine
    // the compiles alone have taken over 2 minutes.
  }, 400_000);

  it('epilogues: bias, bias+GELU (erf and tanh), alpha, accumulate', async () => {
    const rt = await getRuntime();
    const [M, K, N] = [19, 23, 29];
    const bias = randomArray(N, 7);
    await check2d(rt, M, K, N, { bias, activation: 'gelu' }, 11, 'bias+gelu');
    await check2d(rt, M, K, N, { bias, activation: 'gelu_tanh', transB: true }, 12, 'bias+gelu_tanh NT');
    await check2d(rt, M, K, N, { accumulate: true, alpha: 0.5, transA: true }, 13, 'C += 0.5·AᵀB');
    await check2d(rt, M, K, N, { accumulate: true, bias, activation: 'gelu', tile: WGMEM_TILE }, 14, 'wgmem C = gelu(AB + bias + C)');
    // A slice of a longer bias vector (biasOffset), as the vocabulary chunks of xent use.
    const long = randomArray(N + 40, 8);
    for (const tile of baseTiles(rt)) {
      const A = randomArray(M * K, 17), B = randomArray(K * N, 18);
      const tA = rt.upload(A, [M, K]), tB = rt.upload(B, [N, K]), tC = rt.empty([M, N]), tb = rt.upload(long, [N + 40]);
      await rt.run(await matmul(rt, tA, tB, tC, { transB: true, bias: tb, biasOffset: 31, tile }));
      expectClose(await rt.read(tC), refMatmulFull(A, B, M, K, N, { transB: true, bias: long.subarray(31, 31 + N) }), tolF32(K), `biasOffset ${JSON.stringify(tile)}`);
      rt.release(tA, tB, tC, tb);
    }
    for (const tile of baseTiles(rt).slice(1)) {
      await check2d(rt, M, K, N, { accumulate: true, bias, activation: 'gelu', tile }, 15, 'subgroup C = gelu(AB + bias + C)');
      await check2d(rt, M, K, N, { bias, activation: 'gelu_tanh', alpha: 0.25, transA: true, transB: true, tile }, 16, 'subgroup bias+gelu_tanh TT');
    }
  });

  it('the pre-activation kept beside the activation (preActivationOut): the float64 reference, and the separate GELU kernel (same bits in f32)', async () => {
    const rt = await getRuntime();
    const sg = baseTiles(rt)[1];
    type Case = [MatmulTile, number, number, number, 'gelu' | 'gelu_tanh', boolean, DType];
    const cases: Case[] = [[DEFAULT_TILE, 19, 23, 29, 'gelu', false, 'f32'], [WGMEM_TILE, 21, 17, 12, 'gelu_tanh', true, 'f32']];
    if (sg) cases.push([sg, 33, 20, 44, 'gelu', true, 'f32'], [sg, 18, 25, 7, 'gelu_tanh', false, 'f32']);
    if (rt.caps.f16) cases.push([sg ?? DEFAULT_TILE, 24, 16, 36, 'gelu', true, 'f16']);
    let seed = 300;
    for (const [tile, M, K, N, activation, transB, dt] of cases) {
      const what = `${activation} ${dt} ${M}x${K}x${N} ${JSON.stringify(tile)}`;
      const [f, fGrad] = activation === 'gelu' ? [geluErf, geluErfGrad] : [geluTanh, geluTanhGrad];
      const A = randomArray(M * K, seed++, -2, 2), B = randomArray(K * N, seed++), bias = randomArray(N, seed++);
      const tA = rt.upload(A, [M, K], dt), tB = rt.upload(B, transB ? [N, K] : [K, N], dt), tb = rt.upload(bias, [N]);
      const act = rt.empty([M, N], dt), pre = rt.empty([M, N], dt), pre2 = rt.empty([M, N], dt), act2 = rt.empty([M, N], dt);
      await rt.run(
        await matmul(rt, tA, tB, act, { transB, bias: tb, activation, preActivationOut: pre, tile }),
        // Unfused: the plain product, then the GELU kernel.
        await matmul(rt, tA, tB, pre2, { transB, bias: tb, tile }),
        await gelu(rt, pre2, act2, { form: activation === 'gelu' ? 'erf' : 'tanh' }),
      );
      const [vPre, vAct, sepAct] = [await rt.read(pre), await rt.read(act), await rt.read(act2)];
      expect(Array.from(vPre), `pre ${what}`).toEqual(Array.from(await rt.read(pre2)));
      if (dt === 'f32') expect(Array.from(vAct), `act ${what}`).toEqual(Array.from(sepAct));
      else {
        // f16: the fused activation reads y before its rounding to f16 (half an ulp of y,
        // carried through GELU′), and GELU's f32 evaluation of 1 + erf(y/√2) cancels in the
        // tail (an f32 ulp of 1, times y/2); then both round the output (an ulp apart at most).
        const ulp = (x: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -14))) - 10);
        vAct.forEach((x, i) =>
          expect(Math.abs(x - sepAct[i]), `act[${i}] ${what}: pre ${vPre[i]}, ${x} vs ${sepAct[i]}`).toBeLessThanOrEqual(ulp(sepAct[i]) + Math.abs(fGrad(vPre[i])) * ulp(vPre[i]) + Math.abs(vPre[i]) * 2 ** -23),
        );
      }
      const ref = refMatmulFull(dt === 'f16' ? fromF16(toF16(A)) : A, dt === 'f16' ? fromF16(toF16(B)) : B, M, K, N, { transB, bias });
      const tol = dt === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : tolF32(K);
      expectClose(vPre, ref, tol, `pre ${what}`);
      expectClose(vAct, ref.map(f), tol, `act ${what}`);
      rt.release(tA, tB, tb, act, pre, pre2, act2);
    }
    // Misuse is refused by name.
    const a = rt.upload([1, 2, 3, 4], [2, 2]), c = rt.empty([2, 2]), wrong = rt.empty([3, 2]);
    expect(() => matmul(rt, a, a, c, { preActivationOut: wrong })).toThrow(/preActivationOut needs an activation/);
    expect(() => matmul(rt, a, a, c, { activation: 'gelu', preActivationOut: wrong })).toThrow(/must be laid out as C's tensor/);
    expect(() => matmul(rt, a, a, c, { activation: 'gelu', preActivationOut: a })).toThrow(/must not share a buffer/);
    rt.release(a, c, wrong);
  });

  it('row sums of op(A) beside the product (rowSumsOut): each tiling algorithm, both layouts of A, written or accumulated at an offset, f16 A', async () => {
    const rt = await getRuntime();
    // Plain register tiles (several rows of invocations: only the first stores), subgroup, workgroup memory.
    const tiles = [...baseTiles(rt), WGMEM_TILE];
    type Case = [number, number, number, boolean, boolean, DType];
    // Odd M and K (rows past M, a K tail), one row, one column block and several.
    const cases: Case[] = [[45, 39, 83, true, true, 'f32'], [13, 21, 5, false, false, 'f32'], [1, 7, 40, true, false, 'f32'], [36, 64, 20, true, true, 'f32']];
    if (rt.caps.f16) cases.push([27, 33, 18, true, true, 'f16']);
    let seed = 500;
    for (const tile of tiles)
      for (const [M, K, N, transA, accumulate, dt] of cases) {
        const what = `${transA ? 'Aᵀ' : 'A'} ${dt} ${M}x${K}x${N}${accumulate ? ' accumulated' : ''} ${JSON.stringify(tile)}`;
        const A = randomArray(M * K, seed++), B = randomArray(K * N, seed++), C0 = randomArray(M * N, seed++), R0 = randomArray(M + 9, seed++);
        const Aq = dt === 'f16' ? fromF16(toF16(A)) : A;
        const tA = rt.upload(A, transA ? [K, M] : [M, K], dt), tB = rt.upload(B, [K, N]), tC = rt.upload(C0, [M, N]), tR = rt.upload(R0, [M + 9]);
        await rt.run(await matmul(rt, tA, tB, tC, { transA, accumulate, rowSumsOut: { tensor: tR, offset: 5 }, tile }));
        const sums = await rt.read(tR);
        const tol = dt === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : tolF32(K);
        expectClose(sums.subarray(5, 5 + M), refRowSums(Aq, M, K, transA, accumulate ? R0.subarray(5, 5 + M) : undefined), tol, `row sums ${what}`);
        // The elements around the slice are untouched, and C is the product as without row sums.
        expect([...sums.subarray(0, 5), ...sums.subarray(5 + M)], `outside the slice ${what}`).toEqual([...R0.subarray(0, 5), ...R0.subarray(5 + M)].map(Math.fround));
        expectClose(await rt.read(tC), refMatmulFull(Aq, B, M, K, N, { transA, accumulate }, C0), tol, `C ${what}`);
        rt.release(tA, tB, tC, tR);
      }
    // Misuse is refused by name.
    const a = rt.upload([1, 2, 3, 4], [2, 2]), c = rt.empty([2, 2]), r = rt.empty([2]), short = rt.empty([3]), i32 = rt.empty([2], 'i32'), batched = rt.empty([2, 2, 2]), cb = rt.empty([2, 2, 2]);
    expect(() => matmul(rt, a, a, c, { rowSumsOut: { tensor: i32 } })).toThrow(/rowSumsOut .* has dtype i32/);
    expect(() => matmul(rt, a, a, c, { rowSumsOut: { tensor: short, offset: 2 } })).toThrow(/too short for 2 row sums from offset 2/);
    expect(() => matmul(rt, batched, a, cb, { rowSumsOut: { tensor: r } })).toThrow(/needs an unbatched product, got batch 2/);
    expect(() => matmul(rt, a, a, c, { activation: 'gelu', preActivationOut: r, rowSumsOut: { tensor: short } })).toThrow(/preActivationOut|cannot be combined/);
    expect(() => matmul(rt, a, a, c, { rowSumsOut: { tensor: c } })).toThrow(/must not share a buffer/);
    rt.release(a, c, r, short, i32, batched, cb);
  }, 400_000);

  it('a transposed A inside wider rows (odd M, an offset): row sums and the accumulated product; f16 A in row pairs on subgroup tiles', async () => {
    const rt = await getRuntime();
    // A is the K×M view at offset 4 of a [K + 1, 40] buffer: ld and offset multiples of 4, so
    // f16 A is bound as words, and a subgroup tile with an even number of rows per lane
    // loads adjacent row pairs, one word for two rows (pairsRowsOfA). M = 19: the last pair's
    // second row is past M (in the buffer, never stored); 36: a last tile of 4 rows.
    const dtypes: DType[] = rt.caps.f16 ? ['f32', 'f16'] : ['f32'];
    const sg = fixedSubgroupSize(rt);
    if (rt.caps.f16 && sg) expect(pairsRowsOfA(subgroupTiles(sg)[0], { transA: true, a16: true, vecA: true })).toBe(true);
    const LD = 40, OFF = 4, K = 37, N = 20;
    let seed = 700;
    for (const dt of dtypes)
      for (const M of [19, 36])
        for (const tile of baseTiles(rt)) {
          const what = `Aᵀ ${dt} M ${M} ${JSON.stringify(tile)}`;
          const raw = randomArray((K + 1) * LD, seed++), B = randomArray(K * N, seed++), C0 = randomArray(M * N, seed++), R0 = randomArray(M + 3, seed++);
          const buf = dt === 'f16' ? fromF16(toF16(raw)) : raw;
          const Aq = new Float32Array(K * M); // the view, contiguous, for the references
          for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) Aq[k * M + m] = buf[OFF + k * LD + m];
          const tBuf = rt.upload(raw, [K + 1, LD], dt), tB = rt.upload(B, [K, N]), tC = rt.upload(C0, [M, N]), tR = rt.upload(R0, [M + 3]);
          const view: MatrixView = { tensor: tBuf, batch: [1, 1], rows: K, cols: M, ld: LD, batchStrides: [0, 0], offset: OFF };
          await rt.run(await matmul(rt, view, tB, tC, { transA: true, accumulate: true, rowSumsOut: { tensor: tR, offset: 2 }, tile }));
          const tol = dt === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : tolF32(K);
          expectClose((await rt.read(tR)).subarray(2, 2 + M), refRowSums(Aq, M, K, true, R0.subarray(2, 2 + M)), tol, `row sums ${what}`);
          expectClose(await rt.read(tC), refMatmulFull(Aq, B, M, K, N, { transA: true, accumulate: true }, C0), tol, `C ${what}`);
          rt.release(tBuf, tB, tC, tR);
        }
  });

  it('a run-time limit on M or K read from a GPU buffer: each tiling algorithm, limits inside a tile, on a tile edge, 0 and past the extent, with bias, accumulate and row sums', async () => {
    const rt = await getRuntime();
    const tiles = [...baseTiles(rt), WGMEM_TILE];
    let seed = 700;
    for (const tile of tiles) {
      // M 45 (tiles of 16 or 32 rows: 13 ends inside the first, 32 on an edge), K 39.
      for (const value of [0, 13, 32, 45, 1000])
        await check2d(rt, 45, 39, 83, { tile, transB: true, bias: randomArray(83, seed), limit: { dims: ['M'], values: [value] } }, seed++, `rows ${JSON.stringify(tile)}`);
      // Rows and columns together (attention scores), columns ending inside a tile.
      await check2d(rt, 45, 39, 83, { tile, transB: true, limit: { dims: ['M', 'N'], values: [37] } }, seed++, `rows and columns ${JSON.stringify(tile)}`);
      // K capped, with the row sums (dW and db of the MLM head): sums and product both stop
      // at the limit; the K tail inside a quad, on one, 0 and past K.
      const [M, K, N] = [20, 45, 36];
      for (const L of [0, 6, 29, 44, 100]) {
        const A = randomArray(M * K, seed++), B = randomArray(K * N, seed++), C0 = randomArray(M * N, seed++), R0 = randomArray(M, seed++);
        const tA = rt.upload(A, [K, M]), tB = rt.upload(B, [K, N]), tC = rt.upload(C0, [M, N]), tR = rt.upload(R0, [M]), lim = rt.upload(new Uint32Array([L]), [1], 'u32');
        await rt.run(await matmul(rt, tA, tB, tC, { transA: true, accumulate: true, rowSumsOut: { tensor: tR }, limit: { dims: ['K'], tensor: lim }, tile }));
        const what = `row sums, depth limit ${L} ${JSON.stringify(tile)}`;
        expectClose(await rt.read(tR), refRowSums(A, M, K, true, R0, L), tolF32(K), what);
        expectClose(await rt.read(tC), refMatmulFull(A, B, M, K, N, { transA: true, accumulate: true, limit: { dims: ['K'], values: [L] } }, C0), tolF32(K), what);
        rt.release(tA, tB, tC, tR, lim);
      }
    }
    // K in segments (dW over sequences, skipping each one's padded rows), with the row sums.
    for (const tile of tiles) {
      const [M, K, N, seg] = [20, 40, 36, 12];
      const lengths = [12, 5, 0, 3]; // the last segment holds 4 terms
      const A = randomArray(M * K, seed++), B = randomArray(K * N, seed++), C0 = randomArray(M * N, seed++), R0 = randomArray(M, seed++);
      const tA = rt.upload(A, [K, M]), tB = rt.upload(B, [K, N]), tC = rt.upload(C0, [M, N]), tR = rt.upload(R0, [M]), lim = rt.upload(new Uint32Array([9, ...lengths]), [5], 'u32');
      await rt.run(await matmul(rt, tA, tB, tC, { transA: true, accumulate: true, rowSumsOut: { tensor: tR }, limit: { dims: ['K'], tensor: lim, offset: 1, segment: seg }, tile }));
      const what = `segments of ${seg} ${JSON.stringify(tile)}`;
      const Akept = A.map((x, i) => (Math.floor(i / M) % seg < lengths[Math.floor(Math.floor(i / M) / seg)] ? x : 0));
      expectClose(await rt.read(tR), refRowSums(Akept, M, K, true, R0), tolF32(K), `row sums, ${what}`);
      expectClose(await rt.read(tC), refMatmulFull(A, B, M, K, N, { transA: true, accumulate: true, limit: { dims: ['K'], values: lengths, segment: seg } }, C0), tolF32(K), what);
      rt.release(tA, tB, tC, tR, lim);
    }
    // Rows past the limit keep C with accumulate; a K limit without row sums.
    const tile = baseTiles(rt).at(-1)!;
    await check2d(rt, 45, 39, 21, { tile, accumulate: true, limit: { dims: ['M'], values: [20] } }, seed++, `rows accumulated ${JSON.stringify(tile)}`);
    await check2d(rt, 37, 39, 20, { tile, transA: true, limit: { dims: ['K'], values: [21] } }, seed++, `depth ${JSON.stringify(tile)}`);
    // One limit per sequence over attention heads ([B, T, H·D] views, batch [B, H]): the
    // scores' rows and columns, the context's rows and depth, as a padding-aware attention runs them.
    {
      const [B, T, H, D] = [3, 21, 2, 12];
      const lengths = [21, 0, 9];
      const Q = randomArray(B * T * H * D, seed++), Kt = randomArray(B * T * H * D, seed++), S0 = randomArray(B * H * T * T, seed++);
      const tQ = rt.upload(Q, [B, T, H * D]), tK = rt.upload(Kt, [B, T, H * D]), tS = rt.upload(S0, [B * H, T, T]), tL = rt.upload(new Uint32Array(lengths), [B], 'u32');
      const hq = headsView(tQ, B, T, H, D), hk = headsView(tK, B, T, H, D);
      const sView: MatrixView = { tensor: tS, batch: [B, H], rows: T, cols: T, ld: T, batchStrides: [H * T * T, T * T], offset: 0 };
      const host = (data: ArrayLike<number>, v: MatrixView): HostView => ({ ...v, data: Float64Array.from(data) });
      const per = { per: H };
      await rt.run(await matmul(rt, hq, hk, sView, { transB: true, tile, limit: { dims: ['M', 'N'], tensor: tL, ...per } }));
      expectClose(await rt.read(tS), refMatmulView(host(Q, hq), host(Kt, hk), host(S0, sView), { transB: true, limit: { dims: ['M', 'N'], values: lengths, ...per } }), tolF32(D), 'scores, a limit per sequence');
      const tO = rt.upload(randomArray(B * T * H * D, seed++), [B, T, H * D]), O0 = await rt.read(tO), ho = headsView(tO, B, T, H, D);
      await rt.run(await matmul(rt, sView, hk, ho, { tile, limit: { dims: ['M', 'K'], tensor: tL, ...per } }));
      const S1 = await rt.read(tS);
      expectClose(await rt.read(tO), refMatmulView(host(S1, sView), host(Kt, hk), host(O0, ho), { limit: { dims: ['M', 'K'], values: lengths, ...per } }), tolF32(T), 'context, a limit per sequence');
      // Two limits from one tensor (attention over a subset of the queries): keys capped by
      // the length, queries by their count at offset B — scores (N, M) and dK = dSᵀ·Q (M, K).
      const counts = [5, 0, 9], tLC = rt.upload(new Uint32Array([...lengths, ...counts]), [2 * B], 'u32');
      for (const t of [...baseTiles(rt), TILE_CANDIDATES.find((c) => c.WGMEM)!]) {
        const S2 = await rt.read(tS);
        await rt.run(await matmul(rt, hq, hk, sView, { transB: true, tile: t, limit: { dims: ['N'], tensor: tLC, ...per, also: { dims: ['M'], offset: B } } }));
        expectClose(await rt.read(tS), refMatmulView(host(Q, hq), host(Kt, hk), host(S2, sView), { transB: true, limit: { dims: ['N'], values: lengths, ...per, also: { dims: ['M'], values: counts } } }), tolF32(D), `scores, keys by length and queries by count ${JSON.stringify(t)}`);
        const S3 = await rt.read(tS), dK0 = randomArray(B * T * H * D, seed++), tdK = rt.upload(dK0, [B, T, H * D]), hdk = headsView(tdK, B, T, H, D);
        await rt.run(await matmul(rt, sView, hq, hdk, { transA: true, tile: t, limit: { dims: ['M'], tensor: tLC, ...per, also: { dims: ['K'], offset: B } } }));
        expectClose(await rt.read(tdK), refMatmulView(host(S3, sView), host(Q, hq), host(dK0, hdk), { transA: true, limit: { dims: ['M'], values: lengths, ...per, also: { dims: ['K'], values: counts } } }), tolF32(T), `dK, keys by length and terms by query count ${JSON.stringify(t)}`);
        rt.release(tdK);
      }
      expect(() => matmul(rt, hq, hk, sView, { transB: true, limit: { dims: ['N'], tensor: tLC, ...per, also: { dims: ['N'], offset: B } } })).toThrow(/limit.also.dims must be distinct/);
      expect(() => matmul(rt, hq, hk, sView, { transB: true, limit: { dims: ['N'], tensor: tLC, ...per, also: { dims: ['M'], offset: B + 1 } } })).toThrow(/too short for 3 second value/);
      rt.release(tQ, tK, tS, tL, tO, tLC);
    }
    // A linear layer over B sequences of T positions (batch [1, B], W broadcast), GELU with the
    // pre-activation kept: rows past each length are zero in both outputs.
    {
      const [B, T, K, N] = [3, 20, 13, 24];
      const lengths = [20, 3, 0];
      const X = randomArray(B * T * K, seed++, -2, 2), W = randomArray(N * K, seed++), bias = randomArray(N, seed++);
      const tX = rt.upload(X, [B * T, K]), tW = rt.upload(W, [N, K]), tb = rt.upload(bias, [N]), tL = rt.upload(new Uint32Array(lengths), [B], 'u32');
      const act = rt.upload(randomArray(B * T * N, seed++), [B * T, N]), pre = rt.upload(randomArray(B * T * N, seed++), [B * T, N]);
      const seqs = (t: typeof tX, cols: number): MatrixView => ({ tensor: t, batch: [1, B], rows: T, cols, ld: cols, batchStrides: [0, T * cols], offset: 0 });
      await rt.run(await matmul(rt, seqs(tX, K), tW, seqs(act, N), { transB: true, bias: tb, activation: 'gelu', preActivationOut: pre, tile, limit: { dims: ['M'], tensor: tL, per: 1 } }));
      const host = (data: ArrayLike<number>, v: MatrixLayout): HostView => ({ ...v, data: Float64Array.from(data) });
      const ref = refMatmulView(host(X, seqs(tX, K)), host(W, { batch: [1, 1], rows: N, cols: K, ld: K, batchStrides: [0, 0], offset: 0 }), host(new Float64Array(B * T * N), seqs(act, N)), { transB: true, bias, limit: { dims: ['M'], values: lengths, per: 1 } });
      expectClose(await rt.read(pre), ref, tolF32(K), 'pre, a limit per sequence');
      expectClose(await rt.read(act), ref.map(geluErf), tolF32(K), 'GELU, a limit per sequence');
      rt.release(tX, tW, tb, tL, act, pre);
    }
    // Misuse is refused by name.
    const a = rt.upload([1, 2, 3, 4], [2, 2]), c = rt.empty([2, 2]), r = rt.empty([2]), f = rt.empty([1]), u = rt.empty([2], 'u32');
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['M'], tensor: f } })).toThrow(/limit .* has dtype f32, expected u32/);
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['M'], tensor: u, offset: 2 } })).toThrow(/too short for 1 value\(s\) from offset 2/);
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['X' as 'M'], tensor: u } })).toThrow(/limit.dims must be distinct dims of M, N, K/);
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['M', 'M'], tensor: u } })).toThrow(/distinct/);
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['M'], tensor: u, per: 2 } })).toThrow(/limit.per must divide the batch 1/);
    expect(() => matmul(rt, a, a, c, { rowSumsOut: { tensor: r }, limit: { dims: ['M'], tensor: u } })).toThrow(/K only/);
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['K'], tensor: u, segment: 6 } })).toThrow(/limit.segment must be a positive multiple of 4/);
    expect(() => matmul(rt, a, a, c, { limit: { dims: ['M'], tensor: u, segment: 4 } })).toThrow(/limit.segment needs dims \['K'\]/);
    rt.release(a, c, r, f, u);
  }, 400_000);

  it('batched 3-D operands and a broadcast 2-D operand', async () => {
    const rt = await getRuntime();
    const [nb, M, K, N] = [3, 11, 9, 14];
    const A = randomArray(nb * M * K, 20), B = randomArray(nb * K * N, 21), W = randomArray(K * N, 22);
    const tA = rt.upload(A, [nb, M, K]), tB = rt.upload(B, [nb, K, N]), tW = rt.upload(W, [K, N]), tC = rt.zeros([nb, M, N]);
    for (const tile of baseTiles(rt)) {
      await rt.run(await matmul(rt, tA, tB, tC, { tile }));
      const want = refMatmulView(hostMatrix(A, M, K, nb), hostMatrix(B, K, N, nb), hostMatrix(new Float64Array(nb * M * N), M, N, nb));
      expectClose(await rt.read(tC), want, tolF32(K), `batched A·B ${JSON.stringify(tile)}`);
      await rt.run(await matmul(rt, tA, tW, tC, { tile }));
      const want2 = refMatmulView(hostMatrix(A, M, K, nb), hostMatrix(W, K, N), hostMatrix(new Float64Array(nb * M * N), M, N, nb));
      expectClose(await rt.read(tC), want2, tolF32(K), `batched A·W (W broadcast) ${JSON.stringify(tile)}`);
    }
    rt.release(tA, tB, tW, tC);
  });

  it('attention heads as strided views of a fused QKV buffer: S = Q·Kᵀ per (batch, head), then P·V', async () => {
    const rt = await getRuntime();
    const [Bn, T, H, D] = [2, 7, 3, 5];
    const qkv = randomArray(Bn * T * 3 * H * D, 30);
    const tQKV = rt.upload(qkv, [Bn, T, 3 * H * D]);
    const S = rt.zeros([Bn * H, T, T]);
    const q = headsView(tQKV, Bn, T, H, D, 3 * H * D, 0), k = headsView(tQKV, Bn, T, H, D, 3 * H * D, H * D);
    const host = (v: MatrixView, data: ArrayLike<number>): HostView => ({ ...v, data });
    for (const tile of [...baseTiles(rt), WGMEM_TILE]) {
      await rt.run(await matmul(rt, q, k, S, { transB: true, alpha: 0.5, tile }));
      const want = refMatmulView(host(q, qkv), host(k, qkv), hostMatrix(new Float64Array(Bn * H * T * T), T, T, Bn * H), { transB: true, alpha: 0.5 });
      expectClose(await rt.read(S), want, tolF32(D), `Q·Kᵀ heads ${JSON.stringify(tile)}`);
    }
    // P·V written into the heads of a [B, T, H·D] context buffer (strided C).
    const P = randomArray(Bn * H * T * T, 31);
    const tP = rt.upload(P, [Bn * H, T, T]);
    const ctx0 = randomArray(Bn * T * H * D, 32);
    const ctx = rt.upload(ctx0, [Bn, T, H * D]);
    const v = headsView(tQKV, Bn, T, H, D, 3 * H * D, 2 * H * D), out = headsView(ctx, Bn, T, H, D);
    for (const tile of baseTiles(rt)) {
      rt.write(ctx, ctx0);
      await rt.run(await matmul(rt, tP, v, out, { tile }));
      const want = refMatmulView(hostMatrix(P, T, T, Bn * H), host(v, qkv), host(out, ctx0));
      expectClose(await rt.read(ctx), want, tolF32(T), `P·V into heads ${JSON.stringify(tile)}`);
    }
    rt.release(tQKV, S, tP, ctx);
  });

  it('f16 storage with f32 accumulation matches the f32 path (where the adapter has shader-f16)', async () => {
    const rt = await getRuntime();
    if (!rt.caps.f16) {
      // OpenGL has no f16: f16 tensors must be refused, and the f32 path is what runs.
      expect(() => rt.empty([2, 2], 'f16')).toThrow(/shader-f16/);
      return;
    }
    let seed = 40;
    // [24, 40, 36]: aligned, so the register and subgroup tilings read f16 operands as packed
    // words (two halves per load; the subgroup tiling's transposed A one half at a time):
    // both tilings, every layout. [17, 33, 9]: odd (scalar loads), workgroup-memory tiles.
    const cases: [boolean, boolean, MatmulTile, number, number, number][] = [[true, false, WGMEM_TILE, 17, 33, 9]];
    for (const tile of [CPU_REGISTER_TILE, ...baseTiles(rt).slice(1)]) for (const transA of [false, true]) for (const transB of [false, true]) cases.push([transA, transB, tile, 24, 40, 36]);
    const sgTile = baseTiles(rt)[1];
    if (sgTile) cases.push([true, true, sgTile, 17, 33, 9]);
    for (const [transA, transB, tile, M, K, N] of cases) {
        // Inputs rounded to f16 on the host, so both paths multiply the same numbers.
        const A = fromF16(toF16(randomArray(M * K, seed++))), B = fromF16(toF16(randomArray(K * N, seed++)));
        const a16 = rt.upload(A, transA ? [K, M] : [M, K], 'f16'), b16 = rt.upload(B, transB ? [N, K] : [K, N], 'f16');
        const a32 = rt.upload(A, transA ? [K, M] : [M, K]), b32 = rt.upload(B, transB ? [N, K] : [K, N]);
        const c16 = rt.empty([M, N]), c32 = rt.empty([M, N]), h16 = rt.empty([M, N], 'f16');
        // f16 output once per shape (each variant is a pipeline to compile).
        const withF16Out = M === 17 || (transA && !transB);
        await rt.run(
          await matmul(rt, a16, b16, c16, { transA, transB, tile }),
          await matmul(rt, a32, b32, c32, { transA, transB, tile }),
          ...(withF16Out ? [await matmul(rt, a16, b16, h16, { transA, transB, tile })] : []),
        );
        const f32 = await rt.read(c32);
        // Same f16-exact inputs, same tile, f32 accumulation in the same order: the same bits.
        expect(Array.from(await rt.read(c16)), `f16 in/f32 out ${transA}${transB} ${M}x${K}x${N} ${JSON.stringify(tile)}`).toEqual(Array.from(f32));
        // f16 output: one f16 rounding (2^-11 relative) on top.
        if (withF16Out) expectClose(await rt.read(h16), f32, { atol: 1e-3, rtol: 1e-3 }, `f16 in/f16 out ${M}x${K}x${N}`);
        rt.release(a16, b16, a32, b32, c16, c32, h16);
      }
  });

  it('keeps the original matmul(rt, A, B, C, tile) signature', async () => {
    const rt = await getRuntime();
    const A = randomArray(6 * 10, 50), B = randomArray(10 * 7, 51);
    const tA = rt.upload(A, [6, 10]), tB = rt.upload(B, [10, 7]), tC = rt.empty([6, 7]);
    await rt.run(await matmul(rt, tA, tB, tC, { TM: 8, TN: 8, WGX: 8, WGY: 8 }));
    expectClose(await rt.read(tC), refMatmulFull(A, B, 6, 10, 7), tolF32(10), 'tile signature');
    rt.release(tA, tB, tC);
  });

  it('bad shapes and options throw errors naming the op and the shapes', async () => {
    const rt = await getRuntime();
    const A = rt.empty([2, 3]), B = rt.empty([4, 5]), C = rt.empty([2, 5]), B3 = rt.empty([3, 5]), i32 = rt.empty([3, 5], 'i32');
    const b3 = rt.empty([3, 3, 5]), c2 = rt.empty([2, 2, 5]), bias = rt.empty([4]);
    expect(() => matmul(rt, A, B, C)).toThrow('matmul: inner dimensions differ: A [2, 3] · B [4, 5] → C [2, 5] (K = 3 vs 4)');
    expect(() => matmul(rt, A, B3, rt.empty([2, 4]))).toThrow(/matmul: C is 2×4, expected 2×5/);
    expect(() => matmul(rt, A, i32, C)).toThrow(/matmul: B has dtype i32, expected f32 or f16/);
    expect(() => matmul(rt, A, B3, C, { transB: true })).toThrow(/matmul\[NT\]: inner dimensions differ/);
    expect(() => matmul(rt, A, b3, c2)).toThrow(/matmul: B has batch 3, C has batch 2/);
    expect(() => matmul(rt, A, B3, C, { bias })).toThrow(/bias has shape \[4\], expected \[5\]/);
    expect(() => matmul(rt, A, B3, C, { bias: rt.empty([8]), biasOffset: 4 })).toThrow(/bias has shape \[8\], expected \[5\] from offset 4/);
    expect(() => matmul(rt, rt.empty([2, 3, 4, 5]), B, C)).toThrow(/A must be 2-D or 3-D/);
    expect(() => matmul(rt, A, B3, C, { tile: { TM: 3, TN: 4, WGX: 8, WGY: 8 } })).toThrow(/multiples of 4/);
    expect(() => matmul(rt, A, B3, C, { tile: { TM: 4, TN: 4, WGX: 32, WGY: 32 } })).toThrow(/1024 invocations, above the limit/);
    const sg = fixedSubgroupSize(rt);
    if (sg) {
      expect(() => matmul(rt, A, B3, C, { tile: { TM: 2 * sg, TN: 4, WGX: sg, WGY: 2, SUBGROUP: true } })).toThrow(/workgroup must be one subgroup/);
      // (with subgroups of 4 every TM a register tile allows, a multiple of 4, is one of the subgroup size)
      if (sg > 4) expect(() => matmul(rt, A, B3, C, { tile: { TM: sg + 4, TN: 4, WGX: sg, WGY: 1, SUBGROUP: true } })).toThrow(/TM must be a multiple of the subgroup size/);
    } else {
      expect(() => matmul(rt, A, B3, C, { tile: { TM: 16, TN: 4, WGX: 8, WGY: 1, SUBGROUP: true } })).toThrow(/subgroup tiles need the 'subgroups' feature/);
    }
    const bad: MatrixView = { tensor: A, batch: [1, 1], rows: 2, cols: 3, ld: 4, batchStrides: [0, 0], offset: 0 };
    expect(() => matmul(rt, bad, B3, C)).toThrow(/A's view reaches element 6, beyond its tensor of 6 elements/);
    rt.release(A, B, C, B3, i32, b3, c2, bias);
  });
});
