// The seeded run of the trajectory-parity test (test/trajectory.test.ts) and of the fixture
// dumper that recorded its inputs for PyTorch (test/fixtures/trajectory/): the small model
// of the training tests with dropout 0, warm-up ending inside the run (the boundary step is
// replayed), linear decay, weight decay and a clipping threshold that some steps exceed and
// some do not, so a wrong decay flag, schedule step, clip or bias correction moves the curve.
import type { TrainConfig } from '../src/train/trainer.js';
import type { FinetuneConfig } from '../src/eval/finetune.js';

export type TrajectoryObjective = 'mlm' | 'rts';
export const TRAJECTORY_STEPS = 20;

/** Everything but the data and run directories. */
export function trajectoryConfig(objective: TrajectoryObjective): Omit<TrainConfig, 'data' | 'run'> {
  return {
    objective,
    preset: 'tiny',
    model: { hiddenSize: 64, numHeads: 2, intermediateSize: 128, numLayers: 2, hiddenDropout: 0, attentionDropout: 0, maxPositions: 32 },
    batch: 8,
    accumulate: 1,
    lr: 2e-3,
    warmupSteps: 5,
    schedule: 'linear',
    budget: { kind: 'steps', steps: TRAJECTORY_STEPS },
    seed: 7,
    maskProb: 0.15,
    // Ten times the usual decay, so a decay flag on the wrong parameters moves them visibly.
    weightDecay: 0.1,
    // Gradient norms at this seed: MLM 1.4–3.3, RTS (λ = 50) 18–50.
    clip: objective === 'mlm' ? 2.0 : 30.0,
    logEvery: 1,
    evalEvery: 0,
    evalBatches: 1,
    checkpointEvery: 0,
  };
}

/**
 * The fine-tuning trajectory: bundled:moby-order (fixed samples; its sentences vary in length, so batches run on graphs of several lengths), an imported checkpoint (the MLM
 * fixture's initial encoder, written as a Hugging Face BertModel directory), dropout 0, two
 * epochs of 8 steps with warm-up ending inside, weight decay 0.1 and clipping.
 */
export function finetuneTrajectoryConfig(): Omit<FinetuneConfig, 'model' | 'out' | 'start'> {
  return {
    task: 'bundled:moby-order', taskOptions: {}, epochs: 2, lrs: [1e-3], batch: 8, maxLen: 32, warmup: 0.25, seed: 7,
    weightDecay: 0.1, clip: 1.0, dropout: 0, limit: { train: 64, validation: 16, test: 16 },
  };
}
export const FINETUNE_TRAJECTORY_STEPS = 16;
