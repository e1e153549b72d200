// Every kernel at the shapes of a small BERT step and square matmuls; median ms, GFLOP/s or
// GB/s; and, in the same run, the same operation through TensorFlow.js's WebGPU backend on
// the same kind of adapter (cases with a `tfjs` peer), with a check that both agree.
// `electrolite bench kernels [--json] [--adapter A] [--filter S] [--no-tfjs] [--no-autotune]`
// (src/cli/bench.ts) runs it.
import { setAutotuneDefaults } from '../src/kernels/autotune.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { AcquiredDevice, AdapterDescription } from '../src/gpu/adapter.js';
import { rates, relDiff, timeOps, timeTfjs, type BenchCase, type BenchResult } from './harness.js';
import { basicCases } from './cases-basic.js';
import { attentionCases, attentionTilingCases } from './cases-attention.js';
import { normCases } from './cases-norm.js';
import { matmulCases, tilingCases } from './cases-matmul.js';
import { lossCases } from './cases-loss.js';
import { loadTfjs } from './tfjs.js';
import { colsumCases } from './cases-colsum.js';

export function allCases(): BenchCase[] {
  return [...basicCases(), ...matmulCases(), ...lossCases(), ...normCases(), ...attentionCases(), ...colsumCases()];
}

/** The shapes `--tilings` times with every tile: square, and a BERT step's widest and narrowest (hidden 256, 4096 rows). */
const TILING_SHAPES = [
  { kernel: 'matmul tiling', M: 256, K: 256, N: 256 },
  { kernel: 'matmul tiling', M: 1024, K: 1024, N: 1024 },
  { kernel: 'matmul tiling ffn_up', M: 4096, K: 256, N: 1024 },
  { kernel: 'matmul tiling out', M: 4096, K: 256, N: 256 },
  { kernel: 'matmul[TN] tiling ffn_up.dW', M: 256, K: 4096, N: 1024, transA: true },
];

export interface KernelBenchOptions {
  /** Only the cases whose `kernel shape` contains this text. */
  filter?: string;
  /** Time the TensorFlow.js peers too (default true). */
  tfjs?: boolean;
  /** false: no autotuning, the default tiles (default: as ELECTROLITE_AUTOTUNE says). */
  autotune?: boolean;
  /** Also time TILING_SHAPES with every tile the autotuner tries here (f32 and, with shader-f16, f16 inputs), and each fused attention pass with every tile it tries. */
  tilings?: boolean;
  /** Notes, warnings and the autotuner's log, one line at a time (the CLI: stderr). */
  log?: (line: string) => void;
  /** Where the text table goes, row by row as the cases finish; none when absent (the CLI: stdout without --json). */
  table?: (text: string) => void;
  /** Called once, before the first case, with the report that the cases then fill (a caller stopped early may print what it holds). */
  started?: (report: KernelBenchReport) => void;
}

export interface KernelBenchReport {
  adapter: AdapterDescription & Pick<AcquiredDevice, 'kind' | 'backend'>;
  /** The peer's description, or why there was none. */
  tfjs: string;
  results: BenchResult[];
}

