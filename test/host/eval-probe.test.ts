// The linear probe (src/eval/probe.ts) against independent torch fits of the same objectives
// (test/fixtures/probe/make_probe_fixture.py, run by a developer; never run here), plus hand
// cases with known answers and the documented errors.
//
// Logistic objective in both places, on features standardised with the training split's mean
// and population std:  L(W, b) = mean_i CE(softmax(x̃ᵢW + b), yᵢ) + (λ/2)‖W‖²_F, b unpenalised,
// b and W's rows centred to sum to zero. Tolerances: probabilities 1e-9 absolute, weights and
// biases 1e-7 absolute, objective 1e-12 relative, predictions identical.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  accuracy, fitLogistic, fitRidge, fitStandardizer, predictLogistic, predictRidge, probeClassifier, probeRegressor, type ProbeSplit,
} from '../../src/eval/probe.js';

interface Fixture {
  d: number;
  classes: number;
  train: { features: number[]; labels: number[]; targets: number[] };
  validation: { features: number[]; labels: number[]; targets: number[] };
  mean: number[];
  std: number[];
  lambdas: number[];
  selectedLambda: number;
  logistic: {
    lambda: number; weights: number[]; bias: number[]; objective: number;
    trainProbabilities: number[]; trainPredictions: number[]; validationProbabilities: number[]; validationPredictions: number[];
    validationAccuracy: number; validationCrossEntropy: number;
  }[];
  ridge: { lambda: number; weights: number[]; bias: number; validationPredictions: number[] }[];
}

const fx: Fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/probe/probe.json', import.meta.url)), 'utf8'));
const split = (s: Fixture['train'], regression = false): ProbeSplit => ({ features: Float64Array.from(s.features), labels: regression ? s.targets : s.labels, d: fx.d });
const train = split(fx.train);
const validation = split(fx.validation);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('logistic probe against torch (fixture)', () => {
  it('standardises with the training mean and population std', () => {
    const st = fitStandardizer(train.features, fx.d);
    expect(maxDiff(st.mean, fx.mean)).toBeLessThan(1e-12 * 100);
    for (let j = 0; j < fx.d; j++) expect(Math.abs(st.std[j] / fx.std[j] - 1)).toBeLessThan(1e-12);
  });

  for (const ref of fx.logistic) {
    it(`λ = ${ref.lambda}: weights, bias, objective, probabilities and predictions`, () => {
      const m = fitLogistic(train, ref.lambda);
      expect(m.converged).toBe(true);
      expect(m.classes).toBe(fx.classes);
      expect(maxDiff(m.weights, ref.weights)).toBeLessThan(1e-7);
      expect(maxDiff(m.bias, ref.bias)).toBeLessThan(1e-7);
      expect(Math.abs(m.objective / ref.objective - 1)).toBeLessThan(1e-12);
      const tr = predictLogistic(m, train.features);
      const va = predictLogistic(m, validation.features);
      expect(maxDiff(tr.probabilities, ref.trainProbabilities)).toBeLessThan(1e-9);
      expect(maxDiff(va.probabilities, ref.validationProbabilities)).toBeLessThan(1e-9);
      expect([...tr.predictions]).toEqual(ref.trainPredictions);
      expect([...va.predictions]).toEqual(ref.validationPredictions);
      expect(accuracy(va.predictions, fx.validation.labels)).toBe(ref.validationAccuracy);
    });
  }

  it('raw-space weights give the same logits as the standardised model', () => {
    const m = fitLogistic(train, fx.lambdas[0]);
    const K = m.classes;
    const probs = predictLogistic(m, validation.features).probabilities;
    for (let i = 0; i < 20; i++) {
      const z = Array.from({ length: K }, (_, k) => m.rawBias[k] + Array.from({ length: fx.d }, (_, j) => validation.features[i * fx.d + j] * m.rawWeights[j * K + k]).reduce((a, b) => a + b, 0));
      const mx = Math.max(...z);
      const s = z.reduce((a, v) => a + Math.exp(v - mx), 0);
      for (let k = 0; k < K; k++) expect(Math.abs(Math.exp(z[k] - mx) / s - probs[i * K + k])).toBeLessThan(1e-9);
    }
  });

  it('chooses λ on validation as the fixture does (accuracy, then cross-entropy)', () => {
    const sel = probeClassifier(train, validation, { lambdas: fx.lambdas });
    expect(sel.lambda).toBe(fx.selectedLambda);
    expect(sel.model.lambda).toBe(fx.selectedLambda);
    expect(sel.grid.map((g) => g.lambda)).toEqual(fx.lambdas);
    sel.grid.forEach((g, i) => {
      expect(g.score).toBe(fx.logistic[i].validationAccuracy);
      expect(Math.abs(g.validationLoss - fx.logistic[i].validationCrossEntropy)).toBeLessThan(1e-9);
    });
    // A caller's score: a constant one leaves the choice to the cross-entropy tie-break (the same λ);
    // one that prefers fewer predicted class-0 rows picks by that.
    expect(probeClassifier(train, validation, { lambdas: fx.lambdas, score: () => 0 }).lambda).toBe(fx.selectedLambda);
    const zeros = fx.logistic.map((f) => f.validationPredictions.filter((p) => p === 0).length);
    const fewest = fx.logistic.filter((_, i) => zeros[i] === Math.min(...zeros)).map((f) => f.lambda);
    const custom = probeClassifier(train, validation, { lambdas: fx.lambdas, score: (p) => -p.filter((v) => v === 0).length });
    expect(fewest).toContain(custom.lambda);
  });

  it('is deterministic to the bit', () => {
    const a = fitLogistic(train, 0.01);
    const b = fitLogistic(train, 0.01);
    expect([...a.weights]).toEqual([...b.weights]);
    expect([...a.bias]).toEqual([...b.bias]);
    expect(a.iterations).toBe(b.iterations);
  });
});

