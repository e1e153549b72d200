// What a newcomer's terminal shows: only electrolite's own words. The built CLI (dist/cli.js)
// run where the Vulkan loader cannot be loaded (LD_LIBRARY_PATH to a directory whose
// libvulkan.so.1 is not a library, which the dynamic loader takes and fails on, as on a
// machine without libvulkan1), and on this project's adapter: no line of Dawn's reaches
// stderr (its messages stay available with ELECTROLITE_DEBUG=1).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const e: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: e as NodeJS.ProcessEnv, timeout: 120_000 });
}

/** A directory whose libvulkan.so.1 is an empty file: dlopen finds it first and fails ("file too short"). */
function brokenVulkanLoader(): string {
  const dir = tempDir('electrolite-novulkan-');
  writeFileSync(join(dir, 'libvulkan.so.1'), '');
  return dir;
}

describe.runIf(existsSync(CLI) && process.platform === 'linux')('native output (dist/cli.js)', () => {
  it('without a loadable Vulkan loader: Vulkan is skipped for a plain reason of ours, and Dawn prints nothing', () => {
    const noVulkan = { LD_LIBRARY_PATH: brokenVulkanLoader(), ELECTROLITE_ADAPTER: undefined, ELECTROLITE_DEBUG: undefined };
    const r = cli(['info', '--adapter', 'auto', '--probe-seconds', '0.1'], noVulkan);
    expect(r.stderr).not.toMatch(/BackendVk\.cpp|Couldn't load Vulkan|\/home\/runner\//);
    expect(r.stderr).not.toMatch(/^Warning:/m);
    expect(r.stderr).toMatch(/skipped gpu, lavapipe: the Vulkan loader cannot be loaded: .*libvulkan\.so\.1: file too short \(Debian\/Ubuntu: apt-get install libvulkan1/);
    // OpenGL (llvmpipe) needs no Vulkan: auto falls back to it.
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^adapter: opengl /m);
    // Asked for lavapipe: exit 2, the same reason, once.
    const l = cli(['info', '--adapter', 'lavapipe'], noVulkan);
    expect(l.status).toBe(2);
    expect(l.stderr).toMatch(/- lavapipe: the Vulkan loader cannot be loaded: .*file too short/);
    expect(l.stderr).not.toMatch(/BackendVk\.cpp|^Warning:/m);
  });

  it("on this project's adapter: no 'artificially reduced' lines, one plain note instead; ELECTROLITE_DEBUG=1 keeps Dawn's", () => {
    const r = cli(['info', '--probe-seconds', '0.1'], { ELECTROLITE_DEBUG: undefined });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/artificially reduced|^Warning:/m);
    expect(r.stderr.match(/electrolite: note: Dawn lowered this adapter's limit on dynamic-offset buffers/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(r.stderr).toMatch(new RegExp(`^adapter: ${process.env.ELECTROLITE_ADAPTER} `, 'm'));
    const d = cli(['info', '--probe-seconds', '0.1'], { ELECTROLITE_DEBUG: '1' });
    expect(d.status, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/^Warning: maxDynamic\w+ artificially reduced/m);
  });

  it('exit codes and standard input pass through the relay', () => {
    expect(cli(['frobnicate']).status).toBe(2);
    const r = spawnSync(process.execPath, [CLI, 'predict', '--json'], { encoding: 'utf8', input: 'x\n', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--model DIR is required/);
  });
});
