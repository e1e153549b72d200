// The built CLI (dist/cli.js, built by `npm test` before vitest): info --json, and the
// exit code and message when no adapter can be had.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
}

describe('cli', () => {
  it('info --json reports adapter, backend, feature level, features, limits and matmul GFLOP/s', () => {
    const r = cli(['info', '--json', '--probe-seconds', '0.2']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(typeof info.adapter.description).toBe('string');
    expect(info.kind).toBe(process.env.ELECTROLITE_ADAPTER);
    expect(['vulkan', 'opengl', 'metal', 'd3d12']).toContain(info.backend);
    expect(['core', 'compatibility']).toContain(info.featureLevel);
    expect(Array.isArray(info.features)).toBe(true);
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(info.matmulGflops).toBeGreaterThan(0);
    // The probe runs this adapter's untuned tile: the subgroup tile where the subgroup size is fixed (lavapipe).
    expect(Boolean(info.matmulProbe.tile.SUBGROUP)).toBe(process.env.ELECTROLITE_ADAPTER === 'lavapipe');
  });

  it('runs llvmpipe on 4 threads per core unless LP_NUM_THREADS says otherwise', () => {
    const { LP_NUM_THREADS: _, ...unset } = process.env; // the test process has set its own
    const def = spawnSync(process.execPath, [CLI, 'info', '--json', '--probe-seconds', '0.05'], { encoding: 'utf8', env: unset, timeout: 120_000 });
    expect(JSON.parse(def.stdout).llvmpipeThreads).toBe(Math.min(32, 4 * availableParallelism()));
    const set = cli(['info', '--json', '--probe-seconds', '0.05'], { LP_NUM_THREADS: '3' });
    expect(JSON.parse(set.stdout).llvmpipeThreads).toBe(3);
  });

  it('exits 2 listing what was tried and what to install when the adapter is missing', () => {
    const r = cli(['info', '--adapter', 'lavapipe'], { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/No usable WebGPU adapter/);
    expect(r.stderr).toMatch(/- lavapipe: /);
    expect(r.stderr).toMatch(/apt-get install/);
  });

  it('rejects an unknown adapter, command or option with exit 2', () => {
    expect(cli(['info', '--adapter', 'tpu']).stderr).toMatch(/Unknown adapter 'tpu': expected one of auto, gpu, lavapipe, opengl, swiftshader/);
    expect(cli(['info', '--adapter', 'tpu']).status).toBe(2);
    expect(cli(['frobnicate']).status).toBe(2);
    const bad = cli(['info', '--nope']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/info: Unknown option '--nope'/);
  });
});
