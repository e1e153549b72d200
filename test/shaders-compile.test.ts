// Compiles every shader in shaders/ with every variant that kernel modules register, so
// a WGSL error is caught even in a kernel no other test reaches. f16 and subgroup
// variants compile where the adapter has the feature (lavapipe has both).
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { getRuntime } from './harness.js';
import { registeredVariants } from '../src/kernels/registry.js';
import { SHADER_SOURCES } from '../src/kernels/sources.js';
import { specKey } from '../src/gpu/pipelines.js';

// Load every kernel module so that each registers its variants.
import.meta.glob('../src/kernels/*.ts', { eager: true });

describe('shader compilation', () => {
  it('every shaders/*.wgsl file is used by a registered kernel variant', () => {
    const files = readdirSync(new URL('../shaders', import.meta.url)).filter((f) => f.endsWith('.wgsl'));
    const used = new Set(registeredVariants().map((v) => v.spec.file));
    // Files pulled in with //#include count as used by their includers.
    for (const f of [...used]) for (const m of (SHADER_SOURCES[f] ?? '').matchAll(/\/\/#include\s+([\w.-]+)/g)) used.add(m[1]);
    expect(files.filter((f) => !used.has(f))).toEqual([]);
    expect(Object.keys(SHADER_SOURCES).sort()).toEqual(files.sort());
  });

  it('every registered variant compiles on this adapter (features permitting)', async () => {
    const rt = await getRuntime();
    const seen = new Set<string>();
    let compiled = 0;
    const skipped: string[] = [];
    for (const { sig, spec } of registeredVariants()) {
      const key = `${sig.name}#${specKey(spec)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if ((spec.f16 && !rt.caps.f16) || (spec.subgroups && !rt.caps.subgroups)) {
        skipped.push(key);
        continue;
      }
      await rt.pipelines.get(sig, spec); // throws ShaderCompileError naming file and line
      compiled++;
    }
    expect(compiled).toBeGreaterThan(0);
    // lavapipe has f16 and subgroups: there, nothing may be left out.
    if (rt.caps.f16 && rt.caps.subgroups) expect(skipped).toEqual([]);
  });
});
