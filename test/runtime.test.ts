// The runtime itself: specialisation, compile errors that name the file and line, GPU
// errors that name the kernel, the buffer pool, uploads/downloads of every dtype, and
// one submit for many recorded kernels.
import { describe, expect, it } from 'vitest';
import { getRuntime, randomArray } from './harness.js';
import { PipelineCache, specialize, ShaderCompileError } from '../src/gpu/pipelines.js';
import { sizeClass } from '../src/gpu/pool.js';
import { binary } from '../src/kernels/elementwise.js';
import { matmul } from '../src/kernels/matmul.js';
import { GpuError } from '../src/gpu/runtime.js';
import { f16BitsToF32, f32ToF16Bits, spanOf } from '../src/gpu/tensor.js';
import { reduceRows } from '../src/kernels/reduce.js';
import { allocParams, arenaGroups, releaseParams } from '../src/model/params.js';

describe('specialize', () => {
  const src = ['const TM: u32 = 4u;', '//#if F16', 'enable f16;', '//#else', 'alias S = f32;', '//#endif', '//#ifnot X', 'let a = 1;', '//#endif'].join('\n');

  it('rewrites consts and keeps line numbers while selecting blocks', () => {
    const out = specialize(src, { file: 't.wgsl', consts: { TM: 8 }, f16: true }).split('\n');
    expect(out).toHaveLength(9);
    expect(out[0]).toBe('const TM: u32 = 8u;');
    expect(out[2]).toBe('enable f16;');
    expect(out[4]).toBe('');
    expect(out[7]).toBe('let a = 1;');
    const plain = specialize(src, { file: 't.wgsl', defines: ['X'] }).split('\n');
    expect(plain[2]).toBe('');
    expect(plain[4]).toBe('alias S = f32;');
    expect(plain[7]).toBe('');
  });

  it('rejects a const the shader does not declare, and bad values', () => {
    expect(() => specialize(src, { file: 't.wgsl', consts: { TK: 2 } })).toThrow("shaders/t.wgsl has no 'const TK: <type> = ...;' line");
    expect(() => specialize(src, { file: 't.wgsl', consts: { TM: -1 } })).toThrow('const TM must be a non-negative integer');
    expect(() => specialize('//#if A\n', { file: 'u.wgsl' })).toThrow('//#if without //#endif');
  });
});

