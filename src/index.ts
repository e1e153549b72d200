// Library API of electrolite: the runtime, every kernel (with its options), the data
// pipeline, and Hugging Face interop. One line per module.
export { acquireDevice, isCpuAdapter, NoAdapterError, ADAPTER_CHOICES, type AdapterChoice, type AcquiredDevice, type Capabilities } from './gpu/adapter.js';
export { Runtime, GpuError, packUniform, type Op, type Binding } from './gpu/runtime.js';
export { ShaderCompileError, specialize, type ShaderSpec, type KernelSignature } from './gpu/pipelines.js';
export type { Tensor, DType, Shape } from './gpu/tensor.js';
export { SHADER_SOURCES } from './kernels/sources.js';
export { autotune, autotuneEnabled, setAutotuneDefaults, timeOp, timeOps, type AutotuneOptions } from './kernels/autotune.js';
export { binary, affine } from './kernels/elementwise.js';
export { reduceRows, argmaxRows, reduceAll, reducePartials, partialCount, count, rowLayout, type RowVariant, type RowLayout } from './kernels/reduce.js';
export * from './kernels/matmul.js';
export * from './kernels/attention.js';
export * from './kernels/layernorm.js';
export * from './kernels/softmax.js';
export * from './kernels/gelu.js';
export * from './kernels/dropout.js';
export * from './kernels/embedding.js';
export * from './kernels/xent.js';
export * from './kernels/bce.js';
export * from './kernels/adamw.js';
export * from './kernels/clip.js';
export * from './kernels/sampling.js';
export { columnSum, COLSUM_ROWS_PER_BLOCK, type ColumnSumOptions } from './kernels/colsum.js';
export * as data from './data/index.js';
export { exportRun, loadRunModel, readRun, type ExportOptions, type ExportSummary } from './io/export.js';
export { initFromHf, describeInitFrom, type InitFromReport } from './io/init-from.js';
export { loadPredictModel, Predictor, type PredictModel, type PredictInput, type PredictOutput } from './eval/predict.js';
// The model, the objectives and the trainer.
export { makeConfig, PRESETS, HEAD_NAMES, encoderParams, mlmHeadParams, detectionHeadParams, generatorConfig, generatorParams, type EncoderConfig, type ParamSpec, type PresetName } from './model/config.js';
export { allocParams, initParams, loadParams, readParams, type ModelParams } from './model/params.js';
export { Encoder, type EncoderInputs, type EncoderOptions } from './model/encoder.js';
export { buildEncoderWithHead, type HeadSpec, type EncoderWithHead } from './model/assembly.js';
export type { TrainGraph, MetricReader, Evaluation, GraphMetrics } from './model/graph.js';
export { referenceForwardBackward, referenceElectra } from './model/reference.js';
export { OBJECTIVES, OBJECTIVE_MODULES, objectiveModule, parseObjective, checkObjectiveSettings, type ObjectiveName, type ObjectiveModule, type PretrainGraph } from './objectives/registry.js';
export { Trainer, TrainingError, type StepReadout, type EvalMetrics } from './train/trainer.js';
export { pretrainingTask, paramSpecsFor, type TrainConfig } from './train/pretraining.js';
export type { TrainingTask, BatchSource, OptimizerConfig, GraphBuild } from './train/task.js';
export { runPretraining, type LoopReporter, type PretrainSummary } from './train/loop.js';
