// The study's report (src/eval/report.ts) and plots (src/eval/plots.ts) on a small made-up
// study whose derived numbers are worked out by hand below: MLM, RTS, C-RTS and the
// no-pre-training floor, two tasks, three seeds.
//
//   final medians      SST-2   CoLA   average   gain    FLOPs   gain/PFLOP  seconds  gain/hour
//   MLM                0.81    0.32   0.565     +0.140  2e15    0.070       3600     0.140
//   RTS                0.79    0.05   0.420     −0.005  1e15    —           1800     —
//   C-RTS              0.82    0.35   0.585     +0.160  1e15    0.160       2000     0.288
//   no pre-training    0.76    0.09   0.425
// C-RTS's first checkpoint (5e14 FLOPs) averages 0.570 ≥ MLM's 0.565: 0.25× MLM's FLOPs.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from 'vega-lite';
import { tempDir } from '../tmp.js';
import {
  deriveStudy, objectiveLabel, renderReportMarkdown, reportJson, seedScores, validateStudy, writeReport,
  type CheckpointResult, type ObjectiveResult, type StudyResult,
} from '../../src/eval/report.js';
import { renderSvg, studyPlots, writePlots } from '../../src/eval/plots.js';

type Scores = Record<string, { ft: number[]; probe?: number[] }>;

function checkpoint(step: number, flops: number, seconds: number, scores: Scores): CheckpointResult {
  const tasks: CheckpointResult['tasks'] = {};
  for (const [t, s] of Object.entries(scores)) {
    tasks[t] = { finetune: seedScores(s.ft), metric: t === 'CoLA' ? 'mcc' : 'accuracy', split: 'validation' };
    if (s.probe) tasks[t].probe = seedScores(s.probe);
  }
  return { step, tokens: step * 1024, seconds, flops, tasks };
}

function objective(name: string, o: Partial<ObjectiveResult> & { checkpoints: CheckpointResult[] }): ObjectiveResult {
  const last = o.checkpoints[o.checkpoints.length - 1];
  const curve = name === 'none' ? [] : [0, 1, 2, 3].map((i) => ({ step: (i + 1) * 100, loss: (name === 'mlm' ? 9 : name === 'rts' ? 30 : 28) - i * (name === 'crts' ? 1.5 : 1), tokens: (i + 1) * 102400, seconds: i * 60 }));
  return {
    objective: name, steps: last.step, tokens: last.tokens, seconds: last.seconds, flops: last.flops,
    tokensPerSecond: last.seconds > 0 ? last.tokens / last.seconds : 0, finalValidation: name === 'none' ? {} : { loss: 2.5, accuracy: 0.45 },
    lossCurve: curve, stepMs: 0, ...o,
  };
}

function makeStudy(): StudyResult {
  return {
    command: 'electrolite study --budget 1h --objectives mlm,rts,crts', adapter: 'lavapipe (llvmpipe, Vulkan)',
    started: '2025-01-02T03:04:05Z', finished: '2025-01-02T09:00:00Z', budget: '1h', model: 'tiny', seeds: [1, 2, 3], tasks: ['SST-2', 'CoLA'],
    objectives: [
      objective('mlm', {
        stepMs: 300,
        checkpoints: [
          checkpoint(500, 1e15, 1800, { 'SST-2': { ft: [0.78, 0.79, 0.8] }, CoLA: { ft: [0.2, 0.25, 0.3] } }),
          checkpoint(1000, 2e15, 3600, { 'SST-2': { ft: [0.8, 0.82, 0.81], probe: [0.7, 0.71, 0.72] }, CoLA: { ft: [0.3, 0.34, 0.32], probe: [0.1, 0.12, 0.11] } }),
        ],
      }),
      objective('rts', {
        stepMs: 240, stepCostVsMlm: 0.8,
        checkpoints: [checkpoint(500, 1e15, 1800, { 'SST-2': { ft: [0.78, 0.79, 0.8] }, CoLA: { ft: [0.04, 0.06, 0.05] } })],
      }),
      objective('crts', {
        stepMs: 250,
        checkpoints: [
          checkpoint(250, 5e14, 1000, { 'SST-2': { ft: [0.8, 0.8, 0.8] }, CoLA: { ft: [0.34, 0.34, 0.34] } }),
          checkpoint(500, 1e15, 2000, { 'SST-2': { ft: [0.81, 0.83, 0.82] }, CoLA: { ft: [0.33, 0.35, 0.37] } }),
        ],
      }),
      objective('none', { checkpoints: [checkpoint(0, 0, 0, { 'SST-2': { ft: [0.75, 0.76, 0.77] }, CoLA: { ft: [0.08, 0.1, 0.09] } })] }),
    ],
    notes: ['Budgets are wall-clock on one adapter.', 'CoLA scores are MCC | not accuracy.'],
  };
}

