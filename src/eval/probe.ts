// Linear probes of a frozen encoder, on the host in float64: the features are fixed vectors
// (the pooled hidden states, computed once on the GPU elsewhere), `n × d` row-major, and the
// probe is a linear model fitted to them.
//
// Classification: multinomial logistic regression (softmax over K classes, one weight column
// and one bias per class). On standardised features x̃ (below) it minimises exactly
//
//     L(W, b) = (1/n) Σᵢ [ log Σₖ exp(zᵢₖ) − zᵢ,yᵢ ]  +  (λ/2) ‖W‖²_F,     zᵢ = x̃ᵢ W + b,
//
// the mean cross-entropy plus an L2 penalty on the weights; the bias is not penalised. The
// optimiser is full-batch L-BFGS (memory 10, Wolfe line search with cubic interpolation and
// Hager–Zhang's approximate-Wolfe test near the optimum) started from W = 0, b = 0, stopped
// when ‖∇L‖∞ ≤ `gradientTolerance` (default 1e-10). Everything is sequential float64 in a fixed order, so the same inputs
// give the same bits. L is strictly convex in W for λ > 0; it is flat along b → b + c·1
// (softmax ignores a common shift) and, for the cross-entropy alone, along each row of W
// shifted by a common constant. The cross-entropy's gradient sums to zero over classes (in b
// and in every row of W), and the penalty's gradient is λW, so L-BFGS started at zero stays
// where b and every row of W sum to zero, where L is strictly convex: the fit is unique, and
// is returned with b and W's rows re-centred exactly.
//
// Regression: ridge regression with one target, in closed form (Cholesky), on the same
// standardised features:  L(w, b) = (1/2n) Σᵢ (yᵢ − x̃ᵢ·w − b)² + (λ/2) ‖w‖²,  b unpenalised.
//
// Standardisation (inside both fits): x̃ⱼ = (xⱼ − meanⱼ) / stdⱼ with the training split's
// per-column mean and population standard deviation (divide by n). A column whose std is at
// most 1e-10·max(|mean|, 1e-300) is constant: its x̃ is exactly 0 for every row of every split
// and its weights are 0 (its `std` is stored as 0 to mark it). The fitted model keeps the
// standardiser and applies it to any split; `rawWeights`/`rawBias` are the same model in the
// original feature space (z = x·rawW + rawB).
//
// λ is chosen on the validation split from a small grid (`probeClassifier`, `probeRegressor`):
// each λ is fitted on the training split from scratch, scored on validation (default: accuracy,
// ties broken by the lower validation cross-entropy, then the larger λ; for ridge, the lower
// validation mean squared error, then the larger λ; or a caller's score, higher is better),
// and the best fit is returned with the whole grid's scores.
//
// Degenerate inputs are errors, never silent: fewer than two distinct classes in the training
// labels ("a single class"), a class index in 0..K−1 with no training example (its unpenalised
// bias would run to −∞), labels that are not integers in 0..K−1, λ ≤ 0 for logistic
// regression (unbounded on separable data), and size mismatches.

/** One split of fixed features: `labels.length` rows of `d` features, row-major. */
export interface ProbeSplit {
  features: Float64Array;
  /** Class indices 0..K−1 (classification) or real targets (regression), one per row. */
  labels: ArrayLike<number>;
  d: number;
}

export interface Standardizer {
  d: number;
  /** Per-column mean of the training features. */
  mean: Float64Array;
  /** Per-column population standard deviation; 0 marks a constant column (x̃ = 0). */
  std: Float64Array;
}

export interface LogisticModel {
  kind: 'logistic';
  d: number;
  classes: number;
  lambda: number;
  standardizer: Standardizer;
  /** [d × K] row-major, on standardised features; each row sums to 0. */
  weights: Float64Array;
  /** [K], sums to 0. */
  bias: Float64Array;
  /** The same linear map on raw features: z = x·rawWeights + rawBias. */
  rawWeights: Float64Array;
  rawBias: Float64Array;
  /** L at the returned point (training split), its gradient's max-norm, L-BFGS iterations, function evaluations. */
  objective: number;
  gradientNorm: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  stopReason: 'gradient' | 'max-iterations' | 'no-progress';
}

