// Pre-training end to end on real bundled text (Moby-Dick, prepared here): every objective's
// training loss goes down within a fixed number of steps, C-RTS's counts move, and a run
// stopped and resumed from its checkpoint reproduces the uninterrupted run exactly.
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './tmp.js';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { expectMeanOfMicroBatches, prepareMoby, smallTrainConfig, mean } from './train-fixtures.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { readParams } from '../src/model/params.js';
import type { Encoder } from '../src/model/encoder.js';
import { MetricsLog } from '../src/train/metrics-log.js';
import { latestCheckpoint } from '../src/io/checkpoint.js';
import { prepare } from '../src/data/prepare.js';
import type { ObjectiveName } from '../src/objectives/registry.js';

let data = '';
const root = tempDir('electrolite-pretrain-');

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);

function config(objective: ObjectiveName, run: string, steps: number): TrainConfig {
  return smallTrainConfig(objective, data, join(root, run), steps);
}

async function losses(tr: Trainer, steps: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    tr.runStep();
    out.push((await tr.readStepMetrics()).loss);
  }
  return out;
}


describe('pre-training', () => {
  for (const objective of ['mlm', 'slm', 'rts', 'crts'] as const) {
    it(`${objective}: the training loss goes down within 40 steps`, async () => {
      const rt = await getRuntime();
      const tr = await Trainer.create(rt, config(objective, `run-${objective}`, 40));
      const l = await losses(tr, 40);
      expect(l.every(Number.isFinite)).toBe(true);
      // Mean of the last 8 steps below 93 % of the first 8: the mean of 8 batches varies by
      // ~1 % (MLM: ~60 positions a batch, CE spread ~1.5 nats), so this is a real drop.
      expect(mean(l.slice(-8))).toBeLessThan(0.93 * mean(l.slice(0, 8)));
      if (objective === 'crts') {
        const counts = (await rt.read(tr['train'].objective.crts!.counts)) as Int32Array;
        // Initialised to ones; after 40 steps of updates some pairs moved both ways.
        expect(counts.some((c) => c > 1)).toBe(true);
        expect(counts.some((c) => c < 1)).toBe(true);
      }
    });
  }

  it('the training and evaluation graphs share one materialised-attention scratch', async () => {
    const rt = await getRuntime();
    const tr = await Trainer.create(rt, { ...config('rts', 'shared-scratch', 2), attention: 'materialized' });
    const graphs = tr['graphs'].get(tr.seqLen)!;
    const scratch = graphs.train.encoder['layers'][0].attn.scratch;
    const [B, H, T] = [8, 2, tr.seqLen];
    expect(scratch.scores?.shape).toEqual([B * H, T, T]);
    expect(scratch.grads?.shape).toEqual([B * H, T, T]);
    const live = rt.pool.getStats().liveBuffers;
    tr.runStep();
    const e = await tr.evaluate();
    expect(e && Number.isFinite(e.loss)).toBe(true);
    expect(rt.pool.getStats().liveBuffers).toBe(live); // nothing allocated by a step or an evaluation
    expect(graphs.train.encoder).not.toBe(graphs.eval.encoder);
    for (const g of [graphs.train, graphs.eval]) for (const layer of g.encoder['layers']) expect(layer.attn.scratch).toBe(scratch);
  });

  it('the evaluation graph borrows the training graph\'s activations (both encoders of ELECTRA); evaluating between steps changes neither training nor evaluation', async () => {
    const rt = await getRuntime();
    const steps = 3;
    const withEval = await Trainer.create(rt, config('electra', 'share-eval', steps));
    const graphs = withEval['graphs'].get(withEval.seqLen)!;
    const enc = (g: typeof graphs.train) => [g.encoder, (g as unknown as { electra: { generator: Encoder } }).electra.generator];
    enc(graphs.train).forEach((train, k) => {
      const ev = enc(graphs.eval)[k];
      expect(ev).not.toBe(train);
      for (let l = 0; l < train['layers'].length; l++)
        for (const name of ['qkv', 'ctx', 'sum1', 'y1', 'pre', 'sum2', 'y2'] as const) expect(ev['layers'][l][name], `${k} layer ${l} ${name}`).toBe(train['layers'][l][name]);
      expect(ev['arena'].length).toBe(0); // every activation borrowed
    });
    const plain = await Trainer.create(rt, config('electra', 'share-plain', steps));
    const lossesWithEval: number[] = [], lossesPlain: number[] = [];
    let lastEval;
    for (let i = 0; i < steps; i++) {
      withEval.runStep();
      lossesWithEval.push((await withEval.readStepMetrics()).loss);
      lastEval = await withEval.evaluate();
      plain.runStep();
      lossesPlain.push((await plain.readStepMetrics()).loss);
    }
    expect(lossesWithEval).toEqual(lossesPlain);
    expect(await plain.evaluate()).toEqual(lastEval);
  });

  it('gradient accumulation is one submit a step and averages the micro-batches it would see one by one', async () => {
    const rt = await getRuntime();
    // lr 0: parameters stay put, so micro-batches 0 and 1 of the accumulating run see the
    // same model as steps 0 and 1 of the plain run (same batches, counters and dropout).
    const plain = await Trainer.create(rt, { ...config('rts', 'acc-plain', 4), lr: 0 });
    plain.runStep();
    const g0 = await readParams(rt, plain.params, 'grads');
    plain.runStep();
    const g1 = await readParams(rt, plain.params, 'grads');
    const acc = await Trainer.create(rt, { ...config('rts', 'acc-2', 4), lr: 0, accumulate: 2 });
    const submits = rt.submitCount;
    acc.runStep();
    expect(rt.submitCount - submits).toBe(1);
    const g = await readParams(rt, acc.params, 'grads');
    const checked = expectMeanOfMicroBatches(g, g0, g1);
    expect(checked).toBeGreaterThan(10000);
  });

  it('a run stopped and resumed from its checkpoint gives the same losses as an uninterrupted one', async () => {
    const rt = await getRuntime();
    const straight = await Trainer.create(rt, config('crts', 'straight', 8));
    const all = await losses(straight, 8);
    const first = await Trainer.create(rt, config('crts', 'resumed', 8));
    const before = await losses(first, 4);
    await first.checkpoint();
    const second = await Trainer.create(rt, config('crts', 'resumed', 8), { resume: true });
    expect(second.step).toBe(4);
    const after = await losses(second, 4);
    expect([...before, ...after]).toEqual(all);
    const a = await straight.parameters(), b = await second.parameters();
    for (const [k, v] of a) expect(b.get(k), k).toEqual(v);
    // metrics.jsonl holds every step once: none were logged here, and the resume is marked.
    expect(MetricsLog.read(join(root, 'resumed', 'metrics.jsonl')).filter((r) => r.kind === 'resumed').map((r) => r.step)).toEqual([4]);
  });

  it('a resume refuses other settings (listing each) and other data; a fresh run refuses a directory holding a run unless overwrite', async () => {
    const rt = await getRuntime();
    const c = config('crts', 'guarded', 4);
    const first = await Trainer.create(rt, c);
    first.runStep();
    await first.checkpoint();
    await expect(Trainer.create(rt, { ...c, seed: 8, batch: 4 }, { resume: true })).rejects.toThrow(/--resume with other settings than the run's would not repeat its batches and updates: seed 7 in the checkpoint, 8 now; batch 8 in the checkpoint, 4 now/);
    await expect(Trainer.create(rt, { ...c, maskProb: 0.2 }, { resume: true })).rejects.toThrow(/selects with --mask-prob 0\.15, this run with 0\.2/);
    const other = join(root, 'other-data');
    await prepare({ corpus: ['bundled:moby-dick'], out: other, vocabSize: 1000, seqLen: 32, clusters: { k: 20 }, seed: 99 });
    await expect(Trainer.create(rt, { ...c, data: other }, { resume: true })).rejects.toThrow(/trained on other data .* than --data .*other-data: their manifest\.json differ/);
    await expect(Trainer.create(rt, c)).rejects.toThrow(/guarded holds another run \(config\.json, checkpoints\)/);
    const replaced = await Trainer.create(rt, c, { overwrite: true });
    expect(replaced.step).toBe(0);
    expect(latestCheckpoint(join(root, 'guarded'))).toBeNull();
  });

  it('refuses data whose vocabulary differs from the model, a resume without checkpoint, and a generator size without ELECTRA', async () => {
    const rt = await getRuntime();
    const c = config('rts', 'bad', 4);
    await expect(Trainer.create(rt, { ...c, model: { ...c.model, vocabSize: 999 } })).rejects.toThrow(/model vocabulary 999 differs from the data's \(1000/);
    await expect(Trainer.create(rt, config('rts', 'empty', 4), { resume: true })).rejects.toThrow(/has no checkpoint/);
    // ELECTRA trains (test/electra.test.ts); a generator size is refused for the other objectives.
    await expect(Trainer.create(rt, { ...config('rts', 'gen-size', 4), generatorSize: 0.5 })).rejects.toThrow(/--generator-size applies to --objective electra only \(this run trains rts\)/);
  });
});
