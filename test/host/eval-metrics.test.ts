// Downstream metrics (src/eval/metrics.ts) against reference values: sklearn/scipy values
// saved by test/fixtures/tasks/make_metrics.py in metrics.json, and small cases by hand.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accuracy, as2Ranking, averageRanks, f1, matthews, pearson, spearman, taskMetrics } from '../../src/eval/metrics.js';
import type { Task, TaskExample } from '../../src/eval/tasks.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/tasks');
interface Cls { name: string; pred: number[]; gold: number[]; accuracy: number; mcc: number; f1?: number }
interface Corr { name: string; x: number[]; y: number[]; pearson: number | null; spearman: number | null }
interface Rank { name: string; scores: number[]; labels: number[]; groups: string[]; map: number | null; mrr: number | null; p1: number | null; questions: number; questionsWithoutPositive: number }
const ref = JSON.parse(readFileSync(join(fixtures, 'metrics.json'), 'utf8')) as { classification: Cls[]; correlation: Corr[]; ranking: Rank[] };

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-12);

describe('classification metrics vs sklearn', () => {
  it('has the fixture cases', () => expect(ref.classification.length).toBeGreaterThanOrEqual(9));
  for (const c of ref.classification) {
    it(c.name, () => {
      close(accuracy(c.pred, c.gold), c.accuracy);
      close(matthews(c.pred, c.gold), c.mcc);
      if (c.f1 !== undefined) close(f1(c.pred, c.gold), c.f1);
    });
  }

  it('by hand: binary MCC, F1', () => {
    // pred 1 1 0 0 1 0, gold 1 0 0 1 1 0 → TP 2, FP 1, FN 1, TN 2
    // MCC = (2·2 − 1·1)/√(3·3·3·3) = 3/9; F1 = 4/(4+1+1) = 2/3; accuracy 4/6.
    const p = [1, 1, 0, 0, 1, 0], g = [1, 0, 0, 1, 1, 0];
    close(matthews(p, g), 1 / 3);
    close(f1(p, g), 2 / 3);
    close(accuracy(p, g), 2 / 3);
    // F1 of the other class: TP 2 (positions 2, 5), FP 1 (3), FN 1 (1) → 2/3 as well; of a class never seen: 0.
    close(f1(p, g, 0), 2 / 3);
    expect(f1(p, g, 7)).toBe(0);
  });

  it('by hand: multi-class MCC with labels that are not 0…K−1', () => {
    // pred 5 5 9 2, gold 5 9 9 2: c = 3, s = 4; p = {5:2, 9:1, 2:1}, t = {5:1, 9:2, 2:1}
    // Σ p_k t_k = 2 + 2 + 1 = 5; Σp² = 6; Σt² = 6 → (12 − 5)/√(10·10) = 0.7
    close(matthews([5, 5, 9, 2], [5, 9, 9, 2]), 0.7);
  });

  it('degenerate: one class only gives MCC 0; empty input NaN; length mismatch throws', () => {
    expect(matthews([1, 1, 1], [1, 1, 1])).toBe(0);
    expect(matthews([0, 1, 0], [1, 1, 1])).toBe(0);
    expect(accuracy([], [])).toBeNaN();
    expect(() => accuracy([1, 2], [1])).toThrow(/2 predictions for 1 labels/);
  });
});

describe('correlations vs scipy', () => {
  for (const c of ref.correlation) {
    it(c.name, () => {
      // scipy's NaN for a constant side (null) is 0 here by definition.
      close(pearson(c.x, c.y), c.pearson ?? 0);
      close(spearman(c.x, c.y), c.spearman ?? 0);
    });
  }

  it('by hand: average ranks and Spearman with ties', () => {
    expect([...averageRanks([10, 20, 20, 30])]).toEqual([1, 2.5, 2.5, 4]);
    expect([...averageRanks([3, 1, 3, 3, 0])]).toEqual([4, 2, 4, 4, 1]);
    expect([...averageRanks([7, 7, 7])]).toEqual([2, 2, 2]);
    // x = 1 2 2 3 → ranks 1 2.5 2.5 4; y = 1 2 3 4 → ranks 1 2 3 4.
    // centred: x (−1.5, 0, 0, 1.5), y (−1.5, −0.5, 0.5, 1.5): Σxy = 4.5, Σx² = 4.5, Σy² = 5 → 4.5/√22.5
    close(spearman([1, 2, 2, 3], [1, 2, 3, 4]), 4.5 / Math.sqrt(22.5));
    close(pearson([1, 2, 3], [2, 4, 6]), 1);
  });

  it('degenerate: all ties gives 0; NaN in gives NaN', () => {
    expect(pearson([2, 2, 2], [1, 2, 3])).toBe(0);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBe(0);
    expect(pearson([1, NaN, 3], [1, 2, 3])).toBeNaN();
    expect(spearman([1, NaN, 3], [1, 2, 3])).toBeNaN();
  });
});

