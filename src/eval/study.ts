// The study the paper is about: each objective pre-trained under the same budget on the same
// adapter and data, snapshots of the encoder kept along the way; every snapshot (and random
// weights: the floor) fine-tuned on every task with every seed, and linearly probed; then a
// report (src/eval/report.ts) and plots (src/eval/plots.ts). Every stage writes its result
// to disk before the next starts, so a study started again with the same --out resumes:
// finished pre-training runs, fine-tuning runs and probes are reused, and an objective whose
// pre-training was interrupted continues from its newest checkpoint (every
// PRETRAIN_CHECKPOINT_EVERY steps; exact resume, the same losses and snapshots as an
// uninterrupted run). A time budget's run starts again instead: its schedule was fitted to
// the seconds the first start measured.
//
// Costs, and how the defaults keep the full bundled study near an hour on 2 CPU cores: the
// learning-rate grid is searched once per (objective, task), on the final snapshot with the
// first seed; the rate it picks serves the other seeds and snapshots (stated in the report).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Runtime } from '../gpu/runtime.js';
import { encoderParams, makeConfig, type PresetName } from '../model/config.js';
import { TRAINING_FLOPS_PER_FORWARD } from '../model/flops.js';
import { objectiveModule, type ObjectiveName } from '../objectives/registry.js';
import { bundledSources } from '../data/bundled.js';
import { prepare } from '../data/prepare.js';
import { readManifest } from '../data/shards.js';
import { writeFileAtomic } from '../data/atomic.js';
import { fromFloat32, loadSafetensors, saveSafetensors, toFloat32, type SafeTensor } from '../io/safetensors.js';
import { latestCheckpoint, loadCheckpoint } from '../io/checkpoint.js';
import type { Budget } from '../train/budget.js';
import { runPretraining, type LoopReporter } from '../train/loop.js';
import { MetricsLog } from '../train/metrics-log.js';
import type { TrainConfig } from '../train/pretraining.js';
import { finetune, sampleSplit, startingPoint, type FinetuneConfig, type FinetuneResult, type StartingPoint } from './finetune.js';
import { encoderFeatures } from './features.js';
import { encodeExample, loadTask, sotuHeldOutAddresses, type Task } from './tasks.js';
import { taskMetrics } from './metrics.js';
import { probeClassifier, probeRegressor, predictLogistic, predictRidge } from './probe.js';
import { FLOOR, seedScores, writeReport, type CheckpointResult, type ObjectiveResult, type StudyResult } from './report.js';
import { writePlots } from './plots.js';

export interface StudyConfig {
  objectives: ObjectiveName[];
  preset: PresetName;
  budget: Budget;
  /** The budget as given ("10m"), for the report. */
  budgetText: string;
  tasks: string[];
  seeds: number[];
  /** Earlier snapshots fine-tuned besides the final one, evenly spaced. */
  checkpoints: number;
  out: string;
  /** Pre-training. */
  batch: number;
  lr: number;
  seqLen: number;
  vocabSize: number;
  /** Fine-tuning. */
  finetune: { epochs: number; lrs: number[]; batch: number; maxLen: number; limit?: FinetuneConfig['limit'] };
  probe: boolean;
  /** The command line, for the report. */
  command: string;
  /** The pre-training corpus (default: the bundled SOTU addresses). */
  corpus?: 'sotu' | 'moby-dick';
  /** A prepared data directory to pre-train on instead (`npm start`: the demo's cache); else prepared under `out/data`. */
  data?: string;
  /** Pre-training checkpoints every this many steps, for resuming an interrupted run (default PRETRAIN_CHECKPOINT_EVERY). */
  pretrainCheckpointEvery?: number;
}

/** Steps between a study's pre-training checkpoints: about 2 minutes of `tiny` at 8 × 128 on lavapipe; a checkpoint costs well under a second. */
export const PRETRAIN_CHECKPOINT_EVERY = 500;

export interface StudyReporter extends LoopReporter {
  /** A stage begins: job `done` of `total`; `etaSeconds`: the whole study's time left (null: not known yet). */
  stage(text: string, done: number, total: number, etaSeconds: number | null): void;
}

