// What the trainer needs from a kind of training (pre-training an objective on prepared
// data, src/train/pretraining.ts; fine-tuning on a task later): the parameters, the batch
// sources, how to build the step graph, and what checkpoints record of it. The trainer
// (src/train/trainer.ts) supplies everything else: optimizer, schedule, accumulation,
// clipping, checkpoints and exact resume.
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import type { EncoderConfig, ParamSpec } from '../model/config.js';
import type { TrainGraph } from '../model/graph.js';
import type { ModelParams } from '../model/params.js';
import type { EncoderShare } from '../model/encoder.js';
import type { MixedPrecision, Precision } from '../model/precision.js';
import type { ScheduleKind } from './schedule.js';
import type { Budget } from './budget.js';

export class TrainingError extends Error {}

/** Batches as host arrays, one per graph input (4-byte elements), a pure function of (epoch, step). */
export interface BatchSource {
  readonly stepsPerEpoch: number;
  batch(epoch: number, step: number): Record<string, Uint32Array | Int32Array | Float32Array>;
  /**
   * The sequence length of that batch's arrays, one of the task's `seqLens` (batches of
   * similar length run on a shorter graph and save the padding's work). Absent: `seqLen`.
   */
  seqLen?(epoch: number, step: number): number;
}

/** How the trainer optimises, whatever it trains. */
export interface OptimizerConfig {
  run: string;
  batch: number;
  /** Micro-batches per optimizer step. */
  accumulate: number;
  lr: number;
  /** Default: 6 % of the steps, at most 1000. */
  warmupSteps?: number;
  schedule: ScheduleKind;
  budget: Budget;
  seed: number;
  weightDecay: number;
  clip: number;
  evalBatches: number;
  /**
   * 'f16': mixed precision (f16 activations and weight copies, f32 masters and optimizer
   * state, dynamic loss scaling; src/model/precision.ts). Default 'f32'.
   */
  precision?: Precision;
  /** Dynamic loss scaling in mixed precision: the initial scale and the good steps before it doubles (default LOSS_SCALE_DEFAULTS). */
  lossScale?: { initial?: number; growthInterval?: number };
}

/** What a task's graph is built with (the trainer's shared buffers). */
export interface GraphBuild<G> {
  rt: Runtime;
  params: ModelParams;
  /** The step uniform shared with AdamW ([micro-batch + 1, lr]): the counter of every draw. */
  step: GPUBuffer;
  /** u32 [seed, micro-batch] of hidden dropout. */
  dropoutRng: Tensor;
  /** Loss weight of one micro-batch (1 / accumulation). */
  lossScale: number;
  mode: 'train' | 'eval';
  /** The sequence length of this graph's batches (one of the task's seqLens). */
  seqLen: number;
  /** What the training and evaluation graphs' encoders of this length share, per encoder kind (EncoderShare). */
  encoderShare: { generator: EncoderShare; discriminator: EncoderShare };
  /** When building an evaluation graph: the training graph of the same sequence length. */
  training?: G;
  /** Mixed precision (OptimizerConfig.precision 'f16'): the loss scaler the heads seed gradients with. */
  mixed?: MixedPrecision;
}

export interface TrainingTask<G extends TrainGraph<any, any>> {
  /** The encoder config (vocabulary, sizes) and the sequence length of its batches. */
  model: EncoderConfig;
  seqLen: number;
  /** The sequence lengths graphs are built for (ascending, the last `seqLen`); default [seqLen]. */
  seqLens?: readonly number[];
  params: ParamSpec[];
  train: BatchSource;
  validation: BatchSource | null;
  build(b: GraphBuild<G>): Promise<G>;
  /** Set initial values after the seeded initialisation (e.g. --init-from); returns a log line and a metrics record. */
  initialize?(rt: Runtime, params: ModelParams): { message: string; record: Record<string, unknown> } | undefined;
  /** What checkpoints record of the task; checkResume refuses a checkpoint that does not match. */
  checkpointState(): Record<string, unknown>;
  checkResume(saved: Record<string, unknown>, where: string): void;
  /** Fields config.json records beside the optimizer's. */
  describe(): Record<string, unknown>;
  /** The task's graphs take GraphBuild.mixed (pre-training); a task without it trains in f32 only. */
  mixedPrecision?: boolean;
}
