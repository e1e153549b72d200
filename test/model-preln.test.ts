// The pre-LN encoder on the GPU (x += Attn(LN₁(x)), x += FFN(LN₂(x)), final LayerNorm;
// src/model/encoder.ts) against the float64 reference: the loss and the gradient of every
// parameter, for the MLM head, the detection head and the ELECTRA generator's layout
// (shared embeddings + embeddings_project + generator head), with padding and random
// parameters (no checkpoint exists: transformers has no pre-LN BERT).
import { describe, expect, it } from 'vitest';
import { getRuntime, expectClose, rng } from './harness.js';
import { encoderParams, mlmHeadParams, detectionHeadParams, generatorConfig, generatorParams, type EncoderConfig, type ParamSpec } from '../src/model/config.js';
import { allocParams, loadParams, readParams, recordZeroGrads } from '../src/model/params.js';
import { Encoder } from '../src/model/encoder.js';
import { buildMlmHead, buildDetectionHead, GENERATOR_HEAD } from '../src/model/heads.js';
import { dropoutRng } from '../src/kernels/dropout.js';
import { referenceForwardBackward, type Batch, type Params } from '../src/model/reference.js';
import type { Runtime } from '../src/gpu/runtime.js';

const NONE = 0xffffffff;

// Hidden 64 with 2 heads: head dim 32 is the attention kernel's minimum. Odd FFN width.
const CFG: EncoderConfig = {
  vocabSize: 41, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 80, maxPositions: 16, typeVocabSize: 2,
  layerNormEps: 1e-5, hiddenDropout: 0, attentionDropout: 0, hiddenAct: 'gelu', preLayerNorm: true, initializerRange: 0.02, padTokenId: 0,
};
const B = 2, T = 7;
const LENGTHS = [7, 4];
const IDS = [2, 7, 9, 11, 3, 40, 5, 2, 5, 3, 17, 0, 0, 0];
const TYPES = [0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0];

/** Random values, larger than BERT's init and LayerNorm gains away from 1, so every path matters. */
function randomValues(specs: ParamSpec[], seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const u = (a: number) => (r() - 0.5) * 2 * a;
  return new Map(specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return [s.name, Float32Array.from({ length: n }, () => (s.init.kind === 'ones' ? 1 + u(0.3) : s.init.kind === 'zeros' ? u(0.1) : u(0.15)))];
  }));
}

/** As test/model.test.ts: f32 through two layers; a floor at 1 % of the largest gradient (some are zero in exact arithmetic). */
function compareGrads(gpu: Map<string, Float32Array>, ref: Params) {
  let globalMax = 0;
  for (const g of ref.values()) for (const v of g) globalMax = Math.max(globalMax, Math.abs(v));
  for (const [name, g] of ref) {
    let scale = 0.01 * globalMax;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    expectClose(gpu.get(name)!, g, { atol: 1e-6 + 2e-4 * scale, rtol: 2e-3 }, `grad ${name}`);
  }
}

function setup(rt: Runtime, specs: ParamSpec[], seed: number) {
  const params = allocParams(rt, specs);
  const values = randomValues(specs, seed);
  loadParams(rt, params, values, 'test');
  const inputs = { ids: rt.upload(Uint32Array.from(IDS), [B, T], 'u32'), types: rt.upload(Uint32Array.from(TYPES), [B, T], 'u32'), lengths: rt.upload(Uint32Array.from(LENGTHS), [B], 'u32') };
  const batch: Batch = { B, T, ids: Int32Array.from(IDS), types: Int32Array.from(TYPES), lengths: Int32Array.from(LENGTHS) };
  const p64: Params = new Map([...values].map(([k, v]) => [k, Float64Array.from(v)]));
  return { params, inputs, batch, p64 };
}

function mlmTargets(rt: Runtime, positions: number[], labels: number[], cap = 8) {
  const pad = (xs: number[]) => Uint32Array.from({ length: cap }, (_, i) => (i < xs.length ? xs[i] : NONE));
  return { cap, list: rt.upload(pad(positions), [cap], 'u32'), labels: rt.upload(pad(labels), [cap], 'u32'), meta: rt.upload([positions.length, positions.length, 0, 0], [4], 'u32') };
}

