// The web page measured as a visitor would use it (`electrolite bench page`): headless
// Chromium (playwright-core, a devDependency, driving an installed Chromium; nothing
// downloaded) opens the served page with WebGPU on, waits for the kernel check, runs the
// kernel benchmark with a filter, pre-trains each objective for a few steps through the page's
// form, then runs its step-cost comparison, and reads every figure from the page's state
// (window.electrolite). The server is the caller's (the CLI serves dist/web/ with a corpus).
import type { KernelBenchReport } from './kernels.js';
import type { ObjectiveName } from '../src/objectives/registry.js';
import type { PresetName } from '../src/model/config.js';
import type { PretrainSummary } from '../src/train/loop.js';

/** What the page (src/web/) exposes of its runs for scripts: this driver and the browser tests. */
export interface TrainingState {
  objective: ObjectiveName;
  state: 'running' | 'done' | 'stopped' | 'failed';
  /** Every step's training loss, in order. */
  losses: number[];
  tokensPerSecond: number;
  summary?: PretrainSummary;
  error?: string;
}
export interface StepCost {
  objective: ObjectiveName;
  ms: number;
  tokensPerSecond: number;
  vsMlm?: number;
}


export interface PageBenchOptions {
  /** The served page, ending in '/'. */
  url: string;
  /** The Chromium binary. */
  chromium: string;
  /** The kernel benchmark's filter (bench kernels' case names). */
  filter: string;
  objectives: ObjectiveName[];
  preset: PresetName;
  batch: number;
  /** Training steps per objective, and timed steps of the step-cost comparison. */
  steps: number;
  costSteps: number;
  lr: number;
  /** Keep a screenshot of the page at the end here. */
  screenshot?: string;
  log?: (line: string) => void;
}

export interface PageBenchReport {
  browser: string;
  adapter: { vendor: string; architecture: string; description: string; kind: string; backend: string; features: string[] };
  corpus: { location: string; vocabSize: number; seqLen: number; sequences: number };
  kernels: KernelBenchReport['results'];
  training: { objective: ObjectiveName; steps: number; firstLoss: number; lastLoss: number; seconds: number; tokensPerSecond: number }[];
  stepCosts: StepCost[];
}

/** Chromium's flags for WebGPU headless on a machine without a display or sandbox (root). */
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

interface PageState {
  adapter?: PageBenchReport['adapter'];
  corpus?: PageBenchReport['corpus'];
  check?: { ok: boolean }[];
  bench?: KernelBenchReport;
  training?: TrainingState;
  stepCosts?: StepCost[];
  error?: string;
}

/** The adapter as the page names it (browsers often leave the description empty). */
export const adapterName = (a: PageBenchReport['adapter']) => a.description || `${a.vendor} ${a.architecture}`.trim();

export async function benchPage(o: PageBenchOptions): Promise<PageBenchReport> {
  const say = o.log ?? (() => {});
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`bench page needs playwright-core (a devDependency: npm install in the repository) — ${(e as Error).message}`);
  }
  const browser = await chromium.launch({ executablePath: o.chromium, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const state = () => page.evaluate(() => (window as unknown as { electrolite: PageState }).electrolite);
    const failed = async (what: string) => {
      const s = await state();
      return new Error(`bench page: ${what}: ${s.error ?? (errors.join('; ') || 'no message')}`);
    };
    await page.goto(o.url);
    await page.waitForFunction(() => ['passed', 'failed', 'unavailable'].includes(document.getElementById('check')!.dataset.state!), null, { timeout: 600_000 });
    if ((await page.locator('#check').getAttribute('data-state')) !== 'passed') throw await failed('the kernel check did not pass');
    const adapter = (await state()).adapter!;
    say(`browser: Chromium ${browser.version()}; adapter: ${adapterName(adapter)} (${adapter.kind})`);

    await page.fill('#bench-filter', o.filter);
    await page.click('#bench-run');
    await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('bench')!.dataset.state!), null, { timeout: 3_600_000 });
    const bench = (await state()).bench;
    if (!bench) throw await failed('the kernel benchmark failed');
    for (const r of bench.results) say(`kernel ${r.kernel} ${r.shape}: ${r.ms} ms${r.gflops !== undefined ? `, ${r.gflops.toFixed(2)} GFLOP/s` : ''}`);

    const training: PageBenchReport['training'] = [];
    await page.selectOption('#train-model', o.preset);
    for (const objective of o.objectives) {
      await page.selectOption('#train-objective', objective);
      for (const [id, v] of [['batch', o.batch], ['steps', o.steps], ['lr', o.lr]] as const) await page.fill(`#train-${id}`, String(v));
      await page.click('#train-run');
      await page.waitForFunction(() => ['done', 'stopped', 'failed'].includes(document.getElementById('train-status')!.dataset.state!), null, { timeout: 3_600_000 });
      const t = (await state()).training;
      if (!t?.summary || t.state !== 'done') throw await failed(`pre-training ${objective} failed`);
      const s = t.summary;
      training.push({ objective, steps: s.steps, firstLoss: s.firstLoss, lastLoss: s.lastLoss, seconds: Number(s.seconds.toFixed(2)), tokensPerSecond: Math.round(s.tokensPerSecond) });
      say(`train ${objective}: ${s.steps} steps, loss ${s.firstLoss.toFixed(3)} → ${s.lastLoss.toFixed(3)}, ${Math.round(s.tokensPerSecond)} tokens/s (first step's compilation included)`);
    }

    await page.fill('#cost-batch', String(o.batch));
    await page.fill('#cost-steps', String(o.costSteps));
    await page.click('#cost-run');
    await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('cost')!.dataset.state!), null, { timeout: 3_600_000 });
    if ((await page.locator('#cost').getAttribute('data-state')) !== 'done') throw await failed('the step-cost comparison failed');
    const final = await state();
    for (const r of final.stepCosts!) say(`step ${r.objective}: ${r.ms} ms, ${r.tokensPerSecond} tokens/s${r.vsMlm !== undefined ? `, ${r.vsMlm}× MLM` : ''}`);
    if (o.screenshot) await page.screenshot({ path: o.screenshot, fullPage: true });
    return { browser: `Chromium ${browser.version()}`, adapter, corpus: final.corpus!, kernels: bench.results, training, stepCosts: final.stepCosts! };
  } finally {
    await browser.close();
  }
}
