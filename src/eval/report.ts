// The study's report: each pre-training objective pre-trained under the same budget, then
// fine-tuned (and linearly probed) on downstream tasks with several seeds, and the verdict of
// downstream score against pre-training compute. From a StudyResult (below; the study runner
// fills it) this writes, atomically, into a directory:
//   - report.json: { format, version, study, derived } — the input unchanged and every number
//     the Markdown shows (summaries per objective and checkpoint, the verdict's sentences);
//   - report.md: a header, a summary table, a table per objective (and its checkpoints), the
//     generated verdict and the notes.
// Output depends only on the input (no clock, no locale: numbers are formatted by hand), so
// the same StudyResult gives the same bytes.
//
// Conventions:
//   - Scores are taken as given (accuracy, F1, MCC, … on the stated split); higher is better.
//     Each is summarised over seeds as median [min–max] (`seedScores`).
//   - An objective's task score is its LAST checkpoint's; the average over tasks is the mean
//     of those medians over every task of the study (null when a task is missing).
//   - The floor is the objective 'none' (label "no pre-training": the same fine-tuning from a
//     random initialisation). An objective beats the floor on a task when its median is above
//     the floor's median, clearly when its worst seed is above the floor's best; it beats the
//     floor when its average is above the floor's average.
//   - Per unit of compute: the gain of the average over the floor's average, divided by the
//     last checkpoint's pre-training FLOPs (per PFLOP, 1e15) or seconds (per hour).
//   - "Compute to match MLM": the first checkpoint (in order) whose average reaches MLM's
//     final average, with its FLOPs as a fraction of MLM's final FLOPs (no interpolation).
//   - Step cost relative to MLM: `stepCostVsMlm` when given (measured in the same run), else
//     stepMs / MLM's stepMs, marked as derived.
import { join } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';

export interface StudyResult {
  /** The command line that ran the study. */
  command: string;
  /** The WebGPU adapter, in words. */
  adapter: string;
  /** ISO dates, shown as given. */
  started: string;
  /** When the study was started again (resumed), after the first start. */
  resumed?: string[];
  finished: string;
  /** The pre-training budget, as given on the command line ("10m", "2000 steps", …). */
  budget: string;
  /** The model preset or a description of its size. */
  model: string;
  seeds: number[];
  tasks: string[];
  /** The objectives in the order to show them, with the floor as objective 'none'. */
  objectives: ObjectiveResult[];
  notes: string[];
}

export interface ObjectiveResult {
  /** 'mlm' | 'slm' | 'rts' | 'crts' | 'electra' | 'none' (or another name, shown as given). */
  objective: string;
  steps: number;
  tokens: number;
  seconds: number;
  flops: number;
  tokensPerSecond: number;
  /** ms per step relative to MLM's, from the same run. */
  stepCostVsMlm?: number;
  /** Pre-training validation metrics at the end (e.g. loss, accuracy), shown in the given order. */
  finalValidation: Record<string, number>;
  lossCurve: LossPoint[];
  stepMs: number;
  /** Ordered by step; the last is the final one. */
  checkpoints: CheckpointResult[];
}

export interface LossPoint {
  step: number;
  loss: number;
  tokens: number;
  seconds: number;
}

export interface CheckpointResult {
  step: number;
  tokens: number;
  seconds: number;
  flops: number;
  tasks: Record<string, TaskResult>;
}

export interface TaskResult {
  finetune: SeedScores;
  probe?: SeedScores;
  /** The metric's name (accuracy, f1, mcc, pearson, …). */
  metric: string;
  split: 'test' | 'validation';
}

export interface SeedScores {
  /** One per seed, in the order of StudyResult.seeds. */
  scores: number[];
  median: number;
  min: number;
  max: number;
}