describe('AS2 ranking (MAP, MRR, P@1)', () => {
  for (const c of ref.ranking) {
    it(c.name, () => {
      const r = as2Ranking(c.scores, c.labels, c.groups);
      expect(r.questions).toBe(c.questions);
      expect(r.questionsWithoutPositive).toBe(c.questionsWithoutPositive);
      if (c.map === null) {
        expect(r.map).toBeNaN();
        expect(r.mrr).toBeNaN();
        expect(r.p1).toBeNaN();
      } else {
        close(r.map, c.map);
        close(r.mrr, c.mrr!);
        close(r.p1, c.p1!);
      }
    });
  }

  it('by hand, with a question without a correct candidate', () => {
    // q1: scores .2 .9 .5 .1, correct at .5 and .1 → ranks 2 and 4: AP = (1/2 + 2/4)/2 = 0.5, RR 1/2, P@1 0
    // q2: correct at the top → AP 1, RR 1, P@1 1;  q3: no correct candidate → counted, not scored
    const r = as2Ranking([0.2, 0.9, 0.5, 0.1, 0.3, 0.1, 0.4, 0.6], [0, 0, 1, 1, 1, 0, 0, 0], ['q1', 'q1', 'q1', 'q1', 'q2', 'q2', 'q3', 'q3']);
    expect(r).toEqual({ map: 0.75, mrr: 0.75, p1: 0.5, questions: 2, questionsWithoutPositive: 1 });
  });

  it('ties keep the input order', () => {
    // All scores equal: the correct candidate's rank is its position in the input.
    expect(as2Ranking([1, 1, 1], [0, 0, 1], ['q', 'q', 'q']).mrr).toBeCloseTo(1 / 3, 15);
    expect(as2Ranking([1, 1, 1], [1, 0, 0], ['q', 'q', 'q']).p1).toBe(1);
  });

  it('rejects non-finite scores and mismatched lengths', () => {
    expect(() => as2Ranking([NaN], [1], ['q'])).toThrow(/not finite/);
    expect(() => as2Ranking([1, 2], [1, 0], ['q'])).toThrow(/question ids/);
  });
});

describe('taskMetrics', () => {
  const base = { labels: ['a', 'b'], pair: false, splits: { train: [], validation: [] }, notes: [], skipped: { count: 0 } };
  const ex = (labels: number[], groups?: string[]): TaskExample[] => labels.map((label, i) => (groups ? { text: 't', label, group: groups[i] } : { text: 't', label }));

  it('classification: every listed metric', () => {
    const task: Task = { ...base, name: 'x', kind: 'classification', metric: 'f1', metrics: ['f1', 'accuracy', 'mcc'] };
    const m = taskMetrics(task, [1, 1, 0, 0, 1, 0], undefined, ex([1, 0, 0, 1, 1, 0]));
    expect(Object.keys(m).sort()).toEqual(['accuracy', 'f1', 'mcc']);
    close(m.f1, 2 / 3);
    close(m.mcc, 1 / 3);
  });

  it('regression: Pearson and Spearman of the values', () => {
    const task: Task = { ...base, labels: [], name: 'r', kind: 'regression', metric: 'pearson', metrics: ['pearson', 'spearman'] };
    const m = taskMetrics(task, [1, 2, 2, 3], undefined, ex([1, 2, 3, 4]));
    close(m.spearman, 4.5 / Math.sqrt(22.5));
    close(m.pearson, pearson([1, 2, 2, 3], [1, 2, 3, 4]));
  });

  it('AS2: ranking metrics from the scores, with the question counts', () => {
    const task: Task = { ...base, name: 'as2', kind: 'classification', pair: true, metric: 'map', metrics: ['map', 'mrr', 'p@1'] };
    const examples = ex([0, 0, 1, 1, 1, 0, 0, 0], ['q1', 'q1', 'q1', 'q1', 'q2', 'q2', 'q3', 'q3']);
    const m = taskMetrics(task, [0, 1, 0, 0, 1, 0, 0, 1], [0.2, 0.9, 0.5, 0.1, 0.3, 0.1, 0.4, 0.6], examples);
    expect(m).toEqual({ map: 0.75, mrr: 0.75, 'p@1': 0.5, questions: 2, questionsWithoutPositive: 1 });
    expect(() => taskMetrics(task, [0, 1, 0, 0, 1, 0, 0, 1], undefined, examples)).toThrow(/need the candidates' scores/);
    expect(() => taskMetrics(task, [0], [0.5], ex([1]))).toThrow(/no question id/);
  });

  it('rejects a prediction count that differs from the examples', () => {
    const task: Task = { ...base, name: 'x', kind: 'classification', metric: 'accuracy', metrics: ['accuracy'] };
    expect(() => taskMetrics(task, [1], undefined, ex([1, 0]))).toThrow(/1 predictions for 2 examples/);
  });
});
