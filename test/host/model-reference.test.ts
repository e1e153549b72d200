// The float64 reference model: every parameter's gradient against central finite
// differences of its loss, for the MLM head and the detection head, on a micro model
// with padding. This is the ground truth the GPU model is later compared with.
import { describe, expect, it } from 'vitest';
import { makeConfig, encoderParams, mlmHeadParams, detectionHeadParams, type ParamSpec } from '../../src/model/config.js';
import { classificationHeadParams } from '../../src/model/classifier.js';
import { referenceForwardBackward, type Batch, type Head, type Params } from '../../src/model/reference.js';
import { rng } from '../harness.js';

function randomParams(specs: ParamSpec[], seed: number): Params {
  const r = rng(seed);
  // Larger than BERT's init, and LayerNorm gains away from 1, so every path matters.
  return new Map(specs.map((s) => [s.name, Float64Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => (s.init.kind === 'ones' ? 1 : 0) + (r() - 0.5) * 0.8)]));
}

const cfg = makeConfig('micro', { vocabSize: 23, maxPositions: 8, hiddenSize: 8, numHeads: 2, intermediateSize: 12, hiddenDropout: 0, attentionDropout: 0, layerNormEps: 1e-5 });
// Pre-LN (x += Attn(LN₁(x)), x += FFN(LN₂(x)), final LayerNorm): the same sizes.
const preCfg = { ...cfg, preLayerNorm: true };
const batch: Batch = {
  B: 2,
  T: 5,
  ids: Int32Array.from([2, 7, 9, 11, 3, 2, 5, 3, 0, 0]),
  types: Int32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 0, 0]),
  lengths: Int32Array.from([5, 3]),
};

function checkAllGradients(head: Head, specs: ParamSpec[], seed: number, c = cfg) {
  const cfg = c;
  const params = randomParams(specs, seed);
  const { grads, loss } = referenceForwardBackward(cfg, params, '', batch, head);
  expect(Number.isFinite(loss)).toBe(true);
  let checked = 0, maxErr = 0;
  const eps = 1e-5;
  for (const [name, p] of params) {
    const g = grads.get(name)!;
    for (let i = 0; i < p.length; i++) {
      const v = p[i];
      p[i] = v + eps;
      const up = referenceForwardBackward(cfg, params, '', batch, head, false).loss;
      p[i] = v - eps;
      const down = referenceForwardBackward(cfg, params, '', batch, head, false).loss;
      p[i] = v;
      const fd = (up - down) / (2 * eps);
      const err = Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd));
      maxErr = Math.max(maxErr, err);
      // Central differences in float64 at eps 1e-5: truncation ~eps², rounding ~1e-11/eps.
      if (err > 1e-5) throw new Error(`${name}[${i}]: analytic ${g[i]}, finite difference ${fd} (rel err ${err})`);
      checked++;
    }
  }
  return { checked, maxErr };
}

describe('float64 reference model', () => {
  it('MLM head: every parameter gradient matches finite differences (tied decoder included)', () => {
    const head: Head = { kind: 'mlm', positions: Int32Array.from([1, 3, 6]), labels: Int32Array.from([4, 17, 22]) };
    const { checked } = checkAllGradients(head, [...encoderParams(cfg, ''), ...mlmHeadParams(cfg)], 11);
    expect(checked).toBeGreaterThan(1000);
  });

  it('detection head: every parameter gradient matches finite differences, padding weighted out', () => {
    const head: Head = {
      kind: 'detection',
      labels: Float64Array.from([0, 1, 0, 0, 1, 0, 1, 0, 0, 0]),
      weights: Float64Array.from([0, 1, 1, 1, 0, 0, 1, 0, 0, 0]),
      lambda: 50,
    };
    const { checked } = checkAllGradients(head, [...encoderParams(cfg, ''), ...detectionHeadParams(cfg)], 12);
    expect(checked).toBeGreaterThan(1000);
  });

  it('pre-LN, MLM head: every parameter gradient (final LayerNorm included) matches finite differences', () => {
    const head: Head = { kind: 'mlm', positions: Int32Array.from([0, 4, 6]), labels: Int32Array.from([9, 1, 22]) };
    const specs = [...encoderParams(preCfg, ''), ...mlmHeadParams(preCfg)];
    expect(specs.map((s) => s.name)).toContain('encoder.final_layer_norm.weight');
    const { checked } = checkAllGradients(head, specs, 13, preCfg);
    expect(checked).toBeGreaterThan(1000);
  });

  it('pre-LN, detection head: every parameter gradient matches finite differences; it differs from post-LN', () => {
    const head: Head = {
      kind: 'detection',
      labels: Float64Array.from([1, 1, 0, 0, 1, 0, 1, 0, 0, 0]),
      weights: Float64Array.from([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]),
      lambda: 50,
    };
    const specs = [...encoderParams(preCfg, ''), ...detectionHeadParams(preCfg)];
    const { checked } = checkAllGradients(head, specs, 14, preCfg);
    expect(checked).toBeGreaterThan(1000);
    // The same parameters through the post-LN path (which ignores the final LayerNorm) give another loss.
    const params = randomParams(specs, 14);
    expect(referenceForwardBackward(preCfg, params, '', batch, head, false).loss).not.toBeCloseTo(referenceForwardBackward(cfg, params, '', batch, head, false).loss, 3);
  });

  it('classification head (pooler + classifier, a padding row) and regression: every gradient matches finite differences', () => {
    const specs = (L: number) => [...encoderParams(cfg, ''), ...classificationHeadParams(cfg, L)];
    const cls: Head = { kind: 'classification', rows: Int32Array.from([0, 5]), labels: Float64Array.from([2, 3]), numLabels: 3 };
    expect(checkAllGradients(cls, specs(3), 15).checked).toBeGreaterThan(1000);
    const reg: Head = { kind: 'classification', rows: Int32Array.from([0, 5]), labels: Float64Array.from([0.5, -1.5]), numLabels: 1, regression: true };
    expect(checkAllGradients(reg, specs(1), 16).checked).toBeGreaterThan(1000);
  });

  it('padding does not leak: changing a padded token changes no valid output', () => {
    const params = randomParams([...encoderParams(cfg, ''), ...detectionHeadParams(cfg)], 3);
    const head: Head = { kind: 'detection', labels: new Float64Array(10), weights: Float64Array.from([0, 1, 1, 1, 0, 0, 1, 0, 0, 0]), lambda: 1 };
    const a = referenceForwardBackward(cfg, params, '', batch, head, false);
    const ids2 = batch.ids.slice();
    ids2[8] = 19;
    const b = referenceForwardBackward(cfg, params, '', { ...batch, ids: ids2 }, head, false);
    for (const n of [5, 6, 7]) for (let i = 0; i < cfg.hiddenSize; i++) expect(b.hidden[n * cfg.hiddenSize + i]).toBe(a.hidden[n * cfg.hiddenSize + i]);
    expect(b.loss).toBe(a.loss);
  });
});
