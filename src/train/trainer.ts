// The trainer: how to train, whatever a TrainingTask says to train. Everything is built once
// for the batch shape (a graph per sequence length when the task has several: each batch
// runs on the one its source names); each optimizer step then writes the micro-batches' inputs, the step
// uniform and the dropout counter, and records: zero grads → [per micro-batch: the graph's
// forward → backward] → global-norm clip → AdamW, as ONE submit. Scalars are read back only
// when asked (runStep({ metrics: true }) copies the graph's small metric tensors inside the
// same submit).
//
// Mixed precision (c.precision 'f16', src/model/precision.ts): the graphs run in f16 with the
// f32 parameters as masters; a loss scaler on the GPU multiplies the heads' gradient seeds,
// and clipping unscales, skips an overflowed step (AdamW leaves everything as it was) and
// adjusts the scale — inside the same one submit, no readback.
//
// Checkpoints hold parameters, AdamW moments, the graph's extra state (C-RTS counts), the
// loss scaler (mixed precision) and the step; the data position and every random stream are functions of (seed, step), so a
// resumed run reproduces the uninterrupted one exactly.
import type { Runtime, Op } from '../gpu/runtime.js';
import { byteOffsetOf, type Tensor } from '../gpu/tensor.js';
import { adamw, createStepBuffer, writeStep } from '../kernels/adamw.js';
import { clipGradNorm, clipStateOf, createLossScaler, lossScalerOf, LOSS_SCALE_DEFAULTS } from '../kernels/clip.js';
import { dropoutRng } from '../kernels/dropout.js';
import { newEncoderShare } from '../model/encoder.js';
import { countParams, type EncoderConfig } from '../model/config.js';
import type { Evaluation, GraphMetrics, TrainGraph } from '../model/graph.js';
import { precisionUnavailable, type MixedPrecision, type Precision } from '../model/precision.js';
import { allocParams, initParams, loadParams, readParams, recordZeroGrads, param, type ModelParams } from '../model/params.js';
import type { PretrainEval, PretrainGraph } from '../objectives/registry.js';
import { fromFloat32, toFloat32, type SafeTensor } from '../io/safetensors.js';
import { defaultWarmupSteps, learningRate, type Schedule } from './schedule.js';
import { stepsForBudget } from './budget.js';
import { TrainingError, type BatchSource, type OptimizerConfig, type TrainingTask } from './task.js';
import { directoryRun, type MetricsSink, type RunStore } from './run-store.js';
import { pretrainingTask, type TrainConfig } from './pretraining.js';

export { TrainingError } from './task.js';
export { paramSpecsFor, type TrainConfig } from './pretraining.js';
export type { EvalBatch } from '../objectives/registry.js';
/** Pre-training's validation metrics at a step. */
export type EvalMetrics = PretrainEval & { step: number };

type MetricsOf<G> = G extends TrainGraph<infer M, any> ? M : never;
type EvalOf<G> = G extends TrainGraph<any, infer E> ? E : never;
type EvalOptions<G> = G extends { evaluation(opts?: infer O): Evaluation<any> } ? O : never;

/**
 * A step's metrics: the graph's, and the gradient norm and non-finite flag of the clip; in
 * mixed precision the loss scale after the step, and the overflowed (skipped) steps in all and
 * in a row up to it.
 */
export type StepReadout<M extends GraphMetrics = MetricsOf<PretrainGraph>> = M & { gradNorm: number; nonfinite: boolean; lossScale?: { scale: number; skipped: number; overflowRun: number } };

