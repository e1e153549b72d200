// The benchmark commands through the built CLI (dist/cli.js): `bench kernels --json` has the
// fields the kernel issue asks for, with TensorFlow.js's figures beside ours; `bench steps`
// times real training steps per objective and profiles them; `bench train` sets them against
// the adapter's own matmul (MFU) with FLOPs, memory and scaling; bad arguments exit 2.
import { describe, expect, it, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { prepareMoby } from './train-fixtures.js';
import { tempDir } from './tmp.js';
import { getRuntime } from './harness.js';
import { tileCandidates } from '../src/kernels/matmul.js';
import { attentionTileCandidates } from '../src/kernels/attention.js';
import { tileName } from '../bench/cases-matmul.js';
import { byKernel, kernelOf } from '../bench/steps.js';

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

  it('kernels --json stopped by SIGTERM (a time limit): prints the cases done so far, marked partial, and exits 128 + 15', async () => {
    const child = spawn(process.execPath, [CLI, 'bench', 'kernels', '--json', '--no-tfjs', '--no-autotune', '--filter', 'matmul'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', total = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      // Each finished case is a line on stderr with --json; stop it after the first.
      const m = /^done 1\/(\d+):/m.exec(stderr);
      if (m && !total) {
        total = Number(m[1]);
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, stderr).toBe(143);
    expect(total).toBeGreaterThan(2);
    const out = JSON.parse(stdout);
    expect(out.partial).toBe(true);
    expect(out.adapter.kind).toBe(process.env.ELECTROLITE_ADAPTER);
    expect(out.results.length).toBeGreaterThanOrEqual(1);
    expect(out.results.length).toBeLessThan(total);
    expect(out.results[0].kernel).toMatch(/^matmul/);
    expect(out.results[0].ms).toBeGreaterThan(0);
  }, 300_000);

  it('kernels --tilings: a shape with every tile the autotuner tries here, f16 inputs where the adapter has shader-f16', async () => {
    const rt = await getRuntime();
    const storages = rt.caps.f16 ? ['f32', 'f16'] : ['f32'];
    const expected = storages.flatMap((s) => tileCandidates(rt).map((t) => `${s} ${tileName(t)}`));
    const r = cli(['bench', 'kernels', '--json', '--no-tfjs', '--tilings', '--filter', 'tiling 256x']);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).results;
    expect(rows.map((x: { kernel: string; tile: string }) => `${x.kernel.includes('f16') ? 'f16' : 'f32'} ${x.tile}`)).toEqual(expected);
    for (const x of rows) {
      expect(x.shape).toBe('256x256x256');
      // Timed, or the reason the tile does not fit this adapter.
      if (x.error === undefined) expect(x.gflops).toBeCloseTo((2 * 256 ** 3) / x.ms / 1e6, 1);
      else expect(x.error).toMatch(/tile/);
    }
    expect(rows.filter((x: { error?: string }) => x.error === undefined).length).toBeGreaterThan(0);
    // A fused attention pass (the forward in f32, the cheapest) with every tile its autotuner tries here (on CPU adapters the default alone).
    const a = cli(['bench', 'kernels', '--json', '--no-tfjs', '--tilings', '--filter', 'attention tiling fwd B']);
    expect(a.status, a.stderr).toBe(0);
    const arows = JSON.parse(a.stdout).results;
    const atiles = attentionTileCandidates(rt, 'fwd', 64).map((t) => `WG${t.WG} BT${t.BT}${t.UNROLL ? ' unrolled' : ''}`);
    expect(arows.map((x: { kernel: string; tile: string }) => `${x.kernel} ${x.tile}`)).toEqual(atiles.map((t) => `attention tiling fwd ${t}`));
    for (const x of arows) expect(x.gflops).toBeCloseTo((2 * 2 * 32 * 4 * 128 ** 2 * 64) / x.ms / 1e6, 1);
    // The f16 cases of the default set: there with shader-f16, left out with a note without it.
    const f = cli(['bench', 'kernels', '--json', '--no-tfjs', '--filter', 'f16 ffn_up']);
    expect(f.status, f.stderr).toBe(0);
    const f16 = JSON.parse(f.stdout).results;
    if (rt.caps.f16) expect(f16.map((x: { kernel: string }) => x.kernel)).toEqual(['matmul f16 ffn_up', 'matmul[TN] f16 ffn_up.dW']);
    else {
      expect(f16).toEqual([]);
      expect(f.stderr).toMatch(/f16 cases left out: this adapter lacks shader-f16/);
    }
  }, 300_000);

  it('steps --json --profile: step time per objective, cost relative to MLM, phases, slowest ops and kernels', async () => {
    const rt = await getRuntime();
    const r = cli(['bench', 'steps', '--json', '--data', data, '--objectives', 'mlm,rts', '--steps', '1', '--profile', '3']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((x: { objective: string }) => x.objective)).toEqual(['mlm', 'rts']);
    const [mlm, rts] = out.results;
    for (const x of out.results) {
      expect(x).toMatchObject({ attention: 'auto', preset: 'tiny', precision: 'f32', batch: 8, seqLen: 32 });
      expect(x.ms).toBeGreaterThan(0);
      expect(Math.abs(x.tokensPerSecond - (8 * 32 * 1000) / x.ms)).toBeLessThanOrEqual(1); // ms is rounded to 0.01 in the JSON
      expect(Object.keys(x.profile.phases)).toEqual(['forward', 'backward', 'optimizer']);
      expect(x.profile.ops).toHaveLength(3);
      expect(x.profile.ops[0].ms).toBeGreaterThanOrEqual(x.profile.ops[2].ms);
      // Inside whole steps by GPU timestamps where the adapter has them (lavapipe), else alone.
      expect(x.profile.method).toBe(rt.caps.timestamps ? 'in-step' : 'alone');
      const phaseSum = Object.values(x.profile.phases as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(x.profile.sumMs).toBeCloseTo(phaseSum, 1);
      expect(x.profile.count).toBeGreaterThan(50);
      expect(x.profile.kernels).toHaveLength(3);
      expect(x.profile.kernels[0].ms).toBeGreaterThanOrEqual(x.profile.ops[0].ms);
    }
    expect(mlm.vsMlm).toBeUndefined();
    expect(rts.vsMlm).toBeCloseTo(rts.ms / mlm.ms, 1);
    // The MLM step has a vocabulary softmax; its ops are named.
    expect(JSON.stringify(mlm.profile)).not.toBe(JSON.stringify(rts.profile));
  }, 300_000);

  it('train --json: per model and objective tokens/s, FLOPs per token from the formula, MFU against the matmul measured in the run, peak memory, scaling', () => {
    const r = cli(['bench', 'train', '--json', '--data', data, '--model', 'tiny,mini', '--objectives', 'mlm,rts', '--batch', '4', '--steps', '1']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe('tiny,mini');
    expect(out.adapter.kind).toBe(process.env.ELECTROLITE_ADAPTER);
    expect(out.results.map((x: { model: string; objective: string }) => `${x.model} ${x.objective}`)).toEqual(['tiny mlm', 'tiny rts', 'mini mlm', 'mini rts']);
    const V = 1000, T = 32, rows = 4 * T; // prepareMoby: vocabulary 1000, sequences of 32
    for (const x of out.results) {
      expect(x).toMatchObject({ precision: 'f32', batch: 4, seq_len: T });
      expect(Math.abs(x.tokens_per_s - (rows * 1000) / x.step_ms)).toBeLessThanOrEqual(1);
      // MFU is the model's FLOP/s over the matmul's, both from this run.
      expect(x.mfu_vs_matmul).toBeCloseTo((x.flops_per_token * x.tokens_per_s) / 1e9 / x.best_matmul_gflops, 2);
      // The work at the real positions (padding skipped): less than the dense-equivalent when any position was padding.
      expect(x.real_token_fraction).toBeGreaterThan(0);
      expect(x.real_token_fraction).toBeLessThanOrEqual(1);
      if (x.real_token_fraction < 1) expect(x.real_flops_per_token).toBeLessThan(x.flops_per_token);
      else expect(x.real_flops_per_token).toBe(x.flops_per_token);
      expect(x.real_flops_per_token).toBeGreaterThanOrEqual(Math.floor(x.real_token_fraction * x.flops_per_token * 0.5));
      expect(x.mfu_real_vs_matmul).toBeCloseTo((x.real_flops_per_token * x.tokens_per_s) / 1e9 / x.best_matmul_gflops, 2);
      expect(x.best_matmul_gflops).toBeGreaterThan(0);
      expect(x.peak_mem_mb).toBeGreaterThan(0);
      expect(x.mfu_vs_peak).toBeUndefined(); // a CPU adapter has no datasheet peak
    }
    const [tm, tr, mm] = out.results;
    // tiny (2 × 128, FFN 512): 3 × forward, the encoder's per-token products and attention, MLM's head at 15 % of positions
    // (and the last layer's queries, attention, output projection and FFN there only: EncoderOptions.outputRows).
    const enc = 2 * (2 * 4 * 128 * 128 + 2 * 2 * 128 * 512 + 2 * 2 * T * 128);
    const lastAtRows = 2 * 2 * 128 * 128 + 2 * 2 * 128 * 512 + 2 * 2 * T * 128;
    expect(tm.flops_per_token).toBe(Math.round(3 * (enc - 0.85 * lastAtRows + 0.15 * (2 * 128 * 128 + 2 * 128 * V))));
    expect(tr.flops_per_token).toBe(Math.round(3 * (enc + 2 * 128 * 128 + 2 * 128)));
    // The largest product here is the FFN's (the decoder at 15 % of 128 rows × 1000 words is smaller).
    expect(tm.best_matmul_shape).toBe(`${rows}x128x512`);
    expect(tr.best_matmul_shape).toBe(`${rows}x128x512`);
    expect(mm.best_matmul_shape).toBe(`${rows}x256x1024`);
    expect(tr.vs_mlm).toBeCloseTo(tr.step_ms / tm.step_ms, 1);
    // More parameters and activations: mini holds more memory than tiny.
    expect(mm.peak_mem_mb).toBeGreaterThan(tm.peak_mem_mb);
    // Each step against ELECTRA's, the same run (the target for RTS and C-RTS).
    const e = cli(['bench', 'train', '--json', '--data', data, '--model', 'tiny', '--objectives', 'rts,electra', '--batch', '2', '--steps', '1']);
    expect(e.status, e.stderr).toBe(0);
    const [er, ee] = JSON.parse(e.stdout).results;
    expect(er.vs_electra).toBeCloseTo(er.step_ms / ee.step_ms, 1);
    expect(ee.vs_electra).toBeUndefined();
    // The text table ends with the scaling rows.
    const text = cli(['bench', 'train', '--data', data, '--model', 'tiny,mini', '--objectives', 'rts', '--batch', '4', '--steps', '1']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/scaling against tiny \(tokens\/s ×, memory ×\):\n  rts +mini [0-9.]+× \/ [0-9.]+×/);
  }, 300_000);

  it('train --precision f32,f16: each objective in both, one after the other, the f16 row against its f32 row and the f16 matmul; refused without shader-f16', async () => {
    const rt = await getRuntime();
    const r = cli(['bench', 'train', '--json', '--data', data, '--model', 'tiny', '--objectives', 'mlm,rts', '--batch', '4', '--steps', '1', '--precision', 'f32,f16']);
    if (!rt.caps.f16) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/bench train: --precision f16 needs the adapter feature 'shader-f16'/);
      return;
    }
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).results;
    expect(rows.map((x: { objective: string; precision: string }) => `${x.objective} ${x.precision}`)).toEqual(['mlm f32', 'mlm f16', 'rts f32', 'rts f16']);
    const [m32, m16, r32, r16] = rows;
    expect(m16.vs_f32).toBeCloseTo(m16.step_ms / m32.step_ms, 1);
    expect(r16.vs_mlm).toBeCloseTo(r16.step_ms / m16.step_ms, 1); // against MLM of the same precision
    expect(m32.vs_f32).toBeUndefined();
    expect(m16.best_matmul_shape).toBe(`${m32.best_matmul_shape} f16`);
    expect(r16.flops_per_token).toBe(r32.flops_per_token);
    // f16 activations: less memory than the f32 step of the same objective (at batch 4 the
    // saving already exceeds the f16 weight copies: 13.4 → 12.6 MB for MLM here).
    expect(m16.peak_mem_mb).toBeLessThan(m32.peak_mem_mb);
    expect(r16.peak_mem_mb).toBeLessThan(r32.peak_mem_mb);
  }, 300_000);

  it('train --vs tfjs: the same model and objectives in TensorFlow.js on its WebGPU backend, in the same run; the ratio (beside f16 rows too)', async () => {
    const rt = await getRuntime();
    const precision = rt.caps.f16 ? 'f32,f16' : 'f32';
    const r = cli(['bench', 'train', '--json', '--data', data, '--model', 'tiny', '--objectives', 'mlm,rts', '--batch', '2', '--steps', '1', '--vs', 'tfjs', '--precision', precision]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((x: { precision: string }) => x.precision)).toEqual(rt.caps.f16 ? ['f32', 'f16', 'f32', 'f16'] : ['f32', 'f32']);
    const [m, t] = out.results.filter((x: { precision: string }) => x.precision === 'f32');
    for (const x of out.results) {
      expect(x.tfjs_tokens_per_s).toBeGreaterThan(0);
      expect(x.vs_tfjs).toBeCloseTo(x.tokens_per_s / x.tfjs_tokens_per_s, 1);
    }
    // Its first loss says the peer computes what it claims from random weights: cross-entropy
    // over the whole vocabulary (≈ ln 1000) for MLM, one logit's BCE (≈ ln 2) for RTS.
    expect(Math.abs(m.tfjs_first_loss - Math.log(1000))).toBeLessThan(0.3);
    expect(Math.abs(t.tfjs_first_loss - Math.log(2))).toBeLessThan(0.05);
  }, 300_000);

  it('bad arguments exit 2 naming the problem', () => {
    const a = cli(['bench', 'nope']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/bench: unknown suite 'nope' \(available: kernels, data, steps, train, page\)/);
    const d = cli(['bench', 'train', '--model', 'huge']);
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/bench train: unknown --model 'huge' \(expected micro, tiny, mini, small, base\)/);
    const f = spawnSync(process.execPath, [CLI, 'bench', 'train', '--vs', 'torch'], { encoding: 'utf8', env: { ...process.env, ELECTROLITE_PYTHON: '/nonexistent/python3' } });
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/bench train: --vs torch needs a Python with torch and transformers \(ELECTROLITE_PYTHON chooses one\): \/nonexistent\/python3: .*ENOENT/);
    const g = cli(['bench', 'train', '--vs', 'jax']);
    expect(g.status).toBe(2);
    expect(g.stderr).toMatch(/bench train: unknown --vs 'jax' \(expected torch or tfjs\)/);
    const e = cli(['bench', 'train', '--precision', 'f32,f8']);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/bench train: unknown --precision 'f8' \(expected f32, f16, or both: f32,f16\)/);
    const b = cli(['bench', 'steps', '--objectives', 'mlm,foo']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/bench steps: unknown objective 'foo'/);
    const c = cli(['bench', 'steps', '--attention', 'sparse']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/bench steps: unknown --attention 'sparse' \(expected auto, both, fused, materialized\)/);
    const p = cli(['bench', 'steps', '--precision', 'bf16']);
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/bench steps: unknown --precision 'bf16' \(expected f32, f16\)/);
  });
});

describe('step profile by kernel', () => {
  it('sums ops per phase and label without layer numbers or chunks, slowest first', () => {
    expect(kernelOf('encoder.layer.11.attention.self.query.backward.dW')).toBe('encoder.layer.*.attention.self.query.backward.dW');
    expect(kernelOf('xent.logits[2]')).toBe('xent.logits');
    expect(kernelOf('adamw[embeddings.word_embeddings.weight]')).toBe('adamw');
    const k = byKernel([
      { label: 'encoder.layer.0.intermediate.dense', phase: 'forward', ms: 2 },
      { label: 'xent.logits[0]', phase: 'forward', ms: 3 },
      { label: 'encoder.layer.1.intermediate.dense', phase: 'forward', ms: 2.5 },
      { label: 'xent.logits[1]', phase: 'backward', ms: 1 },
    ]);
    expect(k).toEqual([
      { kernel: 'encoder.layer.*.intermediate.dense', phase: 'forward', count: 2, ms: 4.5 },
      { kernel: 'xent.logits', phase: 'forward', count: 1, ms: 3 },
      { kernel: 'xent.logits', phase: 'backward', count: 1, ms: 1 },
    ]);
  });
});
