// Training throughput against what the adapter can do (`electrolite bench train`): for each
// model size and objective, one optimizer step's median time and tokens/s, the model FLOPs
// per token from the objective's own formula (src/model/flops.ts), and the model FLOP
// utilisation against the best matmul this adapter runs at the step's own largest product —
// so a figure says how far the step is from the adapter's limit, not only how fast it is —
// and against the datasheet peak where the device is known. The step, that matmul and the
// TensorFlow.js peer's step are timed in alternating rounds (one of each per round, each
// step after an untimed one of its own; medians over `steps` rounds), so the drift of a
// shared machine falls on both sides of every ratio. Peak memory is the pool's high-water
// mark over the timed steps. The FLOPs count every position (the dense-equivalent the peers
// compute); beside them, the work the timed batches needed at their real positions (the
// kernels skip padding). With several sizes the table shows how tokens/s and memory
// grow with the model. With several
// precisions (`--precision f32,f16`) each objective runs in each, one right after the other,
// and an f16 row is compared with its f32 row (vs_f32) and with the best f16-input matmul.
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runtime } from '../src/gpu/runtime.js';
import type { AcquiredDevice, AdapterDescription } from '../src/gpu/adapter.js';
import type { EncoderConfig, PresetName } from '../src/model/config.js';
import type { Precision } from '../src/model/precision.js';
import { TRAINING_FLOPS_PER_FORWARD } from '../src/model/flops.js';
import { readManifest } from '../src/data/shards.js';
import type { Trainer } from '../src/train/trainer.js';
import type { PretrainGraph } from '../src/objectives/registry.js';
import { objectiveModule, type ObjectiveName } from '../src/objectives/registry.js';
import { setAutotuneDefaults } from '../src/kernels/autotune.js';
import { stepBenchConfig, timeStep, warmTrainer } from './steps.js';
import { matmulCase } from './cases-matmul.js';
import { median, timeOps } from './harness.js';
import type { TfjsPeerRuntime } from './tfjs.js';
import { tfjsResult, tfjsTrainer } from './peers/tfjs_train.js';

export interface TrainBenchOptions {
  /** A directory made by `prepare`. */
  data: string;
  models: PresetName[];
  batch: number;
  /** In this order; `vs_mlm` needs MLM earlier in the list. */
  objectives: ObjectiveName[];
  /** Timed rounds per objective: a step of ours, the matmul, a step of the tfjs peer (each step after an untimed one of its own). */
  steps: number;
  /** Each objective in each, alternating (default ['f32']). */
  precisions?: Precision[];
  /** The PyTorch peer (bench/peers/torch_train.py) run beside each objective it has, with this Python. */
  torch?: { python: string };
  /** The TensorFlow.js peer (bench/peers/tfjs_train.ts) on its WebGPU backend, run beside each objective it has. */
  tfjs?: TfjsPeerRuntime;
  log?: (line: string) => void;
  table?: (text: string) => void;
  /** Called once, before the first row, with the report that the rows then fill (a caller stopped early may print what it holds). */
  started?: (report: TrainBenchReport) => void;
}

/** One row of `bench train --json` (the field names are the issue's, snake_case). */
export interface TrainBenchResult {
  model: PresetName;
  objective: ObjectiveName;
  precision: Precision;
  batch: number;
  seq_len: number;
  tokens_per_s: number;
  step_ms: number;
  /** Training FLOPs per token: 3 × the objective's forward FLOPs (src/model/flops.ts). */
  flops_per_token: number;
  /** Model FLOP/s over best_matmul_gflops. */
  mfu_vs_matmul: number;
  /**
   * The timed steps' real (non-padding) positions over all positions, and the training FLOPs
   * a position those steps needed: the formula taken per sequence at its own length L (its
   * attention products L long, the MLM head at 15 % of its L tokens), summed and divided by
   * batch × seq_len. The kernels skip padding, so this is the work done; flops_per_token is
   * the dense-equivalent (every position, as the peers compute it).
   */
  real_token_fraction: number;
  real_flops_per_token: number;
  /** Real model FLOP/s (real_flops_per_token) over best_matmul_gflops. */
  mfu_real_vs_matmul: number;
  /** The autotuned matmul at the step's largest product (best_matmul_shape, M×K×N), this run. */
  best_matmul_gflops: number;
  best_matmul_shape: string;
  /** Model FLOP/s over the device's datasheet f32 peak, where the device is in DATASHEET_F32_TFLOPS. */
  mfu_vs_peak?: number;
  peak_mem_mb: number;
  /** This step's time over MLM's (same model, same run). */
  vs_mlm?: number;
  /** This step's time over ELECTRA's (same model, same run; the issue's RTS/C-RTS target). */
  vs_electra?: number;
  /** An f16 step's time over the f32 step of the same model and objective, run just before it. */
  vs_f32?: number;
  /** The PyTorch peer's tokens/s on the CPU for the same sizes and objective, run right after ours, and ours over it. */
  torch_tokens_per_s?: number;
  vs_torch?: number;
  /** The TensorFlow.js peer's tokens/s (WebGPU backend, same kind of adapter), run right after ours; ours over it; its first step's loss. */
  tfjs_tokens_per_s?: number;
  vs_tfjs?: number;
  tfjs_first_loss?: number;
}