const close = (a: number | null | undefined, b: number) => expect(Math.abs((a ?? NaN) - b)).toBeLessThan(1e-12);

describe('seed scores and validation', () => {
  it('median of odd and even counts, min, max', () => {
    expect(seedScores([3, 1, 2])).toEqual({ scores: [3, 1, 2], median: 2, min: 1, max: 3 });
    expect(seedScores([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => seedScores([])).toThrow(/no scores/);
  });

  it('rejects inconsistent studies', () => {
    const s = makeStudy();
    s.objectives[0].checkpoints[1].tasks['SST-2'].finetune.median = 0.9;
    expect(() => validateStudy(s)).toThrow(/median is 0.9 but the scores give 0.81/);
    const t = makeStudy();
    t.objectives[0].checkpoints.reverse();
    expect(() => validateStudy(t)).toThrow(/not ordered by step/);
    const u = makeStudy();
    u.objectives[1].checkpoints[0].tasks['MNLI'] = u.objectives[1].checkpoints[0].tasks['CoLA'];
    expect(() => validateStudy(u)).toThrow(/task 'MNLI', not in the study's tasks/);
    const v = makeStudy();
    v.objectives.push(v.objectives[0]);
    expect(() => validateStudy(v)).toThrow(/appears twice/);
  });
});

describe('report', () => {
  it('derives averages, gains per unit of compute, floor comparisons and compute to match MLM', () => {
    const d = deriveStudy(makeStudy());
    const [mlm, rts, crts, none] = d.objectives;
    expect(d.objectives.map((o) => o.label)).toEqual(['MLM', 'RTS', 'C-RTS', 'no pre-training']);
    close(d.floorAverage, 0.425);
    close(mlm.averageFinetune, 0.565);
    close(mlm.averageProbe, 0.41);
    close(rts.averageFinetune, 0.42);
    close(crts.averageFinetune, 0.585);
    close(mlm.gainOverFloor, 0.14);
    close(mlm.gainPerPflop, 0.07);
    close(mlm.gainPerHour, 0.14);
    close(crts.gainPerPflop, 0.16);
    close(crts.gainPerHour, 0.16 / (2000 / 3600));
    expect(rts.beatsFloor).toBe(false);
    expect(rts.tasksNotAboveFloor).toEqual(['CoLA']);
    expect(mlm.tasksClearlyAboveFloor).toEqual(['SST-2', 'CoLA']);
    expect(none.gainOverFloor).toBeNull();
    expect(none.stepCostVsMlm).toBeNull();
    expect(rts.stepCostVsMlm).toBe(0.8);
    expect(rts.stepCostDerived).toBe(false);
    close(crts.stepCostVsMlm, 250 / 300);
    expect(crts.stepCostDerived).toBe(true);
    expect(crts.matchMlm).toEqual({ step: 250, flops: 5e14, fractionOfMlmFlops: 0.25 });
    expect(rts.matchMlm).toBeNull();
    expect(mlm.matchMlm).toBeUndefined();
    expect(d.best).toEqual({ averageFinetune: 'crts', averageProbe: 'mlm', gainPerPflop: 'crts', gainPerHour: 'crts' });
    // Where each first beats the floor (fine-tuning; the floor has no probe to compare with).
    expect(mlm.firstAboveFloor).toEqual({ finetune: { step: 500, tokens: 512000, seconds: 1800, flops: 1e15 }, probe: undefined });
    expect(crts.firstAboveFloor.finetune).toEqual({ step: 250, tokens: 256000, seconds: 1000, flops: 5e14 });
    expect(rts.firstAboveFloor.finetune).toBeNull();
    expect(none.firstAboveFloor).toEqual({ finetune: undefined, probe: undefined });
    close(mlm.checkpoints[0].averageFinetune, (0.79 + 0.25) / 2);
    expect(mlm.checkpoints[0].averageProbe).toBeNull();
  });

  it('states the verdict plainly', () => {
    const v = deriveStudy(makeStudy()).verdict;
    expect(v).toContain('Best average fine-tuning score over the 2 tasks: C-RTS, 0.585, ahead of MLM (0.565) by 0.020.');
    expect(v).toContain("Per PFLOP, C-RTS gains the most over the floor's average (0.425): +0.160 per PFLOP, 2.29× MLM's +0.070.");
    expect(v).toContain("Per hour of pre-training, C-RTS gains the most over the floor's average (0.425): +0.288 per hour of pre-training, 2.06× MLM's +0.140.");
    expect(v).toContain('RTS does not beat the floor at this budget (average 0.420 against 0.425).');
    expect(v).toContain("MLM beats the floor on every task (by +0.140 on average; its worst seed is above the floor's best on all).");
    expect(v).toContain("C-RTS reaches MLM's final average (0.565) at step 250, 500.00 TFLOP, 0.25× MLM's 2.00 PFLOP.");
    expect(v).toContain("RTS does not reach MLM's final average (0.565) at any of its checkpoints.");
    expect(v).toContain("MLM's fine-tuning average first exceeds the floor's at step 500 (512,000 tokens, 1800 s (30.0 min), 1.00 PFLOP).");
    expect(v).toContain("C-RTS's fine-tuning average first exceeds the floor's at step 250 (256,000 tokens, 1000 s (16.7 min), 500.00 TFLOP).");
    // A checkpoint series that never gets there says so; RTS (one checkpoint) has nothing to say.
    const late = makeStudy();
    late.objectives[3].checkpoints[0].tasks.CoLA.finetune = seedScores([0.5, 0.5, 0.5]);
    expect(deriveStudy(late).verdict).toContain("MLM's fine-tuning average stays at or below the floor's at all 2 of its checkpoints.");
    expect(v.some((x) => x.startsWith("RTS's fine-tuning average"))).toBe(false);
    // Above the floor on average but not on one task.
    const s = makeStudy();
    s.objectives[1].checkpoints[0].tasks['SST-2'].finetune = seedScores([0.89, 0.9, 0.91]);
    expect(deriveStudy(s).verdict).toContain('RTS beats the floor on average (+0.050) but not on CoLA (0.050 against 0.090).');
    // No floor: said so, no per-compute sentence.
    const n = makeStudy();
    n.objectives.pop();
    const vn = deriveStudy(n).verdict;
    expect(vn).toContain('The study has no no-pre-training floor, so gains per unit of compute are not computed.');
    expect(vn.some((x) => x.startsWith('Per PFLOP'))).toBe(false);
  });

  it('writes report.md and report.json atomically, deterministically, without touching the input', () => {
    const study = makeStudy();
    const before = JSON.stringify(study);
    const dir = join(tempDir('electrolite-report-'), 'out');
    const paths = writeReport(study, dir);
    expect(readdirSync(dir).sort()).toEqual(['report.json', 'report.md']);
    expect(JSON.stringify(study)).toBe(before);
    const md = readFileSync(paths.markdown, 'utf8');
    const json = JSON.parse(readFileSync(paths.json, 'utf8'));
    expect(json.format).toBe('electrolite-study-report');
    expect(json.study).toEqual(study);
    expect(json).toEqual(JSON.parse(JSON.stringify(reportJson(study))));
    expect(json.derived.verdict.join(' ')).toContain('RTS does not beat the floor');
    // Header.
    for (const s of ['| command | `electrolite study --budget 1h --objectives mlm,rts,crts` |', '| adapter | lavapipe (llvmpipe, Vulkan) |', '| budget | 1h |', '| model | tiny |', '| seeds | 1, 2, 3 |', '| tasks | SST-2 (accuracy, validation), CoLA (mcc, validation) |', '| started | 2025-01-02T03:04:05Z |'])
      expect(md).toContain(s);
    // One table per objective, with scores as median [min–max], probes, averages, step cost.
    for (const o of ['MLM', 'RTS', 'C-RTS', 'no pre-training']) expect(md).toContain(`### ${o}\n`);
    expect(md).toContain('| SST-2 (accuracy, validation) fine-tune | 0.810 [0.800–0.820] |');
    expect(md).toContain('| SST-2 (accuracy, validation) probe | 0.710 [0.700–0.720] |');
    expect(md).toContain('| CoLA (mcc, validation) fine-tune | 0.050 [0.040–0.060] (not above the floor) |');
    expect(md).toContain('| average fine-tune | 0.585 |');
    expect(md).toContain('| step cost vs MLM | 0.83× (derived) |');
    expect(md).toContain('| step cost vs MLM | 0.80× |');
    expect(md).toContain('| pre-training validation loss | 2.5000 |');
    expect(md).toContain('| tokens | 1,024,000 |');
    expect(md).toContain('| FLOPs | 2.000e+15 (2.00 PFLOP) |');
    expect(md).toContain('| MLM | 1,000 | 1,024,000 | 2.00 PFLOP | 3600 s (60.0 min) | 1.00× | 0.565 | 0.410 | +0.140 | +0.070 | +0.140 |');
    expect(md).toContain('Checkpoints of C-RTS');
    expect(md).toContain('- CoLA scores are MCC | not accuracy.');
    expect(md).toContain('## Verdict\n\nBest average fine-tuning score');
    // Same input, same bytes; a second write replaces the first.
    const again = renderReportMarkdown(makeStudy());
    expect(again).toBe(md);
    writeReport(makeStudy(), dir);
    expect(readFileSync(paths.markdown, 'utf8')).toBe(md);
    expect(readdirSync(dir).sort()).toEqual(['report.json', 'report.md']);
  });
});

// ---------------------------------------------------------------------------------------
// Plots

/** A small well-formedness check: one root <svg>, tags balanced and properly nested, attributes quoted, entities known. Returns the text content. */
function checkXml(xml: string): string[] {
  expect(xml.startsWith('<svg')).toBe(true);
  const stack: string[] = [];
  const texts: string[] = [];
  let roots = 0;
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\/?([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    if (m[5]) throw new Error(`malformed markup at ${m.index}: ${xml.slice(m.index, m.index + 60)}`);
    if (m[4] !== undefined) {
      if (stack.length === 0 && m[4].trim()) throw new Error(`text outside the root: ${m[4].slice(0, 40)}`);
      for (const e of m[4].match(/&[^;]*;/g) ?? []) if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/.test(e)) throw new Error(`unknown entity ${e}`);
      if (/&(?![a-zA-Z#][^;]*;)/.test(m[4])) throw new Error(`bare & in text`);
      texts.push(m[4].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d))).replace(/&amp;/g, '&'));
      continue;
    }
    if (m[0].startsWith('<!--') || m[0].startsWith('<![CDATA[')) continue;
    const name = m[1];
    if (m[0].startsWith('</')) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      if (!m[3]) stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  return texts;
}

describe('plots', () => {
  const names = ['score-sst-2', 'score-cola', 'score-average', 'loss-curves', 'step-time'];
  const trained = ['MLM', 'RTS', 'C-RTS'];

  it('the XML check catches broken documents', () => {
    expect(() => checkXml('<svg><g></svg>')).toThrow(/closes/);
    expect(() => checkXml('<svg><text>a < b</text></svg>')).toThrow(/malformed/);
    expect(() => checkXml('<svg><rect x=1/></svg>')).toThrow(/malformed/);
    expect(() => checkXml('<svg><text>R&D</text></svg>')).toThrow();
    expect(checkXml('<svg a="1"><text>C-RTS &amp; MLM</text><g/></svg>')).toEqual(['C-RTS & MLM']);
  });

  it('writes NAME.vl.json and NAME.svg for every plot: valid Vega-Lite, well-formed SVG naming every objective', async () => {
    const study = makeStudy();
    const dir = tempDir('electrolite-plots-');
    const written = await writePlots(study, dir);
    expect(written).toEqual(names.flatMap((n) => [join(dir, `${n}.vl.json`), join(dir, `${n}.svg`)]));
    expect(readdirSync(dir).sort()).toEqual(names.flatMap((n) => [`${n}.svg`, `${n}.vl.json`]).sort());
    const plots = studyPlots(study);
    expect(plots.map((p) => p.name)).toEqual(names);
    for (const p of plots) {
      const spec = JSON.parse(readFileSync(join(dir, `${p.name}.vl.json`), 'utf8'));
      expect(spec).toEqual(p.spec);
      expect(() => compile(spec)).not.toThrow();
      const svg = readFileSync(join(dir, `${p.name}.svg`), 'utf8');
      const text = checkXml(svg.trimEnd()).join('\n');
      const expected = p.name.startsWith('score-') ? [...trained, objectiveLabel('none')] : trained;
      for (const label of expected) expect(text.split('\n')).toContain(label);
      expect(text).toContain(p.title);
    }
    // The loss panels and the log compute axis.
    const loss = readFileSync(join(dir, 'loss-curves.svg'), 'utf8');
    expect(loss).toContain('token prediction (cross-entropy)');
    expect(loss).toContain('replaced-token detection (λ·BCE)');
    expect(JSON.stringify(plots[0].spec)).toContain('"type":"log"');
    // The checkpoint at zero compute (the floor's, at step 0) is not plotted on the log axis.
    expect(JSON.stringify(plots[0].spec)).not.toContain('"compute":0');
    const steps = readFileSync(join(dir, 'step-time.svg'), 'utf8');
    expect(steps).toContain('>240.0 ms<');
    expect(steps).toContain('>0.80× MLM<');
  });

  it('renders the same SVG for the same spec', async () => {
    const [p] = studyPlots(makeStudy());
    expect(await renderSvg(p.spec)).toBe(await renderSvg(p.spec));
  });

  it('tokens on the compute axis on request', () => {
    const [p] = studyPlots(makeStudy(), { x: 'tokens' });
    expect(JSON.stringify(p.spec)).toContain('pre-training tokens');
  });
});