export interface RidgeModel {
  kind: 'ridge';
  d: number;
  lambda: number;
  standardizer: Standardizer;
  /** [d], on standardised features. */
  weights: Float64Array;
  bias: number;
  rawWeights: Float64Array;
  rawBias: number;
  /** L at the solution (training split). */
  objective: number;
}

export interface LogisticOptions {
  /** K; default max(training label) + 1. */
  classes?: number;
  /** Stop when ‖∇L‖∞ ≤ this (default 1e-10). */
  gradientTolerance?: number;
  /** Default 1000. */
  maxIterations?: number;
  /** L-BFGS memory (default 10). */
  memory?: number;
}

export interface ClassifierPrediction {
  /** argmax of the probabilities (lowest index on ties). */
  predictions: Int32Array;
  /** [n × K] row-major. */
  probabilities: Float64Array;
}

export interface GridPoint {
  lambda: number;
  /** The selection score on validation (higher is better). */
  score: number;
  /** Validation mean cross-entropy (logistic) or mean squared error (ridge). */
  validationLoss: number;
  iterations?: number;
  converged?: boolean;
}

export interface ProbeSelection<M> {
  model: M;
  lambda: number;
  grid: GridPoint[];
}

export const DEFAULT_LOGISTIC_GRID: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
export const DEFAULT_RIDGE_GRID: readonly number[] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100];

// ---------------------------------------------------------------------------------------
// Standardisation

function rowsOf(split: ProbeSplit, what: string): number {
  const { features, labels, d } = split;
  if (!Number.isInteger(d) || d < 1) throw new Error(`${what}: feature dimension d must be a positive integer, got ${d}`);
  const n = labels.length;
  if (features.length !== n * d) throw new Error(`${what}: features hold ${features.length} values, expected ${n} rows × ${d} = ${n * d}`);
  return n;
}

function rowsOfFeatures(features: Float64Array, d: number): number {
  if (features.length % d !== 0) throw new Error(`features hold ${features.length} values, not a multiple of d = ${d}`);
  return features.length / d;
}

export function fitStandardizer(features: Float64Array, d: number): Standardizer {
  const n = rowsOfFeatures(features, d);
  if (n < 1) throw new Error('cannot standardise an empty training split');
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const c = features[i * d + j] - mean[j];
      std[j] += c * c;
    }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] / n);
    std[j] = s > 1e-10 * Math.max(Math.abs(mean[j]), 1e-300) ? s : 0;
  }
  return { d, mean, std };
}

export function standardize(st: Standardizer, features: Float64Array): Float64Array {
  const { d, mean, std } = st;
  const n = rowsOfFeatures(features, d);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) out[i * d + j] = std[j] === 0 ? 0 : (features[i * d + j] - mean[j]) / std[j];
  return out;
}

// ---------------------------------------------------------------------------------------
// Multinomial logistic regression

function classLabels(labels: ArrayLike<number>, classes: number | undefined, what: string): { y: Int32Array; K: number } {
  const n = labels.length;
  const y = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0) throw new Error(`${what}: label ${i} is ${v}, not a class index (an integer ≥ 0)`);
    y[i] = v;
    if (v > max) max = v;
  }
  const K = classes ?? max + 1;
  if (max >= K) throw new Error(`${what}: label ${max} is out of range for ${K} classes`);
  return { y, K };
}

