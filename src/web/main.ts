/// <reference lib="dom" />
// The web page (dist/web/): this engine's runtime and kernels in the browser, from the same
// src/ and shaders/ as the CLI. It opens the browser's WebGPU device (src/gpu/device.ts),
// shows the adapter, checks the kernels against their float64 references (the CLI demo's
// check), runs the kernel benchmark on demand (bench/kernels.ts, the same cases and JSON
// as `electrolite bench kernels`), pre-trains a model with a chosen objective on the corpus
// the site ships (a live loss curve, tokens/s, Stop) and compares the objectives' step costs
// (train.ts). One GPU job runs at a time. A browser without WebGPU, or an adapter that cannot
// run a kernel, gets the reason in the page.
import { acquireBrowserDevice, limitsBelowTested } from '../gpu/device.js';
import { Runtime } from '../gpu/runtime.js';
import { SHADER_SOURCES } from '../kernels/sources.js';
import { setAutotuneDefaults, setAutotuneStore } from '../kernels/autotune.js';
import { smokeRun, type SmokeResult } from '../kernels/smoke.js';
import { benchKernels, type KernelBenchReport } from '../../bench/kernels.js';
import { localStorageStore } from './storage.js';
import { compareStepCosts, loadCorpus, lossCurveSvg, PAGE_PRESETS, stepCostSvg, trainInPage, type StepCost, type TrainingState } from './train.js';
import { OBJECTIVES, type ObjectiveName } from '../objectives/registry.js';
import type { PresetName } from '../model/config.js';
import { PRECISIONS, precisionUnavailable, type Precision } from '../model/precision.js';

/** What the page exposes for scripts (the browser tests) beside what it shows. */
interface PageState {
  adapter?: Runtime['gpu']['adapter'] & { kind: string; backend: string; features: string[] };
  check?: SmokeResult[];
  bench?: KernelBenchReport;
  /** The corpus the page trains on (data/, or ?data=URL). */
  corpus?: { location: string; vocabSize: number; seqLen: number; sequences: number };
  training?: TrainingState;
  stepCosts?: StepCost[];
  error?: string;
}
const state: PageState = {};
(window as unknown as { electrolite: PageState }).electrolite = state;

const $ = (id: string) => document.getElementById(id)!;