export class Trainer<G extends TrainGraph<any, any> = PretrainGraph> {
  readonly params: ModelParams;
  /** What the task's initialize loaded (a log line), when it did. */
  initReport?: string;
  /** Steps the schedule spans (for a time budget: refitted once step times are measured). */
  totalSteps: number;
  step = 0;
  /** Where the run's record goes (TrainerOptions.store; by default the directory c.run). */
  readonly store: RunStore;
  readonly log: MetricsSink;
  private m = new Map<string, Tensor>();
  private v = new Map<string, Tensor>();
  private stepBuf!: GPUBuffer;
  private dropRng!: Tensor;
  /** With accumulation: every micro-batch's inputs and counters, written once a step. */
  private staging: Tensor | null = null;
  /** The graph of the last recorded micro-batch: its metric tensors are the step's. */
  private lastGraph: G | null = null;
  /** The training graph of the longest sequence length: its state is the checkpoints'. */
  private train!: G;
  /** Per sequence length (the task's seqLens): its training and evaluation graphs. */
  private graphs = new Map<number, { train: G; eval: G }>();
  private optimizerOps: Op[] = [];
  private clipState!: Tensor;
  /** Mixed precision's loss scaler (kernels/clip.ts: DynamicLossScale); null in f32. */
  private scaler: Tensor | null = null;