/** L(W, b) and its gradient at θ = [W (d×K row-major), b (K)], on standardised X. */
function logisticLossGrad(X: Float64Array, y: Int32Array, n: number, d: number, K: number, lambda: number, theta: Float64Array, grad: Float64Array): number {
  const bOff = d * K;
  grad.fill(0);
  const z = new Float64Array(K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let k = 0; k < K; k++) z[k] = theta[bOff + k];
    for (let j = 0; j < d; j++) {
      const x = X[row + j];
      if (x === 0) continue;
      const w = j * K;
      for (let k = 0; k < K; k++) z[k] += x * theta[w + k];
    }
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (z[k] > m) m = z[k];
    let s = 0;
    for (let k = 0; k < K; k++) {
      z[k] = Math.exp(z[k] - m);
      s += z[k];
    }
    // loss_i = log Σ exp(z) − z_y = m + log s − z_y, with z_y − m = log(e_y)
    loss += Math.log(s) - Math.log(z[y[i]]);
    for (let k = 0; k < K; k++) z[k] /= s; // now p_ik
    z[y[i]] -= 1; // p − onehot
    for (let k = 0; k < K; k++) grad[bOff + k] += z[k];
    for (let j = 0; j < d; j++) {
      const x = X[row + j];
      if (x === 0) continue;
      const w = j * K;
      for (let k = 0; k < K; k++) grad[w + k] += x * z[k];
    }
  }
  let pen = 0;
  for (let t = 0; t < bOff; t++) pen += theta[t] * theta[t];
  for (let t = 0; t < grad.length; t++) grad[t] /= n;
  for (let t = 0; t < bOff; t++) grad[t] += lambda * theta[t];
  return loss / n + 0.5 * lambda * pen;
}

function probabilitiesOf(X: Float64Array, n: number, d: number, K: number, W: Float64Array, b: Float64Array): ClassifierPrediction {
  const probabilities = new Float64Array(n * K);
  const predictions = new Int32Array(n);
  const z = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) z[k] = b[k];
    for (let j = 0; j < d; j++) {
      const x = X[i * d + j];
      if (x === 0) continue;
      for (let k = 0; k < K; k++) z[k] += x * W[j * K + k];
    }
    let m = -Infinity;
    for (let k = 0; k < K; k++) if (z[k] > m) m = z[k];
    let s = 0;
    for (let k = 0; k < K; k++) s += (z[k] = Math.exp(z[k] - m));
    let best = 0;
    for (let k = 0; k < K; k++) {
      const p = z[k] / s;
      probabilities[i * K + k] = p;
      if (p > probabilities[i * K + best]) best = k;
    }
    predictions[i] = best;
  }
  return { predictions, probabilities };
}

export function fitLogistic(train: ProbeSplit, lambda: number, options: LogisticOptions = {}): LogisticModel {
  const n = rowsOf(train, 'logistic probe (training split)');
  if (!(lambda > 0) || !Number.isFinite(lambda)) throw new Error(`logistic probe: λ must be finite and > 0 (got ${lambda}); without a penalty the loss is unbounded below on separable data`);
  const d = train.d;
  const { y, K } = classLabels(train.labels, options.classes, 'logistic probe (training split)');
  const counts = new Int32Array(K);
  for (let i = 0; i < n; i++) counts[y[i]]++;
  const present = counts.filter((c) => c > 0).length;
  if (present < 2) throw new Error(`logistic probe: the training split has ${present === 0 ? 'no examples' : `a single class (${y[0]})`}; a classifier needs at least two`);
  const missing = [...counts.keys()].filter((k) => counts[k] === 0);
  if (missing.length) throw new Error(`logistic probe: class${missing.length > 1 ? 'es' : ''} ${missing.join(', ')} of 0..${K - 1} ha${missing.length > 1 ? 've' : 's'} no training example (its unpenalised bias would diverge)`);

  const standardizer = fitStandardizer(train.features, d);
  const X = standardize(standardizer, train.features);
  const fg = (theta: Float64Array, grad: Float64Array) => logisticLossGrad(X, y, n, d, K, lambda, theta, grad);
  const res = lbfgs(fg, d * K + K, {
    gradientTolerance: options.gradientTolerance ?? 1e-10,
    maxIterations: options.maxIterations ?? 1000,
    memory: options.memory ?? 10,
  });
  const weights = res.x.slice(0, d * K);
  const bias = res.x.slice(d * K);
  // Exact centring of the (already centred up to rounding) bias; weights' rows likewise.
  centre(bias, 0, K);
  for (let j = 0; j < d; j++) centre(weights, j * K, K);
  const { rawWeights, rawBias } = rawLogistic(standardizer, weights, bias, K);
  return {
    kind: 'logistic', d, classes: K, lambda, standardizer, weights, bias, rawWeights, rawBias,
    objective: res.f, gradientNorm: res.gradientNorm, iterations: res.iterations, evaluations: res.evaluations,
    converged: res.stopReason === 'gradient', stopReason: res.stopReason,
  };
}

