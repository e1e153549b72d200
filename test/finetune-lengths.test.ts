// Fine-tuning's batches of similar length (src/eval/finetune.ts): each batch runs on the
// graph of the shortest of a few lengths that holds it. What must not change: every training
// example at most once an epoch, batches a pure function of (seed, epoch, step), and the
// numbers — an evaluation on the length graphs equals the one on a single [B, longest] graph,
// and gradient accumulation over micro-batches of different lengths averages them.
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { tempDir } from './tmp.js';
import { expectMeanOfMicroBatches, prepareMoby } from './train-fixtures.js';
import { finetuneOptimizer, finetuningTask, lengthBuckets, prepareFinetune, type FinetuneConfig } from '../src/eval/finetune.js';
import { readParams } from '../src/model/params.js';
import { Trainer } from '../src/train/trainer.js';
import type { BatchSource } from '../src/train/task.js';

const root = tempDir('electrolite-finetune-lengths-');
let data = '';

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);

const B = 8;

function config(out: string, extra: Partial<FinetuneConfig> = {}): FinetuneConfig {
  return {
    model: 'scratch:tiny', tokenizer: data, task: 'bundled:moby-order', taskOptions: {}, out: join(root, out),
    epochs: 1, lrs: [1e-3], batch: B, maxLen: 48, warmup: 0, seed: 5, weightDecay: 0.01, clip: 1,
    limit: { train: 100, validation: 37, test: 8 }, ...extra,
  };
}

function task(c: FinetuneConfig) {
  const p = prepareFinetune(c);
  return { ...p, ft: finetuningTask(p.task, p.start, { ...c, splits: p.splits, seqLen: p.seqLen }) };
}

/** A batch's rows as token lists without padding (the [PAD] id ends each). */
function rows(source: BatchSource, epoch: number, step: number, pad: number): { T: number; rows: string[]; labels: number[] } {
  const b = source.batch(epoch, step);
  const T = b.ids.length / B;
  const out: string[] = [], labels: number[] = [];
  for (let r = 0; r < B; r++) {
    const row = Array.from(b.ids.subarray(r * T, (r + 1) * T));
    const end = row.indexOf(pad);
    if (end === 0) continue; // evaluation's padding row
    out.push(row.slice(0, end < 0 ? T : end).join(' '));
    labels.push(b.labels[r]);
  }
  return { T, rows: out, labels };
}

