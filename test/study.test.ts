// The study end to end with a very small budget: two objectives pre-trained a few steps on
// bundled text, a snapshot each besides the final one, fine-tuned (and probed) on a bundled
// task with the floor beside them; report.md, report.json and every plot are written, with
// every objective and the floor in them; a second run with the same --out reuses everything.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { tempDir } from './tmp.js';
import { pretrainObjective, runStudy, type StudyConfig } from '../src/eval/study.js';
import { prepareMoby } from './train-fixtures.js';
import { makeConfig } from '../src/model/config.js';
import { detectionHeadForwardFlops, encoderForwardFlops, mlmHeadForwardFlops } from '../src/model/flops.js';

describe('study', () => {
  it('pre-trains, fine-tunes and probes every snapshot and the floor; writes the report and the plots; resumes', async () => {
    const rt = await getRuntime();
    const out = tempDir('electrolite-study-');
    const c: StudyConfig = {
      objectives: ['mlm', 'rts'], preset: 'tiny', budget: { kind: 'steps', steps: 6 }, budgetText: '6 steps', tasks: ['bundled:spam'], seeds: [1, 2], checkpoints: 1,
      out, batch: 8, lr: 1e-3, seqLen: 32, vocabSize: 1000, corpus: 'moby-dick',
      finetune: { epochs: 1, lrs: [3e-3, 1e-3], batch: 32, maxLen: 32, limit: { train: 64, validation: 32, test: 32 } }, probe: true, command: 'electrolite study (test)',
    };
    const stages: { text: string; eta: number | null }[] = [];
    const reporter = { total() {}, step() {}, done() {}, message() {}, stage: (text: string, _d: number, _t: number, eta: number | null) => void stages.push({ text, eta }) };
    const study = await runStudy(rt, c, reporter);
    // Every stage said; the ETA is known from the second pre-training on (a steps budget) and shrinks to the end.
    expect(stages.map((s) => s.text.split(' ')[0])).toEqual(['pre-training', 'pre-training', ...Array((2 * 2 + 1) * 2).fill('fine-tuning')]);
    expect(stages[0].eta).toBeNull();
    const etas = stages.slice(1).map((s) => s.eta!);
    for (const e of etas) expect(e).toBeGreaterThan(0);
    expect(etas[etas.length - 1]).toBeLessThan(etas[1]);
    expect(study.objectives.map((o) => o.objective)).toEqual(['mlm', 'rts', 'none']);
    for (const o of study.objectives.slice(0, 2)) {
      expect(o.steps).toBe(6);
      expect(o.checkpoints.map((k) => k.step)).toEqual([3, 6]);
      expect(o.flops).toBeGreaterThan(0);
      for (const k of o.checkpoints) {
        const t = k.tasks['bundled:spam'];
        expect(t.finetune.scores).toHaveLength(2);
        expect(t.probe!.scores).toHaveLength(1);
        expect(t.split).toBe('test');
      }
    }
    // FLOPs from the formula (src/model/flops.ts), training = 3 × forward: MLM pays the
    // vocabulary projection and the last FFN at its 15 % only, RTS the detection head everywhere.
    const model = makeConfig('tiny', { vocabSize: 1000, maxPositions: 512 });
    const perToken = { mlm: encoderForwardFlops(model, 32, 0.15) + 0.15 * mlmHeadForwardFlops(model), rts: encoderForwardFlops(model, 32) + detectionHeadForwardFlops(model) };
    for (const o of study.objectives.slice(0, 2)) expect(o.flops / (o.tokens * 3 * perToken[o.objective as 'mlm' | 'rts'])).toBeCloseTo(1, 9);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    if (process.env.STUDY_DEBUG) console.log(md);
    for (const name of ['MLM', 'RTS', 'no pre-training']) expect(md).toContain(name);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.study.objectives).toHaveLength(3);
    const svgs = readdirSync(out).filter((f) => f.endsWith('.svg'));
    expect(svgs.length).toBeGreaterThanOrEqual(3);
    for (const f of svgs) {
      expect(readFileSync(join(out, f), 'utf8').startsWith('<svg')).toBe(true);
      expect(existsSync(join(out, f.replace(/\.svg$/, '.vl.json')))).toBe(true);
    }
    // The learning rate is searched once per objective and task (final snapshot, first seed), then reused.
    const finals = readdirSync(join(out, 'finetune', 'mlm', 'step-6', 'bundled_spam', 'seed-1')).filter((d) => d.startsWith('lr-'));
    expect(finals.sort()).toEqual(['lr-0.001', 'lr-0.003']);
    expect(readdirSync(join(out, 'finetune', 'mlm', 'step-3', 'bundled_spam', 'seed-1')).filter((d) => d.startsWith('lr-'))).toHaveLength(1);
    // Started again: everything is reused (no pre-training or fine-tuning stage does work).
    const again = await runStudy(rt, c, reporter);
    // The first start is kept; the second is listed as a resumption.
    expect(again.started).toBe(study.started);
    expect(again.resumed).toHaveLength(1);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(`| resumed | ${again.resumed![0]} |`);
    expect(again.objectives.map((o) => o.checkpoints.map((k) => k.tasks['bundled:spam'].finetune.scores))).toEqual(study.objectives.map((o) => o.checkpoints.map((k) => k.tasks['bundled:spam'].finetune.scores)));
    expect(again.objectives.map((o) => o.checkpoints.map((k) => k.tasks['bundled:spam'].probe!.scores))).toEqual(study.objectives.map((o) => o.checkpoints.map((k) => k.tasks['bundled:spam'].probe!.scores)));
    // A probe file without the task's main metric (one an older version wrote) is refused, not read as a score.
    const probeFile = join(out, 'probe', 'rts', 'step-3', 'bundled_spam.json');
    writeFileSync(probeFile, JSON.stringify({ score: 0.5, split: 'test' }));
    await expect(runStudy(rt, c, reporter)).rejects.toThrow(`${probeFile}: no f1 (bundled:spam's main metric) in this probe result`);
  });

  it('an interrupted pre-training continues from its newest checkpoint: the same losses and snapshots as an uninterrupted one', async () => {
    const rt = await getRuntime();
    const root = tempDir('electrolite-study-resume-');
    const data = await prepareMoby(root);
    const config = (out: string): StudyConfig => ({
      objectives: ['rts'], preset: 'tiny', budget: { kind: 'steps', steps: 12 }, budgetText: '12 steps', tasks: ['bundled:spam'], seeds: [1], checkpoints: 1,
      out, batch: 8, lr: 1e-3, seqLen: 32, vocabSize: 1000, data, pretrainCheckpointEvery: 4,
      finetune: { epochs: 1, lrs: [1e-3], batch: 32, maxLen: 32 }, probe: false, command: 'electrolite study (test)',
    });
    const whole = await pretrainObjective(rt, config(join(root, 'whole')), data, 'rts');
    const out = join(root, 'interrupted');
    const messages: string[] = [];
    const reporter = (crashAt: number | null) => ({
      total() {}, done() {}, stage() {},
      message: (m: string) => void messages.push(m),
      step(step: number) {
        if (step === crashAt) throw new Error('killed');
      },
    });
    // The metrics of step 10 arrive after the checkpoint of step 8: the run dies there.
    await expect(pretrainObjective(rt, config(out), data, 'rts', reporter(10))).rejects.toThrow('killed');
    expect(existsSync(join(out, 'pretrain', 'rts', 'study-pretrain.json'))).toBe(false);
    const again = await pretrainObjective(rt, config(out), data, 'rts', reporter(null));
    expect(messages.some((m) => /^pre-training rts: continuing from .*step-00000008 \(step 8\)$/.test(m))).toBe(true);
    expect(again.steps).toBe(12);
    expect(again.lossCurve.map((p) => [p.step, p.loss])).toEqual(whole.lossCurve.map((p) => [p.step, p.loss]));
    expect(again.snapshots.map((x) => x.step)).toEqual([6, 12]);
    expect(whole.snapshots.map((x) => x.step)).toEqual([6, 12]);
    // Byte for byte (Buffer.equals: toEqual walks a megabyte buffer element by element, ~10 s).
    for (let i = 0; i < 2; i++) {
      const [a, b] = [again, whole].map((r) => readFileSync(join(r.snapshots[i].dir, 'encoder.safetensors')));
      expect(a.length).toBe(b.length);
      expect(a.equals(b), `snapshot ${i}: encoder.safetensors differs`).toBe(true);
    }
    expect(again.seconds).toBeGreaterThan(0);
  });
});
