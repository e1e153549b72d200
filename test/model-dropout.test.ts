// The GPU model with dropout ON (hidden and attention 0.1) against the float64 reference,
// which regenerates every site's Philox mask from the same (seed, step, stream) counters
// (src/model/dropout-sites.ts): the loss and the gradient of every parameter, for post-LN
// and pre-LN encoders, MLM and detection heads, and the ELECTRA generator's layout (its own
// stream base). A backward that regenerates another site's mask, or a forward that draws
// from the wrong stream, fails here by the name of the parameter whose gradient parts.
import { describe, expect, it } from 'vitest';
import { expectClose } from './harness.js';
import { encoderParams, mlmHeadParams, detectionHeadParams, generatorConfig, generatorParams, type EncoderConfig, type ParamSpec } from '../src/model/config.js';
import { readParams, recordZeroGrads, type ModelParams } from '../src/model/params.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { Encoder } from '../src/model/encoder.js';
import { buildMlmHead, buildDetectionHead, GENERATOR_HEAD, type MlmHeadNames } from '../src/model/heads.js';
import { GENERATOR_STREAM_BASE } from '../src/objectives/electra.js';
import { dropoutRng } from '../src/kernels/dropout.js';
import { referenceForwardBackward, type Head, type ReferenceDropout } from '../src/model/reference.js';
import { B, CFG, LENGTHS, T, compareGrads, detectionTargets, getRuntime, mlmTargets, realRows, setup } from './model-helpers.js';

const SEED = 11, STEP = 5;
const POSITIONS = [1, 3, 6, 8, 9], LABELS = [7, 30, 2, 11, 40];

interface Case {
  name: string;
  cfg: EncoderConfig;
  head: 'mlm' | 'detection';
  /** ELECTRA generator layout: prefix 'generator.', the discriminator's embeddings, its own stream base. */
  generator?: boolean;
  /** The encoder given the MLM head's selection as its output rows (the last FFN there only; post-LN). */
  outputRows?: boolean;
  /** The attention algorithm (default: the untuned one, materialised on the CPU adapters); either runs the last layer's attention at the selected queries only. */
  attention?: 'fused';
}

const withDropout = (c: EncoderConfig): EncoderConfig => ({ ...c, hiddenDropout: 0.1, attentionDropout: 0.1 });
const POST = withDropout(CFG), PRE = withDropout({ ...CFG, preLayerNorm: true });
const CASES: Case[] = [
  { name: 'post-LN, MLM head', cfg: POST, head: 'mlm' },
  { name: 'post-LN, detection head', cfg: POST, head: 'detection' },
  { name: 'pre-LN, MLM head', cfg: PRE, head: 'mlm' },
  { name: 'pre-LN, detection head', cfg: PRE, head: 'detection' },
  { name: 'ELECTRA generator (post-LN, embeddings_project 64 → 32, generator head)', cfg: generatorConfig(POST, 1 / 2), head: 'mlm', generator: true },
  { name: 'ELECTRA generator (pre-LN)', cfg: generatorConfig(PRE, 1 / 2), head: 'mlm', generator: true },
  { name: 'post-LN, MLM head, last layer\'s queries and FFN at the selected rows only', cfg: POST, head: 'mlm', outputRows: true },
  { name: 'post-LN, MLM head, last layer\'s queries and FFN at the selected rows only (fused attention)', cfg: POST, head: 'mlm', outputRows: true, attention: 'fused' },
  { name: 'ELECTRA generator (post-LN), last layer\'s queries and FFN at the selected rows only', cfg: generatorConfig(POST, 1 / 2), head: 'mlm', generator: true, outputRows: true },
  { name: 'pre-LN, MLM head, output rows given (every row computed)', cfg: PRE, head: 'mlm', outputRows: true },
];

function specsOf(c: Case): ParamSpec[] {
  if (c.generator) return [...encoderParams(POST, '').filter((s) => s.name.startsWith('embeddings.')), ...generatorParams(POST, c.cfg)];
  return [...encoderParams(c.cfg, ''), ...(c.head === 'mlm' ? mlmHeadParams(c.cfg) : detectionHeadParams(c.cfg))];
}

/** The case's head on the GPU and its description for the reference. */
async function buildHead(c: Case, rt: Runtime, params: ModelParams, enc: Encoder, targets = mlmTargets(rt, POSITIONS, LABELS)) {
  if (c.head === 'mlm') {
    const names: MlmHeadNames | undefined = c.generator ? GENERATOR_HEAD : undefined;
    const head = await buildMlmHead(rt, c.cfg, params, 'embeddings.word_embeddings.weight', enc.hidden, enc.dHidden, targets, c.generator ? { names, activation: 'gelu', label: 'generator_head' } : {});
    const refHead: Head = { kind: 'mlm', positions: Int32Array.from(POSITIONS), labels: Int32Array.from(LABELS), ...(names ? { names, act: 'gelu' as const } : {}) };
    return { ...head, refHead, readLoss: async () => (await rt.read(head.xent.stats))[4 * targets.cap] };
  }
  const { N, target, weight } = detectionTargets();
  const head = await buildDetectionHead(rt, c.cfg, params, enc.hidden, enc.dHidden, { target: rt.upload(target, [N]), weight: rt.upload(weight, [N]) }, { lambda: 50 });
  const refHead: Head = { kind: 'detection', labels: target, weights: weight, lambda: 50 };
  return { ...head, refHead, readLoss: async () => (await rt.read(head.bce.out))[0] };
}

