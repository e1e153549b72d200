// `npm start`: until the pre-training demo exists, `info` plus a kernel smoke run that
// checks every basic kernel against its float64 reference on this adapter.
import { parse, ADAPTER_OPTION } from './args.js';
import { cliRuntime } from './runtime.js';
import { probeMatmul } from '../kernels/probe.js';
import { smokeRun } from '../kernels/smoke.js';

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse('demo', argv, { ...ADAPTER_OPTION });
  const rt = await cliRuntime(values.adapter);
  const g = rt.gpu;
  process.stdout.write(`electrolite on ${g.adapter.description} (${g.kind}, ${g.backend}, ${g.featureLevel}; f16 ${g.caps.f16 ? 'yes' : 'no'}, subgroups ${g.caps.subgroups ? 'yes' : 'no'})\n`);
  const probe = await probeMatmul(rt, 512, 1);
  process.stdout.write(`matmul probe: ${probe.gflops.toFixed(2)} GFLOP/s (f32 512²)\n\nkernel smoke run:\n`);
  const results = await smokeRun(rt, (line) => process.stdout.write(`  ${line}\n`));
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(failed.length ? `\n${failed.length} kernel(s) FAILED\n` : `\nall ${results.length} kernel checks passed\n`);
  rt.destroy();
  return failed.length ? 1 : 0;
}
