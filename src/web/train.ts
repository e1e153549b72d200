/// <reference lib="dom" />
// The page's pre-training (src/train's loop, as `electrolite pretrain` runs it) and its
// step-cost comparison of the objectives (bench/steps.ts's timing, as `bench steps`), on the
// prepared corpus the site ships under data/ (fetched once, then checked by the shards'
// reader as a directory is: src/data/files.ts), with the run's record in memory
// (src/train/run-store.ts). The plots are the study's Vega-Lite specs (src/eval/plots.ts),
// rendered by vega. The step loop awaits each step's metrics, so the page stays responsive;
// Stop ends the run cleanly after the step in flight.
import type { Runtime } from '../gpu/runtime.js';
import { fetchDataFiles, type DataFiles } from '../data/files.js';
import { readManifest, type Manifest } from '../data/shards.js';
import { OBJECTIVES, type ObjectiveName } from '../objectives/registry.js';
import type { PresetName } from '../model/config.js';
import type { Precision } from '../model/precision.js';
import { pretrainingTask } from '../train/pretraining.js';
import { runPretraining } from '../train/loop.js';
import { MemoryRun } from '../train/run-store.js';
import type { TrainConfig } from '../train/trainer.js';
import { lossCurvesSpec, renderSvg, stepTimeSpec } from '../eval/plots.js';
import { stepBenchConfig, timeTrainerSteps } from '../../bench/steps.js';
import type { StepCost, TrainingState } from '../../bench/page.js';

export type { StepCost, TrainingState };

/** The page's models: the presets a browser's GPU trains in minutes. */
export const PAGE_PRESETS: PresetName[] = ['tiny', 'mini', 'small'];

let corpus: { files: DataFiles; manifest: Manifest } | null = null;

/** The site's corpus (data/, or ?data=URL), fetched and verified once. */
export async function loadCorpus(base: string): Promise<{ files: DataFiles; manifest: Manifest }> {
  if (corpus) return corpus;
  const files = await fetchDataFiles(base);
  corpus = { files, manifest: readManifest(files) };
  return corpus;
}

export interface RunSettings {
  objective: ObjectiveName;
  preset: PresetName;
  batch: number;
  steps: number;
  lr: number;
  seed: number;
  /** 'f16': mixed precision (`--precision f16`), where the browser grants shader-f16. Default 'f32'. */
  precision?: Precision;
}

/** The config a page run trains with: `electrolite pretrain`'s defaults, every step logged, no evaluation or checkpoint before the end. */
export function pageTrainConfig(s: RunSettings, data: string): TrainConfig {
  return {
    objective: s.objective, preset: s.preset, data, run: 'page', batch: s.batch, accumulate: 1, lr: s.lr, schedule: 'linear',
    budget: { kind: 'steps', steps: s.steps }, seed: s.seed, maskProb: 0.15, weightDecay: 0.01, clip: 1,
    logEvery: 1, evalEvery: 0, evalBatches: 4, checkpointEvery: 0, attention: 'auto', precision: s.precision ?? 'f32',
  };
}

/**
 * One pre-training run; `update` is called with the state after every step (the caller
 * draws), `signal` stops it. The final evaluation and checkpoint stay in memory.
 */
export async function trainInPage(rt: Runtime, files: DataFiles, s: RunSettings, signal: AbortSignal, update: (t: TrainingState) => void): Promise<TrainingState> {
  const t: TrainingState = { objective: s.objective, state: 'running', losses: [], tokensPerSecond: 0 };
  const c = pageTrainConfig(s, files.location);
  const store = new MemoryRun(`page run (${s.objective})`);
  try {
    t.summary = await runPretraining(rt, c, {
      task: pretrainingTask(c, files),
      store,
      signal,
      report: {
        total() {},
        step(_step, fields) {
          t.losses.push(fields.loss);
          t.tokensPerSecond = fields['tok/s'];
          update(t);
        },
        done() {},
        message() {},
      },
    });
    t.state = t.summary.stopped ? 'stopped' : 'done';
  } catch (e) {
    t.state = 'failed';
    t.error = (e as Error).message;
  }
  update(t);
  return t;
}

/** Each objective's median step time over `steps` steps after 2 untimed ones, one after another on this GPU (`bench steps`). */
export async function compareStepCosts(rt: Runtime, files: DataFiles, preset: PresetName, batch: number, steps: number, progress: (done: StepCost[]) => void): Promise<StepCost[]> {
  const out: StepCost[] = [];
  for (const objective of OBJECTIVES) {
    const c = stepBenchConfig({ objective, preset, data: files.location, run: `page step cost (${objective})`, batch, steps });
    const mark = rt.pool.mark();
    const { tr, ms } = await timeTrainerSteps(rt, c, steps, { task: pretrainingTask(c, files), store: new MemoryRun(c.run) });
    rt.pool.releaseSince(mark);
    const mlm = out.find((r) => r.objective === 'mlm');
    out.push({ objective, ms: Number(ms.toFixed(2)), tokensPerSecond: Math.round((batch * tr.seqLen * 1000) / ms), ...(mlm ? { vsMlm: Number((ms / mlm.ms).toFixed(2)) } : {}) });
    progress(out);
  }
  return out;
}

/** The live loss curves: the study's loss-curves spec over each run's steps so far (the page's latest run of each objective, so objectives can be compared). */
export function lossCurveSvg(runs: { t: TrainingState; tokensPerStep: number }[]): Promise<string> {
  const curves = runs.map(({ t, tokensPerStep }) => ({ objective: t.objective, lossCurve: t.losses.map((loss, i) => ({ step: i + 1, tokens: (i + 1) * tokensPerStep, loss })) }));
  return renderSvg(lossCurvesSpec(curves, { width: 560, height: 240 }));
}

/** The step-cost bars: the study's step-time spec. */
export function stepCostSvg(costs: StepCost[]): Promise<string> {
  return renderSvg(stepTimeSpec(costs.map((r) => ({ objective: r.objective, stepMs: r.ms, stepCostVsMlm: r.vsMlm })), { width: 480, height: 240 }));
}
