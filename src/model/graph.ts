// What a trainer trains: a graph of GPU ops over named parameters (src/model/params.ts),
// built once for a batch shape (a task with several sequence lengths gets one per length). A pre-training objective (src/objectives/) and a fine-tuning
// task each build one; the trainer (src/train/trainer.ts) knows only this interface: it
// fills the graph's input tensors from a batch source each micro-batch, records forward and
// backward (parameter gradients accumulate), then clipping and AdamW, all in one submit, and
// reads the graph's small metric tensors only when asked.
import type { Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';

export type HostArray = Float32Array | Int32Array | Uint32Array;

/** A step's (or a validation batch's) metrics as the graph reads them. */
export interface GraphMetrics {
  /** The loss as trained (for accumulation: of the whole micro-batch, not its share). */
  loss: number;
  accuracy: number;
}

/** Reading metrics: the small tensors to copy back and how to decode them. */
export interface MetricReader<M extends GraphMetrics = GraphMetrics> {
  tensors: Tensor[];
  read(values: HostArray[]): M;
}

/**
 * Evaluation over several batches: what to read after each forward, and the totals. The
 * graphs a task builds for several sequence lengths give evaluations of one tensor layout,
 * so one accumulator takes batches from any of them (the trainer reads each batch's values
 * from its own graph's tensors).
 */
export interface Evaluation<E = Record<string, number>> {
  tensors: Tensor[];
  add(values: HostArray[]): void;
  result(): E;
}

/** A tensor kept in checkpoints beside the parameters (C-RTS's counts). */
export interface GraphStateTensor {
  tensor: Tensor;
  dtype: 'f32' | 'i32';
  shape: number[];
}

export interface TrainGraph<M extends GraphMetrics = GraphMetrics, E = Record<string, number>> {
  /** Tensors the trainer writes each micro-batch, by the name of the batch field they take. */
  inputs: Record<string, Tensor>;
  /** Forward (with the loss); in a training graph, backward follows it in the same submit. */
  forward: Op[];
  /** Empty in an evaluation graph. */
  backward: Op[];
  /** Set counters that live inside the graph (attention dropout) for the next submits. */
  setStep(micro: number): void;
  /** Where those counters live, for setting them by copies within one submit (accumulation). */
  stepTargets(): { buffer: GPUBuffer; offset: number }[];
  metrics: MetricReader<M>;
  /** A fresh evaluation accumulator (evaluation graphs); options are the graph kind's own. */
  evaluation(opts?: object): Evaluation<E>;
  /** Extra state saved in checkpoints and restored on resume, by name. */
  state: Record<string, GraphStateTensor>;
  release(): void;
}
