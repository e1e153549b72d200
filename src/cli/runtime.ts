// The runtime as the CLI makes it: adapter from --adapter or ELECTROLITE_ADAPTER, all
// shaders inlined; it says on stderr which adapter it took.
import { Runtime } from '../gpu/runtime.js';
import { SHADER_SOURCES } from '../kernels/sources.js';

export async function cliRuntime(adapter: string | undefined, quiet = false): Promise<Runtime> {
  const rt = await Runtime.create({ adapter, sources: SHADER_SOURCES });
  if (!quiet) {
    const skipped = rt.gpu.skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ');
    process.stderr.write(`adapter: ${rt.gpu.kind} (${rt.gpu.adapter.description}, ${rt.gpu.backend}, ${rt.gpu.featureLevel})${skipped ? ` — skipped ${skipped}` : ''}\n`);
  }
  return rt;
}
