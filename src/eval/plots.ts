// The study's plots: Vega-Lite specs, rendered to SVG headless in Node (vega-lite's compile,
// then a vega View with renderer 'none' and toSVG — no canvas or native module: without
// node-canvas, vega estimates text widths from character counts). Each plot is written as
// NAME.vl.json (the Vega-Lite spec, data inlined, to restyle and re-render) and NAME.svg beside
// it, atomically. The plots, for a StudyResult (src/eval/report.ts):
//   - score-TASK.svg, one per task, and score-average.svg: downstream score against
//     pre-training compute (x: FLOPs, or tokens with { x: 'tokens' }; log scale), one line per
//     objective through its checkpoints (fine-tuning solid, linear probe dashed), the seeds'
//     min–max as a vertical bar at each checkpoint (per task), and the no-pre-training floor as
//     a horizontal rule (grey; dashed for the probe's floor), labelled. Checkpoints with zero
//     compute cannot sit on a log axis and are left out. The average is the mean of the
//     medians over tasks, at checkpoints that have every task.
//   - loss-curves.svg: pre-training loss against tokens, one line per objective, in two panels
//     with their own y scales, since the losses differ in kind and scale: token prediction
//     (MLM, SLM: cross-entropy at the selected positions) and replaced-token detection (RTS,
//     C-RTS: λ·BCE; ELECTRA: its generator's cross-entropy + λ·BCE). Not normalised.
//   - step-time.svg: ms per optimizer step per objective (bars), labelled (inside the bar's
//     top) with the ms and the cost relative to MLM's.
// Colours follow the study's order of objectives, the same in every plot. TASK in a file name
// is the task's name lower-cased with runs of other characters than [a-z0-9] turned into '-'.
import { join } from 'node:path';
import type * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../data/atomic.js';
import { FLOOR, objectiveLabel, type LossPoint, type ObjectiveResult, type StudyResult } from './report.js';

export type VegaLiteSpec = Record<string, unknown>;

export interface Plot {
  /** The file name without extension. */
  name: string;
  title: string;
  spec: VegaLiteSpec;
}

export interface PlotOptions {
  /** The compute axis of the score plots (default 'flops'). */
  x?: 'flops' | 'tokens';
  width?: number;
  height?: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const KIND_FT = 'fine-tuning';
const KIND_PROBE = 'linear probe';

export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'task';
}

/** 'token prediction' (MLM, SLM), 'replaced-token detection' (RTS, C-RTS, ELECTRA), or 'other'. */
export function lossFamily(objective: string): string {
  if (objective === 'mlm' || objective === 'slm') return 'token prediction (cross-entropy)';
  if (objective === 'rts' || objective === 'crts') return 'replaced-token detection (λ·BCE)';
  if (objective === 'electra') return 'replaced-token detection (λ·BCE)';
  return 'other';
}

function colour(study: StudyResult): { domain: string[] } {
  return objectiveColours(study.objectives);
}

function taskMeta(study: StudyResult, task: string): { metric: string; split: string } | null {
  for (const o of study.objectives)
    for (let i = o.checkpoints.length - 1; i >= 0; i--) {
      const r = o.checkpoints[i].tasks[task];
      if (r) return { metric: r.metric, split: r.split };
    }
  return null;
}

interface ScoreRow {
  objective: string;
  kind: string;
  step: number;
  compute: number;
  median: number;
  min: number;
  max: number;
}

function scoreRows(study: StudyResult, x: 'flops' | 'tokens', pick: (c: ObjectiveResult['checkpoints'][number]) => { kind: string; median: number; min: number; max: number }[]): { rows: ScoreRow[]; floor: { kind: string; median: number; label: string }[] } {
  const rows: ScoreRow[] = [];
  const floor: { kind: string; median: number; label: string }[] = [];
  for (const o of study.objectives) {
    if (o.objective === FLOOR) {
      const last = o.checkpoints[o.checkpoints.length - 1];
      for (const p of pick(last)) floor.push({ kind: p.kind, median: p.median, label: `${objectiveLabel(FLOOR)}${p.kind === KIND_PROBE ? ' (probe)' : ''}` });
      continue;
    }
    for (const c of o.checkpoints) {
      const compute = x === 'flops' ? c.flops : c.tokens;
      if (!(compute > 0)) continue;
      for (const p of pick(c)) rows.push({ objective: objectiveLabel(o.objective), step: c.step, compute, ...p });
    }
  }
  return { rows, floor };
}

