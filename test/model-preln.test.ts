// The pre-LN encoder on the GPU (x += Attn(LN₁(x)), x += FFN(LN₂(x)), final LayerNorm;
// src/model/encoder.ts) against the float64 reference: the loss and the gradient of every
// parameter, for the MLM head, the detection head and the ELECTRA generator's layout
// (shared embeddings + embeddings_project + generator head), with padding and random
// parameters (no checkpoint exists: transformers has no pre-LN BERT).
import { describe, expect, it } from 'vitest';
import { getRuntime, expectClose } from './harness.js';
import { encoderParams, mlmHeadParams, detectionHeadParams, generatorConfig, generatorParams, type EncoderConfig } from '../src/model/config.js';
import { readParams, recordZeroGrads } from '../src/model/params.js';
import { Encoder } from '../src/model/encoder.js';
import { buildMlmHead, buildDetectionHead, GENERATOR_HEAD } from '../src/model/heads.js';
import { dropoutRng } from '../src/kernels/dropout.js';
import { referenceForwardBackward } from '../src/model/reference.js';
import { B, CFG as POST_LN, LENGTHS, T, compareGrads, detectionTargets, mlmTargets, realRows, setup } from './model-helpers.js';

const CFG: EncoderConfig = { ...POST_LN, preLayerNorm: true };

describe('pre-LN encoder: GPU vs the float64 reference', () => {
  it('MLM head: hidden states, loss and every gradient (final LayerNorm included) match', async () => {
    const rt = await getRuntime();
    const specs = [...encoderParams(CFG, ''), ...mlmHeadParams(CFG)];
    expect(specs.filter((s) => s.name.startsWith('encoder.final_layer_norm.')).length).toBe(2);
    const { params, inputs, batch, p64 } = setup(rt, specs, 21);
    const enc = await Encoder.build(rt, CFG, params, '', inputs, { dropoutRng: dropoutRng(rt, 1), seed: 1 });
    // Hidden 64: the arenas hold query, key and value back to back, projected as one product.
    expect(enc.forwardOps.map((o) => o.label)).toContain('encoder.layer.0.qkv');
    expect(enc.forwardOps.map((o) => o.label)).not.toContain('encoder.layer.0.query');
    const positions = [1, 3, 6, 8, 9], labels = [7, 30, 2, 11, 40];
    const targets = mlmTargets(rt, positions, labels);
    const head = await buildMlmHead(rt, CFG, params, 'embeddings.word_embeddings.weight', enc.hidden, enc.dHidden, targets);
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    const ref = referenceForwardBackward(CFG, p64, '', batch, { kind: 'mlm', positions: Int32Array.from(positions), labels: Int32Array.from(labels) });
    // f32 forward through two layers of normalised states: 1e-4.
    const real = realRows(B, T, LENGTHS, CFG.hiddenSize);
    expectClose(real(await rt.read(enc.hidden)), real(ref.hidden), { atol: 1e-4, rtol: 1e-4 }, 'hidden (after the final LayerNorm), real positions');
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
    const { N, target, weight } = detectionTargets();
    const head = await buildDetectionHead(rt, CFG, params, enc.hidden, enc.dHidden, { target: rt.upload(target, [N]), weight: rt.upload(weight, [N]) }, { lambda: 50 });
    recordZeroGrads(rt, params);
    rt.record(...enc.forwardOps, ...head.forward, ...head.backward, ...enc.backwardOps);
    await rt.sync();

    const ref = referenceForwardBackward(CFG, p64, '', batch, { kind: 'detection', labels: target, weights: weight, lambda: 50 });
    // f32 logits after two layers: 1e-4 relative.
    const real = realRows(B, T, LENGTHS, 1);
    expectClose(real(await rt.read(head.logits)), real(ref.logits), { atol: 1e-4, rtol: 1e-4 }, 'detection logits, real positions');
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
    // Hidden 32: biases of 128 bytes leave gaps in the arena, so the three projections run one by one.
    expect(enc.forwardOps.map((o) => o.label)).toContain('encoder.layer.0.query');
    expect(enc.forwardOps.map((o) => o.label)).not.toContain('encoder.layer.0.qkv');
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
