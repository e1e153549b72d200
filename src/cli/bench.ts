// `electrolite bench <suite>`: each suite's arguments are parsed here, and its runtime made,
// then the suite runs from bench/ (bundled into the CLI), which prints nothing itself: its
// notes go to stderr, its table (or, with --json, its report) to stdout.
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { parse, ADAPTER_OPTION, UsageError, numberOption } from './args.js';
import { cliRuntime } from './runtime.js';
import { trainingData } from './demo-data.js';
import { OBJECTIVES, type ObjectiveName } from '../objectives/registry.js';
import { PRESETS, type PresetName } from '../model/config.js';
import { PRECISIONS, precisionUnavailable, type Precision } from '../model/precision.js';
import { ATTENTION_ALGORITHMS, type AttentionAlgorithm } from '../kernels/attention.js';
import { benchKernels } from '../../bench/kernels.js';
import { benchData, formatDataBench } from '../../bench/data.js';
import { benchSteps } from '../../bench/steps.js';
import { benchTrain, torchPeerProblem } from '../../bench/train.js';
import { loadTfjs, tfjsPeerModule, type TfjsPeerRuntime } from '../../bench/tfjs.js';
import { adapterName, benchPage } from '../../bench/page.js';
import { startWebServer } from './web.js';

const say = (line: string) => process.stderr.write(line + '\n');
const stdout = (text: string) => process.stdout.write(text);
const printJson = (x: unknown) => process.stdout.write(JSON.stringify(x, null, 2) + '\n');

/**
 * With --json, a run stopped by SIGTERM or SIGINT (`timeout`, Ctrl-C: bench/remote/run.sh
 * gives each part a time limit) still prints what it measured: the report so far with
 * `"partial": true`, then exits 128 + the signal's number. The handler stays installed (a
 * second signal, e.g. forwarded by the parent process, changes nothing).
 */
