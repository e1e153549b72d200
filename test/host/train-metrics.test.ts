// The validation metrics of src/train/metrics.ts on hand-computed cases: the confusion
// counts of "replaced" (logit > 0 vs target > 0.5, weight-0 positions skipped), accuracy,
// precision, recall and F1 from them with their degenerate-case conventions, and the totals
// read from xent's stats.
import { describe, expect, it } from 'vitest';
import { addConfusion, binaryMetrics, emptyConfusion, type BinaryMetrics, type Confusion } from '../../src/model/metrics.js';
import { xentTotals } from '../../src/kernels/xent.js';

/** Counts of logits/targets with every weight 1. */
const count = (logits: number[], target: number[]): Confusion => addConfusion(emptyConfusion(), logits, target, logits.map(() => 1));

// Derived metrics are a few divisions: equal to the hand-computed fractions to 1e-12.
function expectMetrics(m: BinaryMetrics, want: BinaryMetrics): void {
  for (const k of ['accuracy', 'precision', 'recall', 'f1'] as const) expect(m[k], k).toBeCloseTo(want[k], 12);
}

// tp 3 (logits 2.0, 0.5, 1e-3), fp 1 (0.7), fn 2 (-1, -0.2), tn 4.
const MIXED = {
  logits: [2.0, -1.0, 0.5, -3.0, 0.7, -0.2, -2.0, 1e-3, -0.1, -4.0],
  target: [1, 1, 1, 0, 0, 1, 0, 1, 0, 0],
};

describe('confusion counts and binary metrics (host)', () => {
  it('a mixed case: accuracy, precision, recall and F1 all differ', () => {
    const c = count(MIXED.logits, MIXED.target);
    expect(c).toEqual({ tp: 3, fp: 1, fn: 2, tn: 4 });
    // accuracy (3 + 4) / 10 = 0.7; precision 3 / (3 + 1) = 0.75; recall 3 / (3 + 2) = 0.6;
    // F1 = 2 · 0.75 · 0.6 / (0.75 + 0.6) = 0.9 / 1.35 = 2/3.
    expectMetrics(binaryMetrics(c), { accuracy: 0.7, precision: 0.75, recall: 0.6, f1: 2 / 3 });
  });

  it('no actual positives: recall and F1 are 0, precision 0 with false positives', () => {
    const c = count([1, -1, 0.3, -2, -0.5], [0, 0, 0, 0, 0]);
    expect(c).toEqual({ tp: 0, fp: 2, fn: 0, tn: 3 });
    expectMetrics(binaryMetrics(c), { accuracy: 0.6, precision: 0, recall: 0, f1: 0 });
    // Nothing replaced and nothing predicted: every position right, yet P = R = F1 = 0 by convention.
    expectMetrics(binaryMetrics(count([-1, -2], [0, 0])), { accuracy: 1, precision: 0, recall: 0, f1: 0 });
  });

  it('all positives: tn = fp = 0', () => {
    const c = count([3, 0.1, -1], [1, 1, 1]);
    expect(c).toEqual({ tp: 2, fp: 0, fn: 1, tn: 0 });
    // precision 2/2; recall 2/3; F1 = 2 · 1 · 2/3 / (5/3) = 0.8; accuracy 2/3.
    expectMetrics(binaryMetrics(c), { accuracy: 2 / 3, precision: 1, recall: 2 / 3, f1: 0.8 });
  });

  it('no predicted positives: precision, recall and F1 are 0', () => {
    const c = count([-1, -0.5, -2, -3, -0.1], [1, 0, 1, 0, 0]);
    expect(c).toEqual({ tp: 0, fp: 0, fn: 2, tn: 3 });
    expectMetrics(binaryMetrics(c), { accuracy: 0.6, precision: 0, recall: 0, f1: 0 });
  });

  it('all predicted positive: recall 1', () => {
    const c = count([1, 2, 0.5, 3, 0.2], [1, 0, 1, 0, 0]);
    expect(c).toEqual({ tp: 2, fp: 3, fn: 0, tn: 0 });
    // precision 2/5; F1 = 2 · 0.4 · 1 / 1.4 = 4/7; accuracy 2/5.
    expectMetrics(binaryMetrics(c), { accuracy: 0.4, precision: 0.4, recall: 1, f1: 4 / 7 });
  });

  it('no positions at all: every metric 0', () => {
    const c = count([], []);
    expect(c).toEqual({ tp: 0, fp: 0, fn: 0, tn: 0 });
    expectMetrics(binaryMetrics(c), { accuracy: 0, precision: 0, recall: 0, f1: 0 });
  });

  it('positions of weight 0 are skipped, whatever their logit and target', () => {
    // The mixed case with a weight-0 position of each kind (tp, fp, fn, tn) appended.
    const logits = [...MIXED.logits, 5, 5, -5, -5], target = [...MIXED.target, 1, 0, 1, 0];
    const weight = [...MIXED.logits.map(() => 1), 0, 0, 0, 0];
    expect(addConfusion(emptyConfusion(), logits, target, weight)).toEqual({ tp: 3, fp: 1, fn: 2, tn: 4 });
  });

  it('a logit of exactly 0 (σ = 0.5) predicts "original"; the smallest positive one "replaced"', () => {
    expect(count([0, 0, -0], [1, 0, 1])).toEqual({ tp: 0, fp: 0, fn: 2, tn: 1 });
    expect(count([Number.MIN_VALUE, Number.MIN_VALUE], [1, 0])).toEqual({ tp: 1, fp: 1, fn: 0, tn: 0 });
  });

  it('counts accumulate over calls (evaluate pools its batches)', () => {
    const c = emptyConfusion(), ones = (n: number) => new Array<number>(n).fill(1);
    addConfusion(c, MIXED.logits.slice(0, 4), MIXED.target.slice(0, 4), ones(4));
    addConfusion(c, MIXED.logits.slice(4), MIXED.target.slice(4), ones(6));
    expect(c).toEqual({ tp: 3, fp: 1, fn: 2, tn: 4 });
  });

  it('refuses logits, targets and weights of different lengths', () => {
    expect(() => addConfusion(emptyConfusion(), [1, 2], [1], [1, 1])).toThrow(/2 logits, 1 targets, 2 weights/);
  });
});

describe('xent totals (host)', () => {
  it('reads loss, #valid and #correct after the per-row stats', () => {
    // Capacity 2: rows (lse, loss, argmax, valid) × 2, then [w·mean, Σloss, #valid, #correct, #bad, scale, 0, 0].
    const stats = [9, 1.5, 4, 1, 8, 2.5, 7, 1, 2, 4, 2, 1, 0, 0.5, 0, 0];
    expect(xentTotals(stats, 2)).toEqual({ loss: 2, valid: 2, correct: 1 });
    expect(() => xentTotals(stats.slice(0, 15), 2)).toThrow(/15 values, a selection of 2 rows has 16/);
  });
});
