// The pre-training loop. Everything is built once for the batch shape; each optimizer step
// then writes the batch (token ids), the step uniform and the dropout counter, and
// records: zero grads → [per micro-batch: corruption → encoder forward → head forward →
// generator-state update → head backward → encoder backward] → global-norm clip → AdamW,
// as ONE submit. Scalars are read back only at log intervals. ELECTRA's micro-batch is
// corruption → generator → Gumbel sampling → discriminator → detection head → backward of
// both (src/objectives/electra.ts).
//
// Checkpoints hold parameters, AdamW moments, C-RTS counts, and the step; the data
// position and every random stream are functions of (seed, step), so a resumed run
// reproduces the uninterrupted one exactly.
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Runtime, Op } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { adamw, createStepBuffer, writeStep } from '../kernels/adamw.js';
import { clipGradNorm } from '../kernels/clip.js';
import { dropoutRng } from '../kernels/dropout.js';
import { makeConfig, encoderParams, mlmHeadParams, detectionHeadParams, generatorConfig, generatorParams, countParams, type EncoderConfig, type PresetName } from '../model/config.js';
import { buildElectra, type ElectraGraph } from '../objectives/electra.js';
import { allocParams, initParams, loadParams, readParams, recordZeroGrads, param, grad, type ModelParams } from '../model/params.js';
import { Encoder } from '../model/encoder.js';
import { buildMlmHead, buildDetectionHead, type MlmHead, type DetectionHead } from '../model/heads.js';
import { buildObjective, DETECTION_LAMBDA, type BuiltObjective, type ObjectiveName, type RtsGenerator } from '../objectives/objective.js';
import { loadUnigram } from '../data/stats.js';
import { DEFAULT_UNIGRAM_ALPHA } from '../kernels/unigram.js';
import type { AttentionAlgorithm, AttentionScratch } from '../kernels/attention.js';
import { BatchLoader } from '../data/loader.js';
import { readManifest, type Manifest } from '../data/shards.js';
import { loadClusters } from '../data/clusters.js';
import { fromFloat32, toFloat32, type SafeTensor } from '../io/safetensors.js';
import { defaultWarmupSteps, learningRate, type Schedule, type ScheduleKind } from './schedule.js';
import { stepsForBudget, type Budget } from './budget.js';
import { saveCheckpoint, loadCheckpoint, latestCheckpoint } from '../io/checkpoint.js';
import { MetricsLog } from './metrics-log.js';
import { addConfusion, binaryMetrics, emptyConfusion, ratio, xentTotals } from './metrics.js';
import { sequenceLengths } from '../kernels/lengths.js';
import { initFromHf, describeInitFrom } from '../io/init-from.js';

export interface TrainConfig {
  objective: ObjectiveName;
  preset: PresetName;
  /** Overrides of the preset's model fields. */
  model?: Partial<EncoderConfig>;
  data: string;
  run: string;
  /** Start from a Hugging Face BERT/ELECTRA checkpoint directory (encoder, and the head when of the same kind). */
  initFrom?: string;
  batch: number;
  /** Micro-batches per optimizer step. */
  accumulate: number;
  lr: number;
  /** Default: 6 % of the steps, at most 1000. */
  warmupSteps?: number;
  schedule: ScheduleKind;
  budget: Budget;
  seed: number;
  maskProb: number;
  weightDecay: number;
  clip: number;
  logEvery: number;
  evalEvery: number;
  evalBatches: number;
  checkpointEvery: number;
  /** ELECTRA: the generator's hidden size, heads and FFN as a fraction of the discriminator's (default 1/2). */
  generatorSize?: number;
  /** RTS: the replacement generator (default 'uniform', the paper's) and, for 'unigram', α in count^α (default 0.75). */
  rtsGenerator?: RtsGenerator;
  unigramAlpha?: number;
  /** Attention algorithm (default 'auto': measured per adapter). */
  attention?: AttentionAlgorithm | 'auto';
}

export const DEFAULT_GENERATOR_SIZE = 0.5;

export interface StepMetrics {
  step: number;
  loss: number;
  /** MLM/SLM: accuracy of the original token at selected positions; detection: accuracy over real positions. */
  accuracy: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  selectedOverflow?: number;
}

