// `electrolite bench kernels [--json] [--adapter A] [--filter S]`: every kernel at the
// shapes of a small BERT step and square matmuls; median ms, GFLOP/s or GB/s.
import { parse, ADAPTER_OPTION } from '../src/cli/args.js';
import { cliRuntime } from '../src/cli/runtime.js';
import { rates, timeOps, type BenchCase, type BenchResult } from './harness.js';
import { basicCases } from './cases-basic.js';
import { normCases } from './cases-norm.js';

export function allCases(): BenchCase[] {
  return [...basicCases(), ...normCases()];
}

export async function benchKernels(argv: string[]): Promise<number> {
  const { values } = parse('bench kernels', argv, { ...ADAPTER_OPTION, json: { type: 'boolean' }, filter: { type: 'string' } });
  const rt = await cliRuntime(values.adapter, Boolean(values.json));
  const cases = allCases().filter((c) => !values.filter || `${c.kernel} ${c.shape}`.includes(values.filter));
  const results: BenchResult[] = [];
  for (const c of cases) {
    const { ops, release } = await c.setup(rt);
    const ms = await timeOps(rt, ops);
    release();
    const r: BenchResult = { kernel: c.kernel, shape: c.shape, ms: Number(ms.toFixed(4)), ...rates(c, ms) };
    results.push(r);
    if (!values.json) {
      const rate = r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : r.gbps !== undefined ? `${r.gbps.toFixed(2)} GB/s` : '';
      process.stdout.write(`${c.kernel.padEnd(24)} ${c.shape.padEnd(20)} ${ms.toFixed(3).padStart(10)} ms  ${rate}\n`);
    }
  }
  if (values.json) process.stdout.write(JSON.stringify({ adapter: { ...rt.gpu.adapter, kind: rt.gpu.kind, backend: rt.gpu.backend }, results }, null, 2) + '\n');
  rt.destroy();
  return 0;
}
