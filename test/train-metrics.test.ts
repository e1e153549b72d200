// Trainer.evaluate's metrics recomputed from what it computed them from: a few training
// steps of RTS, MLM and ELECTRA on the small Moby-Dick set, then an evaluation of two
// validation batches whose onBatch hook hands back the detection head's logits, targets and
// weights and xent's per-row stats with the selection's labels. The reference below is
// plain loops written apart from src/train/metrics.ts: BCE with logits, confusion counts of
// "replaced", argmax vs label.
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { tempDir } from './tmp.js';
import { prepareMoby, smallTrainConfig, mean } from './train-fixtures.js';
import { Trainer, type EvalBatch, type EvalMetrics, type TrainConfig } from '../src/train/trainer.js';
import type { ObjectiveName } from '../src/objectives/registry.js';

const root = tempDir('electrolite-metrics-');
let data = '';

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);


const LAMBDA = 50;
const EVAL_BATCHES = 2;

// Detection runs replace half the tokens: at 15 % the head predicts "original" everywhere
// for 120 steps and more (precision = recall = 0), at 50 % all four confusion cells are
// filled after 5 steps.
const DETECTION = { maskProb: 0.5 };

/** `steps` training steps, then evaluate() with every batch it hands back. */
async function evaluated(objective: ObjectiveName, steps: number, extra: Partial<TrainConfig> = {}): Promise<{ e: EvalMetrics; batches: EvalBatch[]; vocab: number }> {
  const rt = await getRuntime();
  const tr = await Trainer.create(rt, smallTrainConfig(objective, data, join(root, `run-${objective}`), steps, { evalBatches: EVAL_BATCHES, ...extra }));
  for (let i = 0; i < steps; i++) tr.runStep();
  const batches: EvalBatch[] = [];
  const e = await tr.evaluate({ onBatch: (b) => batches.push(b) });
  expect(batches.map((b) => b.index)).toEqual([...Array(EVAL_BATCHES).keys()]);
  return { e: e!, batches, vocab: tr.cfg.vocabSize };
}

/** λ · weighted-mean BCE with logits (stable form) and the confusion counts of one batch. */
function detectionReference(d: NonNullable<EvalBatch['detection']>) {
  let wLoss = 0, wSum = 0, tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < d.logits.length; i++) {
    const w = d.weight[i];
    if (w === 0) continue;
    const z = d.logits[i], y = d.target[i];
    wLoss += w * (Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z))));
    wSum += w;
    const replaced = y > 0.5;
    if (z > 0 && replaced) tp++;
    else if (z > 0) fp++;
    else if (replaced) fn++;
    else tn++;
  }
  return { loss: (LAMBDA * wLoss) / wSum, tp, fp, fn, tn };
}

/** Mean row loss and #valid / #correct (argmax = label) over the selected rows of one batch. */
function selectionReference(s: NonNullable<EvalBatch['selection']>, vocab: number) {
  let lossSum = 0, valid = 0, correct = 0;
  for (let r = 0; r < s.count; r++) {
    const label = s.labels[r];
    if (label >= vocab) continue;
    valid++;
    lossSum += s.stats[4 * r + 1];
    if (s.stats[4 * r + 2] === label) correct++;
  }
  return { loss: lossSum / valid, valid, correct };
}

// Losses: f32 GPU reductions (and f32 exp/log in the BCE) against f64 sums of the same
// values: ≤ 1e-7 relative on both CPU adapters, 1e-5 leaves room for a GPU's coarser exp/log. Counts are integers: equal counts give bit-identical
// ratios, so accuracy, precision and recall are compared exactly; F1 is computed here in
// another (equivalent) form, so to 1e-12.
const closeLoss = (got: number, want: number, what: string) => expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.abs(want));

/** Checks the detection metrics; returns the per-batch reference losses. */
function checkDetection(e: EvalMetrics, batches: EvalBatch[]): number[] {
  const refs = batches.map((b) => detectionReference(b.detection!));
  const sum = (k: 'tp' | 'fp' | 'fn' | 'tn') => refs.reduce((a, r) => a + r[k], 0);
  const tp = sum('tp'), fp = sum('fp'), fn = sum('fn'), tn = sum('tn');
  // Every cell filled: precision, recall and accuracy differ, and no 0/0 convention is hit.
  expect(Math.min(tp, fp, fn, tn), JSON.stringify({ tp, fp, fn, tn })).toBeGreaterThan(0);
  const precision = tp / (tp + fp), recall = tp / (tp + fn);
  expect(e.accuracy).toBe((tp + tn) / (tp + fp + fn + tn));
  expect(e.precision).toBe(precision);
  expect(e.recall).toBe(recall);
  expect(e.f1).toBeCloseTo((2 * precision * recall) / (precision + recall), 12);
  // Each batch's own accuracy comes from the BCE kernel's #correct / #(w > 0).
  batches.forEach((b, i) => {
    const r = refs[i];
    closeLoss(b.readout.electra?.discLoss ?? b.readout.loss, r.loss, `batch ${i} detection loss`);
    expect(b.readout.accuracy).toBe((r.tp + r.tn) / (r.tp + r.fp + r.fn + r.tn));
  });
  return refs.map((r) => r.loss);
}

/** Checks the pooled accuracy at the selected rows; returns the per-batch reference losses. */
function checkSelection(accuracy: number | undefined, batches: EvalBatch[], vocab: number): number[] {
  const refs = batches.map((b) => selectionReference(b.selection!, vocab));
  const valid = refs.reduce((a, r) => a + r.valid, 0), correct = refs.reduce((a, r) => a + r.correct, 0);
  // Some rows right and some wrong, or an accuracy of 0 or 1 would hide a wrong count.
  expect(correct, `${correct} of ${valid}`).toBeGreaterThan(0);
  expect(correct).toBeLessThan(valid);
  expect(accuracy).toBe(correct / valid);
  // Each batch's own loss and accuracy come from xent's totals.
  batches.forEach((b, i) => {
    const r = refs[i];
    closeLoss(b.readout.electra?.genLoss ?? b.readout.loss, r.loss, `batch ${i} selection loss`);
    expect(b.readout.electra?.genAccuracy ?? b.readout.accuracy).toBe(r.correct / r.valid);
  });
  return refs.map((r) => r.loss);
}

describe('evaluate() recomputed from its batches', () => {
  it('rts: λ·BCE loss, accuracy, precision, recall and F1 of "replaced"', async () => {
    const { e, batches } = await evaluated('rts', 10, DETECTION);
    const losses = checkDetection(e, batches);
    closeLoss(e.loss, mean(losses), 'loss');
  });

  it('mlm: mean loss and accuracy of the original token at the selected rows', async () => {
    const { e, batches, vocab } = await evaluated('mlm', 10);
    const losses = checkSelection(e.accuracy, batches, vocab);
    closeLoss(e.loss, mean(losses), 'loss');
    expect(e.precision).toBeUndefined();
  });

  it('electra: discriminator metrics, generator loss and accuracy, loss = their sum', async () => {
    const { e, batches, vocab } = await evaluated('electra', 10, DETECTION);
    const disc = checkDetection(e, batches);
    const gen = checkSelection(e.genAccuracy, batches, vocab);
    closeLoss(e.genLoss!, mean(gen), 'generator loss');
    closeLoss(e.loss, mean(gen) + mean(disc), 'loss');
  });
});