/** ELECTRA's two losses (loss = genLoss + discLoss, discLoss already ×λ) and the generator's accuracy. */
export interface ElectraMetrics {
  genLoss: number;
  discLoss: number;
  genAccuracy: number;
}

export interface EvalMetrics {
  step: number;
  loss: number;
  accuracy: number;
  /** ELECTRA: the generator's loss (included in loss) and accuracy at the selected positions. */
  genLoss?: number;
  genAccuracy?: number;
  /** Detection only: precision, recall, F1 of "replaced". */
  precision?: number;
  recall?: number;
  f1?: number;
}

/** What one validation batch's metrics were computed from (Trainer.evaluate's onBatch). */
export interface EvalBatch {
  /** The validation batch's index. */
  index: number;
  /** The batch's own loss and accuracy, as metricsFrom derives them from the kernels' totals. */
  readout: StepReadout;
  /** Detection objectives: the head's logits, targets (1 = replaced) and weights (0 = ignored) at every position. */
  detection?: { logits: Float32Array; target: Float32Array; weight: Float32Array };
  /** MLM/SLM's head or ELECTRA's generator: xent's stats, the selection's labels (original ids) and its count of rows. */
  selection?: { stats: Float32Array; labels: Uint32Array; count: number };
}

export class TrainingError extends Error {}

export interface StepReadout {
  loss: number;
  accuracy: number;
  gradNorm: number;
  nonfinite: boolean;
  overflow: number;
  electra?: ElectraMetrics;
}

/**
 * Specs of the parameters an objective trains (MLM decoder tied to the word embeddings);
 * ELECTRA adds its generator (generatorParams: shared embeddings, generator.* and its head).
 */
export function paramSpecsFor(objective: ObjectiveName, cfg: EncoderConfig, generatorSize = DEFAULT_GENERATOR_SIZE) {
  const head = objective === 'mlm' || objective === 'slm' ? mlmHeadParams(cfg) : detectionHeadParams(cfg);
  const gen = objective === 'electra' ? generatorParams(cfg, generatorConfig(cfg, generatorSize)) : [];
  return [...encoderParams(cfg, ''), ...head, ...gen];
}

interface StepGraph {
  ids: Tensor;
  lengths: Tensor;
  types: Tensor;
  objective: BuiltObjective;
  encoder: Encoder;
  mlm?: MlmHead;
  detection?: DetectionHead;
  electra?: ElectraGraph;
  /** corruption + forward + head forward (+ C-RTS update) */
  forward: Op[];
  backward: Op[];
}

export class Trainer {
  readonly manifest: Manifest;
  readonly cfg: EncoderConfig;
  /** ELECTRA's generator config (undefined for the other objectives). */
  readonly genCfg?: EncoderConfig;
  readonly params: ModelParams;
  /** What --init-from loaded (a log line), when it was used. */
  initReport?: string;
  /** Steps the schedule spans (for a time budget: refitted once step times are measured). */
  totalSteps: number;
  step = 0;
  private m = new Map<string, Tensor>();
  private v = new Map<string, Tensor>();
  private stepBuf!: GPUBuffer;
  private dropRng!: Tensor;
  /** With accumulation: every micro-batch's ids and counters, written once a step. */
  private staging: Tensor | null = null;
  private train!: StepGraph;
  private evalGraph!: StepGraph;
  private optimizerOps: Op[] = [];
  /** Materialised-attention scratch shared by the training and evaluation graphs (one per encoder kind). */
  private attnScratch = { generator: {} as AttentionScratch, discriminator: {} as AttentionScratch };
  private clipState!: Tensor;
  private loader: BatchLoader;
  private valLoader: BatchLoader | null;
  readonly log: MetricsLog;
  private specialIds: number[];

