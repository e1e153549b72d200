// `electrolite info [--json]`: what adapter this is, what it can do, and how fast a matmul runs.
import { parse, ADAPTER_OPTION, numberOption } from './args.js';
import { cliRuntime } from './runtime.js';
import { probeMatmul } from '../kernels/probe.js';
import { defaultTile } from '../kernels/matmul.js';
import { LLVMPIPE_THREADS_PER_CORE } from '../gpu/adapter.js';

export async function infoCommand(argv: string[]): Promise<number> {
  const { values } = parse('info', argv, { ...ADAPTER_OPTION, json: { type: 'boolean' }, 'probe-seconds': { type: 'string' } });
  const seconds = values['probe-seconds'] !== undefined ? numberOption('info', 'probe-seconds', values['probe-seconds'], { above: 0 }) : 1;
  const rt = await cliRuntime(values.adapter, Boolean(values.json));
  const tile = defaultTile(rt);
  const probe = await probeMatmul(rt, 512, seconds, tile);
  const g = rt.gpu;
  // Mesa's llvmpipe (lavapipe, OpenGL on the CPU) runs on LP_NUM_THREADS threads (src/gpu/adapter.ts).
  const llvmpipeThreads = g.kind === 'lavapipe' || g.kind === 'opengl' ? Number(process.env.LP_NUM_THREADS) : undefined;
  const report = {
    adapter: g.adapter,
    kind: g.kind,
    backend: g.backend,
    featureLevel: g.featureLevel,
    features: g.features,
    capabilities: g.caps,
    limits: g.limits,
    llvmpipeThreads,
    matmulGflops: Number(probe.gflops.toFixed(2)),
    matmulProbe: { n: probe.n, runs: probe.runs, seconds: Number(probe.seconds.toFixed(3)), kernel: 'matmul f32', tile },
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    const L = g.limits;
    process.stdout.write(
      [
        `adapter       ${g.adapter.description} (vendor '${g.adapter.vendor}', ${g.adapter.architecture || 'n/a'}${g.adapter.isFallbackAdapter ? ', fallback' : ''})`,
        `kind          ${g.kind}`,
        `backend       ${g.backend}`,
        `feature level ${g.featureLevel}`,
        `f16           ${g.caps.f16 ? 'yes' : 'no'}`,
        `subgroups     ${g.caps.subgroups ? `yes (size ${g.caps.subgroupMinSize}–${g.caps.subgroupMaxSize})` : 'no'}`,
        `timestamps    ${g.caps.timestamps ? 'yes' : 'no'}`,
        ...(llvmpipeThreads !== undefined ? [`threads       ${llvmpipeThreads} llvmpipe threads (LP_NUM_THREADS; default ${LLVMPIPE_THREADS_PER_CORE} per core)`] : []),
        `features      ${g.features.join(', ')}`,
        `limits        storage binding ${(L.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, buffer ${(L.maxBufferSize / 2 ** 20).toFixed(0)} MiB, ` +
          `${L.maxComputeInvocationsPerWorkgroup} invocations/workgroup, ${L.maxComputeWorkgroupStorageSize / 1024} KiB workgroup memory, ` +
          `${L.maxStorageBuffersPerShaderStage} storage buffers/stage`,
        `matmul        ${probe.gflops.toFixed(2)} GFLOP/s (f32 ${probe.n}², ${probe.runs} runs in ${probe.seconds.toFixed(2)} s; untuned tile ${tile.TM}×${tile.TN} per invocation, workgroup ${tile.WGX}×${tile.WGY}${tile.SUBGROUP ? ', subgroup' : tile.WGMEM ? ', workgroup memory' : ''})`,
      ].join('\n') + '\n',
    );
  }
  rt.destroy();
  return 0;
}
