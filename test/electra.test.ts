// ELECTRA (learned generator + replaced-token detection):
//  (0) the float64 reference's new paths (shared embeddings of another width,
//      embeddings_project, the generator head's names) against finite differences;
//  (1) the GPU generator + discriminator (one step's op lists as the trainer records them):
//      both losses and the gradient of every parameter, shared embeddings included, against
//      the float64 reference fed the GPU's own samples (sampling is not differentiated), λ = 50;
//  (2) the samples: never special ids (even when the generator prefers one), only at
//      selected positions, following the generator's distribution; "replaced" = sample ≠ original;
//  (3) training on bundled text: the loss (and L_gen) go down; (4) exact resume.
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './tmp.js';
import { join } from 'node:path';
import { getRuntime, expectClose, rng } from './harness.js';
import type { Runtime } from '../src/gpu/runtime.js';
import { prepareMoby, smallTrainConfig, mean } from './train-fixtures.js';
import { Trainer, paramSpecsFor, type TrainConfig } from '../src/train/trainer.js';
import { generatorConfig, generatorParams, encoderParams, detectionHeadParams, parseGeneratorSize, type EncoderConfig, type ParamSpec } from '../src/model/config.js';
import { newEncoderShare } from '../src/model/encoder.js';
import { allocParams, loadParams, readParams, recordZeroGrads } from '../src/model/params.js';
import { electra } from '../src/objectives/electra.js';
import { createStepBuffer, writeStep } from '../src/kernels/adamw.js';
import { dropoutRng } from '../src/kernels/dropout.js';
import { referenceElectra, type Params } from '../src/model/reference.js';

const SPECIAL = [0, 1, 2, 3, 4]; // pad, unk, cls, sep, mask
const MASK = 4;

/** Random values for every parameter: weights N(0, 0.15), biases ±0.1, LayerNorm gains 1 ± 0.1 (every path non-trivial). */
function randomParams(specs: ParamSpec[], seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const out = new Map<string, Float32Array>();
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const gain = s.init.kind === 'ones';
    out.set(s.name, Float32Array.from({ length: n }, () => (gain ? 1 + 0.1 * normal() : s.init.kind === 'zeros' ? 0.1 * normal() : 0.15 * normal())));
  }
  return out;
}

/** A clean batch: [CLS] tokens [SEP] then padding. */
function cleanBatch(B: number, T: number, V: number, lengths: number[], seed: number): Uint32Array {
  const r = rng(seed);
  const ids = new Uint32Array(B * T);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) ids[b * T + t] = t >= lengths[b] ? 0 : t === 0 ? 2 : t === lengths[b] - 1 ? 3 : 5 + Math.floor(r() * (V - 5));
  return ids;
}

// Discriminator: head dim 32 (the attention kernel's smallest), odd FFN and vocabulary.
const DISC: EncoderConfig = {
  vocabSize: 53, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 72, maxPositions: 16, typeVocabSize: 2,
  layerNormEps: 1e-12, hiddenDropout: 0, attentionDropout: 0, hiddenAct: 'gelu', preLayerNorm: false, initializerRange: 0.02, padTokenId: 0,
};

async function buildStep(rt: Runtime, o: { B: number; T: number; lengths: number[]; seed: number; p: number; values?: Map<string, Float32Array> }) {
  const gen = generatorConfig(DISC, 0.5);
  const specs = paramSpecsFor('electra', DISC, 0.5);
  const params = allocParams(rt, specs);
  const values = o.values ?? randomParams(specs, o.seed);
  loadParams(rt, params, values, 'test');
  const clean = cleanBatch(o.B, o.T, DISC.vocabSize, o.lengths, o.seed + 1);
  const step = createStepBuffer(rt);
  // The objective's step graph as the trainer builds it (the valid lengths come from the ids' padding).
  const g = await electra.build({
    rt, cfg: DISC, params, batch: o.B, seqLen: o.T, step, dropoutRng: dropoutRng(rt, o.seed), seed: o.seed, maskProb: o.p,
    special: { pad: 0, mask: MASK, ids: SPECIAL }, lossScale: 1, mode: 'train', encoderShare: { generator: newEncoderShare(), discriminator: newEncoderShare() },
    settings: { generatorSize: 0.5 }, statistics: {},
  });
  rt.write(g.ids, clean);
  rt.write(g.types, Uint32Array.from({ length: o.B * o.T }, (_, i) => (i % o.T >= 5 && i % o.T < o.lengths[Math.floor(i / o.T)] ? 1 : 0)));
  const { ids, types, lengths, objective } = g;
  const e = { forward: g.forward, backward: g.backward, genHead: g.electra.genHead, gumbel: g.electra.gumbel, detection: g.detection! };
  return { gen, specs, params, values, clean, ids, types, lengths, step, objective, e };
}