function centre(a: Float64Array, off: number, K: number): void {
  let s = 0;
  for (let k = 0; k < K; k++) s += a[off + k];
  s /= K;
  for (let k = 0; k < K; k++) a[off + k] -= s;
}

function rawLogistic(st: Standardizer, W: Float64Array, b: Float64Array, K: number): { rawWeights: Float64Array; rawBias: Float64Array } {
  const d = st.d;
  const rawWeights = new Float64Array(d * K);
  const rawBias = Float64Array.from(b);
  for (let j = 0; j < d; j++) {
    if (st.std[j] === 0) continue;
    for (let k = 0; k < K; k++) {
      const w = W[j * K + k] / st.std[j];
      rawWeights[j * K + k] = w;
      rawBias[k] -= st.mean[j] * w;
    }
  }
  return { rawWeights, rawBias };
}

/** Probabilities and predictions of a fitted logistic probe for any split's features ([n × d]). */
export function predictLogistic(model: LogisticModel, features: Float64Array): ClassifierPrediction {
  const X = standardize(model.standardizer, features);
  return probabilitiesOf(X, X.length / model.d, model.d, model.classes, model.weights, model.bias);
}

/** Mean cross-entropy of probabilities [n × K] against class labels (probabilities floored at 1e-300). */
export function crossEntropy(probabilities: Float64Array, labels: ArrayLike<number>, K: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(probabilities[i * K + labels[i]], 1e-300));
  return s / labels.length;
}

export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) c++;
  return c / labels.length;
}

export interface ClassifierProbeOptions extends LogisticOptions {
  lambdas?: readonly number[];
  /** Validation score, higher is better (default: accuracy). */
  score?: (predictions: Int32Array, probabilities: Float64Array, labels: ArrayLike<number>) => number;
}

/** Fit a logistic probe per λ of the grid on `train`, keep the one that scores best on `validation`. */
export function probeClassifier(train: ProbeSplit, validation: ProbeSplit, options: ClassifierProbeOptions = {}): ProbeSelection<LogisticModel> {
  const lambdas = options.lambdas ?? DEFAULT_LOGISTIC_GRID;
  if (lambdas.length === 0) throw new Error('logistic probe: empty λ grid');
  const nv = rowsOf(validation, 'logistic probe (validation split)');
  if (nv === 0) throw new Error('logistic probe: the validation split is empty');
  if (validation.d !== train.d) throw new Error(`logistic probe: validation has d = ${validation.d}, training d = ${train.d}`);
  const K = options.classes ?? classLabels(train.labels, undefined, 'logistic probe (training split)').K;
  classLabels(validation.labels, K, 'logistic probe (validation split)');
  const score = options.score ?? ((p: Int32Array, _q: Float64Array, l: ArrayLike<number>) => accuracy(p, l));
  const grid: GridPoint[] = [];
  let best: { model: LogisticModel; point: GridPoint } | null = null;
  for (const lambda of lambdas) {
    const model = fitLogistic(train, lambda, { ...options, classes: K });
    const { predictions, probabilities } = predictLogistic(model, validation.features);
    const point: GridPoint = {
      lambda, score: score(predictions, probabilities, validation.labels), validationLoss: crossEntropy(probabilities, validation.labels, K),
      iterations: model.iterations, converged: model.converged,
    };
    grid.push(point);
    if (!best || better(point, best.point)) best = { model, point };
  }
  return { model: best!.model, lambda: best!.point.lambda, grid };
}

/** Higher score; then lower validation loss; then larger λ. */
function better(a: GridPoint, b: GridPoint): boolean {
  if (a.score !== b.score) return a.score > b.score;
  if (a.validationLoss !== b.validationLoss) return a.validationLoss < b.validationLoss;
  return a.lambda > b.lambda;
}

// ---------------------------------------------------------------------------------------
// Ridge regression

