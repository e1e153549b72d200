// The web page in a real browser: `electrolite web` serves dist/web/ (built from src/web/ by
// the build) and Debian's Chromium, driven headless by playwright-core with WebGPU on its CPU
// adapter (SwiftShader: subgroups and timestamp-query, no shader-f16), loads it. Checked: no
// console errors; the adapter shown; the in-page kernel check against the float64
// references passes; the benchmark's JSON has the fields and layout of `bench kernels
// --json`; without WebGPU the page says so. The page's pre-training (served with a small
// prepared Moby-Dick corpus, `web --data`): each objective's loss goes down over a few steps,
// and its first losses equal those of the same run under Node (lavapipe) within 1e-3
// relative — two adapters, two compilers, the same kernels and seed; Stop ends a long run
// cleanly while the page stays responsive; the step-cost comparison times every objective;
// a missing corpus is named in the page. Screenshots after the benchmark and after a run are
// kept in test/output/ (ignored by git) for a person to look at. `.ci/run` installs chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { tempDir } from '../tmp.js';
import { getRuntime } from '../harness.js';
import { prepareMoby } from '../train-fixtures.js';
import { pageTrainConfig, type RunSettings, type StepCost, type TrainingState } from '../../src/web/train.js';
import { runPretraining } from '../../src/train/loop.js';
import { MemoryRun } from '../../src/train/run-store.js';
import { OBJECTIVES, type ObjectiveName } from '../../src/objectives/registry.js';
import { fetchDataFiles } from '../../src/data/files.js';
import { readManifest } from '../../src/data/shards.js';
import { BatchLoader } from '../../src/data/loader.js';
import { CHROMIUM_ARGS } from '../../bench/page.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const OUTPUT = fileURLToPath(new URL('../output/', import.meta.url));
const CHROMIUM = process.env.ELECTROLITE_CHROMIUM || '/usr/bin/chromium';

let server: ChildProcess;
let url = '';
let browser: Browser;
let data = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it; ELECTROLITE_CHROMIUM names another)`);
  data = await prepareMoby(tempDir('electrolite-web-'));
  server = spawn(process.execPath, [CLI, 'web', '--port', '0', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += String(d);
      const m = /on (http:\/\/\S+\/)/.exec(out);
      if (m) ok(m[1]);
    });
    server.once('exit', (code) => fail(new Error(`electrolite web exited (${code}) before serving: ${out}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

/** A page that records console errors and uncaught exceptions. */
async function open(path: string, init?: () => void): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  if (init) await page.addInitScript(init);
  await page.goto(url + path);
  return { page, errors };
}

