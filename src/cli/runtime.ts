// The runtime as the CLI makes it: adapter from --adapter or ELECTROLITE_ADAPTER, all
// shaders inlined; it says on stderr which adapter it took, and why the others were skipped
// (one reason once, for all the adapters it applies to: "skipped gpu, lavapipe: …").
import { Runtime } from '../gpu/runtime.js';
import { groupAttempts } from '../gpu/adapter.js';
import { SHADER_SOURCES } from '../kernels/sources.js';

export async function cliRuntime(adapter: string | undefined, quiet = false): Promise<Runtime> {
  const rt = await Runtime.create({ adapter, sources: SHADER_SOURCES });
  if (!quiet) {
    const skipped = groupAttempts(rt.gpu.skipped).map((g) => `${g.kinds.join(', ')}: ${g.reason}`).join('; ');
    process.stderr.write(`adapter: ${rt.gpu.kind} (${rt.gpu.adapter.description}, ${rt.gpu.backend}, ${rt.gpu.featureLevel})${skipped ? ` — skipped ${skipped}` : ''}\n`);
  }
  return rt;
}
