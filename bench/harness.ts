// Benchmark harness: a case builds its ops once; timing records `reps` launches per
// submit and takes the median over samples of wall time (CPU adapters have coarse or no
// timestamps, so wall time around a synced submit is the honest measure here).
import type { Runtime, Op } from '../src/gpu/runtime.js';

export interface BenchCase {
  kernel: string;
  shape: string;
  /** Floating-point operations per launch (for GFLOP/s), or bytes moved (for GB/s). */
  flops?: number;
  bytes?: number;
  setup(rt: Runtime): Promise<{ ops: Op[]; release(): void }>;
}

export interface BenchResult {
  kernel: string;
  shape: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  tfjs_ms?: number;
  tfjs_gflops?: number;
  tfjs_gbps?: number;
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