describe('the web page (headless Chromium)', () => {
  it('serves the page; the adapter and its limits are shown; every kernel matches its float64 reference; no console errors', async () => {
    const { page, errors } = await open('?autotune=0');
    await page.waitForFunction(() => ['passed', 'failed', 'unavailable'].includes(document.getElementById('check')!.dataset.state!), null, { timeout: 120_000 });
    const state = await page.evaluate(() => (window as unknown as { electrolite: { adapter: { kind: string; backend: string; features: string[] }; check: { kernel: string; ok: boolean }[]; error?: string } }).electrolite);
    expect(state.error).toBeUndefined();
    expect(state.adapter).toMatchObject({ kind: 'swiftshader', backend: 'webgpu' });
    expect(state.adapter.features).toContain('subgroups');
    expect(await page.locator('#check').getAttribute('data-state')).toBe('passed');
    expect(state.check.map((c) => c.kernel)).toEqual(expect.arrayContaining(['matmul [67,129]·[129,45]', 'attention fused [2,19,2×32]', 'attention materialized [2,19,2×32]']));
    expect(state.check.every((c) => c.ok)).toBe(true);
    await expect(page.locator('#adapter').textContent()).resolves.toMatch(/swiftshader — a CPU \(software\) adapter, core feature level/);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('runs the kernel benchmark on demand: its JSON has the layout of `bench kernels --json`; screenshot kept', async () => {
    const { page, errors } = await open('?autotune=0');
    await page.waitForFunction(() => !(document.getElementById('bench-run') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
    await page.fill('#bench-filter', 'matmul 256x');
    await page.click('#bench-run');
    await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('bench')!.dataset.state!), null, { timeout: 180_000 });
    expect(await page.locator('#bench').getAttribute('data-state')).toBe('done');
    // The downloadable file is the report.
    const href = await page.locator('#bench-download').getAttribute('href');
    const downloaded = JSON.parse(await page.evaluate(async (h) => (await fetch(h!)).text(), href));
    const cliRun = spawnSync(process.execPath, [CLI, 'bench', 'kernels', '--json', '--no-tfjs', '--no-autotune', '--filter', 'matmul 256x'], { encoding: 'utf8', timeout: 300_000 });
    expect(cliRun.status, cliRun.stderr).toBe(0);
    const cli = JSON.parse(cliRun.stdout);
    expect(Object.keys(downloaded).sort()).toEqual(Object.keys(cli).sort());
    expect(Object.keys(downloaded.adapter).sort()).toEqual(Object.keys(cli.adapter).sort());
    expect(downloaded.results.map((r: { kernel: string; shape: string }) => `${r.kernel} ${r.shape}`)).toEqual(cli.results.map((r: { kernel: string; shape: string }) => `${r.kernel} ${r.shape}`));
    const [row] = downloaded.results;
    expect(Object.keys(row).sort()).toEqual(Object.keys(cli.results[0]).sort());
    expect(row.gflops).toBeCloseTo((2 * 256 ** 3) / row.ms / 1e6, 1);
    expect(downloaded.adapter.kind).toBe('swiftshader');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}web.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 400_000);

  it('web: a bad port or a folder without the site exits 2, naming it', () => {
    const port = spawnSync(process.execPath, [CLI, 'web', '--port', '99999'], { encoding: 'utf8' });
    expect(port.status).toBe(2);
    expect(port.stderr).toMatch(/web: --port must be an integer ≥ 0 and ≤ 65535, got '99999'/);
    const dir = spawnSync(process.execPath, [CLI, 'web', '--dir', OUTPUT + 'nothing-here'], { encoding: 'utf8' });
    expect(dir.status).toBe(2);
    expect(dir.stderr).toMatch(/web: .*nothing-here has no index\.html: build the site first/);
  });

  it('web --export writes the site with its corpus for a static host; --data must be a prepared directory, --export a new folder (exit 2)', async () => {
    const out = `${tempDir('electrolite-web-export-')}/site`;
    const bad = spawnSync(process.execPath, [CLI, 'web', '--data', OUTPUT + 'no-corpus'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/web: --data .*no-corpus has no manifest\.json: give a directory made by `electrolite prepare`/);
    const made = spawnSync(process.execPath, [CLI, 'web', '--data', data, '--export', out], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/wrote the site to .*site \(its corpus in data\//);
    for (const f of ['index.html', 'app.js', 'data/manifest.json', 'data/train-00000.bin', 'data/validation-00000.bin', 'data/tokenizer.json', 'data/vocab.txt', 'data/unigram.json', 'data/clusters.json']) expect(existsSync(`${out}/${f}`), f).toBe(true);
    const again = spawnSync(process.execPath, [CLI, 'web', '--data', data, '--export', out], { encoding: 'utf8' });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/--export .*site exists and is not an empty folder/);
    // The exported folder served as it is (its own data/), fetched as the page fetches it.
    const site = spawn(process.execPath, [CLI, 'web', '--port', '0', '--dir', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const base = await new Promise<string>((ok) => {
        let text = '';
        site.stdout!.on('data', (d) => {
          text += String(d);
          const m = /on (http:\/\/\S+\/)/.exec(text);
          if (m) ok(m[1]);
        });
      });
      const files = await fetchDataFiles(`${base}data/`);
      expect(readManifest(files).splits.train.sequences).toBe(readManifest(data).splits.train.sequences);
      expect(new BatchLoader(files, { batchSize: 4, seed: 2 }).batch(1, 3)).toEqual(new BatchLoader(data, { batchSize: 4, seed: 2 }).batch(1, 3));
      await expect(fetchDataFiles(`${base}missing/`)).rejects.toThrow(`${base}missing/manifest.json: 404 Not Found`);
    } finally {
      site.kill('SIGTERM');
    }
  }, 120_000);

  it('an adapter below the limits the kernels need is refused in the page, naming the limit', async () => {
    // As a compatibility-mode adapter may report: 4 storage buffers per stage, below WebGPU's default 8.
    const { page } = await open('', () => {
      const limits = Object.getOwnPropertyDescriptor(GPUDevice.prototype, 'limits')!.get!;
      Object.defineProperty(GPUDevice.prototype, 'limits', { get() { const l = limits.call(this); const out: Record<string, number> = {}; for (const k in l) out[k] = (l as unknown as Record<string, number>)[k]; out.maxStorageBuffersPerShaderStage = 4; return out; } });
    });
    await page.waitForSelector('#problem.shown', { timeout: 60_000 });
    await expect(page.locator('#problem').textContent()).resolves.toBe("this adapter's limits are below those electrolite's kernels need (WebGPU's defaults): maxStorageBuffersPerShaderStage 4 (needs 8)");
    expect(await page.locator('#check').getAttribute('data-state')).toBe('unavailable');
    await page.close();
  }, 120_000);

  it('a browser without WebGPU gets a message in the page saying what is missing', async () => {
    const { page } = await open('', () => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
    await page.waitForSelector('#problem.shown', { timeout: 60_000 });
    await expect(page.locator('#problem').textContent()).resolves.toMatch(/WebGPU is not available here: this browser has no WebGPU \(navigator\.gpu is undefined\)/);
    expect(await page.locator('#check').getAttribute('data-state')).toBe('unavailable');
    await page.close();
  }, 120_000);
});

/** The page's state object. */
const pageState = (page: Page) =>
  page.evaluate(() => (window as unknown as { electrolite: { training?: TrainingState; stepCosts?: StepCost[]; corpus?: { location: string; sequences: number }; error?: string } }).electrolite);

/** Fill the training form and start; resolves when the run has ended (done, stopped or failed). */
async function trainInPage(page: Page, s: RunSettings, whileRunning?: () => Promise<void>): Promise<TrainingState> {
  await page.waitForFunction(() => !(document.getElementById('train-run') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
  await page.selectOption('#train-objective', s.objective);
  await page.selectOption('#train-model', s.preset);
  for (const [id, v] of [['batch', s.batch], ['steps', s.steps], ['lr', s.lr], ['seed', s.seed]] as const) await page.fill(`#train-${id}`, String(v));
  await page.click('#train-run');
  if (whileRunning) await whileRunning();
  await page.waitForFunction(() => ['done', 'stopped', 'failed'].includes(document.getElementById('train-status')!.dataset.state!), null, { timeout: 300_000 });
  return (await pageState(page)).training!;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const SETTINGS: Omit<RunSettings, 'objective'> = { preset: 'tiny', batch: 2, steps: 6, lr: 2e-3, seed: 7 };

describe('pre-training in the page (headless Chromium)', () => {
  it('under WebGPU\'s default limits and without optional features, each objective trains: the loss goes down, and the first losses equal the same run under Node within 1e-3; screenshot kept', async () => {
    // The device asked for without raised limits or features (no subgroups, no timestamps): what every browser grants (TESTED_LIMITS).
    const { page, errors } = await open('?autotune=0', () => {
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = function (d) {
        return request.call(this, { ...d, requiredLimits: {}, requiredFeatures: [] });
      };
    });
    await page.waitForFunction(() => ['passed', 'failed', 'unavailable'].includes(document.getElementById('check')!.dataset.state!), null, { timeout: 120_000 });
    expect(await page.locator('#check').getAttribute('data-state')).toBe('passed');
    await expect(page.locator('#adapter').textContent()).resolves.toMatch(/features: shader-f16 no, subgroups no, timestamp-query no.*maxStorageBuffersPerShaderStage8$/);
    const rt = await getRuntime();
    for (const objective of OBJECTIVES as ObjectiveName[]) {
      const settings = { ...SETTINGS, objective };
      const t = await trainInPage(page, settings);
      expect(t.error, objective).toBeUndefined();
      expect(t.state, objective).toBe('done');
      expect(t.losses, objective).toHaveLength(6);
      expect(mean(t.losses.slice(-2)), objective).toBeLessThan(mean(t.losses.slice(0, 2)));
      // The same run under Node: the directory the server ships, the same config.
      const store = new MemoryRun('node');
      await runPretraining(rt, pageTrainConfig(settings, data), { store });
      const node = store.records.filter((r) => r.kind === 'train').map((r) => r.loss as number);
      for (let i = 0; i < 3; i++) expect(Math.abs(t.losses[i] - node[i]) / Math.abs(node[i]), `${objective} step ${i + 1}: page ${t.losses[i]}, Node ${node[i]}`).toBeLessThan(1e-3);
    }
    const shown = await pageState(page);
    expect(shown.corpus!.location).toBe(`${url}data`);
    // SwiftShader grants no shader-f16: mixed precision is offered disabled, saying why.
    expect(await page.locator('#train-precision option').allTextContents()).toEqual(['f32', 'f16 (no shader-f16 here)']);
    expect(await page.locator('#train-precision option[value=f16]').isDisabled()).toBe(true);
    await expect(page.locator('#train-status').textContent()).resolves.toMatch(/^electra, tiny: done after 6 steps — loss [\d.]+ → [\d.]+, \d+ tokens\/s; validation loss [\d.]+$/);
    expect(await page.locator('#train-plot svg').count()).toBe(1);
    await expect(page.locator('#train-plot').textContent()).resolves.toMatch(/pre-training loss/);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}web-training.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);

  it('Stop ends a long run cleanly after the step in flight; the page answers while it trains', async () => {
    const { page, errors } = await open('?autotune=0');
    let answered = Infinity;
    const t = await trainInPage(page, { ...SETTINGS, objective: 'rts', steps: 5000 }, async () => {
      await page.waitForFunction(() => ((window as unknown as { electrolite: { training?: TrainingState } }).electrolite.training?.losses.length ?? 0) >= 2, null, { timeout: 120_000 });
      const t0 = Date.now();
      await page.evaluate(() => document.getElementById('train-status')!.textContent);
      answered = Date.now() - t0;
      await page.click('#train-stop');
    });
    expect(t.state).toBe('stopped');
    expect(t.summary!.stopped).toBe(true);
    expect(t.summary!.steps).toBeGreaterThanOrEqual(2);
    expect(t.summary!.steps).toBeLessThan(50);
    // The step loop yields between steps: a script's call is answered within a step or so.
    expect(answered).toBeLessThan(5_000);
    await expect(page.locator('#train-status').textContent()).resolves.toMatch(/^rts, tiny: stopped after \d+ steps/);
    expect(await (page.locator('#train-run')).isDisabled()).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('compares the step costs of every objective on this device, with the study\'s step-time plot', async () => {
    const { page, errors } = await open('?autotune=0');
    await page.waitForFunction(() => !(document.getElementById('cost-run') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
    await page.fill('#cost-batch', '2');
    await page.fill('#cost-steps', '1');
    await page.click('#cost-run');
    await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('cost')!.dataset.state!), null, { timeout: 300_000 });
    const { stepCosts, error } = await pageState(page);
    expect(error).toBeUndefined();
    expect(stepCosts!.map((r) => r.objective)).toEqual(OBJECTIVES);
    for (const r of stepCosts!) {
      expect(r.ms).toBeGreaterThan(0);
      expect(r.tokensPerSecond).toBe(Math.round((2 * 32 * 1000) / r.ms));
      if (r.objective !== 'mlm') expect(r.vsMlm).toBeCloseTo(r.ms / stepCosts![0].ms, 1);
    }
    expect(await page.locator('#cost-plot svg').count()).toBe(1);
    await expect(page.locator('#cost-plot').textContent()).resolves.toMatch(/time per optimizer step/);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('`bench page` measures the page as a visitor uses it (kernel benchmark, a run, the step costs); bad arguments exit 2', () => {
    const r = spawnSync(process.execPath, [CLI, 'bench', 'page', '--json', '--data', data, '--objectives', 'rts', '--batch', '2', '--steps', '3', '--cost-steps', '1', '--chromium', CHROMIUM], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.browser).toMatch(/^Chromium \d+/);
    expect(report.adapter.kind).toBe('swiftshader');
    expect(report.corpus).toMatchObject({ vocabSize: 1000, seqLen: 32 });
    expect(report.kernels.map((k: { kernel: string; shape: string }) => `${k.kernel} ${k.shape}`)).toEqual(['matmul 256x256x256']);
    expect(report.kernels[0].gflops).toBeGreaterThan(0);
    expect(report.training).toHaveLength(1);
    expect(report.training[0]).toMatchObject({ objective: 'rts', steps: 3 });
    expect(report.training[0].lastLoss).toBeLessThan(report.training[0].firstLoss);
    expect(report.stepCosts.map((c: StepCost) => c.objective)).toEqual(OBJECTIVES);
    expect(r.stderr).toMatch(/browser: Chromium .*; adapter: google swiftshader \(swiftshader\)/);
    const noBrowser = spawnSync(process.execPath, [CLI, 'bench', 'page', '--chromium', '/nonexistent/chromium'], { encoding: 'utf8' });
    expect(noBrowser.status).toBe(2);
    expect(noBrowser.stderr).toMatch(/bench page: no Chromium at \/nonexistent\/chromium \(apt-get install chromium, or --chromium PATH\)/);
    const preset = spawnSync(process.execPath, [CLI, 'bench', 'page', '--preset', 'huge'], { encoding: 'utf8' });
    expect(preset.status).toBe(2);
    expect(preset.stderr).toMatch(/bench page: unknown --preset 'huge'/);
  }, 300_000);

  it('a corpus that cannot be fetched is named in the page', async () => {
    const { page } = await open('?autotune=0&data=nowhere/');
    await page.waitForFunction(() => !(document.getElementById('train-run') as HTMLButtonElement).disabled, null, { timeout: 120_000 });
    await page.click('#train-run');
    await page.waitForSelector('#problem.shown', { timeout: 60_000 });
    await expect(page.locator('#problem').textContent()).resolves.toBe(`the pre-training run failed: ${url}nowhere/manifest.json: 404 Not Found`);
    expect(await page.locator('#train-status').getAttribute('data-state')).toBe('failed');
    await page.close();
  }, 120_000);
});