  private constructor(readonly rt: Runtime, readonly c: TrainConfig, secondsPerStep?: number) {
    this.manifest = readManifest(c.data);
    const T = this.manifest.seqLen;
    this.cfg = makeConfig(c.preset, { vocabSize: this.manifest.vocabSize, maxPositions: Math.max(512, T), ...c.model });
    if (this.cfg.vocabSize !== this.manifest.vocabSize)
      throw new TrainingError(`model vocabulary ${this.cfg.vocabSize} differs from the data's (${this.manifest.vocabSize}, ${c.data}/manifest.json)`);
    this.loader = new BatchLoader(c.data, { batchSize: c.batch, seed: c.seed, split: 'train' });
    if (this.loader.stepsPerEpoch < 1) throw new TrainingError(`${c.data}: ${this.loader.sequences} training sequences cannot fill one batch of ${c.batch}`);
    this.valLoader = this.manifest.splits.validation.sequences >= c.batch ? new BatchLoader(c.data, { batchSize: c.batch, seed: c.seed, split: 'validation' }) : null;
    const s = this.manifest.special;
    this.specialIds = [s.pad, s.unk, s.cls, s.sep, s.mask];
    if (c.objective === 'electra') this.genCfg = generatorConfig(this.cfg, c.generatorSize ?? DEFAULT_GENERATOR_SIZE);
    else if (c.generatorSize !== undefined) throw new TrainingError(`a generator size applies to the electra objective only (this run trains ${c.objective})`);
    if ((c.rtsGenerator ?? 'uniform') !== 'uniform' && c.objective !== 'rts') throw new TrainingError(`the '${c.rtsGenerator}' generator applies to the rts objective only (this run trains ${c.objective})`);
    // The largest activation is [B·T, max(3h, FFN)] f32: refuse a batch whose activations
    // exceed one binding, naming the limit, before anything is allocated.
    const widest = Math.max(3 * this.cfg.hiddenSize, this.cfg.intermediateSize);
    const bytes = c.batch * T * widest * 4;
    const limit = rt.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      const fit = Math.max(1, Math.floor(limit / (T * widest * 4)));
      throw new TrainingError(
        `batch ${c.batch} × sequence ${T} needs a [${c.batch * T}, ${widest}] f32 activation of ${(bytes / 2 ** 20).toFixed(0)} MiB, above this adapter's ` +
          `maxStorageBufferBindingSize of ${(limit / 2 ** 20).toFixed(0)} MiB: use --batch ${fit} or less, with --accumulate for a larger effective batch`,
      );
    }
    this.params = allocParams(rt, paramSpecsFor(c.objective, this.cfg, c.generatorSize));
    // A time budget without a measured step time starts from a provisional guess of 1 s a
    // step; the loop refits it (fitToTime) once it has timed a few steps.
    this.totalSteps = stepsForBudget(c.budget, c.batch * c.accumulate * T, secondsPerStep ?? (c.budget.kind === 'time' ? 1 : undefined));
    mkdirSync(c.run, { recursive: true });
    this.log = new MetricsLog(join(c.run, 'metrics.jsonl'));
  }

  /** Build a trainer; `secondsPerStep` fits a time budget's schedule (measured by the caller). */
  static async create(rt: Runtime, c: TrainConfig, opts: { secondsPerStep?: number; resume?: boolean } = {}): Promise<Trainer> {
    const t = new Trainer(rt, c, opts.secondsPerStep);
    await t.build();
    const ck = opts.resume ? latestCheckpoint(c.run) : null;
    if (opts.resume && !ck) throw new TrainingError(`--resume: ${c.run} has no checkpoint`);
    if (ck) await t.restore(ck);
    else {
      await initParams(rt, t.params, c.seed);
      if (c.initFrom) {
        const report = initFromHf(c.initFrom, t.cfg, t.params, rt);
        t.initReport = describeInitFrom(report);
        t.log.write({ kind: 'init-from', source: c.initFrom, loaded: report.loaded.length, fresh: report.fresh, unused: report.unused });
      }
    }
    writeFileSync(join(c.run, 'config.json'), JSON.stringify({ ...c, data: resolve(c.data), run: resolve(c.run), model: t.cfg, ...(t.genCfg ? { generator: t.genCfg } : {}), ...(c.rtsGenerator === 'unigram' ? { unigramAlpha: c.unigramAlpha ?? DEFAULT_UNIGRAM_ALPHA } : {}), totalSteps: t.totalSteps, warmupSteps: t.warmupSteps, parameters: countParams(t.params.specs) }, null, 2) + '\n');
    return t;
  }

  private async buildGraph(dropout: boolean): Promise<StepGraph> {
    const { rt, c } = this;
    const B = c.batch, T = this.manifest.seqLen;
    const cfg = dropout ? this.cfg : { ...this.cfg, hiddenDropout: 0, attentionDropout: 0 };
    const ids = rt.empty([B, T], 'u32', 'batch.ids');
    const lengths = rt.empty([B], 'u32', 'batch.lengths');
    const types = rt.zeros([B, T], 'u32', 'batch.types');
    let clusters: { assignment: number[]; k: number } | undefined;
    if (c.objective === 'crts') {
      const f = this.manifest.files.clusters;
      if (!f) throw new TrainingError(`${c.data}: no clusters file in the manifest (run \`prepare\` again)`);
      const cl = loadClusters(join(c.data, f));
      clusters = { assignment: cl.assignment, k: cl.k };
    }
    let unigram: Float64Array | undefined;
    if (c.rtsGenerator === 'unigram') {
      const f = join(c.data, this.manifest.files.unigram ?? 'unigram.json');
      if (!existsSync(f)) throw new TrainingError(`${f}: missing; the unigram generator needs the token counts (run \`prepare\` again)`);
      unigram = loadUnigram(f).counts;
    }
    // Lengths come from the ids on the GPU: only token ids (and counters) go up per step.
    const lengthsOp = await sequenceLengths(rt, ids, lengths, this.manifest.special.pad);
    const objective = await buildObjective(rt, c.objective, ids, this.stepBuf, {
      p: c.maskProb,
      seed: c.seed,
      maskId: this.manifest.special.mask,
      specialIds: this.specialIds,
      vocabSize: this.cfg.vocabSize,
      clusters,
      ...(unigram ? { generator: 'unigram' as const, alpha: c.unigramAlpha ?? DEFAULT_UNIGRAM_ALPHA, unigram } : {}),
      sharedCrts: dropout ? undefined : this.train?.objective.crts,
    });
    const scale = 1 / c.accumulate;
    if (c.objective === 'electra') {
      const gen = dropout ? this.genCfg! : { ...this.genCfg!, hiddenDropout: 0, attentionDropout: 0 };
      const e = await buildElectra(rt, { disc: cfg, gen, params: this.params, objective, types, lengths, dropoutRng: this.dropRng, seed: c.seed, genWeight: scale, lambda: DETECTION_LAMBDA * scale, forwardOnly: !dropout, attention: c.attention, attentionScratch: this.attnScratch });
      return { ids, lengths, types, objective, encoder: e.discriminator, detection: e.detection, electra: e, forward: [lengthsOp, ...e.forward], backward: e.backward };
    }
    const encoder = await Encoder.build(rt, cfg, this.params, '', { ids: objective.inputIds, types, lengths }, { dropoutRng: this.dropRng, seed: c.seed, forwardOnly: !dropout, attention: c.attention, attentionScratch: this.attnScratch.discriminator });
    const forward = [lengthsOp, ...objective.corruptOps, ...encoder.forwardOps];
    const backward: Op[] = [];
    const g: StepGraph = { ids, lengths, types, objective, encoder, forward, backward };
    if (objective.head === 'mlm') {
      const sel = objective.selection;
      g.mlm = await buildMlmHead(rt, cfg, this.params, 'embeddings.word_embeddings.weight', encoder.hidden, encoder.dHidden ?? encoder.hidden, { list: sel.list, labels: sel.labels, meta: sel.meta }, { lossWeight: scale, forwardOnly: !dropout });
      forward.push(...g.mlm.forward);
      backward.push(...g.mlm.backward, ...encoder.backwardOps);
    } else {
      g.detection = await buildDetectionHead(rt, cfg, this.params, encoder.hidden, encoder.dHidden ?? encoder.hidden, { target: objective.target!, weight: objective.weight! }, { lambda: DETECTION_LAMBDA * scale, forwardOnly: !dropout });
      forward.push(...g.detection.forward);
      if (dropout) forward.push(...(await objective.afterForward(g.detection.logits)));
      backward.push(...g.detection.backward, ...encoder.backwardOps);
    }
    return g;
  }

  private async build(): Promise<void> {
    const { rt, c } = this;
    this.stepBuf = createStepBuffer(rt);
    this.dropRng = dropoutRng(rt, c.seed, 0);
    this.train = await this.buildGraph(true);
    this.evalGraph = await this.buildGraph(false);
    const grads = this.params.specs.map((s) => grad(this.params, s.name));
    const clip = await clipGradNorm(rt, grads, c.clip);
    this.clipState = clip.state;
    this.optimizerOps.push(...clip.ops);
    for (const s of this.params.specs) {
      const m = rt.zeros(s.shape, 'f32', `adam.m ${s.name}`), v = rt.zeros(s.shape, 'f32', `adam.v ${s.name}`);
      this.m.set(s.name, m);
      this.v.set(s.name, v);
      this.optimizerOps.push(await adamw(rt, { param: param(this.params, s.name), grad: grad(this.params, s.name), m, v }, clip.state, this.stepBuf, { decay: s.decay, weightDecay: c.weightDecay }));
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
    return { epoch: Math.floor(k / this.loader.stepsPerEpoch), step: k % this.loader.stepsPerEpoch };
  }

  private writeBatch(g: StepGraph, ids: Uint32Array): void {
    this.rt.write(g.ids, ids);
  }

  /** Record and submit one optimizer step (no readback). */
  runStep(): void;
  runStep(opts: { metrics: true }): Promise<StepReadout>;
  runStep(opts: { metrics?: boolean } = {}): Promise<StepReadout> | void {
    const { rt, c } = this;
    const lr = learningRate(this.schedule(), this.step);
    recordZeroGrads(rt, this.params);
    if (c.accumulate > 1) this.recordAccumulated(lr);
    else {
      // The sampling kernels' counters use the 1-based micro-batch number (here the
      // optimizer step, the number AdamW's bias correction uses).
      const micro = this.step;
      const pos = this.position(micro);
      this.writeBatch(this.train, this.loader.batch(pos.epoch, pos.step));
      writeStep(rt, this.stepBuf, micro + 1, lr);
      rt.write(this.dropRng, [c.seed >>> 0, micro >>> 0]);
      if (this.train.electra) this.train.electra.setStep(micro);
      else this.train.encoder.setStep(micro);
      rt.record(...this.train.forward, ...this.train.backward);
    }
    rt.record(...this.optimizerOps);
    const readout = opts.metrics ? rt.snapshot(this.metricTensors(this.train)).then((a) => this.metricsFrom(this.train, a)) : undefined;
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

  /** The small tensors a step's metrics come from: clip state, selection meta, head stats. */
  private metricTensors(g: StepGraph): Tensor[] {
    const heads = g.electra ? [g.electra.genHead.xent.stats, g.electra.detection.bce.out] : g.mlm ? [g.mlm.xent.stats] : [g.detection!.bce.out];
    return [this.clipState, g.objective.selection.meta, ...heads];
  }

  private metricsFrom(g: StepGraph, a: (Float32Array | Int32Array | Uint32Array)[]): StepReadout {
    const [clip, meta] = a;
    const base = { gradNorm: clip[1], nonfinite: clip[3] !== 0, overflow: meta[2] };
    const cap = g.objective.selection.capacity;
    const k = this.c.accumulate;
    if (g.electra) {
      const x = xentTotals(a[2], cap), o = a[3];
      const genLoss = x.loss * k, discLoss = o[0] * k;
      return { ...base, loss: genLoss + discLoss, accuracy: ratio(o[3], o[4]), electra: { genLoss, discLoss, genAccuracy: ratio(x.correct, x.valid) } };
    }
    if (g.mlm) {
      const x = xentTotals(a[2], cap);
      return { ...base, loss: x.loss * k, accuracy: ratio(x.correct, x.valid) };
    }
    const o = a[2];
    return { ...base, loss: o[0] * k, accuracy: ratio(o[3], o[4]) };
  }

  /**
   * Gradient accumulation inside the one submit: every micro-batch's ids, step
   * uniform, dropout counter and attention step go up together in one staging buffer,
   * and copies recorded before each micro-batch's ops put them in place; the optimizer's
   * step uniform is copied in last.
   */
  private recordAccumulated(lr: number): void {
    const { rt, c } = this;
    const B = c.batch, T = this.manifest.seqLen, k = c.accumulate;
    const region = B * T + 4 + 2; // u32 words: ids, step uniform, dropout [seed, micro]
    const words = k * region + 4;
    if (!this.staging) this.staging = rt.empty([words], 'u32', 'accumulation.staging');
    const host = new Uint32Array(words);
    const f32 = new Float32Array(host.buffer);
    for (let a = 0; a < k; a++) {
      const micro = this.step * k + a;
      const pos = this.position(micro);
      const ids = this.loader.batch(pos.epoch, pos.step);
      const base = a * region;
      host.set(ids, base);
      host[base + B * T] = micro + 1;
      f32[base + B * T + 1] = lr;
      host[base + B * T + 4] = c.seed >>> 0;
      host[base + B * T + 5] = micro >>> 0;
    }
    host[k * region] = this.step + 1;
    f32[k * region + 1] = lr;
    rt.write(this.staging, host);
    const S = this.staging.buffer, g = this.train;
    const targets = g.electra ? g.electra.stepTargets() : g.encoder.stepTargets();
    for (let a = 0; a < k; a++) {
      const base = a * region * 4;
      rt.copyRange(S, base, g.ids.buffer, 0, B * T * 4);
      rt.copyRange(S, base + B * T * 4, this.stepBuf, 0, 16);
      rt.copyRange(S, base + (B * T + 4) * 4, this.dropRng.buffer, 0, 8);
      for (const t of targets) rt.copyRange(S, base + (B * T + 5) * 4, t.buffer, t.offset, 4);
      rt.record(...g.forward, ...g.backward);
    }
    rt.copyRange(S, k * region * 4, this.stepBuf, 0, 16);
  }

  /** Loss and accuracy of the last step's final micro-batch (waits for the GPU; the loop uses runStep({metrics: true})). */
  async readStepMetrics(): Promise<StepReadout> {
    return this.metricsFrom(this.train, await Promise.all(this.metricTensors(this.train).map((t) => this.rt.read(t))));
  }

  /**
   * Validation metrics over the first evalBatches validation batches, each with a fixed
   * corruption. The loss (and ELECTRA's generator loss) is the mean of the batches' losses,
   * each normalised as in training; accuracy (and genAccuracy), precision, recall and F1
   * pool the positions of all batches (src/train/metrics.ts). `onBatch` is handed, per
   * batch, what these were computed from; the selection's labels are read back only for it.
   */
  async evaluate(opts: { onBatch?: (b: EvalBatch) => void } = {}): Promise<EvalMetrics | null> {
    if (!this.valLoader) return null;
    const { rt } = this;
    const g = this.evalGraph;
    const n = Math.min(this.c.evalBatches, this.valLoader.stepsPerEpoch);
    let loss = 0, genLoss = 0;
    const hits = { correct: 0, valid: 0 };
    const confusion = emptyConfusion();
    for (let i = 0; i < n; i++) {
      this.writeBatch(g, this.valLoader.batch(0, i));
      // Fixed corruption per validation batch: counters from a step outside training's range.
      writeStep(rt, this.stepBuf, 0x40000000 + i, 0);
      rt.record(...g.forward);
      await rt.sync();
      const a = await Promise.all(this.metricTensors(g).map((t) => rt.read(t)));
      const readout = this.metricsFrom(g, a);
      loss += readout.loss;
      genLoss += readout.electra?.genLoss ?? 0;
      const batch: EvalBatch = { index: i, readout };
      if (g.mlm || g.electra) {
        // metricTensors: [clip state, selection meta, xent stats of the MLM head or ELECTRA's generator, …]
        const meta = a[1] as Uint32Array, stats = a[2] as Float32Array;
        const x = xentTotals(stats, g.objective.selection.capacity);
        hits.correct += x.correct;
        hits.valid += x.valid;
        if (opts.onBatch) batch.selection = { stats, labels: (await rt.read(g.objective.selection.labels)) as Uint32Array, count: meta[0] };
      }
      if (g.detection) {
        const [logits, target, weight] = (await Promise.all([g.detection.logits, g.objective.target!, g.objective.weight!].map((t) => rt.read(t)))) as Float32Array[];
        addConfusion(confusion, logits, target, weight);
        batch.detection = { logits, target, weight };
      }
      opts.onBatch?.(batch);
    }
    const xentAccuracy = ratio(hits.correct, hits.valid);
    if (!g.detection) return { step: this.step, loss: loss / n, accuracy: xentAccuracy };
    return { step: this.step, loss: loss / n, ...binaryMetrics(confusion), ...(g.electra ? { genLoss: genLoss / n, genAccuracy: xentAccuracy } : {}) };
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
    const state: Record<string, unknown> = { objective: this.c.objective, config: this.cfg, seed: this.c.seed, totalSteps: this.totalSteps, ...(this.genCfg ? { generator: this.genCfg } : {}), ...this.rtsState() };
    const crts = this.train.objective.crts;
    if (crts) {
      const counts = new Int32Array(((await this.rt.read(crts.counts)) as Int32Array).slice());
      optimizer['crts.counts'] = { dtype: 'I32', shape: [crts.K, crts.K], data: new Uint8Array(counts.buffer) };
    }
    return saveCheckpoint(this.c.run, { step: this.step, tensors: { model, optimizer }, state });
  }

  private async restore(dir: string): Promise<void> {
    const ck = loadCheckpoint(dir);
    const st = ck.state as { objective?: string; config?: EncoderConfig; seed?: number };
    if (st.objective !== this.c.objective) throw new TrainingError(`${dir}: checkpoint of objective '${st.objective}', this run trains '${this.c.objective}'`);
    const show = (g: { generator: string; alpha?: number }) => `'${g.generator}'${g.alpha !== undefined ? ` (alpha ${g.alpha})` : ''}`;
    const theirs = (ck.state as { rts?: { generator: string; alpha?: number } }).rts ?? this.rtsStateOf('uniform'), mine = this.rtsState().rts;
    if (mine && JSON.stringify(theirs) !== JSON.stringify(mine)) throw new TrainingError(`${dir}: the checkpoint's RTS generator ${show(theirs)} differs from this run's ${show(mine)}: check --generator and --alpha`);
    const diff = Object.keys(this.cfg).filter((k) => JSON.stringify((st.config as unknown as Record<string, unknown>)?.[k]) !== JSON.stringify((this.cfg as unknown as Record<string, unknown>)[k]));
    if (diff.length) throw new TrainingError(`${dir}: the checkpoint's model differs from this run's in ${diff.join(', ')}`);
    const gst = (ck.state as { generator?: EncoderConfig }).generator;
    if (this.genCfg && gst && (gst.hiddenSize !== this.genCfg.hiddenSize || gst.numHeads !== this.genCfg.numHeads || gst.intermediateSize !== this.genCfg.intermediateSize))
      throw new TrainingError(`${dir}: the checkpoint's generator (hidden ${gst.hiddenSize}, ${gst.numHeads} heads, FFN ${gst.intermediateSize}) differs from this run's (hidden ${this.genCfg.hiddenSize}, ${this.genCfg.numHeads} heads, FFN ${this.genCfg.intermediateSize}): check --generator-size`);
    const values = new Map(Object.entries(ck.tensors.model).map(([k, t]) => [k, toFloat32(t, k)]));
    loadParams(this.rt, this.params, values, dir);
    for (const s of this.params.specs) {
      const m = ck.tensors.optimizer[`${s.name}.exp_avg`], v = ck.tensors.optimizer[`${s.name}.exp_avg_sq`];
      if (!m || !v) throw new TrainingError(`${dir}: optimizer state for '${s.name}' is missing`);
      this.rt.write(this.m.get(s.name)!, toFloat32(m));
      this.rt.write(this.v.get(s.name)!, toFloat32(v));
    }
    const crts = this.train.objective.crts;
    if (crts) {
      const c = ck.tensors.optimizer['crts.counts'];
      if (!c) throw new TrainingError(`${dir}: C-RTS counts are missing`);
      this.rt.write(crts.counts, new Int32Array(c.data.slice().buffer));
    }
    this.step = ck.step;
  }

  /** RTS's generator as saved in checkpoints (absent = uniform, as in older checkpoints). */
  private rtsStateOf(g: RtsGenerator): { generator: RtsGenerator; alpha?: number } {
    return g === 'unigram' ? { generator: g, alpha: this.c.unigramAlpha ?? DEFAULT_UNIGRAM_ALPHA } : { generator: g };
  }
  private rtsState(): { rts?: { generator: RtsGenerator; alpha?: number } } {
    return this.c.objective === 'rts' ? { rts: this.rtsStateOf(this.c.rtsGenerator ?? 'uniform') } : {};
  }

  async parameters(): Promise<Map<string, Float32Array>> {
    return readParams(this.rt, this.params);
  }
}

export function readRunConfig(run: string): Record<string, unknown> {
  const p = join(run, 'config.json');
  if (!existsSync(p)) throw new TrainingError(`${run}: no config.json (not a run directory)`);
  return JSON.parse(readFileSync(p, 'utf8'));
}
