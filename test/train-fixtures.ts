// Shared set-up of the training tests: bundled Moby-Dick prepared small (vocabulary 1000,
// sequences of 32, 20 clusters) and a training config small enough for CPU adapters
// (hidden 64, 2 heads of 32 — the attention kernel's smallest head — FFN 128, 2 layers).
import { join } from 'node:path';
import { prepare } from '../src/data/prepare.js';
import type { TrainConfig } from '../src/train/trainer.js';
import type { ObjectiveName } from '../src/objectives/registry.js';

/** Prepare the test corpus under `root`; returns the data directory. */
export async function prepareMoby(root: string): Promise<string> {
  const data = join(root, 'data');
  await prepare({ corpus: ['bundled:moby-dick'], out: data, vocabSize: 1000, seqLen: 32, clusters: { k: 20 } });
  return data;
}

export function smallTrainConfig(objective: ObjectiveName, data: string, run: string, steps: number, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    objective,
    preset: 'tiny',
    model: { hiddenSize: 64, numHeads: 2, intermediateSize: 128, numLayers: 2, hiddenDropout: 0.1, attentionDropout: 0.1 },
    data,
    run,
    batch: 8,
    accumulate: 1,
    lr: 2e-3,
    warmupSteps: 2,
    schedule: 'linear',
    budget: { kind: 'steps', steps },
    seed: 7,
    maskProb: 0.15,
    weightDecay: 0.01,
    clip: 1,
    logEvery: 1,
    evalEvery: 0,
    evalBatches: 1,
    checkpointEvery: 0,
    ...extra,
  };
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Checks that accumulated gradients are the mean of two micro-batches' (f32 sums in another
 * order: within 1e-5 of each tensor's largest term); returns how many values were compared.
 */
export function expectMeanOfMicroBatches(acc: Map<string, Float32Array>, g0: Map<string, Float32Array>, g1: Map<string, Float32Array>): number {
  let checked = 0;
  for (const [name, v] of acc) {
    const a = g0.get(name)!, b = g1.get(name)!;
    let scale = 1e-12;
    for (let i = 0; i < v.length; i++) scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
    for (let i = 0; i < v.length; i++) {
      const want = (a[i] + b[i]) / 2;
      if (Math.abs(v[i] - want) > 1e-5 * scale) throw new Error(`${name}[${i}]: accumulated ${v[i]}, mean of micro-batches ${want}`);
      checked++;
    }
  }
  return checked;
}