function scorePlot(study: StudyResult, title: string, yTitle: string, data: ReturnType<typeof scoreRows>, bars: boolean, o: Required<PlotOptions>): VegaLiteSpec {
  const xTitle = o.x === 'flops' ? 'pre-training compute (FLOPs)' : 'pre-training tokens';
  const x = { field: 'compute', type: 'quantitative', scale: { type: 'log', nice: false, padding: 16 }, title: xTitle, axis: { format: '.2~s' } };
  const y = { field: 'median', type: 'quantitative', title: yTitle, scale: { zero: false } };
  const color = { field: 'objective', type: 'nominal', title: 'objective', scale: colour(study) };
  const dash = { field: 'kind', type: 'nominal', title: 'score', scale: { domain: [KIND_FT, KIND_PROBE], range: [[1, 0], [5, 3]] }, legend: { symbolType: 'stroke', symbolStrokeColor: '#555', symbolStrokeWidth: 1.5 } };
  const layer: VegaLiteSpec[] = [];
  if (bars) layer.push({ data: { values: data.rows }, mark: { type: 'rule', opacity: 0.6 }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color } });
  layer.push({
    data: { values: data.rows },
    mark: { type: 'line' },
    encoding: { x, y, color, strokeDash: dash, detail: { field: 'kind' }, order: { field: 'compute', type: 'quantitative' } },
  });
  layer.push({
    data: { values: data.rows },
    mark: { type: 'point', filled: true, size: 30 },
    encoding: { x, y, color, tooltip: [{ field: 'objective' }, { field: 'kind' }, { field: 'step', type: 'quantitative' }, { field: 'median', type: 'quantitative', format: '.3f' }] },
  });
  if (data.floor.length) {
    layer.push({ data: { values: data.floor }, mark: { type: 'rule', color: '#777' }, encoding: { y: { field: 'median', type: 'quantitative' }, strokeDash: dash } });
    layer.push({
      data: { values: data.floor },
      mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -2, color: '#555', x: 0 },
      encoding: { y: { field: 'median', type: 'quantitative' }, text: { field: 'label' } },
    });
  }
  return { $schema: SCHEMA, title, width: o.width, height: o.height, layer };
}

/** The Vega-Lite specs of every plot, in a fixed order: score per task, score-average, loss-curves, step-time. */
export function studyPlots(study: StudyResult, options: PlotOptions = {}): Plot[] {
  const o: Required<PlotOptions> = { x: options.x ?? 'flops', width: options.width ?? 480, height: options.height ?? 300 };
  const plots: Plot[] = [];
  const used = new Set<string>(['score-average']);
  for (const task of study.tasks) {
    const meta = taskMeta(study, task);
    let name = `score-${slug(task)}`;
    for (let i = 2; used.has(name); i++) name = `score-${slug(task)}-${i}`;
    used.add(name);
    const title = `${task}: score against pre-training compute`;
    const data = scoreRows(study, o.x, (c) => {
      const r = c.tasks[task];
      if (!r) return [];
      const out = [{ kind: KIND_FT, median: r.finetune.median, min: r.finetune.min, max: r.finetune.max }];
      if (r.probe) out.push({ kind: KIND_PROBE, median: r.probe.median, min: r.probe.min, max: r.probe.max });
      return out;
    });
    const yTitle = meta ? `${meta.metric} (${meta.split}), median over seeds` : 'score';
    plots.push({ name, title, spec: scorePlot(study, title, yTitle, data, true, o) });
  }
  {
    const title = `average over ${study.tasks.length} task${study.tasks.length === 1 ? '' : 's'}: score against pre-training compute`;
    const avg = (c: ObjectiveResult['checkpoints'][number], k: 'finetune' | 'probe'): number | null => {
      let s = 0;
      for (const t of study.tasks) {
        const r = c.tasks[t]?.[k];
        if (!r) return null;
        s += r.median;
      }
      return study.tasks.length ? s / study.tasks.length : null;
    };
    const data = scoreRows(study, o.x, (c) => {
      const out: { kind: string; median: number; min: number; max: number }[] = [];
      for (const [kind, k] of [[KIND_FT, 'finetune'], [KIND_PROBE, 'probe']] as const) {
        const a = avg(c, k);
        if (a !== null) out.push({ kind, median: a, min: a, max: a });
      }
      return out;
    });
    plots.push({ name: 'score-average', title, spec: scorePlot(study, title, 'average of the medians over tasks', data, false, o) });
  }
  plots.push({ name: 'loss-curves', title: LOSS_CURVES_TITLE, spec: lossCurvesSpec(study.objectives, o) });
  plots.push({ name: 'step-time', title: STEP_TIME_TITLE, spec: stepTimeSpec(study.objectives.filter((ob) => ob.objective !== FLOOR), o) });
  return plots;
}