describe('pre-LN encoder: GPU vs the float64 reference', () => {
  it('MLM head: hidden states, loss and every gradient (final LayerNorm included) match', async () => {
    const rt = await getRuntime();
    const specs = [...encoderParams(CFG, ''), ...mlmHeadParams(CFG)];
    expect(specs.filter((s) => s.name.startsWith('encoder.final_layer_norm.')).length).toBe(2);
    const { params, inputs, batch, p64 } = setup(rt, specs, 21);
    const enc = await Encoder.build(rt, CFG, params, '', inputs, { dropoutRng: dropoutRng(rt, 1), seed: 1 });
    const positions = [1, 3, 6, 8, 9], labels = [7, 30, 2, 11, 40];
    const targets = mlmTargets(rt, positions, labels);
    const head = await buildMlmHead(rt, CFG, params, 'embeddings.word_embeddings.weight', enc.hidden, enc.dHidden, targets);
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    const ref = referenceForwardBackward(CFG, p64, '', batch, { kind: 'mlm', positions: Int32Array.from(positions), labels: Int32Array.from(labels) });
    // f32 forward through two layers of normalised states: 1e-4.
    expectClose(await rt.read(enc.hidden), ref.hidden, { atol: 1e-4, rtol: 1e-4 }, 'hidden (after the final LayerNorm)');
    const stats = await rt.read(head.xent.stats);
    expect(stats[4 * targets.cap]).toBeCloseTo(ref.loss, 4);
    compareGrads(await readParams(rt, params, 'grads'), ref.grads);
    head.release();
    enc.release();
  });

  it('detection head: loss (λ = 50) and every gradient match, padding weighted out', async () => {
    const rt = await getRuntime();
    const specs = [...encoderParams(CFG, ''), ...detectionHeadParams(CFG)];
    const { params, inputs, batch, p64 } = setup(rt, specs, 22);
    const enc = await Encoder.build(rt, CFG, params, '', inputs, { dropoutRng: dropoutRng(rt, 1), seed: 1 });
    const N = B * T;
    const target = Float64Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 1 : 0));
    const weight = Float64Array.from({ length: N }, (_, i) => (i % T < LENGTHS[Math.floor(i / T)] ? 1 : 0));
    const head = await buildDetectionHead(rt, CFG, params, enc.hidden, enc.dHidden, { target: rt.upload(target, [N]), weight: rt.upload(weight, [N]) }, { lambda: 50 });
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    const ref = referenceForwardBackward(CFG, p64, '', batch, { kind: 'detection', labels: target, weights: weight, lambda: 50 });
    // f32 logits after two layers: 1e-4 relative.
    expectClose(await rt.read(head.logits), ref.logits, { atol: 1e-4, rtol: 1e-4 }, 'detection logits');
    expect((await rt.read(head.bce.out))[0]).toBeCloseTo(ref.loss, 3);
    compareGrads(await readParams(rt, params, 'grads'), ref.grads);
    head.release();
    enc.release();
  });

  it('ELECTRA generator layout (shared embeddings, embeddings_project 64 → 32, generator head): every gradient matches', async () => {
    const rt = await getRuntime();
    const gen = generatorConfig(CFG, 1 / 2); // 1 head of 32, pre-LN inherited
    expect(gen.preLayerNorm).toBe(true);
    const specs = [...encoderParams(CFG, '').filter((s) => s.name.startsWith('embeddings.')), ...generatorParams(CFG, gen)];
    expect(specs.map((s) => s.name)).toContain('generator.encoder.final_layer_norm.weight');
    const { params, inputs, batch, p64 } = setup(rt, specs, 23);
    const enc = await Encoder.build(rt, gen, params, 'generator.', inputs, { dropoutRng: dropoutRng(rt, 1), seed: 1, embeddingsPrefix: '' });
    const positions = [0, 4, 5, 9, 10], labels = [3, 8, 39, 1, 22];
    const targets = mlmTargets(rt, positions, labels);
    const head = await buildMlmHead(rt, gen, params, 'embeddings.word_embeddings.weight', enc.hidden, enc.dHidden, targets, { names: GENERATOR_HEAD, activation: 'gelu', label: 'generator_head' });
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    const ref = referenceForwardBackward(gen, p64, 'generator.', batch, { kind: 'mlm', positions: Int32Array.from(positions), labels: Int32Array.from(labels), names: GENERATOR_HEAD, act: 'gelu' }, true, { embeddingsPrefix: '' });
    const stats = await rt.read(head.xent.stats);
    expect(stats[4 * targets.cap]).toBeCloseTo(ref.loss, 4);
    compareGrads(await readParams(rt, params, 'grads'), ref.grads);
    head.release();
    enc.release();
  });
});
