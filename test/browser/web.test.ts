// The web page in a real browser: `electrolite web` serves dist/web/ (built from src/web/ by
// the build) and Debian's Chromium, driven headless by playwright-core with WebGPU on its CPU
// adapter (SwiftShader: subgroups and timestamp-query, no shader-f16), loads it. Checked: no
// console errors; the adapter shown; the in-page kernel check against the float64
// references passes; the benchmark's JSON has the fields and layout of `bench kernels
// --json`; without WebGPU the page says so. A screenshot after the run is kept in
// test/output/ (ignored by git) for a person to look at. `.ci/run` installs chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const OUTPUT = fileURLToPath(new URL('../output/', import.meta.url));
const CHROMIUM = process.env.ELECTROLITE_CHROMIUM || '/usr/bin/chromium';
// As the machine probe found Chromium usable here: no sandbox as root, no background network.
const ARGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let server: ChildProcess;
let url = '';
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it; ELECTROLITE_CHROMIUM names another)`);
  server = spawn(process.execPath, [CLI, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += String(d);
      const m = /on (http:\/\/\S+\/)/.exec(out);
      if (m) ok(m[1]);
    });
    server.once('exit', (code) => fail(new Error(`electrolite web exited (${code}) before serving: ${out}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
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

  it('a browser without WebGPU gets a message in the page saying what is missing', async () => {
    const { page } = await open('', () => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
    await page.waitForSelector('#problem.shown', { timeout: 60_000 });
    await expect(page.locator('#problem').textContent()).resolves.toMatch(/WebGPU is not available here: this browser has no WebGPU \(navigator\.gpu is undefined\)/);
    expect(await page.locator('#check').getAttribute('data-state')).toBe('unavailable');
    await page.close();
  }, 120_000);
});
