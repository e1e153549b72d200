// Downstream metrics, on the host, in float64, as GLUE and answer-sentence-selection papers
// report them:
//   accuracy; F1 of the positive class (binary, class index 1 unless told); Matthews'
//   correlation (multi-class, Gorodkin's R_K, the formula of sklearn's matthews_corrcoef);
//   Pearson; Spearman (Pearson of the average ranks, so ties share their mean rank, as
//   scipy.stats.spearmanr); MAP, MRR and P@1 over the questions with at least one correct
//   candidate (the others are counted, not scored).
// Degenerate inputs give 0, never NaN, where the score is 0/0: MCC (as sklearn), F1 with no
// positive predicted or present (as sklearn's zero_division=0), and Pearson/Spearman when
// either side is constant (scipy gives NaN there; 0 — "no correlation" — keeps model
// selection and averages well defined). Empty inputs (and AS2 with no question that has a
// correct candidate) give NaN: there is nothing to score.
// Tested against sklearn/scipy values saved in test/fixtures/tasks/metrics.json.
import type { Task, TaskExample } from './tasks.js';

type Num = ArrayLike<number>;

function sameLength(a: Num, b: Num, what: string): number {
  if (a.length !== b.length) throw new RangeError(`metrics: ${what}: ${a.length} predictions for ${b.length} labels`);
  return a.length;
}

/** Fraction of positions where pred equals gold. */
export function accuracy(pred: Num, gold: Num): number {
  const n = sameLength(pred, gold, 'accuracy');
  if (!n) return NaN;
  let hit = 0;
  for (let i = 0; i < n; i++) if (pred[i] === gold[i]) hit++;
  return hit / n;
}

/** F1 of class `positive` (default 1): 2·TP / (2·TP + FP + FN); 0 when that is 0/0. */
export function f1(pred: Num, gold: Num, positive = 1): number {
  const n = sameLength(pred, gold, 'f1');
  if (!n) return NaN;
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < n; i++) {
    const p = pred[i] === positive, g = gold[i] === positive;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  const d = 2 * tp + fp + fn;
  return d ? (2 * tp) / d : 0;
}

/**
 * Matthews' correlation coefficient for any number of classes (labels are compared as
 * values): (c·s − Σ_k p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)), c correct, s total, p_k and
 * t_k the predicted and true counts of class k. Binary: (TP·TN − FP·FN)/√(…). 0 when a side
 * has one class only.
 */
export function matthews(pred: Num, gold: Num): number {
  const n = sameLength(pred, gold, 'matthews');
  if (!n) return NaN;
  const p = new Map<number, number>(), t = new Map<number, number>();
  let c = 0;
  for (let i = 0; i < n; i++) {
    p.set(pred[i], (p.get(pred[i]) ?? 0) + 1);
    t.set(gold[i], (t.get(gold[i]) ?? 0) + 1);
    if (pred[i] === gold[i]) c++;
  }
  let pt = 0, pp = 0, tt = 0;
  for (const [k, v] of p) pt += v * (t.get(k) ?? 0);
  for (const v of p.values()) pp += v * v;
  for (const v of t.values()) tt += v * v;
  const s = n;
  const den = Math.sqrt((s * s - pp) * (s * s - tt));
  return den ? (c * s - pt) / den : 0;
}

/** Pearson's r (two-pass, float64); 0 when either side is constant (NaN in, NaN out). */
export function pearson(x: Num, y: Num): number {
  const n = sameLength(x, y, 'pearson');
  if (!n) return NaN;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  // Clamp the last-ulp excursions beyond ±1 of perfectly (anti-)correlated inputs.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks, ties given the mean of the ranks they span (scipy's rankdata 'average'). */
export function averageRanks(x: Num): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b] || a - b);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && x[idx[j]] === x[idx[i]]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) r[idx[k]] = rank;
    i = j;
  }
  return r;
}

/** Spearman's ρ: Pearson of the average ranks; 0 when either side is constant, NaN if any value is NaN or infinite. */
export function spearman(x: Num, y: Num): number {
  const n = sameLength(x, y, 'spearman');
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) return NaN;
  return pearson(averageRanks(x), averageRanks(y));
}