const LOSS_CURVES_TITLE = 'pre-training loss (training batches)';
const STEP_TIME_TITLE = 'time per optimizer step';
const LOSS_FAMILIES = ['token prediction (cross-entropy)', 'replaced-token detection (λ·BCE)', 'other'];
const objectiveColours = (objectives: { objective: string }[]) => ({ domain: objectives.filter((o) => o.objective !== FLOOR).map((o) => objectiveLabel(o.objective)) });

/** The loss-curves plot (the study's, and the web page's live one): each objective's curve, a panel per loss family. */
export function lossCurvesSpec(objectives: { objective: string; lossCurve: Pick<LossPoint, 'step' | 'tokens' | 'loss'>[] }[], options: PlotOptions = {}): VegaLiteSpec {
  const width = options.width ?? 480, height = options.height ?? 300;
  const values = objectives.flatMap((ob) => ob.lossCurve.map((p) => ({ objective: objectiveLabel(ob.objective), family: lossFamily(ob.objective), tokens: p.tokens, step: p.step, loss: p.loss })));
  return {
    $schema: SCHEMA, title: LOSS_CURVES_TITLE, data: { values },
    facet: { column: { field: 'family', type: 'nominal', title: null, sort: LOSS_FAMILIES.filter((f) => values.some((v) => v.family === f)) } },
    spec: {
      width: Math.round(width * 0.75), height,
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'tokens', type: 'quantitative', title: 'tokens seen', axis: { format: '.2~s' } },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: { field: 'objective', type: 'nominal', title: 'objective', scale: objectiveColours(objectives) },
        order: { field: 'step', type: 'quantitative' },
      },
    },
    resolve: { scale: { y: 'independent', x: 'independent' } },
  };
}

/** The step-time plot (the study's, and the web page's step-cost comparison): ms per step per objective, labelled with the cost relative to MLM's. */
export function stepTimeSpec(objectives: Pick<ObjectiveResult, 'objective' | 'stepMs' | 'stepCostVsMlm'>[], options: PlotOptions = {}): VegaLiteSpec {
  const width = options.width ?? 480, height = options.height ?? 300;
  const mlm = objectives.find((m) => m.objective === 'mlm');
  const values = objectives.map((ob) => {
    const rel = ob.stepCostVsMlm ?? (mlm && mlm.stepMs > 0 ? ob.stepMs / mlm.stepMs : null);
    return { objective: objectiveLabel(ob.objective), stepMs: ob.stepMs, label: rel === null ? [`${ob.stepMs.toFixed(1)} ms`] : [`${ob.stepMs.toFixed(1)} ms`, `${rel.toFixed(2)}× MLM`] };
  });
  const colours = objectiveColours(objectives);
  const x = { field: 'objective', type: 'nominal', title: null, sort: colours.domain, axis: { labelAngle: 0 } };
  return {
    $schema: SCHEMA, title: STEP_TIME_TITLE, width, height, data: { values },
    layer: [
      { mark: 'bar', encoding: { x, y: { field: 'stepMs', type: 'quantitative', title: 'ms per step' }, color: { field: 'objective', type: 'nominal', scale: colours, legend: null } } },
      { mark: { type: 'text', baseline: 'top', dy: 5, color: 'white', fontWeight: 'bold' }, encoding: { x, y: { field: 'stepMs', type: 'quantitative' }, text: { field: 'label' } } },
    ],
  };
}

// vega and vega-lite are loaded on first use: importing them costs every command ~0.5 s of
// start-up (a usage error included), and only the study and the page draw plots.
const renderer = () => Promise.all([import('vega'), import('vega-lite')]);

/** Render a Vega-Lite spec to an SVG document, headless (throws on an invalid spec). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vegaLite] = await renderer();
  const compiled = vegaLite.compile(spec as unknown as TopLevelSpec).spec as vega.Spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Write every plot as NAME.vl.json and NAME.svg into `dir`, atomically. Returns the paths written, in order. */
export async function writePlots(study: StudyResult, dir: string, options: PlotOptions = {}): Promise<string[]> {
  const written: string[] = [];
  for (const p of studyPlots(study, options)) {
    const svg = await renderSvg(p.spec);
    const specPath = join(dir, `${p.name}.vl.json`);
    const svgPath = join(dir, `${p.name}.svg`);
    writeFileAtomic(specPath, JSON.stringify(p.spec, null, 2) + '\n');
    writeFileAtomic(svgPath, svg.endsWith('\n') ? svg : svg + '\n');
    written.push(specPath, svgPath);
  }
  return written;
}