describe('ridge probe against torch (fixture)', () => {
  for (const ref of fx.ridge) {
    it(`λ = ${ref.lambda}`, () => {
      const m = fitRidge(split(fx.train, true), ref.lambda);
      expect(maxDiff(m.weights, ref.weights)).toBeLessThan(1e-10);
      expect(Math.abs(m.bias - ref.bias)).toBeLessThan(1e-10);
      expect(maxDiff(predictRidge(m, validation.features), ref.validationPredictions)).toBeLessThan(1e-9);
    });
  }

  it('chooses λ by validation MSE', () => {
    const sel = probeRegressor(split(fx.train, true), split(fx.validation, true), { lambdas: fx.ridge.map((r) => r.lambda) });
    const mse = fx.ridge.map((r) => r.validationPredictions.reduce((a, p, i) => a + (p - fx.validation.targets[i]) ** 2, 0) / r.validationPredictions.length);
    const best = fx.ridge[mse.indexOf(Math.min(...mse))].lambda;
    expect(sel.lambda).toBe(best);
  });
});

describe('hand cases', () => {
  it('separable 1-D, two classes: symmetric fit with the analytic weight', () => {
    // x = ±1 after standardisation (mean 0, population std 1); W = [[−w, w]], b = 0 by symmetry.
    // L = log(1 + e^(−2w)) + λw², so the optimum solves σ(−2w) = λw.
    const lambda = 0.1;
    const m = fitLogistic({ features: Float64Array.from([-1, 1]), labels: [0, 1], d: 1 }, lambda);
    let lo = 0, hi = 100;
    for (let i = 0; i < 200; i++) {
      const w = (lo + hi) / 2;
      if (1 / (1 + Math.exp(2 * w)) > lambda * w) lo = w;
      else hi = w;
    }
    expect(Math.abs(m.weights[1] - lo)).toBeLessThan(1e-9);
    expect(Math.abs(m.weights[0] + lo)).toBeLessThan(1e-9);
    expect(Math.abs(m.bias[0])).toBeLessThan(1e-12);
    expect(Math.abs(m.bias[1])).toBeLessThan(1e-12);
  });

  it('separable 1-D on a raw scale: every point classified, probabilities monotone in x', () => {
    const xs = [10, 11, 12, 13, 17, 18, 19, 20];
    const m = fitLogistic({ features: Float64Array.from(xs), labels: [0, 0, 0, 0, 1, 1, 1, 1], d: 1 }, 1e-3);
    expect(m.converged).toBe(true);
    const { predictions, probabilities } = predictLogistic(m, Float64Array.from(xs));
    expect([...predictions]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    for (let i = 1; i < xs.length; i++) expect(probabilities[i * 2 + 1]).toBeGreaterThan(probabilities[(i - 1) * 2 + 1]);
    // Boundary at the midpoint 15 by symmetry.
    expect(Math.abs(predictLogistic(m, Float64Array.from([15])).probabilities[1] - 0.5)).toBeLessThan(1e-9);
  });

  it('a constant column changes nothing and gets zero weight', () => {
    const n = fx.train.labels.length;
    const withConst = new Float64Array(n * (fx.d + 1));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fx.d; j++) withConst[i * (fx.d + 1) + j] = train.features[i * fx.d + j];
      withConst[i * (fx.d + 1) + fx.d] = 0.1;
    }
    const a = fitLogistic(train, 0.01);
    const b = fitLogistic({ features: withConst, labels: train.labels, d: fx.d + 1 }, 0.01);
    expect(b.standardizer.std[fx.d]).toBe(0);
    for (let k = 0; k < b.classes; k++) expect(b.weights[fx.d * b.classes + k]).toBe(0);
    const pa = predictLogistic(a, train.features).probabilities;
    const pb = predictLogistic(b, withConst).probabilities;
    expect(maxDiff(pa, pb)).toBeLessThan(1e-12);
  });

  it('ridge: noiseless linear data recovers the raw coefficients', () => {
    const n = 30, d = 3;
    const features = new Float64Array(n * d);
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      features[i * d] = i;
      features[i * d + 1] = 100 + ((i * 7) % 11);
      features[i * d + 2] = ((i * i) % 13) / 10;
      y.push(2 * features[i * d] - 3 * features[i * d + 1] + 0.5 * features[i * d + 2] + 5);
    }
    const m = fitRidge({ features, labels: y, d }, 0);
    expect(maxDiff(m.rawWeights, [2, -3, 0.5])).toBeLessThan(1e-9);
    expect(Math.abs(m.rawBias - 5)).toBeLessThan(1e-7);
  });

  it('errors: a single class, an absent class, λ ≤ 0, bad labels, bad shapes', () => {
    const f = Float64Array.from([1, 2, 3]);
    expect(() => fitLogistic({ features: f, labels: [1, 1, 1], d: 1 }, 1)).toThrow(/single class \(1\)/);
    expect(() => fitLogistic({ features: f, labels: [0, 2, 0], d: 1 }, 1)).toThrow(/class 1 of 0\.\.2 has no training example/);
    expect(() => fitLogistic({ features: f, labels: [0, 1, 0], d: 1 }, 1, { classes: 3 })).toThrow(/class 2 .* no training example/);
    expect(() => fitLogistic({ features: f, labels: [0, 1, 0], d: 1 }, 0)).toThrow(/λ must be finite and > 0/);
    expect(() => fitLogistic({ features: f, labels: [0, 1.5, 0], d: 1 }, 1)).toThrow(/not a class index/);
    expect(() => fitLogistic({ features: f, labels: [0, 1], d: 1 }, 1)).toThrow(/expected 2 rows/);
    const m = fitLogistic({ features: f, labels: [0, 1, 0], d: 1 }, 1);
    expect(() => predictLogistic(m, Float64Array.from([1, 2, 3, 4, 5]))).not.toThrow();
    const m2 = fitLogistic({ features: Float64Array.from([1, 2, 3, 4]), labels: [0, 1], d: 2 }, 1);
    expect(() => predictLogistic(m2, Float64Array.from([1, 2, 3]))).toThrow(/not a multiple of d = 2/);
    expect(() => fitRidge({ features: Float64Array.from([1, 2, 2, 4, 3, 6]), labels: [1, 2, 4], d: 2 }, 0)).toThrow(/singular/);
  });
});