export function fitRidge(train: ProbeSplit, lambda: number): RidgeModel {
  const n = rowsOf(train, 'ridge probe (training split)');
  if (n < 1) throw new Error('ridge probe: the training split is empty');
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new Error(`ridge probe: λ must be finite and ≥ 0 (got ${lambda})`);
  const d = train.d;
  const y = Float64Array.from(train.labels);
  for (let i = 0; i < n; i++) if (!Number.isFinite(y[i])) throw new Error(`ridge probe: target ${i} is ${y[i]}`);
  const standardizer = fitStandardizer(train.features, d);
  const X = standardize(standardizer, train.features);
  // Centre X̃ and y exactly (X̃'s columns have mean 0 up to rounding): the optimum over b is
  // b = ȳ − x̄̃·w, and w solves (X̃cᵀX̃c/n + λI) w = X̃cᵀ(y − ȳ)/n.
  const xm = new Float64Array(d);
  let ym = 0;
  for (let i = 0; i < n; i++) {
    ym += y[i];
    for (let j = 0; j < d; j++) xm[j] += X[i * d + j];
  }
  ym /= n;
  for (let j = 0; j < d; j++) xm[j] /= n;
  const A = new Float64Array(d * d);
  const r = new Float64Array(d);
  const xc = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) xc[j] = X[i * d + j] - xm[j];
    const yc = y[i] - ym;
    for (let j = 0; j < d; j++) {
      r[j] += xc[j] * yc;
      for (let l = 0; l <= j; l++) A[j * d + l] += xc[j] * xc[l];
    }
  }
  const constant: boolean[] = [];
  for (let j = 0; j < d; j++) {
    constant.push(standardizer.std[j] === 0);
    r[j] /= n;
    for (let l = 0; l <= j; l++) A[j * d + l] /= n;
    A[j * d + j] += lambda;
    // A constant column is all zeros in X̃: pin its weight to 0 (identity row), whatever λ.
    if (constant[j]) {
      for (let l = 0; l < j; l++) A[j * d + l] = 0;
      A[j * d + j] = 1;
      r[j] = 0;
    }
  }
  const weights = choleskySolve(A, r, d, lambda);
  let bias = ym;
  for (let j = 0; j < d; j++) bias -= xm[j] * weights[j];
  let sse = 0;
  for (let i = 0; i < n; i++) {
    let p = bias;
    for (let j = 0; j < d; j++) p += X[i * d + j] * weights[j];
    sse += (y[i] - p) ** 2;
  }
  let pen = 0;
  for (let j = 0; j < d; j++) pen += weights[j] * weights[j];
  const rawWeights = new Float64Array(d);
  let rawBias = bias;
  for (let j = 0; j < d; j++) {
    if (standardizer.std[j] === 0) continue;
    rawWeights[j] = weights[j] / standardizer.std[j];
    rawBias -= standardizer.mean[j] * rawWeights[j];
  }
  return { kind: 'ridge', d, lambda, standardizer, weights, bias, rawWeights, rawBias, objective: sse / (2 * n) + 0.5 * lambda * pen };
}

/** Solve A x = r for symmetric positive definite A (lower triangle used), in place on a copy. */
function choleskySolve(Ain: Float64Array, r: Float64Array, d: number, lambda: number): Float64Array {
  const L = Float64Array.from(Ain);
  for (let j = 0; j < d; j++) {
    let s = L[j * d + j];
    for (let k = 0; k < j; k++) s -= L[j * d + k] * L[j * d + k];
    if (!(s > 1e-12 * Ain[j * d + j])) throw new Error(`ridge probe: the regularised Gram matrix is singular at λ = ${lambda} (collinear features; use λ > 0)`);
    const ljj = Math.sqrt(s);
    L[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = L[i * d + j];
      for (let k = 0; k < j; k++) t -= L[i * d + k] * L[j * d + k];
      L[i * d + j] = t / ljj;
    }
  }
  const x = Float64Array.from(r);
  for (let i = 0; i < d; i++) {
    let t = x[i];
    for (let k = 0; k < i; k++) t -= L[i * d + k] * x[k];
    x[i] = t / L[i * d + i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let t = x[i];
    for (let k = i + 1; k < d; k++) t -= L[k * d + i] * x[k];
    x[i] = t / L[i * d + i];
  }
  return x;
}

export function predictRidge(model: RidgeModel, features: Float64Array): Float64Array {
  const X = standardize(model.standardizer, features);
  const d = model.d;
  const n = X.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let p = model.bias;
    for (let j = 0; j < d; j++) p += X[i * d + j] * model.weights[j];
    out[i] = p;
  }
  return out;
}