export async function benchKernels(rt: Runtime, o: KernelBenchOptions = {}): Promise<KernelBenchReport> {
  const say = o.log ?? (() => {});
  const table = o.table;
  setAutotuneDefaults({ enabled: o.autotune === false ? false : undefined, log: say });
  const every = [...allCases(), ...(o.tilings ? [...TILING_SHAPES.flatMap((t) => tilingCases(rt, t)), ...attentionTilingCases(rt)] : [])];
  const missing = every.filter((c) => c.needs === 'f16' && !rt.caps.f16);
  if (missing.length) say(`${missing.length} f16 cases left out: this adapter lacks shader-f16`);
  const cases = every.filter((c) => !missing.includes(c) && (!o.filter || `${c.kernel} ${c.shape}`.includes(o.filter)));
  let peer = o.tfjs === false ? 'tfjs: disabled (--no-tfjs)' : cases.some((c) => c.tfjs) ? await loadTfjs(rt) : 'tfjs: no case has a peer';
  const tfjsNote = typeof peer === 'string' ? peer : peer.description;
  say(typeof peer === 'string' ? `${peer}; tfjs figures omitted` : `peer: ${peer.description}`);
  table?.(`${'kernel'.padEnd(24)} ${'shape'.padEnd(20)} ${'ms'.padStart(10)}     rate            ${typeof peer === 'string' ? '' : 'tfjs ms      tfjs rate     ×tfjs'}\n`);
  const report: KernelBenchReport = { adapter: { ...rt.gpu.adapter, kind: rt.gpu.kind, backend: rt.gpu.backend }, tfjs: tfjsNote, results: [] };
  const results = report.results;
  o.started?.(report);
  for (const c of cases) {
    let built;
    try {
      built = await c.setup(rt);
    } catch (e) {
      // A fixed tile may not fit this adapter (workgroup size or memory): recorded, not fatal.
      if (!c.tile) throw e;
      const error = (e as Error).message.split('\n')[0];
      results.push({ kernel: c.kernel, shape: c.shape, tile: c.tile, error });
      if (!table) say(`done ${results.length}/${cases.length}: ${c.kernel} ${c.shape} ${c.tile}: ${error}`);
      table?.(`${c.kernel.padEnd(24)} ${c.shape.padEnd(20)} ${c.tile}: ${error}\n`);
      continue;
    }
    const { ops, release, output } = built;
    const ms = await timeOps(rt, ops);
    const ours = output && typeof peer !== 'string' && c.tfjs ? await rt.read(output) : undefined;
    release();
    const r: BenchResult = { kernel: c.kernel, shape: c.shape, ...(c.tile ? { tile: c.tile } : {}), ms: Number(ms.toFixed(4)), ...rates(c, ms) };
    if (typeof peer !== 'string' && c.tfjs) {
      try {
        const t = await timeTfjs(peer, c.tfjs);
        r.tfjs_ms = Number(t.ms.toFixed(4));
        const tr = rates(c, t.ms);
        if (tr.gflops !== undefined) r.tfjs_gflops = tr.gflops;
        if (tr.gbps !== undefined) r.tfjs_gbps = tr.gbps;
        if (ours) {
          const d = relDiff(ours, t.output);
          // f32 results of the same inputs; summation orders differ.
          if (!(d <= 1e-3)) {
            r.tfjs_mismatch = Number(d.toExponential(2));
            say(`WARNING: ${c.kernel} ${c.shape}: ours and tfjs differ (max abs diff / max abs = ${d.toExponential(2)})`);
          }
        }
      } catch (e) {
        say(`tfjs ${c.kernel} ${c.shape} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    results.push(r);
    // Without a table (--json) a line on the log, so a long run shows its progress.
    if (!table) say(`done ${results.length}/${cases.length}: ${c.kernel} ${c.shape}${c.tile ? ` ${c.tile}` : ''} ${ms.toFixed(3)} ms`);
    if (table) {
      const rate = (g?: number, b?: number) => (g !== undefined ? `${g.toFixed(2)} GFLOP/s` : b !== undefined ? `${b.toFixed(2)} GB/s` : '');
      const peerCols = r.tfjs_ms !== undefined
        ? `${r.tfjs_ms.toFixed(3).padStart(10)} ms  ${rate(r.tfjs_gflops, r.tfjs_gbps).padEnd(14)} ${(r.tfjs_ms / ms).toFixed(2)}×`
        : '';
      table(`${c.kernel.padEnd(24)} ${c.shape.padEnd(20)} ${ms.toFixed(3).padStart(10)} ms  ${rate(r.gflops, r.gbps).padEnd(15)} ${c.tile ?? ''}${peerCols}\n`);
    }
  }
  peer = '';
  return report;
}
