// Mixed-precision pre-training (`--precision f16`) on real bundled text: the f16 run's losses
// track the f32 run's of the same seed over a few hundred steps (tolerance stated at each
// check), every objective runs, a deliberate overflow is skipped without touching the
// parameters and lowers the loss scale until the gradients fit, a forward that always
// overflows stops with a clear error, resume is exact (the loss scaler travels in the
// checkpoint), and an adapter without shader-f16 is refused. On the OpenGL adapter (no
// shader-f16) only the refusal runs: everything else needs f16.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';
import { getRuntime } from './harness.js';
import { prepareMoby, smallTrainConfig, mean } from './train-fixtures.js';
import { Trainer, type StepReadout, type TrainConfig } from '../src/train/trainer.js';
import { runPretraining, MAX_OVERFLOW_RUN } from '../src/train/loop.js';
import { MetricsLog } from '../src/train/metrics-log.js';
import type { ObjectiveName } from '../src/objectives/registry.js';
import type { Runtime } from '../src/gpu/runtime.js';

let data = '';
const root = tempDir('electrolite-mixed-');

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);

/** One layer, one head of 64 and batch 4: a few hundred steps stay seconds on a CPU adapter. */
function config(objective: ObjectiveName, run: string, steps: number, extra: Partial<TrainConfig> = {}): TrainConfig {
  const c = smallTrainConfig(objective, data, join(root, run), steps, extra);
  return { ...c, batch: 4, model: { ...c.model, numHeads: 1, numLayers: 1 }, ...extra };
}

async function run(rt: Runtime, c: TrainConfig, steps: number, tr?: Trainer): Promise<{ tr: Trainer; readouts: StepReadout[] }> {
  tr ??= await Trainer.create(rt, c);
  const readouts: StepReadout[] = [];
  for (let i = 0; i < steps; i++) readouts.push(await tr.runStep({ metrics: true }));
  return { tr, readouts };
}

const f16 = (extra: Partial<TrainConfig> = {}): Partial<TrainConfig> => ({ precision: 'f16', ...extra });

/** Where the adapter lacks shader-f16, the f16 tests check instead that an f16 run is refused. */
async function lacksF16(rt: Runtime): Promise<boolean> {
  if (rt.caps.f16) return false;
  await expect(Trainer.create(rt, config('rts', `no-f16-${Math.random().toString(36).slice(2)}`, 2, f16()))).rejects.toThrow(/shader-f16/);
  return true;
}