describe('errors', () => {
  it('a WGSL compile error names the shader file, line and kernel', async () => {
    const rt = await getRuntime();
    const cache = new PipelineCache(rt.device, {
      'broken.wgsl': '@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n\n@compute @workgroup_size(1)\nfn main() {\n  a[0] = undefined_thing;\n}\n',
    });
    const err = await cache.get({ name: 'broken', bindings: ['rw'] }, { file: 'broken.wgsl' }).catch((e) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect(err.message).toMatch(/kernel 'broken'/);
    expect(err.message).toMatch(/shaders\/broken\.wgsl:5:\d+: .*undefined_thing/);
  });

  it('an unknown shader file is a clear error listing the known ones', async () => {
    const rt = await getRuntime();
    await expect(rt.pipelines.get({ name: 'x', bindings: [] }, { file: 'nope.wgsl' })).rejects.toThrow(/no shader named 'nope\.wgsl'.*matmul\.wgsl/);
  });

  it('a GPU validation error during a step becomes a thrown error naming the kernel', async () => {
    const rt = await getRuntime();
    const a = rt.upload([1, 2, 3], [3], 'f32', 'lhs'), b = rt.upload([1, 2, 3], [3]), o = rt.empty([3]);
    const op = await binary(rt, 'add', a, b, o);
    a.buffer.destroy(); // using a destroyed buffer in a submit is a validation error
    rt.record(op);
    const err = await rt.sync().catch((e) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect(err.message).toMatch(/"lhs"/);
    expect(err.message).toMatch(/in a submit of kernels: elementwise\.add/);
    await rt.sync(); // nothing left over for later work
    rt.pool.release(b.buffer);
    rt.pool.release(o.buffer);
  });

  it('a grid beyond the adapter limit is refused before dispatch, naming the op', async () => {
    const rt = await getRuntime();
    const big = 65536 * 8 * 4 + 4; // rows beyond 65535 workgroups of 8×4 rows
    const A = rt.empty([big, 1]), B = rt.empty([1, 1]), C = rt.empty([big, 1]);
    await expect(matmul(rt, A, B, C)).rejects.toThrow(/matmul: needs .* workgroups; this adapter allows at most 65535/);
    rt.release(A, B, C);
  });

  it('a tensor above maxStorageBufferBindingSize is refused with the limit', async () => {
    const rt = await getRuntime();
    const n = rt.limits.maxStorageBufferBindingSize / 4 + 1;
    expect(() => rt.empty([n], 'f32', 'huge')).toThrow(/huge: tensor .* above this adapter's maxStorageBufferBindingSize/);
  });

  it('writing the wrong number of values names the tensor', async () => {
    const rt = await getRuntime();
    const t = rt.empty([2, 2], 'f32', 'w');
    expect(() => rt.write(t, [1, 2, 3])).toThrow("write to 'w': 3 values for a tensor of shape [2, 2] (4 elements)");
    rt.release(t);
  });
});

describe('buffer pool', () => {
  it('size classes waste at most ~19 % and are 256-byte multiples', () => {
    for (const n of [1, 255, 256, 257, 1000, 4096, 5000, 123457, 1 << 20]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c % 256).toBe(0);
      if (n > 2048) expect(c / n).toBeLessThan(1.2);
    }
  });

  it('reuses released buffers and tracks live and peak bytes', async () => {
    const rt = await getRuntime();
    const before = rt.pool.getStats();
    const t1 = rt.empty([1000]);
    const mid = rt.pool.getStats();
    expect(mid.liveBytes - before.liveBytes).toBe(sizeClass(4000));
    rt.release(t1);
    const t2 = rt.empty([1001]); // same size class → same buffer
    expect(t2.buffer).toBe(t1.buffer);
    expect(rt.pool.getStats().reused).toBe(before.reused + 1);
    expect(rt.pool.getStats().peakLiveBytes).toBeGreaterThanOrEqual(mid.liveBytes);
    rt.release(t2);
    expect(() => rt.release(t2)).toThrow(/released twice/);
  });

  it('releaseSince frees exactly what was acquired after the mark', async () => {
    const rt = await getRuntime();
    const kept = rt.empty([10]);
    const mark = rt.pool.mark();
    const live0 = rt.pool.getStats().liveBuffers;
    const a = rt.empty([100]), b = rt.empty([200]), c = rt.empty([300]);
    rt.release(b); // already released: not counted again
    expect(rt.pool.releaseSince(mark)).toBe(2);
    expect(rt.pool.getStats().liveBuffers).toBe(live0);
    expect(() => rt.release(a)).toThrow(/released twice/);
    expect(() => rt.release(c)).toThrow(/released twice/);
    rt.release(kept); // acquired before the mark: still live
  });
});

describe('tensors', () => {
  it('round-trips f32, i32 and u32, and f16 where the adapter has it', async () => {
    const rt = await getRuntime();
    const f = randomArray(37, 1);
    const tf = rt.upload(f, [37]);
    expect(await rt.read(tf)).toEqual(f);
    const i = Int32Array.from({ length: 13 }, (_, k) => k * 7919 - 50000);
    const ti = rt.upload(i, [13], 'i32');
    expect(await rt.read(ti)).toEqual(i);
    const u = Uint32Array.from({ length: 5 }, (_, k) => 0xffffffff - k);
    const tu = rt.upload(u, [5], 'u32');
    expect(await rt.read(tu)).toEqual(u);
    rt.release(tf, ti, tu);
    if (rt.caps.f16) {
      const h = rt.upload([1, -2.5, 65504, 0.1, 3], [5], 'f16');
      const back = await rt.read(h);
      expect(Array.from(back)).toEqual([1, -2.5, 65504, f16BitsToF32(f32ToF16Bits(0.1)), 3]);
      rt.release(h);
    } else {
      expect(() => rt.empty([4], 'f16', 'half')).toThrow("half: dtype f16 needs the adapter feature 'shader-f16'");
    }
  });

  it('f16 conversion rounds to nearest even and handles subnormals, inf and nan', () => {
    expect(f16BitsToF32(f32ToF16Bits(1 + 2 ** -11))).toBe(1); // tie → even
    expect(f16BitsToF32(f32ToF16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(f16BitsToF32(f32ToF16Bits(2 ** -24))).toBe(2 ** -24);
    expect(f16BitsToF32(f32ToF16Bits(1e6))).toBe(Infinity);
    expect(f16BitsToF32(f32ToF16Bits(NaN))).toBeNaN();
  });

  it('many kernels recorded into one encoder go out in one submit', async () => {
    const rt = await getRuntime();
    const n = 100;
    const a = rt.upload(randomArray(n, 1), [n]), b = rt.upload(randomArray(n, 2), [n]);
    const x = rt.empty([n]), y = rt.empty([n]);
    const ops = [await binary(rt, 'add', a, b, x), await binary(rt, 'mul', x, b, y), await binary(rt, 'sub', y, a, x)];
    const submits = rt.submitCount;
    rt.record(...ops);
    rt.record(...ops);
    await rt.sync();
    expect(rt.submitCount - submits).toBe(1);
    const av = await rt.read(a), bv = await rt.read(b), xv = await rt.read(x);
    for (let i = 0; i < n; i++) expect(xv[i]).toBeCloseTo(Math.fround(Math.fround(av[i] + bv[i]) * bv[i]) - av[i], 5);
    rt.release(a, b, x, y);
  });
});

describe('arenas', () => {
  it('views start at aligned offsets of one zeroed buffer; kernels, reads, writes, copies, clears and snapshots see only their part', async () => {
    const rt = await getRuntime();
    const align = rt.limits.minStorageBufferOffsetAlignment;
    const { root, views } = rt.arena([{ shape: [3], label: 'a' }, { shape: [2, 5], label: 'b' }, { shape: [70], label: 'c' }], 'f32', 'arena');
    const [a, b, c] = views;
    expect(views.map((v) => v.view!.byteOffset)).toEqual([0, align, 2 * align]);
    expect(root.size).toBe((2 * align + Math.ceil(280 / align) * align) / 4); // c's 280 bytes round up to whole alignments
    expect(Array.from(await rt.read(root))).toEqual(new Array(root.size).fill(0));
    rt.write(a, [1, 2, 3]);
    rt.write(b, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    rt.write(c, randomArray(70, 5));
    // Kernels write a view (b = bp · bp) and read views (twice = a + a). (WebGPU forbids one
    // dispatch reading and writing the same buffer, so a view is not an operand beside its neighbour's output.)
    const bp = rt.upload([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5]), twice = rt.empty([3]);
    await rt.run(await binary(rt, 'mul', bp, bp, b), await binary(rt, 'add', a, a, twice));
    expect(Array.from(await rt.read(twice))).toEqual([2, 4, 6]);
    expect(Array.from(await rt.read(b))).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    const flat = await rt.read(root);
    expect(Array.from(flat.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(Array.from(flat.subarray(3, align / 4))).toEqual(new Array(align / 4 - 3).fill(0)); // the gap after a
    expect(Array.from(flat.subarray(align / 4, align / 4 + 10))).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    // Copies between a view and a plain tensor, clears and snapshots of views.
    const plain = rt.empty([3]);
    rt.copy(twice, a);
    rt.copy(a, plain);
    const snap = rt.snapshot([b]);
    rt.clear(b);
    rt.submit();
    expect(Array.from((await snap)[0])).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
    expect(Array.from(await rt.read(plain))).toEqual([2, 4, 6]);
    expect(Array.from(await rt.read(b))).toEqual(new Array(10).fill(0));
    expect(Array.from(await rt.read(a))).toEqual([2, 4, 6]); // clearing b left its neighbours alone
    expect(Array.from(await rt.read(c))).toEqual(Array.from(randomArray(70, 5)));
    // Optimizer state laid out as the parameters: a view of another buffer at the same place.
    const m = rt.zeros([root.size], 'f32', 'm');
    const mc = rt.viewLike(m, c, 'm c');
    rt.write(mc, new Float32Array(70).fill(7));
    expect((await rt.read(m))[(2 * align) / 4]).toBe(7);
    expect(() => rt.viewLike(plain, c, 'too small')).toThrow(/does not fit in/);
    expect(() => rt.release(a)).toThrow(/'a' is a view into 'arena'; release that arena instead/);
    rt.release(root, m, plain, bp, twice);
  });

  it('spanOf: consecutive parts with no gap are one view (kernels read it as one matrix); gaps, other buffers and orders are refused', async () => {
    const rt = await getRuntime();
    const align = rt.limits.minStorageBufferOffsetAlignment;
    const n = align / 4; // parts of whole alignments follow each other with no gap
    const { root, views } = rt.arena([{ shape: [n], label: 'p' }, { shape: [2, n / 2], label: 'q' }, { shape: [n], label: 'r' }, { shape: [3], label: 's' }, { shape: [n], label: 't' }], 'f32', 'arena');
    const [p, q, r, s, t] = views;
    const pqr = spanOf([p, q, r], [3, n], 'pqr')!;
    expect(pqr).not.toBeNull();
    expect([pqr.view!.byteOffset, pqr.byteLength, pqr.size, pqr.shape]).toEqual([0, 3 * align, 3 * n, [3, n]]);
    rt.write(p, new Float32Array(n).fill(1));
    rt.write(q, new Float32Array(n).fill(2));
    rt.write(r, new Float32Array(n).fill(3));
    const sums = rt.empty([3]);
    await rt.run(await reduceRows(rt, 'sum', pqr, sums));
    expect(Array.from(await rt.read(sums))).toEqual([n, 2 * n, 3 * n]);
    expect(spanOf([s, t], [3 + n], 'st')).toBeNull(); // s's 12 bytes leave a gap before t
    expect(spanOf([q, p], [2 * n], 'qp')).toBeNull(); // not in the arena's order
    const other = rt.arena([{ shape: [n], label: 'u' }], 'f32', 'other');
    expect(spanOf([r, other.views[0]], [2 * n], 'ru')).toBeNull(); // another buffer
    expect(spanOf([rt.empty([n])], [n], 'plain')).toBeNull(); // not a view
    expect(() => spanOf([p, q], [3, n], 'wrong')).toThrow(/wrong: shape \[3, \d+\] does not hold the \d+ elements of p, q/);
    rt.release(root, other.root, sums);
  });
});

describe('parameter arenas', () => {
  const spec = (name: string, n: number, decay: boolean) => ({ name, shape: [n], init: { kind: 'zeros' as const }, decay });
  it('group by weight-decay class in declaration order, each group within the binding limit, padding counted', () => {
    const specs = [spec('w1', 100, true), spec('b1', 3, false), spec('w2', 64, true), spec('w3', 64, true), spec('b2', 1, false)];
    // 1024 bytes a group, 256-byte alignment: w1 takes 512, w2 and w3 256 each.
    expect(arenaGroups(specs, 1024, 256).map((g) => [g.decay, g.specs.map((s) => s.name)])).toEqual([
      [true, ['w1', 'w2', 'w3']],
      [false, ['b1', 'b2']],
    ]);
    expect(arenaGroups(specs, 768, 256).map((g) => g.specs.map((s) => s.name))).toEqual([['w1', 'w2'], ['w3'], ['b1', 'b2']]);
    expect(() => arenaGroups(specs, 256, 256)).toThrow(/parameter 'w1' \[100\] needs 512 bytes, above this adapter's binding limit of 256/);
  });

  it('allocParams: every parameter and gradient is a view of its arena; zeroing clears whole arenas', async () => {
    const rt = await getRuntime();
    const p = allocParams(rt, [spec('w', 10, true), spec('b', 3, false), spec('v', 5, true)]);
    expect(p.arenas.map((a) => [a.decay, a.names])).toEqual([[true, ['w', 'v']], [false, ['b']]]);
    for (const [name, t] of p.values) expect(t.view?.owner).toBe(p.arenas.find((a) => a.names.includes(name))!.values);
    for (const [name, t] of p.grads) expect(t.view?.owner).toBe(p.arenas.find((a) => a.names.includes(name))!.grads);
    rt.write(p.grads.get('v')!, [1, 2, 3, 4, 5]);
    expect(Array.from(await rt.read(p.grads.get('v')!))).toEqual([1, 2, 3, 4, 5]);
    rt.clear(p.arenas[0].grads);
    expect(Array.from(await rt.read(p.grads.get('v')!))).toEqual([0, 0, 0, 0, 0]);
    releaseParams(rt, p);
  });
});

describe('timing ops inside a submit', () => {
  it('runs the ops in order, one span each from GPU timestamps, in order and not overlapping; refused without timestamp-query', async () => {
    const rt = await getRuntime();
    const n = 100, m = 384;
    const a = rt.upload(randomArray(n, 1), [n]), b = rt.upload(randomArray(n, 2), [n]);
    const x = rt.empty([n]), y = rt.empty([n]);
    const A = rt.upload(randomArray(m * m, 3), [m, m]), B = rt.upload(randomArray(m * m, 4), [m, m]), C = rt.empty([m, m]);
    const add = await binary(rt, 'add', a, b, x), big = await matmul(rt, A, B, C), mul = await binary(rt, 'mul', x, b, y);
    const idle = { ...mul, label: 'empty grid', workgroups: [0, 1, 1] as const };
    const ops = [add, big, idle, mul, await binary(rt, 'sub', y, a, x)];
    if (!rt.caps.timestamps) {
      await expect(rt.timeInStep(ops)).rejects.toThrow(/timestamp-query/);
      return;
    }
    const spans = await rt.timeInStep(ops);
    expect(spans.map((s) => s.label)).toEqual(ops.map((o) => o.label));
    expect(spans[0].startMs).toBe(0);
    for (const [i, s] of spans.entries()) {
      expect(s.endMs).toBeGreaterThanOrEqual(s.startMs);
      if (i > 0) expect(s.startMs).toBeGreaterThanOrEqual(spans[i - 1].endMs);
    }
    expect(spans[2].endMs).toBe(spans[2].startMs); // nothing dispatched
    expect(spans[1].endMs).toBeGreaterThan(spans[1].startMs); // 2·384³ FLOPs take time (how much is the benchmarks' business)
    const av = await rt.read(a), bv = await rt.read(b), xv = await rt.read(x);
    for (let i = 0; i < n; i++) expect(xv[i]).toBeCloseTo(Math.fround(Math.fround(av[i] + bv[i]) * bv[i]) - av[i], 5);
    rt.release(a, b, x, y, A, B, C);
  });
});

describe('includes', () => {
  it('appends an included file after the includer, once, and maps error lines back to it', async () => {
    const rt = await getRuntime();
    const sources = {
      'main.wgsl': '//#include lib.wgsl\n//#include lib.wgsl\n@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@compute @workgroup_size(1)\nfn main() { a[0] = helper(); }\n',
      'lib.wgsl': '// a library\nfn helper() -> f32 {\n  return nothing_here;\n}\n',
    };
    const text = specialize(sources['main.wgsl'], { file: 'main.wgsl' }, sources);
    expect(text.match(/fn helper/g)).toHaveLength(1);
    expect(text.split('\n')[4]).toBe('fn main() { a[0] = helper(); }');
    const cache = new PipelineCache(rt.device, sources);
    const err = await cache.get({ name: 'inc', bindings: ['rw'] }, { file: 'main.wgsl' }).catch((e) => e);
    expect(err.message).toMatch(/shaders\/lib\.wgsl:3:\d+: .*nothing_here/);
  });
});

describe('snapshots', () => {
  it('copies tensors inside the submit and resolves after it, without the caller syncing', async () => {
    const rt = await getRuntime();
    const a = rt.upload([1, 2, 3, 4, 5], [5]), b = rt.upload([10, 20, 30, 40, 50], [5]), o = rt.empty([5]);
    const n = rt.upload([7, 8, 9], [3], 'i32');
    rt.record(await binary(rt, 'add', a, b, o));
    const snap = rt.snapshot([o, n]);
    const submits = rt.submitCount;
    rt.submit();
    expect(rt.submitCount - submits).toBe(1);
    const [ov, nv] = await snap;
    expect(Array.from(ov)).toEqual([11, 22, 33, 44, 55]);
    expect(nv).toBeInstanceOf(Int32Array);
    expect(Array.from(nv)).toEqual([7, 8, 9]);
    rt.release(a, b, o, n);
  });
});