export interface RankingScores {
  /** Mean average precision over the questions with ≥ 1 correct candidate. */
  map: number;
  /** Mean reciprocal rank of the first correct candidate, same questions. */
  mrr: number;
  /** Fraction of those questions whose top-scored candidate is correct. */
  p1: number;
  /** Questions scored (with ≥ 1 correct candidate). */
  questions: number;
  /** Questions with no correct candidate: left out of MAP, MRR and P@1. */
  questionsWithoutPositive: number;
}

/**
 * Answer-sentence-selection ranking: candidates grouped by `groups[i]` (the question), each
 * group ranked by `scores` descending; equal scores keep their input order (a stable sort,
 * as Python's `sorted(…, reverse=True)`). `labels[i]` is 1 for a correct candidate, else 0.
 * AP of a question = mean over its correct candidates of (correct at or above it) / rank.
 */
export function as2Ranking(scores: Num, labels: Num, groups: ArrayLike<string>): RankingScores {
  const n = sameLength(scores, labels, 'as2Ranking');
  if (groups.length !== n) throw new RangeError(`metrics: as2Ranking: ${groups.length} question ids for ${n} candidates`);
  const byGroup = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`metrics: as2Ranking: score ${scores[i]} of candidate ${i} is not finite`);
    const g = byGroup.get(groups[i]);
    if (g) g.push(i);
    else byGroup.set(groups[i], [i]);
  }
  let ap = 0, rr = 0, p1 = 0, questions = 0, without = 0;
  for (const members of byGroup.values()) {
    const ranked = [...members].sort((a, b) => scores[b] - scores[a] || a - b);
    let hits = 0, sumPrec = 0, first = 0;
    ranked.forEach((i, k) => {
      if (labels[i] === 1) {
        hits++;
        sumPrec += hits / (k + 1);
        if (!first) first = k + 1;
      }
    });
    if (!hits) {
      without++;
      continue;
    }
    questions++;
    ap += sumPrec / hits;
    rr += 1 / first;
    if (first === 1) p1++;
  }
  return questions
    ? { map: ap / questions, mrr: rr / questions, p1: p1 / questions, questions, questionsWithoutPositive: without }
    : { map: NaN, mrr: NaN, p1: NaN, questions: 0, questionsWithoutPositive: without };
}

/**
 * Every metric of `task.metrics` for one split: `predictions` are class indices
 * (classification) or values (regression), aligned with `examples`; `scores` (the positive
 * class's score or probability) are needed for the ranking metrics (map, mrr, p@1), whose
 * result also carries `questions` and `questionsWithoutPositive`. F1 is of class index 1.
 */
export function taskMetrics(task: Task, predictions: number[], scores: number[] | undefined, examples: TaskExample[]): Record<string, number> {
  if (predictions.length !== examples.length) throw new RangeError(`metrics: ${task.name}: ${predictions.length} predictions for ${examples.length} examples`);
  const gold = examples.map((e) => e.label);
  const out: Record<string, number> = {};
  let ranking: RankingScores | undefined;
  const rank = (): RankingScores => {
    if (ranking) return ranking;
    if (!scores) throw new Error(`metrics: ${task.name}: ${task.metrics.filter((m) => m === 'map' || m === 'mrr' || m === 'p@1').join(', ')} need the candidates' scores`);
    const groups = examples.map((e, i) => {
      if (e.group === undefined) throw new Error(`metrics: ${task.name}: example ${i}${e.source ? ` (${e.source})` : ''} has no question id (group)`);
      return e.group;
    });
    return (ranking = as2Ranking(scores, gold, groups));
  };
  for (const m of task.metrics) {
    switch (m) {
      case 'accuracy': out[m] = accuracy(predictions, gold); break;
      case 'f1': out[m] = f1(predictions, gold, 1); break;
      case 'mcc': out[m] = matthews(predictions, gold); break;
      case 'pearson': out[m] = pearson(predictions, gold); break;
      case 'spearman': out[m] = spearman(predictions, gold); break;
      case 'map': out[m] = rank().map; break;
      case 'mrr': out[m] = rank().mrr; break;
      case 'p@1': out[m] = rank().p1; break;
      default: throw new Error(`metrics: ${task.name}: unknown metric '${m as string}'`);
    }
  }
  if (ranking) {
    out.questions = ranking.questions;
    out.questionsWithoutPositive = ranking.questionsWithoutPositive;
  }
  return out;
}