export interface TrainBenchReport {
  adapter: AdapterDescription & Pick<AcquiredDevice, 'kind' | 'backend'>;
  model: string;
  results: TrainBenchResult[];
}

/** The objectives the peers (bench/peers/torch_train.py, tfjs_train.ts) train. */
const PEER_OBJECTIVE: Record<ObjectiveName, 'mlm' | 'rts' | null> = { mlm: 'mlm', slm: null, rts: 'rts', crts: null, electra: null };

/** bench/peers/torch_train.py (beside bench/ from dist/ and from bench/ alike). */
export const TORCH_PEER_SCRIPT = fileURLToPath(new URL('../bench/peers/torch_train.py', import.meta.url));

/** Whether `python` can run the PyTorch peer; else why not. */
export function torchPeerProblem(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch, transformers'], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return `${python}: ${r.error.message}`;
  if (r.status !== 0) return `${python} cannot import torch and transformers: ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

function runTorchPeer(python: string, cfg: EncoderConfig, objective: 'mlm' | 'rts', batch: number, T: number, steps: number): { tokens_per_s: number; step_ms: number; threads: number } {
  const args = [TORCH_PEER_SCRIPT, '--hidden', cfg.hiddenSize, '--layers', cfg.numLayers, '--heads', cfg.numHeads, '--intermediate', cfg.intermediateSize, '--vocab', cfg.vocabSize, '--batch', batch, '--seq-len', T, '--steps', steps, '--objectives', objective].map(String);
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`the PyTorch peer failed (${python} ${args.join(' ')}): ${(r.stderr || String(r.error)).trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Whether an objective's step has a vocabulary-sized product (an MLM-style head, ELECTRA's generator's). */
const VOCABULARY_HEAD: Record<ObjectiveName, boolean> = { mlm: true, slm: true, rts: false, crts: false, electra: true };

/**
 * The step's largest product by FLOPs, M×K×N: the encoder's (rows B·T: q/k/v fused, the
 * FFN's two) or the vocabulary decoder's at the selected positions (≈ maskProb · B·T rows).
 */
/**
 * The real positions of the given steps' batches and the training FLOPs they needed:
 * `flopsOf(L)` for a sequence of length L (one past its last non-pad token, at least 1, as the
 * GPU's sequence_lengths computes it), summed, both per position of those batches.
 */
export function realWork(tr: Trainer<PretrainGraph>, steps: readonly number[], pad: number, flopsOf: (L: number) => number): { fraction: number; flopsPerPosition: number } {
  const src = tr.task.train, T = tr.seqLen;
  let positions = 0, real = 0, flops = 0;
  for (const k of steps) {
    const ids = src.batch(Math.floor(k / src.stepsPerEpoch), k % src.stepsPerEpoch).ids;
    for (let row = 0; row + T <= ids.length; row += T) {
      let L = T;
      while (L > 1 && ids[row + L - 1] === pad) L--;
      positions += T;
      real += L;
      flops += flopsOf(L);
    }
  }
  return { fraction: real / positions, flopsPerPosition: flops / positions };
}

export function largestMatmul(cfg: EncoderConfig, objective: ObjectiveName, rows: number, maskProb: number): { M: number; K: number; N: number } {
  const h = cfg.hiddenSize, F = cfg.intermediateSize;
  const shapes = [
    { M: rows, K: h, N: 3 * h },
    { M: rows, K: h, N: F },
    { M: rows, K: F, N: h },
  ];
  if (VOCABULARY_HEAD[objective]) shapes.push({ M: Math.max(1, Math.round(maskProb * rows)), K: h, N: cfg.vocabSize });
  return shapes.reduce((a, b) => (b.M * b.K * b.N > a.M * a.K * a.N ? b : a));
}

/**
 * Datasheet f32 (non-tensor) peaks, TFLOP/s, by a pattern of the adapter's description:
 * only devices whose figure is published. CPU adapters have none. The first match counts,
 * so a board's variants (PCIe, NVL: lower clocks and power) come before its SXM part, which
 * Vulkan names by its memory ("NVIDIA H100 80GB HBM3").
 */
export const DATASHEET_F32_TFLOPS: { pattern: RegExp; tflops: number; source: string }[] = [
  { pattern: /H200 NVL/i, tflops: 60, source: 'NVIDIA H200 NVL datasheet: FP32 60 TFLOPS' },
  { pattern: /H200/i, tflops: 67, source: 'NVIDIA H200 SXM datasheet: FP32 67 TFLOPS' },
  { pattern: /H100 PCIe/i, tflops: 51, source: 'NVIDIA H100 PCIe datasheet: FP32 51 TFLOPS' },
  { pattern: /H100 NVL/i, tflops: 60, source: 'NVIDIA H100 NVL datasheet: FP32 60 TFLOPS' },
  { pattern: /H100/i, tflops: 67, source: 'NVIDIA H100 SXM datasheet: FP32 67 TFLOPS' },
  { pattern: /A100/i, tflops: 19.5, source: 'NVIDIA A100 datasheet: FP32 19.5 TFLOPS' },
  { pattern: /\bL4\b/i, tflops: 30.3, source: 'NVIDIA L4 datasheet: FP32 30.3 TFLOPS' },
  { pattern: /\bT4\b/i, tflops: 8.1, source: 'NVIDIA T4 datasheet: FP32 8.1 TFLOPS' },
];

/** The datasheet f32 peak of the device an adapter describes, or undefined where none is known. */
export function datasheetPeak(description: string): { tflops: number; source: string } | undefined {
  return DATASHEET_F32_TFLOPS.find((d) => d.pattern.test(description));
}

export async function benchTrain(rt: Runtime, o: TrainBenchOptions): Promise<TrainBenchReport> {
  const say = o.log ?? (() => {});
  const table = o.table;
  setAutotuneDefaults({ log: say });
  const desc = `${rt.gpu.adapter.description}`;
  const peak = datasheetPeak(desc);
  say(`adapter: ${desc} (${rt.gpu.kind}); batch ${o.batch}; medians of ${o.steps} rounds (a step of ours, the matmul, a step of the tfjs peer, each step after an untimed one of its own); ${peak ? `datasheet peak ${peak.tflops} TFLOP/s (${peak.source})` : 'no datasheet peak known'}`);
  table?.(`${'model'.padEnd(6)} ${'objective'.padEnd(9)} ${'ms/step'.padStart(9)} ${'tokens/s'.padStart(9)} ${'MFLOP/tok'.padStart(9)} ${'GFLOP/s'.padStart(8)} ${'best mm'.padStart(8)} ${'MFU'.padStart(6)} ${'real'.padStart(6)} ${'mem MB'.padStart(7)}  ×mlm\n`);
  const report: TrainBenchReport = { adapter: { ...rt.gpu.adapter, kind: rt.gpu.kind, backend: rt.gpu.backend }, model: o.models.join(','), results: [] };
  const results = report.results;
  o.started?.(report);
  const runRoot = mkdtempSync(join(tmpdir(), 'electrolite-bench-train-'));
  try {
    for (const model of o.models)
      for (const objective of o.objectives)
        for (const precision of o.precisions ?? ['f32']) {
          const c = stepBenchConfig({ objective, preset: model, data: o.data, run: join(runRoot, `${model}-${objective}-${precision}`), batch: o.batch, steps: o.steps, precision });
          const mark = rt.pool.mark();
          const { tr, peakBytes } = await warmTrainer(rt, c);
          const T = tr.seqLen, cfg = tr.cfg;
          const flopsPerToken = TRAINING_FLOPS_PER_FORWARD * objectiveModule(objective).forwardFlopsPerToken(cfg, {}, T, c.maskProb!);
          const mm = largestMatmul(cfg, objective, o.batch * T, c.maskProb!);
          // An f16 step's limit is the matmul with f16 inputs (f32 accumulation) at the same shape.
          const shape = `${mm.M}x${mm.K}x${mm.N}${precision === 'f16' ? ' f16' : ''}`;
          const mc = matmulCase('matmul', mm.M, mm.K, mm.N, false, false, precision === 'f16' ? { inputs: 'f16' } : {});
          // Its buffers stay live over the timed steps: left out of the step's peak memory.
          const live = rt.pool.getStats().liveBytes;
          const built = await mc.setup(rt);
          const matmulBytes = rt.pool.getStats().liveBytes - live;
          // The peers train in f32. The tfjs peer runs beside an f16 row too (its ratio is mixed
          // precision against TensorFlow.js's f32, the same model and objective); torch's beside f32 only.
          const peer = PEER_OBJECTIVE[objective];
          const tfjs = o.tfjs && peer ? tfjsTrainer(o.tfjs, cfg, peer, o.batch, T) : null;
          const ours: number[] = [], matmulMs: number[] = [], theirs: number[] = [], timedSteps: number[] = [];
          try {
            if (tfjs) await tfjs.step(); // compilation
            // Rounds alternating ours, the matmul and the tfjs peer's, so the drift of a shared
            // machine falls on every side of each ratio. Each side runs a step untimed first,
            // so the timed one follows its own kind (as in training), not the other's.
            for (let r = 0; r < o.steps; r++) {
              await timeStep(rt, tr);
              timedSteps.push(tr.step);
              ours.push(await timeStep(rt, tr));
              matmulMs.push(await timeOps(rt, built.ops, { minSampleMs: 50, samples: 3 }));
              if (tfjs) {
                await tfjs.step();
                theirs.push(await tfjs.step());
              }
            }
          } finally {
            tfjs?.dispose();
            built.release();
          }
          const ms = median(ours);
          const peakMem = peakBytes() - matmulBytes;
          rt.pool.releaseSince(mark);
          const tokensPerS = (o.batch * T * 1000) / ms;
          const best = mc.flops! / (median(matmulMs) * 1e6);
          const gflops = (flopsPerToken * tokensPerS) / 1e9;
          const real = realWork(tr, timedSteps, readManifest(c.data, { verify: false }).special.pad, (L) => L * TRAINING_FLOPS_PER_FORWARD * objectiveModule(objective).forwardFlopsPerToken(cfg, {}, L, c.maskProb!));
          const realGflops = (real.flopsPerPosition * tokensPerS) / 1e9;
          const r: TrainBenchResult = {
            model, objective, precision, batch: o.batch, seq_len: T,
            tokens_per_s: Math.round(tokensPerS), step_ms: Number(ms.toFixed(2)), flops_per_token: Math.round(flopsPerToken),
            mfu_vs_matmul: Number((gflops / best).toFixed(3)),
            real_token_fraction: Number(real.fraction.toFixed(4)), real_flops_per_token: Math.round(real.flopsPerPosition), mfu_real_vs_matmul: Number((realGflops / best).toFixed(3)),
            best_matmul_gflops: Number(best.toFixed(2)), best_matmul_shape: shape,
            ...(peak ? { mfu_vs_peak: Number((gflops / (peak.tflops * 1e3)).toFixed(4)) } : {}),
            peak_mem_mb: Number((peakMem / 2 ** 20).toFixed(1)),
          };
          const mlm = results.find((x) => x.objective === 'mlm' && x.model === model && x.precision === precision);
          if (mlm) r.vs_mlm = Number((r.step_ms / mlm.step_ms).toFixed(2));
          const f32 = precision === 'f16' ? results.find((x) => x.objective === objective && x.model === model && x.precision === 'f32') : undefined;
          if (f32) r.vs_f32 = Number((r.step_ms / f32.step_ms).toFixed(2));
          if (tfjs) {
            const t = tfjsResult(peer!, o.batch, T, median(theirs), tfjs.firstLoss);
            say(`tfjs peer (${o.tfjs!.description}): ${model} ${objective} ${t.tokens_per_s} tokens/s, ${t.step_ms} ms/step, first loss ${t.first_loss}`);
            r.tfjs_tokens_per_s = t.tokens_per_s;
            r.vs_tfjs = Number((r.tokens_per_s / t.tokens_per_s).toFixed(2));
            r.tfjs_first_loss = t.first_loss;
          }
          if (o.torch && peer && precision === 'f32') {
            const t = runTorchPeer(o.torch.python, cfg, peer, o.batch, T, o.steps);
            say(`torch peer (${t.threads} threads): ${model} ${objective} ${t.tokens_per_s} tokens/s, ${t.step_ms} ms/step`);
            r.torch_tokens_per_s = t.tokens_per_s;
            r.vs_torch = Number((r.tokens_per_s / t.tokens_per_s).toFixed(3));
          }
          results.push(r);
          // Without a table (--json) a line on the log, so a long run shows its progress.
          if (!table) say(`done: ${model} ${objective} ${precision} ${r.step_ms} ms/step, ${r.tokens_per_s} tokens/s`);
          table?.(
            `${model.padEnd(6)} ${(precision === 'f32' ? objective : `${objective} f16`).padEnd(9)} ${ms.toFixed(1).padStart(9)} ${String(r.tokens_per_s).padStart(9)} ${(flopsPerToken / 1e6).toFixed(2).padStart(9)} ` +
              `${gflops.toFixed(1).padStart(8)} ${best.toFixed(1).padStart(8)} ${(100 * r.mfu_vs_matmul).toFixed(0).padStart(5)}% ${(100 * r.mfu_real_vs_matmul).toFixed(0).padStart(5)}% ${r.peak_mem_mb.toFixed(0).padStart(7)}  ${r.vs_mlm !== undefined ? `${r.vs_mlm.toFixed(2)}×` : '     '}` +
              `${r.tfjs_tokens_per_s !== undefined ? `  tfjs ${r.tfjs_tokens_per_s} tokens/s (ours ${r.vs_tfjs}×)` : ''}` +
              `${r.torch_tokens_per_s !== undefined ? `  torch ${r.torch_tokens_per_s} tokens/s (ours ${r.vs_torch}×)` : ''}` +
              `${r.vs_f32 !== undefined ? `  ${r.vs_f32.toFixed(2)}× the f32 step` : ''}\n`,
          );
        }
  } finally {
    rmSync(runRoot, { recursive: true, force: true });
  }
  // Each step against ELECTRA's of the same model (known once ELECTRA has run, so after the loop).
  for (const r of results) {
    const electra = results.find((x) => x.objective === 'electra' && x.model === r.model && x.precision === r.precision);
    if (electra && r !== electra) r.vs_electra = Number((r.step_ms / electra.step_ms).toFixed(2));
  }
  const againstElectra = results.filter((r) => r.vs_electra !== undefined);
  if (table && againstElectra.length) table(`\nstep time against ELECTRA's: ${againstElectra.map((r) => `${r.model} ${r.objective} ${r.vs_electra!.toFixed(2)}×`).join(', ')}\n`);
  const over = results.filter((r) => r.mfu_vs_matmul > 1);
  if (table && over.length)
    table(`\nMFU above 100 % (${over.map((r) => `${r.model} ${r.objective}`).join(', ')}): the step's model FLOP/s beat the median rate of its largest product in the same rounds — its other products ran faster than that one, or the machine slowed while it was timed (best mm column)\n`);
  if (table && o.models.length > 1) {
    // Scaling: each size against the first, per objective.
    table(`\nscaling against ${o.models[0]} (tokens/s ×, memory ×):\n`);
    for (const objective of o.objectives) {
      const base = results.find((r) => r.objective === objective && r.model === o.models[0] && r.precision === 'f32') ?? results.find((r) => r.objective === objective && r.model === o.models[0])!;
      const cells = o.models.slice(1).map((m) => {
        const r = results.find((x) => x.objective === objective && x.model === m && x.precision === base.precision)!;
        return `${m} ${(r.tokens_per_s / base.tokens_per_s).toFixed(2)}× / ${(r.peak_mem_mb / base.peak_mem_mb).toFixed(2)}×`;
      });
      table(`  ${objective.padEnd(9)} ${cells.join('   ')}\n`);
    }
  }
  return report;
}
