/// <reference lib="dom" />
// The web page (dist/web/): this engine's runtime and kernels in the browser, from the same
// src/ and shaders/ as the CLI. It opens the browser's WebGPU device (src/gpu/device.ts),
// shows the adapter, checks the kernels against their float64 references (the CLI demo's
// check) and runs the kernel benchmark on demand (bench/kernels.ts, the same cases and JSON
// as `electrolite bench kernels`). A browser without WebGPU, or an adapter that cannot run a
// kernel, gets the reason in the page.
import { acquireBrowserDevice } from '../gpu/device.js';
import { Runtime } from '../gpu/runtime.js';
import { SHADER_SOURCES } from '../kernels/sources.js';
import { setAutotuneDefaults, setAutotuneStore } from '../kernels/autotune.js';
import { smokeRun, type SmokeResult } from '../kernels/smoke.js';
import { benchKernels, type KernelBenchReport } from '../../bench/kernels.js';
import { localStorageStore } from './storage.js';

/** What the page exposes for scripts (the browser tests) beside what it shows. */
interface PageState {
  adapter?: Runtime['gpu']['adapter'] & { kind: string; backend: string; features: string[] };
  check?: SmokeResult[];
  bench?: KernelBenchReport;
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

  const run = $('bench-run') as HTMLButtonElement;
  run.disabled = false;
  run.onclick = async () => {
    run.disabled = true;
    const out = $('bench');
    out.dataset.state = 'running';
    out.textContent = 'running…';
    const rows: (string | number)[][] = [];
    try {
      const filter = ($('bench-filter') as HTMLInputElement).value.trim();
      const tune = new URLSearchParams(location.search).get('autotune') !== '0';
      const report = await benchKernels(rt, { filter: filter || undefined, tfjs: false, autotune: tune ? undefined : false, log: (line) => console.log(line) });
      state.bench = report;
      for (const r of report.results) rows.push([r.kernel, r.shape, r.ms ?? '—', r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : r.gbps !== undefined ? `${r.gbps.toFixed(2)} GB/s` : r.error ?? '']);
      out.replaceChildren(table(rows, ['kernel', 'shape', 'ms', 'rate']));
      const link = $('bench-download') as HTMLAnchorElement;
      link.href = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
      link.hidden = false;
      out.dataset.state = 'done';
    } catch (e) {
      out.dataset.state = 'failed';
      out.textContent = '';
      showProblem(`the benchmark failed: ${(e as Error).message}`);
    } finally {
      run.disabled = false;
    }
  };
}

main().catch((e) => showProblem(`unexpected error: ${(e as Error).message}`));
