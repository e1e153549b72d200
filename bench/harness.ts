// Benchmark harness: a case builds its ops once; timing records `reps` launches per
// submit and takes the median over samples of wall time (CPU adapters have coarse or no
// timestamps, so wall time around a synced submit is the honest measure here).
import type { Runtime, Op } from '../src/gpu/runtime.js';
import type { Tensor } from '../src/gpu/tensor.js';
import type { Tf, TfTensor, TfjsPeerRuntime } from './tfjs.js';

/**
 * The same operation through TensorFlow.js, timed in the same run. `setup` builds the
 * inputs (from the same host data as ours) and returns `run`, which enqueues one launch
 * and returns its output (the harness disposes it). Example (one line per kernel area):
 *   tfjs: { setup: (tf) => { const x = tf.tensor(data, [r, c]); return { run: () => tf.sum(x, 1), dispose: () => x.dispose() }; } }
 */
export interface TfjsPeer {
  setup(tf: Tf): { run(): TfTensor; dispose(): void };
}

export interface BenchCase {
  kernel: string;
  shape: string;
  /** Floating-point operations per launch (for GFLOP/s), or bytes moved (for GB/s). */
  flops?: number;
  bytes?: number;
  /** An adapter feature the case needs ('f16': shader-f16); left out, with a note, where it is missing. */
  needs?: 'f16';
  /** A fixed matmul tile (cases-matmul.ts tileName) instead of the autotuned one. */
  tile?: string;
  /** `output`, when given, is compared with the tfjs peer's output (both f32). */
  setup(rt: Runtime): Promise<{ ops: Op[]; release(): void; output?: Tensor }>;
  tfjs?: TfjsPeer;
}

export interface BenchResult {
  kernel: string;
  shape: string;
  /** The fixed tile of a --tilings case. */
  tile?: string;
  /** Why a --tilings case did not run (a tile beyond this adapter's limits); ms is then absent. */
  error?: string;
  ms?: number;
  gflops?: number;
  gbps?: number;
  tfjs_ms?: number;
  tfjs_gflops?: number;
  tfjs_gbps?: number;
  /** Set when ours and tfjs's outputs differ beyond f32 tolerance (max abs diff / max abs). */
  tfjs_mismatch?: number;
}

export interface TimingOptions {
  /** Minimum wall time of one sample, to amortise submit overhead. */
  minSampleMs: number;
  samples: number;
}

export const DEFAULT_TIMING: TimingOptions = { minSampleMs: 50, samples: 7 };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median milliseconds per launch of `ops` (all of them once = one launch). */
export async function timeOps(rt: Runtime, ops: Op[], t: TimingOptions = DEFAULT_TIMING): Promise<number> {
  await rt.run(...ops); // warm-up: compiles pipelines
  const t0 = performance.now();
  await rt.run(...ops);
  const once = Math.max(performance.now() - t0, 0.01);
  const reps = Math.max(1, Math.min(1000, Math.ceil(t.minSampleMs / once)));
  const samples: number[] = [];
  for (let s = 0; s < t.samples; s++) {
    const start = performance.now();
    for (let r = 0; r < reps; r++) rt.record(...ops);
    await rt.sync();
    samples.push((performance.now() - start) / reps);
  }
  return median(samples);
}

/** Median milliseconds per launch of a tfjs peer, timed like ours (launches, then one sync); also its last output. */
export async function timeTfjs(peer: TfjsPeerRuntime, p: TfjsPeer, t: TimingOptions = DEFAULT_TIMING): Promise<{ ms: number; output: ArrayLike<number> }> {
  const { run, dispose } = p.setup(peer.tf);
  try {
    const first = run(); // compiles
    const output = await first.data();
    first.dispose();
    const launch = async (reps: number) => {
      const outs: TfTensor[] = [];
      const start = performance.now();
      for (let r = 0; r < reps; r++) outs.push(run());
      await peer.sync(outs[outs.length - 1]);
      const ms = (performance.now() - start) / reps;
      for (const o of outs) o.dispose();
      return ms;
    };
    const once = Math.max(await launch(1), 0.01);
    const reps = Math.max(1, Math.min(1000, Math.ceil(t.minSampleMs / once)));
    const samples: number[] = [];
    for (let s = 0; s < t.samples; s++) samples.push(await launch(reps));
    peer.check('a kernel case');
    return { ms: median(samples), output };
  } finally {
    dispose();
  }
}

/** Max |a - b| relative to max |b| (0 when both are empty). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return Number.isFinite(d) ? d / Math.max(m, 1e-30) : Infinity;
}

export function rates(c: BenchCase, ms: number): Pick<BenchResult, 'gflops' | 'gbps'> {
  const out: Pick<BenchResult, 'gflops' | 'gbps'> = {};
  if (c.flops) out.gflops = Number((c.flops / (ms * 1e6)).toFixed(3));
  if (c.bytes) out.gbps = Number((c.bytes / (ms * 1e6)).toFixed(3));
  return out;
}

export function fill(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}