describe('ELECTRA: reference, GPU gradients, sampling', () => {
  it('the float64 reference (shared embeddings, embeddings_project, generator head) matches finite differences', () => {
    // CPU only: any head dim. E = 8 (discriminator), generator hidden 4.
    const disc: EncoderConfig = { ...DISC, vocabSize: 11, hiddenSize: 8, numHeads: 2, intermediateSize: 12, maxPositions: 6 };
    const gen: EncoderConfig = { ...disc, hiddenSize: 4, numHeads: 1, intermediateSize: 6 };
    const specs = [...encoderParams(disc, ''), ...detectionHeadParams(disc), ...generatorParams(disc, gen)];
    const p: Params = new Map([...randomParams(specs, 3)].map(([k, v]) => [k, Float64Array.from(v, (x) => x * 3)]));
    const B = 2, T = 5, lengths = [5, 4];
    const clean = cleanBatch(B, T, 11, lengths, 4);
    const positions = Int32Array.from([1, 2, 6]);
    const genIds = Int32Array.from(clean);
    genIds[1] = MASK;
    genIds[6] = 7;
    const discIds = Int32Array.from(clean);
    discIds[1] = 9;
    discIds[2] = 5;
    discIds[6] = 6;
    const weight = Float64Array.from(discIds, (_, i) => (i % T < lengths[Math.floor(i / T)] && !SPECIAL.includes(clean[i]) ? 1 : 0));
    const target = Float64Array.from(discIds, (x, i) => (weight[i] && x !== clean[i] ? 1 : 0));
    const x = {
      genBatch: { B, T, ids: genIds, types: new Int32Array(B * T), lengths: Int32Array.from(lengths) },
      positions, labels: Int32Array.from(positions, (q) => clean[q]), discIds, target, weight, lambda: 50,
    };
    const ref = referenceElectra(disc, gen, p, x);
    const checks: [string, number][] = [
      ['generator.embeddings_project.weight', 5], ['generator.embeddings_project.bias', 2], ['embeddings.word_embeddings.weight', 9 * 8 + 3],
      ['embeddings.word_embeddings.weight', MASK * 8 + 1], ['embeddings.position_embeddings.weight', 2 * 8 + 5], ['embeddings.LayerNorm.weight', 4],
      ['embeddings.LayerNorm.bias', 6], ['generator_predictions.dense.weight', 13], ['generator_predictions.LayerNorm.weight', 2], ['generator_lm_head.bias', 7],
      ['generator.encoder.layer.1.attention.self.query.weight', 3], ['generator.encoder.layer.0.output.dense.weight', 11], ['encoder.layer.0.intermediate.dense.weight', 17],
      ['discriminator_predictions.dense.weight', 9],
    ];
    for (const [name, i] of checks) {
      const v = p.get(name)!, h = 1e-5, x0 = v[i];
      v[i] = x0 + h;
      const up = referenceElectra(disc, gen, p, x).loss;
      v[i] = x0 - h;
      const down = referenceElectra(disc, gen, p, x).loss;
      v[i] = x0;
      const fd = (up - down) / (2 * h);
      // Central differences in float64: error ~h² ≈ 1e-10 relative plus rounding ~1e-16/h = 1e-11 absolute.
      expect(Math.abs(ref.grads.get(name)![i] - fd), `${name}[${i}]: analytic ${ref.grads.get(name)![i]}, numeric ${fd}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(fd));
      expect(Math.abs(fd), `${name}[${i}] has a gradient`).toBeGreaterThan(1e-9);
    }
  });

  it('GPU generator + discriminator: both losses (λ = 50) and every gradient match the float64 reference on the GPU samples', async () => {
    const rt = await getRuntime();
    const B = 3, T = 13, lengths = [13, 9, 11];
    const s = await buildStep(rt, { B, T, lengths, seed: 11, p: 0.3 });
    writeStep(rt, s.step, 5, 0);
    recordZeroGrads(rt, s.params);
    rt.record(...s.e.forward, ...s.e.backward);
    await rt.sync();
    const o = s.objective;
    const meta = await rt.read(o.selection.meta);
    const count = meta[0];
    expect(count).toBeGreaterThan(3);
    expect(meta[2]).toBe(0);
    const list = Int32Array.from((await rt.read(o.selection.list)).slice(0, count));
    const labels = Int32Array.from((await rt.read(o.selection.labels)).slice(0, count));
    const genIds = Int32Array.from(await rt.read(o.inputIds));
    const discIds = Int32Array.from(await rt.read(o.electra!.discIds));
    const target = Float64Array.from(await rt.read(o.target!));
    const weight = Float64Array.from(await rt.read(o.weight!));
    const types = Int32Array.from(await rt.read(s.types));
    // The generator replaced something (else the detection targets would be trivial).
    expect(target.some((t) => t === 1)).toBe(true);
    const p64: Params = new Map([...s.values].map(([k, v]) => [k, Float64Array.from(v)]));
    const ref = referenceElectra(DISC, s.gen, p64, {
      genBatch: { B, T, ids: genIds, types, lengths: Int32Array.from(lengths) },
      positions: list, labels, discIds, target, weight, lambda: 50,
    });
    const cap = o.selection.capacity;
    const stats = await rt.read(s.e.genHead.xent.stats);
    const out = await rt.read(s.e.detection.bce.out);
    // f32 forward through two layers: losses to ~1e-5 relative.
    expect(stats[4 * cap]).toBeCloseTo(ref.genLoss, 4);
    expect(out[0]).toBeCloseTo(ref.discLoss, 3);
    const gpu = await readParams(rt, s.params, 'grads');
    // As test/model.test.ts: f32 accumulation through two layers; the scale has a floor at 1 % of
    // the largest gradient (gradients zero in exact arithmetic, e.g. the key bias, keep only rounding).
    let globalMax = 0;
    for (const g of ref.grads.values()) for (const v of g) globalMax = Math.max(globalMax, Math.abs(v));
    for (const [name, g] of ref.grads) {
      let scale = 0.01 * globalMax;
      for (const v of g) scale = Math.max(scale, Math.abs(v));
      expectClose(gpu.get(name)!, g, { atol: 1e-6 + 2e-4 * scale, rtol: 2e-3 }, `grad ${name}`);
    }
    // Both losses reach the shared word embeddings: the generator's alone differs from the sum.
    expect(ref.grads.get('generator.embeddings_project.weight')!.some((v) => v !== 0)).toBe(true);
  });

  it('samples: never special ids, only at selected positions, from the generator; "replaced" = sample ≠ original', async () => {
    const rt = await getRuntime();
    const B = 4, T = 16, lengths = [16, 12, 7, 15];
    const specs = paramSpecsFor('electra', DISC, 0.5);
    const values = randomParams(specs, 21);
    // The generator strongly prefers [MASK] (special: must never be drawn), then id 17.
    const bias = values.get('generator_lm_head.bias')!;
    bias.fill(0);
    bias[MASK] = 40;
    bias[17] = 12;
    const s = await buildStep(rt, { B, T, lengths, seed: 21, p: 0.25, values });
    const clean = s.clean;
    let sampled = 0, seventeen = 0, maskedInputs = 0;
    for (let step = 1; step <= 6; step++) {
      writeStep(rt, s.step, step, 0);
      rt.record(...s.e.forward);
      await rt.sync();
      const o = s.objective;
      const count = (await rt.read(o.selection.meta))[0];
      const list = [...(await rt.read(o.selection.list)).slice(0, count)];
      const samples = (await rt.read(s.e.gumbel.samples)).slice(0, count);
      const gen = await rt.read(o.inputIds), disc = await rt.read(o.electra!.discIds);
      const target = await rt.read(o.target!), weight = await rt.read(o.weight!);
      const selected = new Set(list);
      for (let k = 0; k < count; k++) {
        expect(SPECIAL, `sample ${samples[k]} at ${list[k]}`).not.toContain(samples[k]);
        expect(disc[list[k]]).toBe(samples[k]);
        sampled++;
        if (samples[k] === 17) seventeen++;
      }
      for (let i = 0; i < B * T; i++) {
        if (!selected.has(i)) {
          expect(disc[i], `unselected ${i}`).toBe(clean[i]);
          expect(gen[i], `unselected ${i} (generator input)`).toBe(clean[i]);
        } else if (gen[i] === MASK) maskedInputs++;
        const real = i % T < lengths[Math.floor(i / T)] && !SPECIAL.includes(clean[i]);
        expect(weight[i]).toBe(real ? 1 : 0);
        expect(target[i], `target ${i}`).toBe(real && disc[i] !== clean[i] ? 1 : 0);
      }
      // Some sample equals the original (id 17 in the clean batch) → labelled original.
      for (const i of list) if (clean[i] === 17) expect(target[i]).toBe(0);
    }
    expect(sampled).toBeGreaterThan(40);
    // With bias 12 on id 17 (others ~0 ± a few), nearly every non-special sample is 17.
    expect(seventeen / sampled).toBeGreaterThan(0.9);
    // The generator's input is MLM-corrupted (about 80 % [MASK]).
    expect(maskedInputs / sampled).toBeGreaterThan(0.6);
  });
});

// ---- training on bundled text --------------------------------------------------------------

let data = '';
const root = tempDir('electrolite-electra-');

function config(run: string, steps: number): TrainConfig {
  // The generator (1/2) has 1 head of 32, FFN 64.
  return smallTrainConfig('electra', data, join(root, run), steps, { generatorSize: 0.5 });
}


describe('ELECTRA pre-training', () => {
  beforeAll(async () => {
    data = await prepareMoby(root);
  }, 300_000);

  it('the training loss L_gen + 50·L_disc and L_gen go down within 40 steps', async () => {
    const rt = await getRuntime();
    const tr = await Trainer.create(rt, config('run', 40));
    const names = tr.params.specs.map((s) => s.name);
    expect(names).toContain('generator.embeddings_project.weight');
    expect(names).toContain('generator_lm_head.bias');
    expect(names.filter((n) => n.startsWith('generator.embeddings.'))).toEqual([]);
    const total: number[] = [], gen: number[] = [], disc: number[] = [];
    for (let i = 0; i < 40; i++) {
      tr.runStep();
      const m = await tr.readStepMetrics();
      expect(m.electra).toBeDefined();
      total.push(m.loss);
      gen.push(m.electra!.genLoss);
      disc.push(m.electra!.discLoss);
      expect(m.loss).toBeCloseTo(m.electra!.genLoss + m.electra!.discLoss, 4);
    }
    expect([...total, ...gen, ...disc].every(Number.isFinite)).toBe(true);
    // Means of 8 steps (spread ~1 %, see test/pretrain.test.ts): a real drop of both the sum
    // and the generator's MLM loss.
    expect(mean(total.slice(-8))).toBeLessThan(0.93 * mean(total.slice(0, 8)));
    expect(mean(gen.slice(-8))).toBeLessThan(0.93 * mean(gen.slice(0, 8)));
  });

  it('a run stopped and resumed from its checkpoint gives the same losses and parameters as an uninterrupted one', async () => {
    const rt = await getRuntime();
    const run = async (tr: Trainer, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        tr.runStep();
        const m = await tr.readStepMetrics();
        out.push(m.electra!.genLoss, m.electra!.discLoss);
      }
      return out;
    };
    const straight = await Trainer.create(rt, config('straight', 6));
    const all = await run(straight, 6);
    const first = await Trainer.create(rt, config('resumed', 6));
    const before = await run(first, 3);
    await first.checkpoint();
    const second = await Trainer.create(rt, config('resumed', 6), { resume: true });
    expect(second.step).toBe(3);
    expect([...before, ...(await run(second, 3))]).toEqual(all);
    const a = await straight.parameters(), b = await second.parameters();
    for (const [k, v] of a) expect(b.get(k), k).toEqual(v);
    // Another generator size is refused on resume.
    await expect(Trainer.create(rt, { ...config('resumed', 6), generatorSize: 1 }, { resume: true })).rejects.toThrow(/generator|missing parameters/);
  });

  it('generator sizes: 1/2, 1/3, 1/4 parse; bad ones are refused', () => {
    expect(parseGeneratorSize('1/2')).toBe(0.5);
    expect(parseGeneratorSize('1/3')).toBeCloseTo(1 / 3, 12);
    expect(parseGeneratorSize('0.25')).toBe(0.25);
    expect(() => parseGeneratorSize('3/2')).toThrow(/generator size must be a fraction in \(0, 1\]/);
    expect(() => parseGeneratorSize('x')).toThrow(/got 'x'/);
  });
});
