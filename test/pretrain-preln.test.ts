// Pre-training a pre-LN encoder (`pretrain --pre-ln`): the flag reaches the model config and
// the run's config.json, and with dropout on (the paths test/model-preln.test.ts cannot
// compare with the reference) the MLM and ELECTRA losses go down on bundled text.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { prepare } from '../src/data/prepare.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { parse } from '../src/cli/args.js';
import { PRETRAIN_OPTIONS, trainConfigFromArgs } from '../src/cli/pretrain.js';
import { tempDir } from './tmp.js';

let data = '';
const root = tempDir('electrolite-preln-');

beforeAll(async () => {
  data = join(root, 'data');
  await prepare({ corpus: ['bundled:moby-dick'], out: data, vocabSize: 1000, seqLen: 32, clusters: { k: 20 } });
}, 300_000);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('pre-training a pre-LN encoder', () => {
  it('--pre-ln sets model.preLayerNorm (with or without --dropout); absent, the model keeps the preset (post-LN)', () => {
    const args = (...extra: string[]) => trainConfigFromArgs(parse('pretrain', ['--objective', 'mlm', '--data', 'd', '--out', 'o', ...extra], PRETRAIN_OPTIONS).values);
    expect(args('--pre-ln').model).toEqual({ preLayerNorm: true });
    expect(args('--pre-ln', '--dropout', '0').model).toEqual({ hiddenDropout: 0, attentionDropout: 0, preLayerNorm: true });
    expect(args().model).toBeUndefined();
  });

  for (const objective of ['mlm', 'electra'] as const) {
    it(`${objective}: the loss goes down within 30 steps (dropout 0.1); config.json records preLayerNorm`, async () => {
      const rt = await getRuntime();
      const run = join(root, `run-${objective}`);
      const c: TrainConfig = {
        objective,
        preset: 'tiny',
        // Head dim 32 (the attention kernel's smallest); small enough for CPU adapters.
        model: { hiddenSize: 64, numHeads: 2, intermediateSize: 128, numLayers: 2, hiddenDropout: 0.1, attentionDropout: 0.1, preLayerNorm: true },
        data, run, batch: 8, accumulate: 1, lr: 2e-3, warmupSteps: 2, schedule: 'linear', budget: { kind: 'steps', steps: 30 },
        seed: 7, maskProb: 0.15, weightDecay: 0.01, clip: 1, logEvery: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0,
      };
      const tr = await Trainer.create(rt, c);
      const names = tr.params.specs.map((s) => s.name);
      expect(names).toContain('encoder.final_layer_norm.weight');
      if (objective === 'electra') expect(names).toContain('generator.encoder.final_layer_norm.weight');
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) {
        tr.runStep();
        const m = await tr.readStepMetrics();
        expect(Number.isFinite(m.loss)).toBe(true);
        losses.push(m.loss);
      }
      // Noisy per-step losses: compare the means of the first and last 5 steps.
      expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.1);
      const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
      expect(cfg.model.preLayerNorm).toBe(true);
      if (objective === 'electra') expect(cfg.generator.preLayerNorm).toBe(true);
    }, 120_000);
  }
});