/**
 * The study's time left. Pre-training: each objective left costs the mean wall time of those
 * trained so far in this process, or the budget itself when it is a time budget and none
 * has run. Fine-tuning counts learning-rate runs (the first seed of an objective's last
 * snapshot tries the whole grid, every other job one rate), each costing the mean of the runs
 * done so far (with their probes); before the first, tokens of a run over the pre-training
 * speed measured. Work reused from an earlier start is neither timed nor counted as left.
 */
export class StudyClock {
  private pretrainSeconds = 0;
  private pretrainCount = 0;
  private runSeconds = 0;
  private runCount = 0;
  private tokensPerSecond: number | null = null;
  constructor(
    private pretrainLeft: number,
    private runsLeft: number,
    private readonly budgetSeconds: number | null,
    /** Tokens one fine-tuning run processes (training, and its evaluation passes at a third of the cost). */
    private readonly runTokens: number,
  ) {}

  pretrained(seconds: number, tokensPerSecond: number, reused: boolean): void {
    this.pretrainLeft--;
    if (reused) return;
    this.pretrainSeconds += seconds;
    this.pretrainCount++;
    this.tokensPerSecond ??= tokensPerSecond;
  }

  /** A fine-tuning job's time, its runs and those reused; a probe's time comes with runs 0. */
  finetuned(seconds: number, runs: number, reused: number): void {
    this.runsLeft -= runs + reused;
    this.runSeconds += seconds;
    this.runCount += runs;
  }