describe('GPU model with dropout 0.1 vs the float64 reference drawing the same masks', () => {
  for (const c of CASES)
    it(`${c.name}: loss and every gradient match`, async () => {
      const rt = await getRuntime();
      const { params, inputs, batch, p64 } = setup(rt, specsOf(c), 31);
      const prefix = c.generator ? 'generator.' : '';
      const streamBase = c.generator ? GENERATOR_STREAM_BASE : 0;
      const targets = mlmTargets(rt, POSITIONS, LABELS);
      const enc = await Encoder.build(rt, c.cfg, params, prefix, inputs, {
        dropoutRng: dropoutRng(rt, SEED, STEP),
        seed: SEED,
        streamBase,
        ...(c.generator ? { embeddingsPrefix: '' } : {}),
        ...(c.outputRows ? { outputRows: { list: targets.list, count: targets.meta } } : {}),
        ...(c.attention ? { attention: c.attention } : {}),
      });
      // The last layer's attention runs at the selected queries exactly when it can (post-LN), with the algorithm asked for.
      expect(enc.forwardOps.some((op) => op.label === 'query_rows'), 'selected queries').toBe(Boolean(c.outputRows && !c.cfg.preLayerNorm));
      if (c.attention === 'fused') expect(enc.forwardOps.filter((op) => op.label === 'attention').length, 'fused attention ops').toBe(c.cfg.numLayers);
      enc.setStep(STEP);
      const built = await buildHead(c, rt, params, enc, targets);
      recordZeroGrads(rt, params);
      rt.record(...enc.forwardOps, ...built.forward, ...built.backward, ...enc.backwardOps);
      await rt.sync();

      const dropout: ReferenceDropout = { seed: SEED, step: STEP, streamBase };
      const opts = { dropout, ...(c.generator ? { embeddingsPrefix: '' } : {}) };
      const ref = referenceForwardBackward(c.cfg, p64, prefix, batch, built.refHead, true, opts);
      // The masks really drop: the same step without dropout gives another loss.
      const off = referenceForwardBackward(c.cfg, p64, prefix, batch, built.refHead, false, { ...opts, dropout: undefined });
      expect(Math.abs(off.loss - ref.loss)).toBeGreaterThan(1e-3 * Math.abs(ref.loss));
      // Same tolerances as without dropout (test/model.test.ts): the masks are bit-exact, only f32 rounding differs.
      // Post-LN with output rows: BERT's hidden states at the selected rows only (elsewhere the last FFN did not run).
      const h = c.cfg.hiddenSize, rows = c.outputRows && !c.cfg.preLayerNorm
        ? (x: ArrayLike<number>) => Float64Array.from(POSITIONS.flatMap((r) => Array.from({ length: h }, (_, j) => x[r * h + j])))
        : realRows(B, T, LENGTHS, h);
      expectClose(rows(await rt.read(enc.hidden)), rows(ref.hidden), { atol: 1e-4, rtol: 1e-4 }, 'hidden states, real (or selected) positions');
      expect(await built.readLoss()).toBeCloseTo(ref.loss, 3);
      compareGrads(await readParams(rt, params, 'grads'), ref.grads);
      built.release();
      enc.release();
    });
});

describe("GELU's output kept from the forward or recomputed in the backward", () => {
  for (const c of [CASES[0], CASES[2]])
    it(`${c.name}: the same hidden states and gradients, bit for bit`, async () => {
      const rt = await getRuntime();
      const results: { hidden: ArrayLike<number>; grads: Map<string, Float32Array>; recomputes: number }[] = [];
      for (const keepGeluOutput of [true, false]) {
        const { params, inputs } = setup(rt, specsOf(c), 31);
        const enc = await Encoder.build(rt, c.cfg, params, '', inputs, { dropoutRng: dropoutRng(rt, SEED, STEP), seed: SEED, keepGeluOutput });
        enc.setStep(STEP);
        const built = await buildHead(c, rt, params, enc);
        recordZeroGrads(rt, params);
        rt.record(...enc.forwardOps, ...built.forward, ...built.backward, ...enc.backwardOps);
        await rt.sync();
        const recomputes = enc.backwardOps.filter((op) => /^gelu\.(erf|tanh)$/.test(op.label)).length;
        results.push({ hidden: await rt.read(enc.hidden), grads: await readParams(rt, params, 'grads'), recomputes });
        built.release();
        enc.release();
      }
      const [kept, recomputed] = results;
      expect([kept.recomputes, recomputed.recomputes]).toEqual([0, c.cfg.numLayers]);
      expect(Array.from(kept.hidden)).toEqual(Array.from(recomputed.hidden));
      for (const [name, g] of recomputed.grads) expect(Array.from(kept.grads.get(name)!), name).toEqual(Array.from(g));
    });
});
