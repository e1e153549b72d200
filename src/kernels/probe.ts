// A short matmul throughput probe (used by `electrolite info`).
import type { Runtime } from '../gpu/runtime.js';
import { matmul, defaultTile, type MatmulTile } from './matmul.js';

export interface ProbeResult {
  n: number;
  runs: number;
  seconds: number;
  gflops: number;
}

/** Square n×n f32 matmuls for about `seconds` of wall time after a warm-up; GFLOP/s. Default: this adapter's untuned tile (defaultTile). */
export async function probeMatmul(rt: Runtime, n = 512, seconds = 1, tile: MatmulTile = defaultTile(rt)): Promise<ProbeResult> {
  const fill = (len: number) => Float32Array.from({ length: len }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const A = rt.upload(fill(n * n), [n, n], 'f32', 'probe.A');
  const B = rt.upload(fill(n * n), [n, n], 'f32', 'probe.B');
  const C = rt.empty([n, n], 'f32', 'probe.C');
  try {
    const op = await matmul(rt, A, B, C, tile);
    await rt.run(op); // compiles the pipeline
    let runs = 0;
    let batch = 1;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < seconds * 1000) {
      for (let i = 0; i < batch; i++) rt.record(op);
      await rt.sync();
      runs += batch;
      elapsed = performance.now() - t0;
      // Grow batches so per-submit overhead does not dominate fast adapters.
      if (elapsed < seconds * 250) batch = Math.min(batch * 2, 64);
    }
    const secs = elapsed / 1000;
    return { n, runs, seconds: secs, gflops: (2 * n * n * n * runs) / secs / 1e9 };
  } finally {
    rt.release(A, B, C);
  }
}