export function meanSquaredError(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < targets.length; i++) s += (predictions[i] - targets[i]) ** 2;
  return s / targets.length;
}

export interface RegressorProbeOptions {
  lambdas?: readonly number[];
  /** Validation score, higher is better (default: −MSE). */
  score?: (predictions: Float64Array, targets: ArrayLike<number>) => number;
}

export function probeRegressor(train: ProbeSplit, validation: ProbeSplit, options: RegressorProbeOptions = {}): ProbeSelection<RidgeModel> {
  const lambdas = options.lambdas ?? DEFAULT_RIDGE_GRID;
  if (lambdas.length === 0) throw new Error('ridge probe: empty λ grid');
  if (rowsOf(validation, 'ridge probe (validation split)') === 0) throw new Error('ridge probe: the validation split is empty');
  if (validation.d !== train.d) throw new Error(`ridge probe: validation has d = ${validation.d}, training d = ${train.d}`);
  const score = options.score ?? ((p: Float64Array, t: ArrayLike<number>) => -meanSquaredError(p, t));
  const grid: GridPoint[] = [];
  let best: { model: RidgeModel; point: GridPoint } | null = null;
  for (const lambda of lambdas) {
    const model = fitRidge(train, lambda);
    const p = predictRidge(model, validation.features);
    const point: GridPoint = { lambda, score: score(p, validation.labels), validationLoss: meanSquaredError(p, validation.labels) };
    grid.push(point);
    if (!best || better(point, best.point)) best = { model, point };
  }
  return { model: best!.model, lambda: best!.point.lambda, grid };
}

// ---------------------------------------------------------------------------------------
// L-BFGS (Nocedal & Wright, Algorithms 7.4 and 3.5/3.6), deterministic, float64.

type LossGrad = (x: Float64Array, grad: Float64Array) => number;

interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradientNorm: number;
  iterations: number;
  evaluations: number;
  stopReason: 'gradient' | 'max-iterations' | 'no-progress';
}

const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};
const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