function printPartialOnStop(): (report: object) => void {
  let report: object | null = null, stopping = false;
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (report) printJson({ ...report, partial: true });
    process.exit(128 + (osConstants.signals[sig] ?? 1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return (r) => (report = r);
}

/** `bench kernels [--json] [--adapter A] [--filter S] [--tilings] [--no-tfjs] [--no-autotune]` */
async function kernelsCommand(argv: string[]): Promise<number> {
  const { values } = parse('bench kernels', argv, {
    ...ADAPTER_OPTION,
    json: { type: 'boolean' },
    filter: { type: 'string' },
    'no-tfjs': { type: 'boolean' },
    'no-autotune': { type: 'boolean' },
    tilings: { type: 'boolean' },
  });
  const json = Boolean(values.json);
  const rt = await cliRuntime(values.adapter, json);
  const report = await benchKernels(rt, {
    filter: values.filter,
    tfjs: !values['no-tfjs'],
    autotune: values['no-autotune'] ? false : undefined,
    tilings: Boolean(values.tilings),
    log: say, // stderr, also with --json
    table: json ? undefined : stdout,
    started: json ? printPartialOnStop() : undefined,
  });
  if (json) printJson(report);
  rt.destroy();
  return 0;
}

/** `bench data [--json] [--mb N]` */
async function dataCommand(argv: string[]): Promise<number> {
  const { values } = parse('bench data', argv, { json: { type: 'boolean' }, mb: { type: 'string' } });
  const mb = values.mb !== undefined ? numberOption('bench data', 'mb', values.mb, { above: 0 }) : undefined;
  const result = benchData({ mb });
  if (values.json) printJson(result);
  else stdout(formatDataBench(result));
  return 0;
}

/** `bench steps [--adapter A] [--json] [--preset tiny] [--batch 8] [--objectives mlm,…] [--steps 6] [--attention auto|fused|materialized|both] [--data DIR] [--profile N]` */
async function stepsCommand(argv: string[]): Promise<number> {
  const { values } = parse('bench steps', argv, {
    ...ADAPTER_OPTION,
    json: { type: 'boolean' },
    preset: { type: 'string', default: 'tiny' },
    batch: { type: 'string', default: '8' },
    objectives: { type: 'string', default: OBJECTIVES.join(',') },
    steps: { type: 'string', default: '6' },
    attention: { type: 'string', default: 'auto' },
    data: { type: 'string' },
    profile: { type: 'string' },
    precision: { type: 'string', default: 'f32' },
  });
  const preset = values.preset as PresetName;
  const precision = values.precision as Precision;
  if (!PRECISIONS.includes(precision)) throw new UsageError(`bench steps: unknown --precision '${precision}' (expected ${PRECISIONS.join(', ')})`);
  if (!(preset in PRESETS)) throw new UsageError(`bench steps: unknown --preset '${preset}' (expected ${Object.keys(PRESETS).join(', ')})`);
  const batch = numberOption('bench steps', 'batch', values.batch, { int: true, min: 1 });
  const steps = numberOption('bench steps', 'steps', values.steps, { int: true, min: 1 });
  const profile = values.profile === undefined ? 0 : numberOption('bench steps', 'profile', values.profile, { int: true, min: 0 });
  const objectives = objectivesOption('bench steps', values.objectives!);
  const att = values.attention!;
  if (att !== 'auto' && att !== 'both' && !(ATTENTION_ALGORITHMS as readonly string[]).includes(att))
    throw new UsageError(`bench steps: unknown --attention '${att}' (expected auto, both, ${ATTENTION_ALGORITHMS.join(', ')})`);
  const attentions: (AttentionAlgorithm | 'auto')[] = att === 'both' ? [...ATTENTION_ALGORITHMS] : [att as AttentionAlgorithm | 'auto'];
  const json = Boolean(values.json);

  const data = await trainingData(values.data);
  const rt = await cliRuntime(values.adapter, json);
  const unavailable = precisionUnavailable(rt, precision);
  if (unavailable) throw new Error(`bench steps: ${unavailable}`);
  const report = await benchSteps(rt, { data, preset, batch, objectives, steps, attentions, precision, profile, log: say, table: json ? undefined : stdout });
  if (json) printJson(report);
  rt.destroy();
  return 0;
}

function objectivesOption(suite: string, text: string): ObjectiveName[] {
  const objectives = text.split(',').map((o) => o.trim()) as ObjectiveName[];
  for (const o of objectives) if (!OBJECTIVES.includes(o)) throw new UsageError(`${suite}: unknown objective '${o}' (expected ${OBJECTIVES.join(', ')})`);
  return objectives;
}

/** `bench train [--adapter A] [--json] [--model tiny[,mini,…]] [--batch 32] [--objectives mlm,…] [--steps 6] [--precision f32|f16|f32,f16] [--vs torch] [--data DIR]` */
async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parse('bench train', argv, {
    ...ADAPTER_OPTION,
    json: { type: 'boolean' },
    model: { type: 'string', default: 'tiny' },
    batch: { type: 'string', default: '32' },
    objectives: { type: 'string', default: OBJECTIVES.join(',') },
    steps: { type: 'string', default: '6' },
    precision: { type: 'string', default: 'f32' },
    vs: { type: 'string' },
    data: { type: 'string' },
  });
  const models = values.model!.split(',').map((m) => m.trim()) as PresetName[];
  for (const m of models) if (!(m in PRESETS)) throw new UsageError(`bench train: unknown --model '${m}' (expected ${Object.keys(PRESETS).join(', ')})`);
  const precisions = values.precision!.split(',').map((x) => x.trim()) as Precision[];
  for (const p of precisions) if (!PRECISIONS.includes(p)) throw new UsageError(`bench train: unknown --precision '${p}' (expected ${PRECISIONS.join(', ')}, or both: f32,f16)`);
  const batch = numberOption('bench train', 'batch', values.batch, { int: true, min: 1 });
  const steps = numberOption('bench train', 'steps', values.steps, { int: true, min: 1 });
  const objectives = objectivesOption('bench train', values.objectives!);
  // Optional peers, checked before any GPU work: --vs torch,tfjs (either or both).
  const peers = values.vs === undefined ? [] : values.vs.split(',').map((x) => x.trim());
  for (const p of peers) if (p !== 'torch' && p !== 'tfjs') throw new UsageError(`bench train: unknown --vs '${p}' (expected torch or tfjs)`);
  let torch: { python: string } | undefined;
  if (peers.includes('torch')) {
    const python = process.env.ELECTROLITE_PYTHON || 'python3';
    const problem = torchPeerProblem(python);
    if (problem) throw new UsageError(`bench train: --vs torch needs a Python with torch and transformers (ELECTROLITE_PYTHON chooses one): ${problem}`);
    torch = { python };
  }
  if (peers.includes('tfjs') && !tfjsPeerModule())
    throw new UsageError('bench train: --vs tfjs needs dist/tfjs-peer.mjs, which `node build.mjs` makes when the devDependencies (@tensorflow/tfjs-core, @tensorflow/tfjs-backend-webgpu) are installed');
  const json = Boolean(values.json);
  const data = await trainingData(values.data);
  const rt = await cliRuntime(values.adapter, json);
  const unavailable = precisions.map((p) => precisionUnavailable(rt, p)).find(Boolean);
  if (unavailable) throw new Error(`bench train: ${unavailable}`);
  let tfjs: TfjsPeerRuntime | undefined;
  if (peers.includes('tfjs')) {
    const loaded = await loadTfjs(rt);
    if (typeof loaded === 'string') throw new Error(`bench train: --vs tfjs: ${loaded}`);
    tfjs = loaded;
  }
  const report = await benchTrain(rt, { data, models, batch, objectives, steps, precisions, torch, tfjs, log: say, table: json ? undefined : stdout, started: json ? printPartialOnStop() : undefined });
  if (json) printJson(report);
  rt.destroy();
  return 0;
}

/** `bench page [--json] [--chromium PATH] [--filter S] [--objectives mlm,rts,crts] [--preset tiny] [--batch 8] [--steps 10] [--cost-steps 3] [--lr 1e-3] [--data DIR] [--screenshot FILE]` */
async function pageCommand(argv: string[]): Promise<number> {
  const { values } = parse('bench page', argv, {
    json: { type: 'boolean' },
    chromium: { type: 'string', default: process.env.ELECTROLITE_CHROMIUM || '/usr/bin/chromium' },
    filter: { type: 'string', default: 'matmul 256x' },
    objectives: { type: 'string', default: 'mlm,rts,crts' },
    preset: { type: 'string', default: 'tiny' },
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '10' },
    'cost-steps': { type: 'string', default: '3' },
    lr: { type: 'string', default: '1e-3' },
    data: { type: 'string' },
    screenshot: { type: 'string' },
  });
  const preset = values.preset as PresetName;
  if (!(preset in PRESETS)) throw new UsageError(`bench page: unknown --preset '${preset}' (expected ${Object.keys(PRESETS).join(', ')})`);
  const batch = numberOption('bench page', 'batch', values.batch, { int: true, min: 1 });
  const steps = numberOption('bench page', 'steps', values.steps, { int: true, min: 1 });
  const costSteps = numberOption('bench page', 'cost-steps', values['cost-steps'], { int: true, min: 1 });
  const lr = numberOption('bench page', 'lr', values.lr, { above: 0 });
  const objectives = objectivesOption('bench page', values.objectives!);
  if (!existsSync(values.chromium!)) throw new UsageError(`bench page: no Chromium at ${values.chromium} (apt-get install chromium, or --chromium PATH)`);
  const data = await trainingData(values.data);
  const server = await startWebServer(data);
  try {
    const report = await benchPage({ url: `${server.url}?autotune=0`, chromium: values.chromium!, filter: values.filter!, objectives, preset, batch, steps, costSteps, lr, screenshot: values.screenshot, log: say });
    if (values.json) printJson(report);
    else {
      stdout(`${report.browser}, ${adapterName(report.adapter)} (${report.adapter.kind}); ${preset}, batch ${batch} × ${report.corpus.seqLen}\n`);
      for (const r of report.kernels) stdout(`kernel   ${`${r.kernel} ${r.shape}`.padEnd(36)} ${String(r.ms).padStart(9)} ms  ${r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : ''}\n`);
      for (const r of report.training) stdout(`train    ${r.objective.padEnd(36)} ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}, ${r.tokensPerSecond} tokens/s over ${r.seconds} s\n`);
      for (const r of report.stepCosts) stdout(`step     ${r.objective.padEnd(36)} ${String(r.ms).padStart(9)} ms  ${r.tokensPerSecond} tokens/s${r.vsMlm !== undefined ? `  ${r.vsMlm.toFixed(2)}× MLM` : ''}\n`);
    }
  } finally {
    await server.close();
  }
  return 0;
}

const SUITES: Record<string, (argv: string[]) => Promise<number>> = {
  kernels: kernelsCommand,
  data: dataCommand,
  steps: stepsCommand,
  train: trainCommand,
  page: pageCommand,
};

export async function benchCommand(argv: string[]): Promise<number> {
  const [suite, ...rest] = argv;
  const run = suite ? SUITES[suite] : undefined;
  if (!run) throw new UsageError(`bench: ${suite ? `unknown suite '${suite}'` : 'which suite?'} (available: ${Object.keys(SUITES).join(', ')})`);
  return run(rest);
}