describe('fine-tuning batches of similar length', () => {
  it('the lengths: quarters of the longest, rounded up to 8', () => {
    expect(lengthBuckets(64)).toEqual([16, 32, 48, 64]);
    expect(lengthBuckets(45)).toEqual([16, 24, 40, 45]);
    expect(lengthBuckets(20)).toEqual([8, 16, 20]);
    expect(lengthBuckets(8)).toEqual([8]);
  });

  it('an epoch: every example at most once, each batch on the shortest length that holds it, deterministic, reshuffled per epoch', () => {
    const { ft, splits, start, seqLen } = task(config('host'));
    const pad = start.tokenizer.special.pad;
    expect(ft.seqLens).toEqual(lengthBuckets(seqLen));
    expect(ft.seqLens!.length).toBeGreaterThan(2);
    const examples = splits.train.ids.map((ids) => ids.join(' '));
    const src = ft.train;
    expect(src.stepsPerEpoch).toBe(Math.floor(100 / B));
    const epochRows: string[][] = [];
    for (const epoch of [0, 1]) {
      const left = new Map<string, number>();
      for (const e of examples) left.set(e, (left.get(e) ?? 0) + 1);
      const seen: string[] = [];
      let padded = 0;
      for (let step = 0; step < src.stepsPerEpoch; step++) {
        const { T, rows: rs } = rows(src, epoch, step, pad);
        expect(rs.length).toBe(B);
        expect(src.seqLen!(epoch, step)).toBe(T);
        const longest = Math.max(...rs.map((r) => r.split(' ').length));
        expect(T).toBe(ft.seqLens!.find((t) => t >= longest));
        for (const r of rs) {
          expect(left.get(r), `epoch ${epoch} step ${step}: a row that is no training example, or one used twice`).toBeGreaterThan(0);
          left.set(r, left.get(r)! - 1);
          seen.push(r);
          padded += T - r.split(' ').length;
        }
        // Pure: the same (epoch, step) gives the same batch.
        expect(rows(src, epoch, step, pad).rows).toEqual(rs);
      }
      // Similar lengths together: far less padding than one [B, longest] graph would carry.
      const plainPadding = seen.reduce((n, r) => n + seqLen - r.split(' ').length, 0);
      expect(padded).toBeLessThan(0.5 * plainPadding);
      epochRows.push(seen);
    }
    expect(epochRows[1]).not.toEqual(epochRows[0]);
    // Evaluation: every validation example exactly once (padding rows dropped).
    const val = ft.validation!;
    const got: string[] = [];
    for (let step = 0; step < val.stepsPerEpoch; step++) got.push(...rows(val, 0, step, pad).rows);
    expect(got.sort()).toEqual(splits.validation.ids.map((ids) => ids.join(' ')).sort());
  });

  it('evaluation on the length graphs equals evaluation on one [B, longest] graph (same parameters)', async () => {
    const rt = await getRuntime();
    const results = [];
    let values: Map<string, Float32Array> | null = null;
    for (const lengthGroups of [true, false]) {
      const c = config(`eval-${lengthGroups}`, { lengthGroups });
      const { ft } = task(c);
      expect(ft.seqLens!.length > 1).toBe(lengthGroups);
      const tr = await Trainer.forTask(rt, ft, finetuneOptimizer(ft, c, 1e-3, join(c.out, 'run')));
      if (!values) {
        // Random weights predict nearly the same for every input, which would hide a row given
        // another example's label; a classifier scaled ×300 makes each input's logits its own.
        values = await readParams(rt, tr.params);
        const w = tr.params.specs.find((s) => s.name.endsWith('classifier.weight'))!.name;
        values.set(w, values.get(w)!.map((x) => x * 300));
      }
      tr.loadParameters(values, 'the first trainer');
      results.push(await tr.evaluateOn(ft.validation!));
    }
    const [grouped, plain] = results;
    expect(Math.abs(grouped.loss - plain.loss)).toBeLessThan(1e-5 * plain.loss);
    expect(grouped.accuracy).toBe(plain.accuracy);
    expect(grouped.mcc).toBeCloseTo(plain.mcc, 9);
  });

  it('accumulation over micro-batches of different lengths averages their gradients', async () => {
    const rt = await getRuntime();
    // A seed whose first two batches differ in length.
    let seed = 1;
    while (task(config('probe', { seed })).ft.train.seqLen!(0, 0) === task(config('probe', { seed })).ft.train.seqLen!(0, 1)) seed++;
    const c = config('acc-plain', { seed });
    const { ft } = task(c);
    const lengths = [ft.train.seqLen!(0, 0), ft.train.seqLen!(0, 1)];
    expect(lengths[0]).not.toBe(lengths[1]);
    // lr 0: the parameters stay put, so the accumulating run's micro-batches see the model the plain run's two steps saw.
    const plain = await Trainer.forTask(rt, ft, { ...finetuneOptimizer(ft, c, 1e-3, join(c.out, 'run')), lr: 0 });
    plain.runStep();
    const g0 = await readParams(rt, plain.params, 'grads');
    plain.runStep();
    const g1 = await readParams(rt, plain.params, 'grads');
    const c2 = config('acc-2', { seed });
    const t2 = task(c2).ft;
    const acc = await Trainer.forTask(rt, t2, { ...finetuneOptimizer(t2, c2, 1e-3, join(c2.out, 'run')), lr: 0, accumulate: 2 });
    acc.runStep();
    const g = await readParams(rt, acc.params, 'grads');
    const checked = expectMeanOfMicroBatches(g, g0, g1);
    expect(checked).toBeGreaterThan(1000);
  });
});