  /** Seconds left, or null while a part has nothing to estimate from. */
  secondsLeft(): number | null {
    const perObjective = this.pretrainCount ? this.pretrainSeconds / this.pretrainCount : this.budgetSeconds;
    const perRun = this.runCount ? this.runSeconds / this.runCount : this.tokensPerSecond ? this.runTokens / this.tokensPerSecond : null;
    if ((this.pretrainLeft > 0 && perObjective === null) || (this.runsLeft > 0 && perRun === null)) return null;
    return this.pretrainLeft * (perObjective ?? 0) + this.runsLeft * (perRun ?? 0);
  }
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const atomicJson = (path: string, v: unknown) => writeFileAtomic(path, JSON.stringify(v, null, 1) + '\n');

/** The pre-training corpus's files: the bundled corpus, less the SOTU addresses bundled:sotu-party validates and tests on. */
export function studyCorpus(c: Pick<StudyConfig, 'corpus' | 'tasks'>): { name: string; files: string[]; heldOut: number } {
  const name = c.corpus ?? 'sotu';
  const held = sotuHeldOutAddresses();
  const heldOut = name === 'sotu' && c.tasks.includes('bundled:sotu-party') ? new Set([...held.validation, ...held.test]) : new Set<string>();
  return { name, files: bundledSources(name).filter((f) => !heldOut.has(basename(f))), heldOut: heldOut.size };
}

/** The pre-training data: `c.data` as given, else the study corpus prepared under `out/data`. */
async function studyData(c: StudyConfig, say: (s: string) => void): Promise<string> {
  if (c.data) return c.data;
  const out = join(c.out, 'data');
  const { name, files: corpus, heldOut } = studyCorpus(c);
  const r = await prepare({ corpus, docs: 'file', out, vocabSize: c.vocabSize, seqLen: c.seqLen });
  say(`data: ${corpus.length} ${name} documents${heldOut ? ` (${heldOut} addresses held out for bundled:sotu-party)` : ''}, ${r.reused ? 'reused' : 'prepared'} in ${out}`);
  return out;
}

/** A finished pre-training run as the report shows it, and its encoder snapshots. */
type PretrainRecord = Omit<ObjectiveResult, 'checkpoints' | 'stepCostVsMlm'> & {
  snapshots: { step: number; tokens: number; seconds: number; flops: number; dir: string }[];
};

/**
 * What an unfinished pre-training has kept beside its checkpoints (`progress.json`): the
 * snapshots written so far, and the seconds trained up to each step that may be checkpointed.
 */
interface PretrainProgress {
  snapshots: PretrainRecord['snapshots'];
  secondsAt: Record<string, number>;
}

/**
 * Pre-train one objective under the budget, saving encoder snapshots at evenly spaced steps
 * (reused when done; continued from the newest checkpoint when interrupted).
 */
export async function pretrainObjective(rt: Runtime, c: StudyConfig, data: string, objective: ObjectiveName, report?: StudyReporter): Promise<PretrainRecord> {
  const dir = join(c.out, 'pretrain', objective);
  const done = join(dir, 'study-pretrain.json');
  if (existsSync(done)) return json(done) as PretrainRecord;
  const run = join(dir, 'run');
  const every = c.pretrainCheckpointEvery ?? PRETRAIN_CHECKPOINT_EVERY;
  const cfg: TrainConfig = {
    objective, preset: c.preset, data, run, batch: c.batch, accumulate: 1, lr: c.lr, schedule: 'linear', budget: c.budget, seed: 1337,
    maskProb: 0.15, weightDecay: 0.01, clip: 1, logEvery: 5, evalEvery: 0, evalBatches: 4, checkpointEvery: every,
  };
  const model = makeConfig(c.preset, { vocabSize: readManifest(data).vocabSize, maxPositions: Math.max(512, c.seqLen) });
  const flopsPerToken = TRAINING_FLOPS_PER_FORWARD * objectiveModule(objective).forwardFlopsPerToken(model, {}, c.seqLen, cfg.maskProb);
  const tokensPerStep = c.batch * c.seqLen;
  // An interrupted run of a steps, tokens or FLOPs budget continues from its newest checkpoint.
  const progressFile = join(dir, 'progress.json');
  const checkpoint = c.budget.kind !== 'time' ? latestCheckpoint(run) : null;
  const resumeStep = checkpoint ? Number(/step-(\d+)$/.exec(checkpoint)![1]) : 0;
  const earlier: PretrainProgress = checkpoint && existsSync(progressFile) ? (json(progressFile) as PretrainProgress) : { snapshots: [], secondsAt: {} };
  const resume = checkpoint !== null && earlier.secondsAt[resumeStep] !== undefined;
  const before = resume ? earlier.secondsAt[resumeStep] : 0;
  const progress: PretrainProgress = resume ? { snapshots: earlier.snapshots.filter((x) => x.step <= resumeStep), secondsAt: { [resumeStep]: before } } : { snapshots: [], secondsAt: {} };
  const snapshots = progress.snapshots;
  const t0 = performance.now();
  const elapsed = () => before + (performance.now() - t0) / 1000;
  const save = async (step: number, values: Map<string, Float32Array>) => {
    const snap = join(dir, 'snapshots', `step-${String(step).padStart(8, '0')}`);
    const tensors: Record<string, SafeTensor> = {};
    for (const s of encoderParams(model, '')) tensors[s.name] = fromFloat32(values.get(s.name)!, s.shape);
    mkdirSync(snap, { recursive: true });
    saveSafetensors(join(snap, 'encoder.safetensors'), tensors);
    snapshots.push({ step, tokens: step * tokensPerStep, seconds: elapsed(), flops: step * tokensPerStep * flopsPerToken, dir: snap });
  };
  if (resume) report?.message(`pre-training ${objective}: continuing from ${checkpoint} (step ${resumeStep})`);
  // Snapshot steps: k/(K+1) of the schedule (as fitted to a time budget), and the end.
  let next = snapshots.length + 1;
  const summary = await runPretraining(rt, cfg, {
    ...(resume ? { resume: true } : { overwrite: true }),
    report,
    afterStep: async (tr) => {
      while (next <= c.checkpoints && tr.step >= Math.round((next * tr.totalSteps) / (c.checkpoints + 1))) {
        await save(tr.step, await tr.parameters());
        next++;
      }
      // Before the loop checkpoints this step: what a continuation from it needs.
      if (tr.step % every === 0) {
        progress.secondsAt[tr.step] = elapsed();
        atomicJson(progressFile, progress);
      }
    },
  });
  // The end (a time budget may stop before the fitted schedule's last step): the final checkpoint's encoder.
  if (snapshots.at(-1)?.step !== summary.steps) {
    const final = loadCheckpoint(summary.checkpoint);
    await save(summary.steps, new Map(Object.entries(final.tensors.model).map(([k, t]) => [k, toFloat32(t, k)])));
  }
  const log = MetricsLog.read(join(run, 'metrics.jsonl'));
  // Training time (as the loop measures it, without building the trainer), over every start.
  const seconds = before + summary.seconds;
  const record: PretrainRecord = {
    objective, steps: summary.steps, tokens: summary.steps * tokensPerStep, seconds, flops: summary.steps * tokensPerStep * flopsPerToken,
    tokensPerSecond: (summary.steps * tokensPerStep) / seconds, stepMs: (1000 * seconds) / Math.max(1, summary.steps),
    finalValidation: Object.fromEntries(Object.entries(summary.eval ?? {}).filter(([k]) => k !== 'step')),
    lossCurve: log.filter((r) => r.kind === 'train').map((r) => ({ step: r.step as number, loss: r.loss as number, tokens: (r.step as number) * tokensPerStep, seconds: 0 })),
    snapshots,
  };
  atomicJson(done, record);
  return record;
}

/** A snapshot (or random weights) as the starting point of fine-tuning. */
function snapshotStart(data: string, c: StudyConfig, snapshotDir: string | null): StartingPoint {
  const base = startingPoint(`scratch:${c.preset}`, { tokenizer: data });
  if (!snapshotDir) return { ...base, source: 'no pre-training (random weights)' };
  const t = loadSafetensors(join(snapshotDir, 'encoder.safetensors')).tensors;
  return { ...base, kind: 'run', source: snapshotDir, encoder: new Map(Object.entries(t).map(([k, v]) => [k, toFloat32(v, k)])) };
}

/** What a probe file holds: every metric of the task on its reported split (so a change of main metric needs no refit). */
interface ProbeRecord { metrics: Record<string, number>; split: 'test' | 'validation' }

/** The probe's metrics on the task's reported split, from frozen features. */
async function probeScore(rt: Runtime, task: Task, start: StartingPoint, c: StudyConfig): Promise<ProbeRecord> {
  const enc = (xs: Task['splits']['train']) => {
    const e = xs.map((ex) => encodeExample(start.tokenizer, ex, c.finetune.maxLen));
    return { ids: e.map((x) => x.ids), types: e.map((x) => x.types) };
  };
  // The same samples as fine-tuning's.
  const limit = c.finetune.limit ?? {};
  const train = sampleSplit(task.splits.train, limit.train), validation = sampleSplit(task.splits.validation, limit.validation);
  const reported = task.splits.test?.length ? sampleSplit(task.splits.test, limit.test) : validation;
  const split = task.splits.test?.length ? 'test' : 'validation';
  const feats = async (xs: typeof train) => {
    const e = enc(xs);
    const seqLen = Math.max(...e.ids.map((x) => x.length));
    return encoderFeatures(rt, start.config, start.encoder, e, { batch: c.finetune.batch, seqLen, pad: start.tokenizer.special.pad, seed: 1337 });
  };
  const d = start.config.hiddenSize;
  const [ft, fv, fr] = [await feats(train), await feats(validation), await feats(reported)];
  const labels = (xs: typeof train) => Float64Array.from(xs, (x) => x.label);
  if (task.kind === 'regression') {
    const sel = probeRegressor({ features: ft, d, labels: labels(train) }, { features: fv, d, labels: labels(validation) });
    const preds = Array.from(predictRidge(sel.model, fr));
    return { metrics: taskMetrics(task, preds, undefined, reported), split };
  }
  const sel = probeClassifier({ features: ft, d, labels: Int32Array.from(train, (x) => x.label) }, { features: fv, d, labels: Int32Array.from(validation, (x) => x.label) }, { classes: task.labels.length });
  const p = predictLogistic(sel.model, fr);
  const K = task.labels.length;
  const scores = Array.from({ length: reported.length }, (_, i) => p.probabilities[i * K + K - 1]);
  return { metrics: taskMetrics(task, Array.from(p.predictions), scores, reported), split };
}

/** Run the study (or resume it) and write report.md, report.json and the plots under `out`. */
export async function runStudy(rt: Runtime, c: StudyConfig, report?: StudyReporter): Promise<StudyResult> {
  const say = (s: string) => report?.message(s);
  mkdirSync(c.out, { recursive: true });
  // Every start of this study, so a resumed one still reports when it first began.
  const startsPath = join(c.out, 'study-starts.json');
  const starts: string[] = existsSync(startsPath) ? (json(startsPath) as { starts: string[] }).starts : [];
  starts.push(new Date().toISOString());
  atomicJson(startsPath, { starts });
  const started = starts[0];
  const data = await studyData(c, say);
  const tasks = c.tasks.map((t) => loadTask(t));
  // Fine-tuning runs: per task, each objective's S snapshots × seeds, the grid once; the floor one snapshot.
  const N = c.seeds.length, G = c.finetune.lrs.length;
  const runsPerTask = (S: number) => G + (N - 1) + (S - 1) * N;
  const totalRuns = tasks.length * (c.objectives.length * runsPerTask(c.checkpoints + 1) + runsPerTask(1));
  const sample = (n: number, k: 'train' | 'validation' | 'test') => Math.min(n, c.finetune.limit?.[k] ?? n);
  const runTokens = tasks.reduce((t, task) => {
    const T = c.finetune.maxLen, s = task.splits;
    return t + T * (c.finetune.epochs * sample(s.train.length, 'train') + (c.finetune.epochs * sample(s.validation.length, 'validation') + sample(s.test?.length ?? 0, 'test')) / 3);
  }, 0) / tasks.length;
  const clock = new StudyClock(c.objectives.length, totalRuns, c.budget.kind === 'time' ? c.budget.seconds : null, runTokens);
  const records: PretrainRecord[] = [];
  for (const [i, objective] of c.objectives.entries()) {
    report?.stage(`pre-training ${objective}`, i, c.objectives.length, clock.secondsLeft());
    const reused = existsSync(join(c.out, 'pretrain', objective, 'study-pretrain.json'));
    const t0 = performance.now();
    const r = await pretrainObjective(rt, c, data, objective, report);
    clock.pretrained((performance.now() - t0) / 1000, r.tokensPerSecond, reused);
    records.push(r);
  }
  const mlm = records.find((r) => r.objective === 'mlm');
  const units = [...records.map((r) => ({ objective: r.objective, snapshots: r.snapshots as { step: number; tokens: number; seconds: number; flops: number; dir: string | null }[] })), { objective: FLOOR, snapshots: [{ step: 0, tokens: 0, seconds: 0, flops: 0, dir: null }] }];
  const totalJobs = units.reduce((n, u) => n + u.snapshots.length, 0) * tasks.length * c.seeds.length;
  let jobs = 0;
  const results: ObjectiveResult[] = [];
  for (const u of units) {
    const checkpoints: CheckpointResult[] = [];
    // The last snapshot first: it searches the learning rate the earlier ones then reuse.
    const order = [...u.snapshots].reverse();
    const chosenLr = new Map<string, number>();
    for (const snap of order) {
      const start = snapshotStart(data, c, snap.dir);
      const taskResults: CheckpointResult['tasks'] = {};
      for (const task of tasks) {
        const scores: number[] = [];
        let split: 'test' | 'validation' = 'test';
        for (const seed of c.seeds) {
          report?.stage(`fine-tuning ${u.objective} step ${snap.step} on ${task.name}, seed ${seed}`, jobs++, totalJobs, clock.secondsLeft());
          const dir = join(c.out, 'finetune', u.objective, `step-${snap.step}`, task.name.replace(/[^a-z0-9.-]+/gi, '_'), `seed-${seed}`);
          const lrs = chosenLr.has(task.name) ? [chosenLr.get(task.name)!] : c.finetune.lrs;
          const reusedRuns = lrs.filter((lr) => existsSync(join(dir, `lr-${lr}`, 'lr-result.json'))).length;
          const t0 = performance.now();
          const r: FinetuneResult = await finetune(rt, {
            model: start.source, task: task.name, taskOptions: {}, out: dir, epochs: c.finetune.epochs, lrs, batch: c.finetune.batch, maxLen: c.finetune.maxLen,
            warmup: 0.1, seed, weightDecay: 0.01, clip: 1, limit: c.finetune.limit, start,
          });
          if (!chosenLr.has(task.name)) chosenLr.set(task.name, r.selected.lr);
          scores.push(r.selected.score);
          split = r.selected.split;
          clock.finetuned((performance.now() - t0) / 1000, lrs.length - reusedRuns, reusedRuns);
        }
        let probe;
        if (c.probe) {
          const ps = join(c.out, 'probe', u.objective, `step-${snap.step}`, `${task.name.replace(/[^a-z0-9.-]+/gi, '_')}.json`);
          const t0 = performance.now();
          const p = existsSync(ps) ? (json(ps) as ProbeRecord) : await probeScore(rt, task, start, c);
          const score = p.metrics?.[task.metric];
          if (typeof score !== 'number') throw new Error(`${ps}: no ${task.metric} (${task.name}'s main metric) in this probe result; move it away to fit the probe again`);
          clock.finetuned((performance.now() - t0) / 1000, 0, 0);
          if (!existsSync(ps)) {
            mkdirSync(join(ps, '..'), { recursive: true });
            atomicJson(ps, p);
          }
          // The probe is deterministic: one score, whatever the seed.
          probe = seedScores([score]);
        }
        taskResults[task.name] = { finetune: seedScores(scores), ...(probe ? { probe } : {}), metric: task.metric, split };
      }
      checkpoints.unshift({ step: snap.step, tokens: snap.tokens, seconds: snap.seconds, flops: snap.flops, tasks: taskResults });
    }
    const r = records.find((x) => x.objective === u.objective);
    results.push({
      objective: u.objective,
      steps: r?.steps ?? 0, tokens: r?.tokens ?? 0, seconds: r?.seconds ?? 0, flops: r?.flops ?? 0, tokensPerSecond: r?.tokensPerSecond ?? 0,
      ...(r && mlm ? { stepCostVsMlm: r.stepMs / mlm.stepMs } : {}),
      finalValidation: r?.finalValidation ?? {}, lossCurve: r?.lossCurve ?? [], stepMs: r?.stepMs ?? 0, checkpoints,
    });
  }
  const study: StudyResult = {
    command: c.command, adapter: `${rt.gpu.kind} (${rt.gpu.adapter.description})`, started, ...(starts.length > 1 ? { resumed: starts.slice(1) } : {}), finished: new Date().toISOString(), budget: c.budgetText, model: c.preset,
    seeds: c.seeds, tasks: c.tasks, objectives: results,
    notes: [
      `pre-training: ${c.preset}, batch ${c.batch} × ${c.seqLen}, lr ${c.lr}, on the bundled ${c.corpus ?? 'sotu'} corpus${(c.corpus ?? 'sotu') === 'sotu' && c.tasks.includes('bundled:sotu-party') ? ' less the addresses bundled:sotu-party validates and tests on' : ''} (${resolve(data)})`,
      `fine-tuning: ${c.finetune.epochs} epochs, batch ${c.finetune.batch}, max length ${c.finetune.maxLen}; the learning rate picked from ${c.finetune.lrs.join(', ')} on the validation split, once per objective and task (final snapshot, first seed), then reused`,
      ...(c.finetune.limit ? [`tasks sampled: ${JSON.stringify(c.finetune.limit)} examples per split`] : []),
      ...(c.probe ? ['probe: logistic (or ridge) regression on mean-pooled frozen hidden states, regularisation picked on validation'] : []),
      ...[...new Set(tasks.flatMap((t) => t.notes.map((n) => `${t.name}: ${n}`)))],
    ],
  };
  writeReport(study, c.out);
  await writePlots(study, c.out);
  return study;
}
