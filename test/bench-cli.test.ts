// The benchmark commands through the built CLI (dist/cli.js): `bench kernels --json` has the
// fields the kernel issue asks for, with TensorFlow.js's figures beside ours; `bench steps`
// times real training steps per objective and profiles them; bad arguments exit 2.
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { prepareMoby } from './train-fixtures.js';
import { tempDir } from './tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });

describe('bench', () => {
  let data = '';
  beforeAll(async () => {
    data = await prepareMoby(tempDir('electrolite-bench-'));
  }, 120_000);

  it('kernels --json: adapter and, per case, kernel, shape, ms, GFLOP/s, and the tfjs peer in the same run', () => {
    const r = cli(['bench', 'kernels', '--json', '--filter', 'matmul 256x']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.adapter.kind).toBe(process.env.ELECTROLITE_ADAPTER);
    expect(out.results).toHaveLength(1);
    const [m] = out.results;
    expect(m).toMatchObject({ kernel: 'matmul', shape: '256x256x256' });
    expect(m.ms).toBeGreaterThan(0);
    expect(m.gflops).toBeCloseTo((2 * 256 ** 3) / m.ms / 1e6, 1);
    expect(m.tfjs_ms).toBeGreaterThan(0);
    expect(m.tfjs_gflops).toBeGreaterThan(0);
    expect(m.tfjs_mismatch).toBeUndefined(); // ours and tfjs's outputs agree
  }, 300_000);

  it('steps --json --profile: step time per objective, cost relative to MLM, phases and slowest ops', () => {
    const r = cli(['bench', 'steps', '--json', '--data', data, '--objectives', 'mlm,rts', '--steps', '1', '--profile', '3']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((x: { objective: string }) => x.objective)).toEqual(['mlm', 'rts']);
    const [mlm, rts] = out.results;
    for (const x of out.results) {
      expect(x).toMatchObject({ attention: 'auto', preset: 'tiny', batch: 8, seqLen: 32 });
      expect(x.ms).toBeGreaterThan(0);
      expect(Math.abs(x.tokensPerSecond - (8 * 32 * 1000) / x.ms)).toBeLessThanOrEqual(1); // ms is rounded to 0.01 in the JSON
      expect(Object.keys(x.profile.phases)).toEqual(['forward', 'backward', 'optimizer']);
      expect(x.profile.ops).toHaveLength(3);
      expect(x.profile.ops[0].ms).toBeGreaterThanOrEqual(x.profile.ops[2].ms);
    }
    expect(mlm.vsMlm).toBeUndefined();
    expect(rts.vsMlm).toBeCloseTo(rts.ms / mlm.ms, 1);
    // The MLM step has a vocabulary softmax; its ops are named.
    expect(JSON.stringify(mlm.profile)).not.toBe(JSON.stringify(rts.profile));
  }, 300_000);

  it('bad arguments exit 2 naming the problem', () => {
    const a = cli(['bench', 'nope']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/bench: unknown suite 'nope' \(available: kernels, data, steps\)/);
    const b = cli(['bench', 'steps', '--objectives', 'mlm,foo']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/bench steps: unknown objective 'foo'/);
    const c = cli(['bench', 'steps', '--attention', 'sparse']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/bench steps: unknown --attention 'sparse' \(expected auto, both, fused, materialized\)/);
  });
});