  private constructor(
    readonly rt: Runtime,
    readonly task: TrainingTask<G>,
    readonly c: OptimizerConfig,
    store: RunStore,
    secondsPerStep?: number,
  ) {
    this.store = store;
    const cfg = task.model, T = task.seqLen;
    if (task.train.stepsPerEpoch < 1) throw new TrainingError(`the training data cannot fill one batch of ${c.batch}`);
    // The largest activation is [B·T, max(3h, FFN)] f32: refuse a batch whose activations
    // exceed one binding, naming the limit, before anything is allocated.
    const widest = Math.max(3 * cfg.hiddenSize, cfg.intermediateSize);
    const bytes = c.batch * T * widest * 4;
    const limit = rt.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      const fit = Math.max(1, Math.floor(limit / (T * widest * 4)));
      throw new TrainingError(
        `batch ${c.batch} × sequence ${T} needs a [${c.batch * T}, ${widest}] f32 activation of ${(bytes / 2 ** 20).toFixed(0)} MiB, above this adapter's ` +
          `maxStorageBufferBindingSize of ${(limit / 2 ** 20).toFixed(0)} MiB: use --batch ${fit} or less, with --accumulate for a larger effective batch`,
      );
    }
    if (this.precision === 'f16' && !task.mixedPrecision) throw new TrainingError('--precision f16: this kind of training runs in f32 only');
    const why = precisionUnavailable(rt, this.precision);
    if (why) throw new TrainingError(why);
    this.params = allocParams(rt, task.params);
    // A time budget without a measured step time starts from a provisional guess of 1 s a
    // step; the loop refits it (fitToTime) once it has timed a few steps.
    this.totalSteps = stepsForBudget(c.budget, this.tokensPerStep, secondsPerStep ?? (c.budget.kind === 'time' ? 1 : undefined));
    this.log = store.log;
  }

  /** Pre-train an objective on prepared data (src/train/pretraining.ts); `secondsPerStep` fits a time budget's schedule. */
  static async create(rt: Runtime, c: TrainConfig, opts: TrainerOptions = {}): Promise<Trainer<PretrainGraph>> {
    return Trainer.forTask(rt, pretrainingTask(c), c, opts);
  }

  /**
   * What can be checked before any GPU work: the run directory is this run's (a fresh run
   * refuses one that holds another unless `overwrite`; a live process's lock refuses any),
   * and a resume's checkpoint was written with the same settings. Throws TrainingError.
   */
  static preflight<G extends TrainGraph<any, any>>(task: TrainingTask<G>, c: OptimizerConfig, opts: TrainerOptions = {}): void {
    const store = storeOf(c, opts);
    if (preflighted.get(task) === store.location) return;
    store.claim(opts);
    preflighted.set(task, store.location);
    if (!opts.resume) return;
    const dir = store.latestCheckpoint(opts.warn);
    if (!dir) throw new TrainingError(`--resume: ${store.location} has no checkpoint`);
    checkResumable(task, c, store.checkpointState(dir).state, dir);
  }

  /** Train what `task` says, as `c` says. */
  static async forTask<G extends TrainGraph<any, any>>(rt: Runtime, task: TrainingTask<G>, c: OptimizerConfig, opts: TrainerOptions = {}): Promise<Trainer<G>> {
    Trainer.preflight(task, c, opts);
    const store = storeOf(c, opts);
    const t = new Trainer<G>(rt, task, c, store, opts.secondsPerStep);
    await t.build();
    if (opts.resume) await t.restore(opts.warn ?? (() => {}));
    else {
      await initParams(rt, t.params, c.seed);
      const init = task.initialize?.(rt, t.params);
      if (init) {
        t.initReport = init.message;
        t.log.write(init.record);
      }
    }
    store.writeConfig({ ...c, run: store.location, ...task.describe(), totalSteps: t.totalSteps, warmupSteps: t.warmupSteps, parameters: countParams(t.params.specs) });
    return t;
  }

  /** The encoder config and sequence length of the task. */
  get cfg(): EncoderConfig {
    return this.task.model;
  }
  get seqLen(): number {
    return this.task.seqLen;
  }
  get precision(): Precision {
    return this.c.precision ?? 'f32';
  }

  /** Tokens one optimizer step sees. */
  get tokensPerStep(): number {
    return this.c.batch * this.c.accumulate * this.task.seqLen;
  }

  private async build(): Promise<void> {
    const { rt, c } = this;
    this.stepBuf = createStepBuffer(rt);
    this.dropRng = dropoutRng(rt, c.seed, 0);
    let mixed: MixedPrecision | undefined;
    if (this.precision === 'f16') {
      this.scaler = createLossScaler(rt, c.lossScale?.initial ?? LOSS_SCALE_DEFAULTS.initial);
      mixed = { gradScale: this.scaler };
    }
    const common = { rt, params: this.params, step: this.stepBuf, dropoutRng: this.dropRng, lossScale: 1 / c.accumulate, mixed };
    const lengths = this.task.seqLens ?? [this.task.seqLen];
    if (lengths[lengths.length - 1] !== this.task.seqLen || lengths.some((t, i) => i > 0 && t <= lengths[i - 1]))
      throw new TrainingError(`the task's sequence lengths [${lengths.join(', ')}] must ascend to its seqLen ${this.task.seqLen}`);
    for (const T of lengths) {
      // The two graphs of one length never run at once: their encoders share memory (the
      // training graph, built first, lends its activations to the evaluation graph's).
      const encoderShare = { generator: newEncoderShare(), discriminator: newEncoderShare() };
      const train = await this.task.build({ ...common, mode: 'train', seqLen: T, encoderShare });
      const evalGraph = await this.task.build({ ...common, mode: 'eval', seqLen: T, encoderShare, training: train });
      this.graphs.set(T, { train, eval: evalGraph });
    }
    this.train = this.graphs.get(this.task.seqLen)!.train;
    // The optimizer sweeps whole parameter arenas (src/model/params.ts): one clipping partial
    // sum and one AdamW dispatch per arena; the moments share the parameters' layout.
    const dynamic = this.scaler ? { scaler: this.scaler, growthInterval: c.lossScale?.growthInterval ?? LOSS_SCALE_DEFAULTS.growthInterval } : undefined;
    const clip = await clipGradNorm(rt, this.params.arenas.map((a) => a.grads), c.clip, undefined, dynamic);
    this.clipState = clip.state;
    this.optimizerOps.push(...clip.ops);
    for (const a of this.params.arenas) {
      const m = rt.zeros([a.values.size], 'f32', `adam.m ${a.values.label}`), v = rt.zeros([a.values.size], 'f32', `adam.v ${a.values.label}`);
      for (const name of a.names) {
        this.m.set(name, rt.viewLike(m, param(this.params, name), `adam.m ${name}`));
        this.v.set(name, rt.viewLike(v, param(this.params, name), `adam.v ${name}`));
      }
      this.optimizerOps.push(await adamw(rt, { param: a.values, grad: a.grads, m, v }, clip.state, this.stepBuf, { decay: a.decay, weightDecay: c.weightDecay }));
    }
  }

  /** Refit the schedule to a time budget: the steps that fit in the time left. */
  fitToTime(secondsLeft: number, secondsPerStep: number): void {
    this.totalSteps = Math.max(this.step + 1, this.step + Math.floor(secondsLeft / secondsPerStep));
  }

  schedule(): Schedule {
    return { kind: this.c.schedule, peakLr: this.c.lr, warmupSteps: this.warmupSteps, totalSteps: this.totalSteps };
  }

  get warmupSteps(): number {
    return this.c.warmupSteps ?? defaultWarmupSteps(this.totalSteps);
  }

  /** Batch position of micro-batch `k` overall. */
  private position(k: number): { epoch: number; step: number } {
    const n = this.task.train.stepsPerEpoch;
    return { epoch: Math.floor(k / n), step: k % n };
  }

  /** The graphs for a source's batch (of the length the source gives it). */
  private graphsFor(source: BatchSource, epoch: number, step: number): { train: G; eval: G } {
    const T = source.seqLen?.(epoch, step) ?? this.task.seqLen;
    const g = this.graphs.get(T);
    if (!g) throw new TrainingError(`a batch of sequence length ${T}, but graphs exist for ${[...this.graphs.keys()].join(', ')}`);
    return g;
  }

  /** Write a batch's arrays into the graph's input tensors. */
  private writeInputs(g: G, batch: Record<string, ArrayBufferView>): void {
    for (const [name, t] of Object.entries(g.inputs)) {
      const data = batch[name];
      if (!data) throw new TrainingError(`the batch has no '${name}' (the graph's inputs: ${Object.keys(g.inputs).join(', ')})`);
      this.rt.write(t, data as Uint32Array);
    }
  }

  /** Record and submit one optimizer step (no readback). */
  runStep(): void;
  runStep(opts: { metrics: true }): Promise<StepReadout<MetricsOf<G>>>;
  runStep(opts: { metrics?: boolean } = {}): Promise<StepReadout<MetricsOf<G>>> | void {
    const { rt, c } = this;
    const lr = learningRate(this.schedule(), this.step);
    recordZeroGrads(rt, this.params);
    let last: G;
    if (c.accumulate > 1) last = this.recordAccumulated(lr);
    else {
      // The sampling kernels' counters use the 1-based micro-batch number (here the
      // optimizer step, the number AdamW's bias correction uses).
      const micro = this.step;
      const pos = this.position(micro);
      last = this.graphsFor(this.task.train, pos.epoch, pos.step).train;
      this.writeInputs(last, this.task.train.batch(pos.epoch, pos.step));
      writeStep(rt, this.stepBuf, micro + 1, lr);
      rt.write(this.dropRng, [c.seed >>> 0, micro >>> 0]);
      last.setStep(micro);
      rt.record(...last.forward, ...last.backward);
    }
    this.lastGraph = last;
    rt.record(...this.optimizerOps);
    const readout = opts.metrics ? rt.snapshot(this.readoutTensors(last)).then((a) => this.readout(last, a)) : undefined;
    rt.submit();
    this.step++;
    return readout;
  }

  /**
   * The ops of one training step (micro-batch 1), by phase, in recording order: for profiling
   * (`bench steps --profile`). Recording them outside runStep repeats the last step's work on
   * the current buffers without advancing anything.
   */
  stepPhases(): { phase: 'forward' | 'backward' | 'optimizer'; ops: readonly Op[] }[] {
    return [
      { phase: 'forward', ops: this.train.forward },
      { phase: 'backward', ops: this.train.backward },
      { phase: 'optimizer', ops: this.optimizerOps },
    ];
  }

  /** What a step's readout copies back: the clip state, the loss scaler (mixed precision), the graph's metric tensors. */
  private readoutTensors(g: G): Tensor[] {
    return [this.clipState, ...(this.scaler ? [this.scaler] : []), ...g.metrics.tensors];
  }

  private readout(g: G, [clip, ...rest]: (Float32Array | Int32Array | Uint32Array)[]): StepReadout<MetricsOf<G>> {
    const s = clipStateOf(clip);
    const scaler = this.scaler ? lossScalerOf(rest.shift()!) : null;
    const lossScale = scaler ? { lossScale: { scale: scaler.scale, skipped: scaler.skipped, overflowRun: scaler.overflowRun } } : {};
    return { ...g.metrics.read(rest), gradNorm: s.norm, nonfinite: s.nonfinite, ...lossScale };
  }

  /**
   * Gradient accumulation inside the one submit: every micro-batch's inputs, step uniform,
   * dropout counter and attention step go up together in one staging buffer, and copies
   * recorded before each micro-batch's ops put them in place; the optimizer's step uniform
   * is copied in last.
   */
  private recordAccumulated(lr: number): G {
    const { rt, c } = this;
    const k = c.accumulate;
    // Regions are sized by the longest graph's inputs; a shorter graph's fill a prefix.
    const inputWords = Object.values(this.train.inputs).reduce((n, t) => n + t.size, 0);
    const region = inputWords + 4 + 2; // u32 words: inputs, step uniform, dropout [seed, micro]
    const words = k * region + 4;
    if (!this.staging) this.staging = rt.empty([words], 'u32', 'accumulation.staging');
    const host = new Uint32Array(words);
    const f32 = new Float32Array(host.buffer);
    const micros: G[] = [];
    for (let a = 0; a < k; a++) {
      const micro = this.step * k + a;
      const pos = this.position(micro);
      const g = this.graphsFor(this.task.train, pos.epoch, pos.step).train;
      micros.push(g);
      const batch = this.task.train.batch(pos.epoch, pos.step);
      let at = a * region;
      for (const [name, t] of Object.entries(g.inputs)) {
        const data = batch[name];
        if (!data) throw new TrainingError(`the batch has no '${name}'`);
        host.set(new Uint32Array(data.buffer, data.byteOffset, t.size), at);
        at += t.size;
      }
      at = a * region + inputWords;
      host[at] = micro + 1;
      f32[at + 1] = lr;
      host[at + 4] = c.seed >>> 0;
      host[at + 5] = micro >>> 0;
    }
    host[k * region] = this.step + 1;
    f32[k * region + 1] = lr;
    rt.write(this.staging, host);
    const S = this.staging.buffer;
    micros.forEach((g, a) => {
      let at = a * region * 4;
      for (const t of Object.values(g.inputs)) {
        rt.copyRange(S, at, t.buffer, byteOffsetOf(t), t.size * 4);
        at += t.size * 4;
      }
      at = (a * region + inputWords) * 4;
      rt.copyRange(S, at, this.stepBuf, 0, 16);
      rt.copyRange(S, at + 16, this.dropRng.buffer, 0, 8);
      for (const t of g.stepTargets()) rt.copyRange(S, at + 20, t.buffer, t.offset, 4);
      rt.record(...g.forward, ...g.backward);
    });
    rt.copyRange(S, k * region * 4, this.stepBuf, 0, 16);
    return micros[k - 1];
  }

  /** The last step's metrics (of its final micro-batch); waits for the GPU (the loop uses runStep({ metrics: true })). */
  async readStepMetrics(): Promise<StepReadout<MetricsOf<G>>> {
    const g = this.lastGraph ?? this.train;
    return this.readout(g, await Promise.all(this.readoutTensors(g).map((t) => this.rt.read(t))));
  }

  /** Validation metrics over the first evalBatches validation batches, each with a fixed corruption (see the graph's evaluation). */
  async evaluate(opts?: EvalOptions<G>): Promise<(EvalOf<G> & { step: number }) | null> {
    const source = this.task.validation;
    if (!source) return null;
    return this.evaluateOn(source, Math.min(this.c.evalBatches, source.stepsPerEpoch), opts);
  }

  /** The evaluation graph over the first `batches` batches of any source (e.g. a held-out test split). */
  async evaluateOn(source: BatchSource, batches = source.stepsPerEpoch, opts?: EvalOptions<G>): Promise<EvalOf<G> & { step: number }> {
    const { rt } = this;
    // One accumulator takes every batch; a batch on a shorter graph is read from that
    // graph's tensors of the same layout (graph.ts: Evaluation).
    const main = this.graphs.get(this.task.seqLen)!.eval;
    const e = main.evaluation(opts);
    const tensorsOf = new Map<G, Tensor[]>([[main, e.tensors]]);
    for (let i = 0; i < batches; i++) {
      const g = this.graphsFor(source, 0, i).eval;
      if (!tensorsOf.has(g)) tensorsOf.set(g, g.evaluation(opts).tensors);
      this.writeInputs(g, source.batch(0, i));
      // Fixed counters per validation batch: from a step outside training's range.
      writeStep(rt, this.stepBuf, 0x40000000 + i, 0);
      rt.record(...g.forward);
      await rt.sync();
      e.add(await Promise.all(tensorsOf.get(g)!.map((t) => rt.read(t))));
    }
    return { step: this.step, ...e.result() };
  }

  /** Replace the parameters' values (e.g. by the best epoch's, to evaluate them); names and sizes checked. */
  loadParameters(values: Map<string, Float32Array>, source: string): void {
    loadParams(this.rt, this.params, values, source);
  }

  async checkpoint(): Promise<string> {
    const model: Record<string, SafeTensor> = {};
    const optimizer: Record<string, SafeTensor> = {};
    const read = async (t: Tensor, shape: number[]) => fromFloat32((await this.rt.read(t)) as Float32Array, shape);
    for (const s of this.params.specs) {
      model[s.name] = await read(param(this.params, s.name), s.shape);
      optimizer[`${s.name}.exp_avg`] = await read(this.m.get(s.name)!, s.shape);
      optimizer[`${s.name}.exp_avg_sq`] = await read(this.v.get(s.name)!, s.shape);
    }
    for (const [name, st] of Object.entries(this.train.state)) {
      const values = (await this.rt.read(st.tensor)).slice();
      optimizer[name] = { dtype: st.dtype === 'i32' ? 'I32' : 'F32', shape: st.shape, data: new Uint8Array(values.buffer) };
    }
    if (this.scaler) optimizer[LOSS_SCALER] = fromFloat32((await this.rt.read(this.scaler)) as Float32Array, [4]);
    const state = { ...this.task.checkpointState(), seed: this.c.seed, totalSteps: this.totalSteps, training: optimizerSettings(this.c) };
    return this.store.saveCheckpoint({ step: this.step, tensors: { model, optimizer }, state });
  }

  /** Continue from the newest checkpoint that verifies (older ones, with a warning, when it does not). */
  private async restore(warn: (message: string) => void): Promise<void> {
    const latest = this.store.loadLatestCheckpoint(warn);
    if (!latest) throw new TrainingError(`--resume: ${this.store.location} has no checkpoint`);
    const { dir, contents: ck } = latest;
    checkResumable(this.task, this.c, ck.state, dir);
    const values = new Map(Object.entries(ck.tensors.model).map(([k, t]) => [k, toFloat32(t, k)]));
    loadParams(this.rt, this.params, values, dir);
    for (const s of this.params.specs) {
      const m = ck.tensors.optimizer[`${s.name}.exp_avg`], v = ck.tensors.optimizer[`${s.name}.exp_avg_sq`];
      if (!m || !v) throw new TrainingError(`${dir}: optimizer state for '${s.name}' is missing`);
      this.rt.write(this.m.get(s.name)!, toFloat32(m));
      this.rt.write(this.v.get(s.name)!, toFloat32(v));
    }
    for (const [name, st] of Object.entries(this.train.state)) {
      const saved = ck.tensors.optimizer[name];
      if (!saved) throw new TrainingError(`${dir}: '${name}' is missing`);
      const n = st.shape.reduce((a, b) => a * b, 1);
      if (saved.data.byteLength !== n * 4) throw new TrainingError(`${dir}: '${name}' has ${saved.data.byteLength / 4} values, expected ${n}`);
      const copy = saved.data.slice().buffer;
      this.rt.write(st.tensor, st.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy));
    }
    if (this.scaler) {
      const saved = ck.tensors.optimizer[LOSS_SCALER];
      if (!saved) throw new TrainingError(`${dir}: the loss scaler ('${LOSS_SCALER}') is missing: the checkpoint was not written by a --precision f16 run`);
      const values = toFloat32(saved, LOSS_SCALER);
      if (values.length !== 4) throw new TrainingError(`${dir}: '${LOSS_SCALER}' has ${values.length} values, expected 4`);
      this.rt.write(this.scaler, values);
    }
    this.step = ck.step;
    // The steps after the checkpoint run again: their records go, and the resume is marked.
    this.log.truncateAfter(ck.step, { kind: 'resumed', step: ck.step, checkpoint: dir });
  }

  async parameters(): Promise<Map<string, Float32Array>> {
    return readParams(this.rt, this.params);
  }
}