/** What the report derives (report.json's `derived`). */
export interface StudyDerived {
  /** 'none' when the study has a floor, else null. */
  floor: string | null;
  floorAverage: number | null;
  objectives: ObjectiveSummary[];
  best: {
    /** The pre-trained objective with the best average fine-tuning score. */
    averageFinetune: string | null;
    averageProbe: string | null;
    gainPerPflop: string | null;
    gainPerHour: string | null;
  };
  /** The generated paragraph, one sentence per entry. */
  verdict: string[];
}

export interface ObjectiveSummary {
  objective: string;
  label: string;
  stepCostVsMlm: number | null;
  stepCostDerived: boolean;
  /** The last checkpoint's compute. */
  final: { step: number; tokens: number; seconds: number; flops: number };
  tasks: Record<string, TaskSummary>;
  averageFinetune: number | null;
  averageProbe: number | null;
  /** averageFinetune − the floor's (null for the floor itself or without a floor). */
  gainOverFloor: number | null;
  gainPerPflop: number | null;
  gainPerHour: number | null;
  beatsFloor: boolean | null;
  /** Tasks whose median is not above the floor's. */
  tasksNotAboveFloor: string[];
  /** Tasks whose worst seed is above the floor's best seed. */
  tasksClearlyAboveFloor: string[];
  /**
   * The first checkpoint (in order) whose average is above the floor's, by fine-tuning and by
   * the probe: where pre-training starts to pay at this size (null: at none; undefined: the
   * floor itself, a study without a floor, or no average to compare).
   */
  firstAboveFloor: Record<'finetune' | 'probe', { step: number; tokens: number; seconds: number; flops: number } | null | undefined>;
  /** For objectives other than MLM (and the floor), when the study has MLM. */
  matchMlm: { step: number; flops: number; fractionOfMlmFlops: number } | null | undefined;
  checkpoints: { step: number; tokens: number; seconds: number; flops: number; averageFinetune: number | null; averageProbe: number | null }[];
}

export interface TaskSummary {
  metric: string;
  split: 'test' | 'validation';
  finetune: SeedScores;
  probe: SeedScores | null;
  /** Median above the floor's median (null for the floor or without a floor). */
  aboveFloor: boolean | null;
  clearlyAboveFloor: boolean | null;
}

export const FLOOR = 'none';

const LABELS: Record<string, string> = { mlm: 'MLM', slm: 'SLM', rts: 'RTS', crts: 'C-RTS', electra: 'ELECTRA', none: 'no pre-training' };

/** The name an objective is shown by: MLM, SLM, RTS, C-RTS, ELECTRA, "no pre-training"; others as given. */
export function objectiveLabel(objective: string): string {
  return LABELS[objective] ?? objective;
}

