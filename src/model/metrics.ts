// Binary-classification metrics computed on the host from a head's logits: for the
// detection objectives (RTS, C-RTS, ELECTRA's discriminator) a confusion matrix of the
// positive class "replaced" over the real positions, and accuracy, precision, recall and F1
// from it. Pure functions: unit-tested in test/host/train-metrics.test.ts.

/** Confusion counts of the "replaced" (positive) class. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function emptyConfusion(): Confusion {
  return { tp: 0, fp: 0, fn: 0, tn: 0 };
}

/**
 * Add to `c` every position with weight ≠ 0 (special and padding positions have weight 0):
 * predicted "replaced" when its logit is > 0 (σ(z) > 0.5; a logit of exactly 0 counts as
 * "original", as in bce.wgsl's #correct), actually replaced when its target is > 0.5.
 */
export function addConfusion(c: Confusion, logits: ArrayLike<number>, target: ArrayLike<number>, weight: ArrayLike<number>): Confusion {
  if (target.length !== logits.length || weight.length !== logits.length)
    throw new Error(`confusion: ${logits.length} logits, ${target.length} targets, ${weight.length} weights (one each per position expected)`);
  for (let i = 0; i < logits.length; i++) {
    if (weight[i] === 0) continue;
    const predicted = logits[i] > 0, actual = target[i] > 0.5;
    if (predicted) {
      if (actual) c.tp++;
      else c.fp++;
    } else if (actual) c.fn++;
    else c.tn++;
  }
  return c;
}

export interface BinaryMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

/** `num / den`, 0 when there is nothing to divide by. */
export const ratio = (num: number, den: number): number => (den > 0 ? num / den : 0);

/**
 * Accuracy over all counted positions and precision, recall, F1 of "replaced". Degenerate
 * cases are 0 rather than NaN (as scikit-learn's zero_division=0): no positions → accuracy
 * 0; no predicted positives → precision 0; no actual positives → recall 0; tp = 0 → F1 0.
 */
export function binaryMetrics(c: Confusion): BinaryMetrics {
  return {
    accuracy: ratio(c.tp + c.tn, c.tp + c.fp + c.fn + c.tn),
    precision: ratio(c.tp, c.tp + c.fp),
    recall: ratio(c.tp, c.tp + c.fn),
    // = 2PR / (P + R) whenever P + R > 0, without the intermediate roundings.
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
  };
}