function el(tag: string, text?: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function table(rows: (string | number)[][], head: string[]): HTMLTableElement {
  const t = document.createElement('table');
  const hr = t.insertRow();
  for (const h of head) hr.appendChild(el('th', h));
  for (const r of rows) {
    const tr = t.insertRow();
    for (const c of r) {
      const td = tr.insertCell();
      td.textContent = String(c);
      if (typeof c === 'number') td.className = 'num';
    }
  }
  return t;
}

function showProblem(message: string): void {
  state.error = message;
  const p = $('problem');
  p.textContent = message;
  p.classList.add('shown');
}

const SHOWN_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage'];

async function main(): Promise<void> {
  let rt: Runtime;
  try {
    rt = Runtime.fromDevice(await acquireBrowserDevice((navigator as Navigator & { gpu?: GPU }).gpu), SHADER_SOURCES);
  } catch (e) {
    $('adapter').textContent = 'no WebGPU adapter';
    $('check').textContent = 'not run: no WebGPU adapter';
    $('check').dataset.state = 'unavailable';
    showProblem(`WebGPU is not available here: ${(e as Error).message}`);
    return;
  }
  setAutotuneStore(localStorageStore());
  // ?autotune=0: the default tiles, no tuning (as the CLI's --no-autotune).
  if (new URLSearchParams(location.search).get('autotune') === '0') setAutotuneDefaults({ enabled: false });
  const g = rt.gpu;
  state.adapter = { ...g.adapter, kind: g.kind, backend: g.backend, features: g.features };
  const a = $('adapter');
  a.className = '';
  a.replaceChildren(
    el('p', `${g.adapter.description || `${g.adapter.vendor} ${g.adapter.architecture}`} — ${g.kind === 'gpu' ? 'a GPU' : 'a CPU (software) adapter'}, ${g.featureLevel} feature level`),
    el('p', `features: shader-f16 ${g.caps.f16 ? 'yes' : 'no'}, subgroups ${g.caps.subgroups ? `yes (${g.caps.subgroupMinSize}–${g.caps.subgroupMaxSize})` : 'no'}, timestamp-query ${g.caps.timestamps ? 'yes' : 'no'}`),
    table(SHOWN_LIMITS.map((k) => [k, g.limits[k]]), ['limit', 'value']),
  );

  const c = $('check');
  const below = limitsBelowTested(g.limits);
  if (below.length) {
    c.dataset.state = 'unavailable';
    c.textContent = 'not run: the adapter\'s limits are too low';
    showProblem(`this adapter's limits are below those electrolite's kernels need (WebGPU's defaults): ${below.map((b) => `${b.limit} ${b.has} (needs ${b.needs})`).join(', ')}`);
    return;
  }
  c.textContent = 'running…';
  try {
    const results = await smokeRun(rt);
    state.check = results;
    const failed = results.filter((r) => !r.ok);
    c.className = '';
    c.dataset.state = failed.length ? 'failed' : 'passed';
    c.replaceChildren(
      el('p', failed.length ? `${failed.length} of ${results.length} kernels differ from their references` : `all ${results.length} kernels match their float64 references`, failed.length ? 'fail' : 'ok'),
      table(results.map((r) => [r.ok ? 'ok' : 'FAIL', r.kernel, r.maxAbsErr.toExponential(2), r.tolerance.toExponential(0)]), ['', 'kernel', 'max abs error', 'tolerance']),
    );
    if (failed.length) showProblem(`the kernel check failed on this adapter: ${failed.map((r) => r.kernel).join(', ')}`);
  } catch (e) {
    c.dataset.state = 'failed';
    c.textContent = '';
    showProblem(`the kernel check could not run on this adapter: ${(e as Error).message}`);
  }

  onGpuJob('bench-run', 'bench', 'the benchmark failed', async (out) => {
    out.textContent = 'running…';
    const filter = ($('bench-filter') as HTMLInputElement).value.trim();
    const tune = new URLSearchParams(location.search).get('autotune') !== '0';
    const report = await benchKernels(rt, { filter: filter || undefined, tfjs: false, autotune: tune ? undefined : false, log: (line) => console.log(line) });
    state.bench = report;
    const rows = report.results.map((r) => [r.kernel, r.shape, r.ms ?? '—', r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : r.gbps !== undefined ? `${r.gbps.toFixed(2)} GB/s` : r.error ?? '']);
    out.replaceChildren(table(rows, ['kernel', 'shape', 'ms', 'rate']));
    const link = $('bench-download') as HTMLAnchorElement;
    link.href = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
    link.hidden = false;
    return 'done';
  });
  setUpTraining(rt);
}

/** One GPU job at a time (benchmark, training, step costs): the buttons that start one are disabled while one runs. */
const STARTERS = ['bench-run', 'train-run', 'cost-run'];
let gpuBusy = false;
function claimGpu(): boolean {
  if (gpuBusy) return false;
  gpuBusy = true;
  for (const id of STARTERS) ($(id) as HTMLButtonElement).disabled = true;
  return true;
}
function releaseGpu(): void {
  gpuBusy = false;
  for (const id of STARTERS) ($(id) as HTMLButtonElement).disabled = false;
}

/**
 * Button `button` starts a GPU job writing into `output`, whose data-state is 'running', then
 * what the job returns ('done', 'stopped'), or 'failed' with `failure` and the reason shown as
 * the page's problem. `after` runs at the end either way.
 */
function onGpuJob(button: string, output: string, failure: string, job: (out: HTMLElement) => Promise<string>, after?: () => void): void {
  const b = $(button) as HTMLButtonElement;
  b.disabled = false;
  b.onclick = async () => {
    if (!claimGpu()) return;
    const out = $(output);
    out.dataset.state = 'running';
    try {
      out.dataset.state = await job(out);
    } catch (e) {
      out.dataset.state = 'failed';
      showProblem(`${failure}: ${(e as Error).message}`);
    } finally {
      after?.();
      releaseGpu();
    }
  };
}

const dataUrl = () => new URL(new URLSearchParams(location.search).get('data') ?? 'data/', location.href).href;
const numberField = (id: string) => Number(($(id) as HTMLInputElement).value);

/** The corpus, fetched and verified on first use; shown under the training controls. */
async function corpusFiles() {
  const c = await loadCorpus(dataUrl());
  const m = c.manifest;
  state.corpus = { location: c.files.location, vocabSize: m.vocabSize, seqLen: m.seqLen, sequences: m.splits.train.sequences };
  $('corpus').textContent = `corpus: ${c.files.location} — ${m.splits.train.sequences} training sequences of ${m.seqLen} tokens, vocabulary ${m.vocabSize} (every file's SHA-256 checked)`;
  return c;
}

function setUpTraining(rt: Runtime): void {
  const objective = $('train-objective') as HTMLSelectElement;
  for (const o of OBJECTIVES) objective.appendChild(Object.assign(document.createElement('option'), { value: o, textContent: o }));
  const preset = $('train-model') as HTMLSelectElement;
  for (const p of PAGE_PRESETS) preset.appendChild(Object.assign(document.createElement('option'), { value: p, textContent: p }));
  // Mixed precision where the browser grants shader-f16 (f16 activations, dynamic loss scaling: `--precision f16`).
  const precision = $('train-precision') as HTMLSelectElement;
  for (const p of PRECISIONS) {
    const why = precisionUnavailable(rt, p);
    precision.appendChild(Object.assign(document.createElement('option'), { value: p, textContent: why ? `${p} (no shader-f16 here)` : p, disabled: Boolean(why), title: why ?? '' }));
  }
  const stop = $('train-stop') as HTMLButtonElement;
  let controller: AbortController | null = null;
  /** The latest run of each objective, drawn together (a new run of an objective replaces its curve). */
  const shownRuns = new Map<ObjectiveName, { t: TrainingState; tokensPerStep: number }>();
  stop.onclick = () => controller?.abort();
  const finished = () => {
    controller = null;
    stop.disabled = true;
  };
  onGpuJob('train-run', 'train-status', 'the pre-training run failed', async (status) => {
    status.textContent = 'loading the corpus…';
    const { files, manifest } = await corpusFiles();
    const settings = {
      objective: objective.value as ObjectiveName, preset: preset.value as PresetName,
      batch: numberField('train-batch'), steps: numberField('train-steps'), lr: numberField('train-lr'), seed: numberField('train-seed'),
      precision: precision.value as Precision,
    };
    for (const [k, v] of Object.entries(settings)) if (typeof v === 'number' && !(v > 0)) throw new Error(`${k} must be a positive number`);
    const unavailable = precisionUnavailable(rt, settings.precision);
    if (unavailable) throw new Error(unavailable);
    controller = new AbortController();
    stop.disabled = false;
    status.textContent = `compiling the ${settings.objective} step (the first step takes longest)…`;
    const tokensPerStep = settings.batch * manifest.seqLen;
    let drawn = 0, drawing = false;
    const draw = async (t: TrainingState, force = false) => {
      // At most about once a second, and one drawing at a time: the step loop never waits for it.
      if (drawing || (!force && performance.now() - drawn < 1000)) return;
      drawing = true;
      drawn = performance.now();
      try {
        shownRuns.set(t.objective, { t, tokensPerStep });
        $('train-plot').innerHTML = await lossCurveSvg([...shownRuns.values()]);
      } catch (e) {
        showProblem(`the loss curve could not be drawn: ${(e as Error).message}`);
      } finally {
        drawing = false;
      }
    };
    const t = await trainInPage(rt, files, settings, controller.signal, (t) => {
      state.training = t;
      const last = t.losses[t.losses.length - 1];
      status.textContent = `${t.objective}, ${settings.preset}, batch ${settings.batch} × ${manifest.seqLen}: step ${t.losses.length} of ${settings.steps}, loss ${last?.toFixed(4)}, ${Math.round(t.tokensPerSecond)} tokens/s`;
      void draw(t);
    });
    state.training = t;
    await draw(t, true);
    if (t.state === 'failed') throw new Error(t.error);
    const s = t.summary!;
    status.textContent = `${t.objective}, ${settings.preset}${settings.precision === 'f16' ? ', f16' : ''}: ${t.state} after ${s.steps} steps — loss ${s.firstLoss.toFixed(4)} → ${s.lastLoss.toFixed(4)}, ${Math.round(s.tokensPerSecond)} tokens/s${s.eval ? `; validation loss ${s.eval.loss.toFixed(4)}` : ''}`;
    return t.state;
  }, finished);

  onGpuJob('cost-run', 'cost', 'the step-cost comparison failed', async (out) => {
    out.textContent = 'loading the corpus…';
    const { files, manifest } = await corpusFiles();
    const batch = numberField('cost-batch'), steps = numberField('cost-steps');
    const show = (rows: StepCost[]) => {
      state.stepCosts = rows;
      out.replaceChildren(
        el('p', `${preset.value}, batch ${batch} × ${manifest.seqLen}: median of ${steps} steps after 2 untimed ones${rows.length < OBJECTIVES.length ? ` — timing ${OBJECTIVES[rows.length]}…` : ''}`),
        table(rows.map((r) => [r.objective, r.ms, r.tokensPerSecond, r.vsMlm !== undefined ? `${r.vsMlm.toFixed(2)}×` : '']), ['objective', 'ms per step', 'tokens/s', '× MLM']),
      );
    };
    out.textContent = `timing ${OBJECTIVES[0]}…`;
    const rows = await compareStepCosts(rt, files, preset.value as PresetName, batch, steps, show);
    show(rows);
    $('cost-plot').innerHTML = await stepCostSvg(rows);
    return 'done';
  });
}

main().catch((e) => showProblem(`unexpected error: ${(e as Error).message}`));