export interface TrainerOptions {
  /** Measured seconds per step, to fit a time budget's schedule. */
  secondsPerStep?: number;
  /** Continue from the run's newest checkpoint. */
  resume?: boolean;
  /** Replace a run directory that holds another run (clears it first). */
  overwrite?: boolean;
  /** Where warnings go (a fallback to an older checkpoint…). */
  warn?: (message: string) => void;
  /** Where the run's record goes; by default the directory `c.run` (src/train/run-store.ts). */
  store?: RunStore;
}

/** The store a run writes to: the caller's, or the directory c.run. */
const storeOf = (c: OptimizerConfig, opts: TrainerOptions): RunStore => opts.store ?? directoryRun(c.run);

/** Tasks whose run directory preflight has claimed (the CLI checks before the GPU, forTask again). */
const preflighted = new WeakMap<object, string>();

/** The checkpoint's entry (among the optimizer's tensors) for the loss scaler. */
const LOSS_SCALER = 'loss_scaler';

/** The settings that shape the sequence of batches and updates: a resume must repeat them. */
function optimizerSettings(c: OptimizerConfig): Record<string, unknown> {
  const precision = c.precision ?? 'f32';
  const scaling = precision === 'f16' ? { lossScale: { initial: c.lossScale?.initial ?? LOSS_SCALE_DEFAULTS.initial, growthInterval: c.lossScale?.growthInterval ?? LOSS_SCALE_DEFAULTS.growthInterval } } : {};
  return { seed: c.seed, batch: c.batch, accumulate: c.accumulate, lr: c.lr, warmupSteps: c.warmupSteps ?? null, schedule: c.schedule, budget: c.budget, weightDecay: c.weightDecay, clip: c.clip, precision, ...scaling };
}

/** Refuse a checkpoint whose task or optimizer settings differ from this run's, listing every difference. */
function checkResumable<G extends TrainGraph<any, any>>(task: TrainingTask<G>, c: OptimizerConfig, saved: Record<string, unknown>, dir: string): void {
  try {
    task.checkResume(saved, dir);
  } catch (e) {
    throw new TrainingError((e as Error).message);
  }
  const theirs = saved.training as Record<string, unknown> | undefined;
  if (!theirs) return; // checkpoints before these were recorded
  const mine = optimizerSettings(c);
  const show = (v: unknown) => (v === null ? 'default' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const diffs = Object.keys(mine).filter((k) => k in theirs && JSON.stringify(theirs[k]) !== JSON.stringify(mine[k])).map((k) => `${k} ${show(theirs[k])} in the checkpoint, ${show(mine[k])} now`);
  if (diffs.length)
    throw new TrainingError(`${dir}: --resume with other settings than the run's would not repeat its batches and updates: ${diffs.join('; ')}. Resume with the run's settings (config.json), or start a new run with another --out`);
}