/** Median (mean of the middle two for an even count), min and max of per-seed scores. */
export function seedScores(scores: number[]): SeedScores {
  if (scores.length === 0) throw new Error('seedScores: no scores');
  for (const s of scores) if (!Number.isFinite(s)) throw new Error(`seedScores: score ${s} is not finite`);
  const sorted = [...scores].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  return { scores: [...scores], median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Throws on an inconsistent StudyResult: duplicate objectives, empty or unordered checkpoints, unknown tasks, seed summaries that do not match their scores. */
export function validateStudy(study: StudyResult): void {
  const seen = new Set<string>();
  const tasks = new Set(study.tasks);
  if (tasks.size !== study.tasks.length) throw new Error('study: duplicate task names');
  for (const o of study.objectives) {
    if (seen.has(o.objective)) throw new Error(`study: objective '${o.objective}' appears twice`);
    seen.add(o.objective);
    if (o.checkpoints.length === 0) throw new Error(`study: objective '${o.objective}' has no checkpoint`);
    o.checkpoints.forEach((c, i) => {
      if (i > 0 && !(c.step > o.checkpoints[i - 1].step)) throw new Error(`study: '${o.objective}' checkpoints are not ordered by step (${o.checkpoints[i - 1].step} then ${c.step})`);
      for (const [task, r] of Object.entries(c.tasks)) {
        if (!tasks.has(task)) throw new Error(`study: '${o.objective}' step ${c.step} has task '${task}', not in the study's tasks`);
        checkScores(r.finetune, `'${o.objective}' step ${c.step} ${task} fine-tuning`);
        if (r.probe) checkScores(r.probe, `'${o.objective}' step ${c.step} ${task} probe`);
      }
    });
  }
}

function checkScores(s: SeedScores, what: string): void {
  if (s.scores.length === 0) throw new Error(`study: ${what} has no scores`);
  const ref = seedScores(s.scores);
  const tol = 1e-12 * Math.max(1, Math.abs(ref.max), Math.abs(ref.min));
  for (const k of ['median', 'min', 'max'] as const)
    if (!(Math.abs(s[k] - ref[k]) <= tol)) throw new Error(`study: ${what}: ${k} is ${s[k]} but the scores give ${ref[k]}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function averageOf(c: CheckpointResult, tasks: string[], which: 'finetune' | 'probe'): number | null {
  if (tasks.length === 0) return null;
  const xs: number[] = [];
  for (const t of tasks) {
    const s = c.tasks[t]?.[which];
    if (!s) return null;
    xs.push(s.median);
  }
  return mean(xs);
}

/** Everything report.md shows, from the study alone. */
export function deriveStudy(study: StudyResult): StudyDerived {
  validateStudy(study);
  const floorObj = study.objectives.find((o) => o.objective === FLOOR) ?? null;
  const mlm = study.objectives.find((o) => o.objective === 'mlm') ?? null;
  const last = (o: ObjectiveResult) => o.checkpoints[o.checkpoints.length - 1];
  const floorAverage = floorObj ? averageOf(last(floorObj), study.tasks, 'finetune') : null;
  const floorProbeAverage = floorObj ? averageOf(last(floorObj), study.tasks, 'probe') : null;
  const mlmAverage = mlm ? averageOf(last(mlm), study.tasks, 'finetune') : null;

  const objectives: ObjectiveSummary[] = study.objectives.map((o) => {
    const isFloor = o.objective === FLOOR;
    const fin = last(o);
    const floorFin = floorObj && !isFloor ? last(floorObj) : null;
    const tasks: Record<string, TaskSummary> = {};
    const notAbove: string[] = [];
    const clearly: string[] = [];
    for (const t of study.tasks) {
      const r = fin.tasks[t];
      if (!r) continue;
      const fl = floorFin?.tasks[t];
      const above = fl ? r.finetune.median > fl.finetune.median : null;
      const clear = fl ? r.finetune.min > fl.finetune.max : null;
      if (above === false) notAbove.push(t);
      if (clear) clearly.push(t);
      tasks[t] = { metric: r.metric, split: r.split, finetune: r.finetune, probe: r.probe ?? null, aboveFloor: above, clearlyAboveFloor: clear };
    }
    const averageFinetune = averageOf(fin, study.tasks, 'finetune');
    const averageProbe = averageOf(fin, study.tasks, 'probe');
    const gain = !isFloor && averageFinetune !== null && floorAverage !== null ? averageFinetune - floorAverage : null;
    let stepCostVsMlm: number | null = null;
    let stepCostDerived = false;
    if (!isFloor) {
      if (o.stepCostVsMlm !== undefined) stepCostVsMlm = o.stepCostVsMlm;
      else if (mlm && mlm.stepMs > 0 && o.stepMs > 0) {
        stepCostVsMlm = o.stepMs / mlm.stepMs;
        stepCostDerived = o.objective !== 'mlm';
      }
    }
    let matchMlm: ObjectiveSummary['matchMlm'];
    if (mlm && o !== mlm && !isFloor && mlmAverage !== null) {
      const c = o.checkpoints.find((c) => {
        const a = averageOf(c, study.tasks, 'finetune');
        return a !== null && a >= mlmAverage;
      });
      matchMlm = c ? { step: c.step, flops: c.flops, fractionOfMlmFlops: last(mlm).flops > 0 ? c.flops / last(mlm).flops : NaN } : null;
    }
    const firstAbove = (kind: 'finetune' | 'probe', floor: number | null) => {
      if (isFloor || floor === null || o.checkpoints.every((c) => averageOf(c, study.tasks, kind) === null)) return undefined;
      const c = o.checkpoints.find((c) => (averageOf(c, study.tasks, kind) ?? -Infinity) > floor);
      return c ? { step: c.step, tokens: c.tokens, seconds: c.seconds, flops: c.flops } : null;
    };
    return {
      objective: o.objective, label: objectiveLabel(o.objective), stepCostVsMlm, stepCostDerived,
      firstAboveFloor: { finetune: firstAbove('finetune', floorAverage), probe: firstAbove('probe', floorProbeAverage) },
      final: { step: fin.step, tokens: fin.tokens, seconds: fin.seconds, flops: fin.flops },
      tasks, averageFinetune, averageProbe,
      gainOverFloor: gain,
      gainPerPflop: gain !== null && fin.flops > 0 ? gain / (fin.flops / 1e15) : null,
      gainPerHour: gain !== null && fin.seconds > 0 ? gain / (fin.seconds / 3600) : null,
      beatsFloor: gain === null ? null : gain > 0,
      tasksNotAboveFloor: notAbove, tasksClearlyAboveFloor: clearly, matchMlm,
      checkpoints: o.checkpoints.map((c) => ({ step: c.step, tokens: c.tokens, seconds: c.seconds, flops: c.flops, averageFinetune: averageOf(c, study.tasks, 'finetune'), averageProbe: averageOf(c, study.tasks, 'probe') })),
    };
  });

  const trained = objectives.filter((s) => s.objective !== FLOOR);
  const bestBy = (key: 'averageFinetune' | 'averageProbe' | 'gainPerPflop' | 'gainPerHour'): ObjectiveSummary[] =>
    trained.filter((s) => s[key] !== null && Number.isFinite(s[key])).sort((a, b) => (b[key] as number) - (a[key] as number) || trained.indexOf(a) - trained.indexOf(b));
  const ranked = { averageFinetune: bestBy('averageFinetune'), averageProbe: bestBy('averageProbe'), gainPerPflop: bestBy('gainPerPflop'), gainPerHour: bestBy('gainPerHour') };
  const best = {
    averageFinetune: ranked.averageFinetune[0]?.objective ?? null,
    averageProbe: ranked.averageProbe[0]?.objective ?? null,
    gainPerPflop: ranked.gainPerPflop[0] && ranked.gainPerPflop[0].gainPerPflop! > 0 ? ranked.gainPerPflop[0].objective : null,
    gainPerHour: ranked.gainPerHour[0] && ranked.gainPerHour[0].gainPerHour! > 0 ? ranked.gainPerHour[0].objective : null,
  };
  return { floor: floorObj ? FLOOR : null, floorAverage, objectives, best, verdict: verdict(study, objectives, ranked, floorAverage) };
}

function verdict(
  study: StudyResult,
  objectives: ObjectiveSummary[],
  ranked: Record<'averageFinetune' | 'averageProbe' | 'gainPerPflop' | 'gainPerHour', ObjectiveSummary[]>,
  floorAverage: number | null,
): string[] {
  const out: string[] = [];
  const nt = study.tasks.length;
  const over = `over the ${nt} task${nt === 1 ? '' : 's'}`;
  const [a, b] = ranked.averageFinetune;
  if (!a) out.push(`No pre-trained objective has a fine-tuning score on every task, so there is no average ${over} to compare.`);
  else if (!b) out.push(`${a.label} has an average fine-tuning score of ${score(a.averageFinetune!)} ${over}; no other pre-trained objective has one to compare.`);
  else if (a.averageFinetune === b.averageFinetune) out.push(`${a.label} and ${b.label} tie for the best average fine-tuning score ${over} (${score(a.averageFinetune!)}).`);
  else out.push(`Best average fine-tuning score ${over}: ${a.label}, ${score(a.averageFinetune!)}, ahead of ${b.label} (${score(b.averageFinetune!)}) by ${score(a.averageFinetune! - b.averageFinetune!)}.`);
  const [p, q] = ranked.averageProbe;
  if (p && q && p.averageProbe !== q.averageProbe) out.push(`With a linear probe of the frozen encoder the best is ${p.label}, ${score(p.averageProbe!)}, ahead of ${q.label} (${score(q.averageProbe!)}).`);
  else if (p && !q) out.push(`Linear probe average: ${p.label}, ${score(p.averageProbe!)}.`);

  if (floorAverage === null) {
    out.push('The study has no no-pre-training floor, so gains per unit of compute are not computed.');
  } else {
    for (const [key, unit] of [['gainPerPflop', 'PFLOP'], ['gainPerHour', 'hour of pre-training']] as const) {
      const [x, y] = ranked[key];
      if (!x) continue;
      const v = x[key]!;
      if (!(v > 0)) {
        out.push(`Per ${unit}, no objective gains over the floor (average ${score(floorAverage)}).`);
        continue;
      }
      let s = `Per ${unit}, ${x.label} gains the most over the floor's average (${score(floorAverage)}): ${signed(v)} per ${unit}`;
      if (y && y[key]! > 0) s += `, ${ratio(v / y[key]!)} ${y.label}'s ${signed(y[key]!)}`;
      else if (y) s += `; ${y.label}, next, gains ${signed(y[key]!)}`;
      out.push(s + '.');
    }
    for (const o of objectives) {
      if (o.objective === FLOOR) continue;
      if (o.averageFinetune === null) {
        out.push(`${o.label} lacks a fine-tuning score on ${study.tasks.filter((t) => !o.tasks[t]).join(', ')}, so its average is not compared with the floor.`);
      } else if (!o.beatsFloor) {
        out.push(`${o.label} does not beat the floor at this budget (average ${score(o.averageFinetune)} against ${score(floorAverage)}).`);
      } else if (o.tasksNotAboveFloor.length === 0) {
        const c = o.tasksClearlyAboveFloor.length;
        out.push(`${o.label} beats the floor on every task (by ${signed(o.gainOverFloor!)} on average; its worst seed is above the floor's best on ${c === nt ? 'all' : `${c} of ${nt}`}).`);
      } else {
        const which = o.tasksNotAboveFloor.map((t) => `${t} (${score(o.tasks[t].finetune.median)} against ${score(floorTask(objectives, t)!)})`).join(', ');
        out.push(`${o.label} beats the floor on average (${signed(o.gainOverFloor!)}) but not on ${which}.`);
      }
    }
  }
  // Where pre-training starts to beat the floor, when the study has earlier checkpoints to tell.
  for (const o of objectives) {
    if (o.checkpoints.length < 2) continue;
    for (const kind of ['finetune', 'probe'] as const) {
      const f = o.firstAboveFloor[kind], what = kind === 'finetune' ? 'fine-tuning' : 'linear-probe';
      if (f === null) out.push(`${o.label}'s ${what} average stays at or below the floor's at all ${o.checkpoints.length} of its checkpoints.`);
      else if (f) out.push(`${o.label}'s ${what} average first exceeds the floor's at step ${f.step} (${grouped(f.tokens)} tokens, ${secondsText(f.seconds)}, ${flopsText(f.flops)}).`);
    }
  }
  const mlm = objectives.find((o) => o.objective === 'mlm');
  if (mlm && mlm.averageFinetune !== null) {
    for (const o of objectives) {
      if (o.matchMlm === undefined) continue;
      if (o.matchMlm === null) out.push(`${o.label} does not reach MLM's final average (${score(mlm.averageFinetune)}) at any of its checkpoints.`);
      else {
        const f = o.matchMlm.fractionOfMlmFlops;
        out.push(`${o.label} reaches MLM's final average (${score(mlm.averageFinetune)}) at step ${o.matchMlm.step}, ${flopsText(o.matchMlm.flops)}${Number.isFinite(f) ? `, ${fixed(f, 2)}× MLM's ${flopsText(mlm.final.flops)}` : ''}.`);
      }
    }
  }
  return out;
}

function floorTask(objectives: ObjectiveSummary[], task: string): number | null {
  return objectives.find((o) => o.objective === FLOOR)?.tasks[task]?.finetune.median ?? null;
}

// ---------------------------------------------------------------------------------------
// Formatting (locale-free, deterministic)

/** toFixed without "-0.000". */
function fixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}
const score = (x: number) => fixed(x, 3);
const signed = (x: number) => (x > 0 ? '+' : '') + (Math.abs(x) >= 0.001 || x === 0 ? fixed(x, 3) : x.toExponential(2));
const ratio = (r: number) => `${fixed(r, 2)}×`;

function grouped(n: number): string {
  const s = Math.round(Math.abs(n)).toString();
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function flopsText(f: number): string {
  if (f === 0) return '0 FLOPs';
  const units: [number, string][] = [[1e18, 'EFLOP'], [1e15, 'PFLOP'], [1e12, 'TFLOP'], [1e9, 'GFLOP']];
  for (const [v, u] of units) if (Math.abs(f) >= v) return `${fixed(f / v, 2)} ${u}`;
  return `${f.toExponential(2)} FLOPs`;
}

function secondsText(s: number): string {
  if (s < 120) return `${fixed(s, 1)} s`;
  if (s < 7200) return `${fixed(s, 0)} s (${fixed(s / 60, 1)} min)`;
  return `${fixed(s, 0)} s (${fixed(s / 3600, 2)} h)`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const range = (s: SeedScores) => `${score(s.median)} [${score(s.min)}–${score(s.max)}]`;
const opt = (x: number | null, f: (x: number) => string) => (x === null || !Number.isFinite(x) ? '—' : f(x));

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

function taskHeading(study: StudyResult, task: string): string {
  for (const o of study.objectives) {
    const r = o.checkpoints[o.checkpoints.length - 1].tasks[task];
    if (r) return `${task} (${r.metric}, ${r.split})`;
  }
  return task;
}

function stepCostText(s: ObjectiveSummary): string {
  return s.stepCostVsMlm === null ? '—' : `${fixed(s.stepCostVsMlm, 2)}×${s.stepCostDerived ? ' (derived)' : ''}`;
}

/** report.md's text. */
export function renderReportMarkdown(study: StudyResult, derived: StudyDerived = deriveStudy(study)): string {
  const md: string[] = [];
  md.push('# Pre-training objectives under one budget', '');
  md.push(table(['', ''], [
    ['command', '`' + study.command.replace(/`/g, "'") + '`'],
    ['adapter', study.adapter],
    ['budget', study.budget],
    ['model', study.model],
    ['seeds', study.seeds.join(', ')],
    ['tasks', study.tasks.map((t) => taskHeading(study, t)).join(', ')],
    ['started', study.started],
    ...(study.resumed?.length ? [['resumed', study.resumed.join(', ')]] : []),
    ['finished', study.finished],
  ]), '');
  md.push(
    'Scores are median [min–max] over the seeds, at each objective\'s last checkpoint, on the split named with the task; ' +
      'the average is the mean of the medians over the tasks. "no pre-training" is the floor: the same fine-tuning from a random initialisation. ' +
      'Gain is the average minus the floor\'s, per PFLOP or hour of pre-training compute.',
    '',
  );

  md.push('## Summary', '');
  md.push(table(
    ['objective', 'steps', 'tokens', 'compute', 'time', 'step cost vs MLM', 'avg fine-tune', 'avg probe', 'gain over floor', 'gain per PFLOP', 'gain per hour'],
    derived.objectives.map((s) => [
      s.label, grouped(s.final.step), grouped(s.final.tokens), flopsText(s.final.flops), secondsText(s.final.seconds), stepCostText(s),
      opt(s.averageFinetune, score), opt(s.averageProbe, score), opt(s.gainOverFloor, signed), opt(s.gainPerPflop, signed), opt(s.gainPerHour, signed),
    ]),
  ), '');

  md.push('## Verdict', '', derived.verdict.join(' '), '');

  md.push('## Objectives', '');
  study.objectives.forEach((o, i) => {
    const s = derived.objectives[i];
    md.push(`### ${s.label}`, '');
    const rows: string[][] = [
      ['steps', grouped(o.steps)],
      ['tokens', grouped(o.tokens)],
      ['pre-training time', secondsText(o.seconds)],
      ['FLOPs', o.flops === 0 ? '0' : `${o.flops.toExponential(3)} (${flopsText(o.flops)})`],
      ['tokens/s', o.objective === FLOOR && o.tokensPerSecond === 0 ? '—' : fixed(o.tokensPerSecond, 0)],
      ['step time', o.stepMs > 0 ? `${fixed(o.stepMs, 1)} ms` : '—'],
      ['step cost vs MLM', stepCostText(s)],
    ];
    for (const [k, v] of Object.entries(o.finalValidation)) rows.push([`pre-training validation ${k}`, Number.isFinite(v) ? fixed(v, 4) : String(v)]);
    for (const t of study.tasks) {
      const r = s.tasks[t];
      rows.push([`${taskHeading(study, t)} fine-tune`, r ? range(r.finetune) + (r.aboveFloor === false ? ' (not above the floor)' : '') : '—']);
      if (r?.probe || study.objectives.some((x) => x.checkpoints[x.checkpoints.length - 1].tasks[t]?.probe)) rows.push([`${taskHeading(study, t)} probe`, r?.probe ? range(r.probe) : '—']);
    }
    rows.push(['average fine-tune', opt(s.averageFinetune, score)]);
    if (s.averageProbe !== null) rows.push(['average probe', score(s.averageProbe)]);
    if (s.gainOverFloor !== null) rows.push(['gain over floor', `${signed(s.gainOverFloor)} (${opt(s.gainPerPflop, signed)} per PFLOP, ${opt(s.gainPerHour, signed)} per hour)`]);
    md.push(table(['', s.label], rows), '');
    if (o.checkpoints.length > 1) {
      md.push(`Checkpoints of ${s.label} (fine-tuning medians):`, '');
      md.push(table(
        ['step', 'tokens', 'FLOPs', 'seconds', ...study.tasks, 'average', 'probe average'],
        o.checkpoints.map((c, j) => [
          grouped(c.step), grouped(c.tokens), flopsText(c.flops), fixed(c.seconds, 1),
          ...study.tasks.map((t) => (c.tasks[t] ? score(c.tasks[t].finetune.median) : '—')),
          opt(s.checkpoints[j].averageFinetune, score), opt(s.checkpoints[j].averageProbe, score),
        ]),
      ), '');
    }
  });

  if (study.notes.length) {
    md.push('## Notes', '');
    for (const n of study.notes) md.push(`- ${n.replace(/\n/g, ' ')}`);
    md.push('');
  }
  return md.join('\n');
}

export const REPORT_FORMAT = 'electrolite-study-report';
export const REPORT_VERSION = 1;

/** report.json's value: the study as given plus everything derived. */
export function reportJson(study: StudyResult, derived: StudyDerived = deriveStudy(study)): { format: string; version: number; study: StudyResult; derived: StudyDerived } {
  return { format: REPORT_FORMAT, version: REPORT_VERSION, study, derived };
}

/** Write report.md and report.json into `dir` (created if needed), each atomically. Returns their paths. */
export function writeReport(study: StudyResult, dir: string): { markdown: string; json: string } {
  const derived = deriveStudy(study);
  const json = join(dir, 'report.json');
  const markdown = join(dir, 'report.md');
  // NaN/±Infinity become null in JSON.
  writeFileAtomic(json, JSON.stringify(reportJson(study, derived), null, 2) + '\n');
  writeFileAtomic(markdown, renderReportMarkdown(study, derived));
  return { markdown, json };
}