describe('mixed precision (--precision f16)', () => {
  it('is refused on an adapter without shader-f16, naming the feature', async () => {
    const rt = await getRuntime();
    if (rt.caps.f16) return expect(rt.caps.f16).toBe(true); // lavapipe: the tests below train
    await expect(Trainer.create(rt, config('mlm', 'refused', 4, f16()))).rejects.toThrow(/--precision f16 needs the adapter feature 'shader-f16', which this adapter .* lacks; use --precision f32/);
  });

  for (const objective of ['mlm', 'rts'] as const)
    it(`${objective}: the f16 losses track the f32 ones over 200 steps`, async () => {
      const rt = await getRuntime();
      if (await lacksF16(rt)) return;
      const steps = 200;
      const a = (await run(rt, config(objective, `${objective}-f32`, steps), steps)).readouts;
      const b = (await run(rt, config(objective, `${objective}-f16`, steps, f16({ lossScale: { growthInterval: 50 } })), steps)).readouts;
      const la = a.map((r) => r.loss), lb = b.map((r) => r.loss);
      // The first steps: f16 activations round at ~5e-4 relative; through the loss they
      // stay within 1e-3 of it.
      for (let i = 0; i < 10; i++) expect(Math.abs(lb[i] - la[i]), `step ${i + 1}: f32 ${la[i]}, f16 ${lb[i]}`).toBeLessThan(1e-3 * Math.abs(la[i]));
      // Then the runs drift apart as any two roundings do; over the run the mean gap stays
      // under 2 % of the loss, and the last 50 steps' mean losses agree within 1 %.
      const gap = mean(la.map((x, i) => Math.abs(x - lb[i])));
      expect(gap).toBeLessThan(0.02 * mean(la));
      expect(Math.abs(mean(lb.slice(-50)) - mean(la.slice(-50)))).toBeLessThan(0.01 * mean(la.slice(-50)));
      // Both learn.
      expect(mean(la.slice(-50))).toBeLessThan(0.9 * mean(la.slice(0, 10)));
      // The readout carries the scaler; skipped steps are few and counted.
      const last = b[steps - 1].lossScale!;
      expect(last.scale).toBeGreaterThan(1);
      expect(last.skipped).toBe(b.filter((r) => r.nonfinite).length);
      expect(last.skipped).toBeLessThan(10);
      expect(a[0].lossScale).toBeUndefined();
    }, 300_000);

  it('SLM, C-RTS and ELECTRA (generator and discriminator in f16) run, their first steps within 1e-3 of f32', async () => {
    const rt = await getRuntime();
    if (await lacksF16(rt)) return;
    for (const objective of ['slm', 'crts', 'electra'] as const) {
      const a = (await run(rt, config(objective, `${objective}-f32`, 6), 6)).readouts;
      const b = (await run(rt, config(objective, `${objective}-f16`, 6, f16()), 6)).readouts;
      for (let i = 0; i < 6; i++) expect(Math.abs(b[i].loss - a[i].loss), `${objective} step ${i + 1}: f32 ${a[i].loss}, f16 ${b[i].loss}`).toBeLessThan(1e-3 * Math.abs(a[i].loss));
      if (objective === 'electra') expect(Math.abs(b[5].electra!.genLoss - a[5].electra!.genLoss)).toBeLessThan(1e-3 * a[5].electra!.genLoss);
    }
  }, 300_000);

  it('gradient accumulation and the pre-LN encoder (its residual adds in f16) track f32 the same way', async () => {
    const rt = await getRuntime();
    if (await lacksF16(rt)) return;
    const variants: [string, Partial<TrainConfig>][] = [
      ['accumulate', { accumulate: 2 }],
      ['pre-ln', { model: { ...config('rts', 'x', 1).model, preLayerNorm: true } }],
    ];
    for (const [name, extra] of variants) {
      const a = (await run(rt, config('rts', `${name}-f32`, 6, extra), 6)).readouts;
      const b = (await run(rt, config('rts', `${name}-f16`, 6, f16(extra)), 6)).readouts;
      for (let i = 0; i < 6; i++) expect(Math.abs(b[i].loss - a[i].loss), `${name} step ${i + 1}: f32 ${a[i].loss}, f16 ${b[i].loss}`).toBeLessThan(1e-3 * Math.abs(a[i].loss));
      expect(b[5].lossScale!.skipped).toBeLessThan(3);
    }
  }, 300_000);

  it('an overflow is skipped (parameters untouched) and halves the scale until the gradients fit; good steps double it', async () => {
    const rt = await getRuntime();
    if (await lacksF16(rt)) return;
    // 2^40 times any gradient overflows f16 at once.
    const tr = await Trainer.create(rt, config('mlm', 'overflow', 40, f16({ lossScale: { initial: 2 ** 40, growthInterval: 3 } })));
    const init = await tr.parameters();
    const first = await tr.runStep({ metrics: true });
    expect(first.nonfinite).toBe(true);
    expect(Number.isFinite(first.loss)).toBe(true); // the forward is f16 too, and fine: only the scaled backward overflows
    expect(first.lossScale).toEqual({ scale: 2 ** 39, skipped: 1, overflowRun: 1 });
    for (const [k, v] of await tr.parameters()) expect(v, `${k} after a skipped step`).toEqual(init.get(k));
    // Halving until a step fits, then training.
    const seq: StepReadout[] = [first];
    while (seq[seq.length - 1].nonfinite) seq.push(await tr.runStep({ metrics: true }));
    const skipped = seq.length - 1;
    expect(skipped).toBeGreaterThan(5);
    expect(seq[skipped].lossScale!.scale).toBe(2 ** (40 - skipped));
    expect(seq[skipped].lossScale!.skipped).toBe(skipped);
    const moved = await tr.parameters();
    expect([...moved].some(([k, v]) => v.some((x, i) => x !== init.get(k)![i]))).toBe(true);
    // Three good steps in a row double the scale (unless one overflows first, which halves it).
    const more = (await run(rt, tr.c as TrainConfig, 3, tr)).readouts;
    const s0 = seq[skipped].lossScale!.scale;
    if (more.every((r) => !r.nonfinite)) expect(more[1].lossScale!.scale).toBe(2 * s0);
    else expect(more.find((r) => r.nonfinite)!.lossScale!.skipped).toBe(skipped + 1);
  }, 300_000);

  it('the loop logs skipped steps and trains on; a forward that always overflows stops with a clear error', async () => {
    const rt = await getRuntime();
    if (await lacksF16(rt)) return;
    const c = config('rts', 'loop', 16, f16({ lossScale: { initial: 2 ** 32 } }));
    const s = await runPretraining(rt, c);
    expect(s.steps).toBe(16);
    const log = MetricsLog.read(join(c.run, 'metrics.jsonl'));
    const skipped = log.filter((r) => r.kind === 'skipped');
    expect(skipped.length).toBeGreaterThan(3);
    expect(skipped[0]).toMatchObject({ step: 1, lossScale: 2 ** 31, skipped: 1 });
    const trained = log.filter((r) => r.kind === 'train');
    expect(trained.length).toBe(16 - skipped.length);
    expect(trained[0].lossScale).toBe((skipped[skipped.length - 1].lossScale as number));
    expect(Number.isFinite(s.lastLoss)).toBe(true);
    expect(s.lossScale).toEqual({ scale: trained[trained.length - 1].lossScale, skipped: skipped.length });
    // lr 1e4: after its first step the weights are ~1e4 and every f16 forward overflows.
    const bad = config('mlm', 'diverge', 60, f16({ lr: 1e4, warmupSteps: 0, clip: 0 }));
    await expect(runPretraining(rt, bad)).rejects.toThrow(new RegExp(`--precision f16: the gradients overflowed on ${MAX_OVERFLOW_RUN} steps in a row up to step \\d+ .*try a lower --lr, or --precision f32`));
  }, 300_000);

  it('resume is exact: losses, parameters and the loss scaler equal the uninterrupted run', async () => {
    const rt = await getRuntime();
    if (await lacksF16(rt)) return;
    // Growth every 2 good steps: the scaler changes across the checkpoint.
    const extra = f16({ lossScale: { growthInterval: 2 } });
    const straight = await run(rt, config('crts', 'f16-straight', 10, extra), 10);
    const first = await run(rt, config('crts', 'f16-resumed', 10, extra), 5);
    await first.tr.checkpoint();
    const second = await Trainer.create(rt, config('crts', 'f16-resumed', 10, extra), { resume: true });
    expect(second.step).toBe(5);
    const after = (await run(rt, second.c as TrainConfig, 5, second)).readouts;
    expect([...first.readouts, ...after].map((r) => [r.loss, r.lossScale])).toEqual(straight.readouts.map((r) => [r.loss, r.lossScale]));
    const a = await straight.tr.parameters(), b = await second.parameters();
    for (const [k, v] of a) expect(b.get(k), k).toEqual(v);
    expect(straight.readouts[9].lossScale!.scale).not.toBe(65536);
    // The precision is a setting of the run: resuming it in f32 is refused, saying so.
    await expect(Trainer.create(rt, config('crts', 'f16-resumed', 10), { resume: true })).rejects.toThrow(/precision f16 in the checkpoint, f32 now/);
    expect(JSON.parse(readFileSync(join(root, 'f16-resumed', 'config.json'), 'utf8')).precision).toBe('f16');
  }, 300_000);
});
