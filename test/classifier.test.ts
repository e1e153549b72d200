// The sequence-classification head (BertForSequenceClassification: pooler over [CLS], dropout,
// classifier; cross-entropy over the labels or MSE) on the GPU against the float64 reference:
// logits, loss and the gradient of every parameter, encoder included, with dropout on and off,
// post-LN and pre-LN, a padding row left out of the loss, and regression.
import { describe, expect, it } from 'vitest';
import { expectClose } from './harness.js';
import { encoderParams, type EncoderConfig } from '../src/model/config.js';
import { classificationHeadParams, buildClassificationHead } from '../src/model/classifier.js';
import { Encoder } from '../src/model/encoder.js';
import { readParams, recordZeroGrads } from '../src/model/params.js';
import { dropoutRng } from '../src/kernels/dropout.js';
import { referenceForwardBackward, type Head } from '../src/model/reference.js';
import { B, CFG, T, compareGrads, getRuntime, setup } from './model-helpers.js';

const NONE = 0xffffffff;
const SEED = 5, STEP = 3;

interface Case { name: string; cfg: EncoderConfig; labels: number[]; numLabels: number; regression?: boolean }
const withDropout = (c: EncoderConfig) => ({ ...c, hiddenDropout: 0.1, attentionDropout: 0.1 });
const CASES: Case[] = [
  { name: 'three classes, dropout 0', cfg: CFG, labels: [2, 1], numLabels: 3 },
  { name: 'three classes, dropout 0.1', cfg: withDropout(CFG), labels: [2, 0], numLabels: 3 },
  { name: 'two classes, a padding row (label none), pre-LN', cfg: { ...CFG, preLayerNorm: true }, labels: [1, NONE], numLabels: 2 },
  { name: 'regression, dropout 0.1', cfg: withDropout(CFG), labels: [0.75, -1.25], numLabels: 1, regression: true },
];

describe('classification head: GPU vs the float64 reference', () => {
  for (const c of CASES)
    it(`${c.name}: logits, loss and every gradient match`, async () => {
      const rt = await getRuntime();
      const specs = [...encoderParams(c.cfg, ''), ...classificationHeadParams(c.cfg, c.numLabels)];
      const { params, inputs, batch, p64 } = setup(rt, specs, 41);
      const rng = dropoutRng(rt, SEED, STEP);
      const enc = await Encoder.build(rt, c.cfg, params, '', inputs, { dropoutRng: rng, seed: SEED });
      enc.setStep(STEP);
      const rows = Uint32Array.from({ length: B }, (_, b) => b * T);
      const labels = c.regression ? rt.upload(Float32Array.from(c.labels), [B]) : rt.upload(Uint32Array.from(c.labels), [B], 'u32');
      const targets = { rows: rt.upload(rows, [B], 'u32'), labels, meta: rt.upload([B, B, 0, 0], [4], 'u32') };
      const head = await buildClassificationHead(rt, c.cfg, params, enc.hidden, enc.dHidden, targets, { kind: c.regression ? 'regression' : 'classification', numLabels: c.numLabels, dropoutRng: rng });
      recordZeroGrads(rt, params);
      rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
      await rt.sync();

      const refHead: Head = { kind: 'classification', rows: Int32Array.from(rows), labels: Float64Array.from(c.labels), numLabels: c.numLabels, regression: c.regression };
      const ref = referenceForwardBackward(c.cfg, p64, '', batch, refHead, true, { dropout: { seed: SEED, step: STEP } });
      expectClose(await rt.read(head.logits), ref.logits, { atol: 1e-4, rtol: 1e-4 }, 'logits');
      const loss = c.regression ? (await rt.read(head.squaredError!))[0] / B : (await rt.read(head.xent!.stats))[4 * B];
      expect(loss).toBeCloseTo(ref.loss, 4);
      compareGrads(await readParams(rt, params, 'grads'), ref.grads);
      if (c.cfg.hiddenDropout > 0) {
        // The dropout masks matter: the same step without them is another loss.
        const off = referenceForwardBackward(c.cfg, p64, '', batch, refHead, false);
        expect(Math.abs(off.loss - ref.loss)).toBeGreaterThan(1e-4 * Math.abs(ref.loss));
      }
      head.release();
      enc.release();
    });
});