export function lbfgs(fg: LossGrad, size: number, opts: { gradientTolerance: number; maxIterations: number; memory: number }): LbfgsResult {
  let x: Float64Array = new Float64Array(size);
  let g: Float64Array = new Float64Array(size);
  let f = fg(x, g);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(opts.memory);
  let iterations = 0;
  let stopReason: LbfgsResult['stopReason'] = 'max-iterations';
  while (true) {
    if (maxAbs(g) <= opts.gradientTolerance) {
      stopReason = 'gradient';
      break;
    }
    if (iterations >= opts.maxIterations) break;
    // Two-loop recursion: d = −H g.
    const dir = Float64Array.from(g);
    for (let i = S.length - 1; i >= 0; i--) {
      const a = rho[i] * dot(S[i], dir);
      alpha[i] = a;
      for (let t = 0; t < size; t++) dir[t] -= a * Y[i][t];
    }
    const last = S.length - 1;
    const gamma = last >= 0 ? dot(S[last], Y[last]) / dot(Y[last], Y[last]) : 1;
    for (let t = 0; t < size; t++) dir[t] *= gamma;
    for (let i = 0; i < S.length; i++) {
      const beta = rho[i] * dot(Y[i], dir);
      for (let t = 0; t < size; t++) dir[t] += (alpha[i] - beta) * S[i][t];
    }
    for (let t = 0; t < size; t++) dir[t] = -dir[t];
    let dg = dot(dir, g);
    if (!(dg < 0)) {
      // Not a descent direction (rounding): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let t = 0; t < size; t++) dir[t] = -g[t];
      dg = dot(dir, g);
    }
    // First iteration: a step of length at most 1 in the max-norm.
    const a0 = S.length === 0 ? Math.min(1, 1 / maxAbs(g)) : 1;
    const step = wolfeStep(fg, x, f, dir, dg, a0);
    evaluations += step.evaluations;
    iterations++;
    const ls = step.point;
    if (!ls) {
      stopReason = 'no-progress';
      break;
    }
    const s = new Float64Array(size);
    const yv = new Float64Array(size);
    for (let t = 0; t < size; t++) {
      s[t] = ls.x[t] - x[t];
      yv[t] = ls.g[t] - g[t];
    }
    const sy = dot(s, yv);
    x = ls.x;
    g = ls.g;
    f = ls.f;
    if (sy > 1e-300 && sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (S.length === opts.memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
  }
  return { x, f, gradientNorm: maxAbs(g), iterations, evaluations, stopReason };
}

interface LinePoint {
  a: number;
  f: number;
  d: number; // directional derivative gᵀdir at a
  x: Float64Array;
  g: Float64Array;
}

/**
 * A step along `dir` satisfying the Wolfe conditions: f(a) ≤ f(0) + c1·a·f'(0) and
 * |f'(a)| ≤ c2·|f'(0)| (c1 = 1e-4, c2 = 0.9). Near the optimum the decrease in f falls below
 * its rounding error long before the gradient is small, so, as in Hager & Zhang's approximate
 * Wolfe conditions, the sufficient-decrease test also passes when f(a) ≤ f(0) + ε with
 * ε = 1e-12·|f(0)| and the bracketing follows the sign of f'(a), which stays accurate there.
 * Returns null when no acceptable step is found.
 */
function wolfeStep(fg: LossGrad, x0: Float64Array, f0: number, dir: Float64Array, dg0: number, a1: number): { point: LinePoint | null; evaluations: number } {
  const c1 = 1e-4;
  const c2 = 0.9;
  const epsF = 1e-12 * Math.abs(f0);
  const size = x0.length;
  let evaluations = 0;
  const evalAt = (a: number): LinePoint => {
    const x = new Float64Array(size);
    for (let t = 0; t < size; t++) x[t] = x0[t] + a * dir[t];
    const g = new Float64Array(size);
    const f = fg(x, g);
    evaluations++;
    return { a, f, d: dot(g, dir), x, g };
  };
  const lowEnough = (p: LinePoint) => p.f <= f0 + c1 * p.a * dg0 || p.f <= f0 + epsF;
  const acceptable = (p: LinePoint) => Number.isFinite(p.f) && lowEnough(p) && Math.abs(p.d) <= -c2 * dg0;

  // Zoom on [lo, hi]: lo is low enough with f'(lo) < 0; hi has f'(hi) ≥ 0, or is too high
  // (or not finite), so a Wolfe point lies between them.
  const zoom = (lo: LinePoint, hi: LinePoint): LinePoint | null => {
    for (let it = 0; it < 40; it++) {
      const left = Math.min(lo.a, hi.a);
      const width = Math.abs(hi.a - lo.a);
      if (width * maxAbs(dir) < 1e-300 || width <= 1e-16 * Math.max(lo.a, hi.a)) break;
      let a = Number.isFinite(hi.f) && Number.isFinite(hi.d) ? cubicMin(lo, hi) : NaN;
      if (!Number.isFinite(a) || a < left + 0.1 * width || a > left + 0.9 * width) a = left + 0.5 * width;
      const p = evalAt(a);
      if (acceptable(p)) return p;
      if (Number.isFinite(p.f) && lowEnough(p) && p.d < 0) lo = p;
      else hi = p;
    }
    return lo.a > 0 ? lo : null;
  };

  let prev: LinePoint = { a: 0, f: f0, d: dg0, x: x0, g: new Float64Array(0) };
  let a = a1;
  for (let it = 0; it < 60; it++) {
    const p = evalAt(a);
    if (acceptable(p)) return { point: p, evaluations };
    if (!Number.isFinite(p.f) || !lowEnough(p) || p.d >= 0) return { point: zoom(prev, p), evaluations };
    prev = p;
    a *= 2;
  }
  return { point: prev.a > 0 ? prev : null, evaluations };
}

/** The minimiser of the cubic through two points with values and derivatives (N&W (3.59)). */
function cubicMin(p: LinePoint, q: LinePoint): number {
  const d1 = p.d + q.d - (3 * (p.f - q.f)) / (p.a - q.a);
  const disc = d1 * d1 - p.d * q.d;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(q.a - p.a) * Math.sqrt(disc);
  return q.a - ((q.a - p.a) * (q.d + d2 - d1)) / (q.d - p.d + 2 * d2);
}
