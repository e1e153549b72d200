// Fine-tuning end to end on a bundled task (SpamAssassin ham vs spam, seeded samples of its
// splits): from random weights it learns (well above the majority class); the learning-rate
// grid picks by the validation score and scores the test split once, with the chosen run's
// best epoch; results.json records every epoch; a run started again reuses what finished.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime } from './harness.js';
import { tempDir } from './tmp.js';
import { prepareMoby } from './train-fixtures.js';
import { exportFinetuned, finetune, sampleSplit, type FinetuneConfig } from '../src/eval/finetune.js';
import { loadPredictModel, predictionJson, Predictor } from '../src/eval/predict.js';
import { readHfCheckpoint } from '../src/io/hf.js';
import { encodeExample, loadTask } from '../src/eval/tasks.js';

const root = tempDir('electrolite-finetune-');
let data = '';

beforeAll(async () => {
  data = await prepareMoby(root);
}, 300_000);

function config(out: string, extra: Partial<FinetuneConfig> = {}): FinetuneConfig {
  return {
    model: 'scratch:tiny', tokenizer: data, task: 'bundled:spam', taskOptions: {}, out: join(root, out),
    epochs: 5, lrs: [3e-3], batch: 32, maxLen: 64, warmup: 0.1, seed: 3, weightDecay: 0.01, clip: 1,
    limit: { train: 320, validation: 96, test: 96 }, ...extra,
  };
}

describe('fine-tuning', () => {
  it('from random weights on bundled:spam: well above the majority class on the test split; every epoch in results.json', async () => {
    const rt = await getRuntime();
    const r = await finetune(rt, config('scratch'));
    const all = loadTask('bundled:spam').splits.test!;
    const majority = Math.max(...[0, 1].map((k) => all.filter((e) => e.label === k).length)) / all.length;
    expect(r.lrs[0].epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(r.metric).toBe('f1');
    expect(r.selected.split).toBe('test');
    // Measured (lavapipe): validation accuracy 0.76 (majority) → 0.85–0.90 by epoch 4–6 at lr 3e-3; the
    // majority class alone scores F1 0.
    expect(r.selected.test!.accuracy).toBeGreaterThan(majority + 0.05);
    expect(r.selected.test!.f1).toBeGreaterThan(0.4);
    const best = r.lrs[0].epochs.reduce((a, b) => (b.validation.f1 > a.validation.f1 ? b : a));
    expect(r.selected.epoch).toBe(best.epoch);
    const saved = JSON.parse(readFileSync(join(root, 'scratch', 'results.json'), 'utf8'));
    expect(saved.selected).toEqual(JSON.parse(JSON.stringify(r.selected)));
    expect(existsSync(join(root, 'scratch', 'lr-0.003', 'best', 'model.safetensors'))).toBe(true);

    // Exported as BertForSequenceClassification, read back by the importer, it predicts the
    // test split as the fine-tuning's evaluation did (same ids, same labels, same accuracy).
    const hf = join(root, 'scratch-hf');
    exportFinetuned(join(root, 'scratch'), hf);
    const ck = readHfCheckpoint(hf);
    expect(ck.arch).toBe('bert-classifier');
    expect(ck.labels).toEqual({ labels: ['ham', 'spam'], regression: false });
    const test = sampleSplit(all, 96);
    const fromRun = loadPredictModel(join(root, 'scratch')), fromHf = loadPredictModel(hf);
    expect(fromHf.kind).toBe('classification');
    const inputs = test.map((ex) => encodeExample(fromHf.tokenizer, ex, 64));
    const [a, b] = await Promise.all([Predictor.create(rt, fromRun).run(inputs), Predictor.create(rt, fromHf).run(inputs)]);
    expect(b.map((o) => Array.from(o.classLogits!))).toEqual(a.map((o) => Array.from(o.classLogits!)));
    const predicted = b.map((o) => (o.classLogits![1] > o.classLogits![0] ? 1 : 0));
    expect(predicted.filter((y, i) => y === test[i].label).length / test.length).toBeCloseTo(r.selected.test!.accuracy, 10);
    const line = predictionJson(fromHf.tokenizer, 'classification', b[0], fromHf.labels);
    expect(Object.keys(line.probabilities as object)).toEqual(['ham', 'spam']);
  });

  it('a learning-rate grid picks by validation; the test split is scored for each run but chosen by none; a rerun reuses finished runs', async () => {
    const rt = await getRuntime();
    const c = config('grid', { lrs: [1e-5, 3e-3], epochs: 2, limit: { train: 192, validation: 96, test: 96 } });
    const r = await finetune(rt, c);
    expect(r.lrs.map((l) => l.lr)).toEqual([1e-5, 3e-3]);
    const pick = r.lrs.reduce((a, b) => (b.best.validation.f1 > a.best.validation.f1 ? b : a));
    expect(r.selected.lr).toBe(pick.lr);
    expect(r.selected.score).toBe(pick.test!.f1);
    const messages: string[] = [];
    const again = await finetune(rt, c, { message: (m) => messages.push(m), epoch: () => { throw new Error('no epoch should run again'); } });
    expect(again.selected).toEqual(r.selected);
    expect(messages.filter((m) => /finished earlier, reused/.test(m))).toHaveLength(2);
    // A finished run whose best epoch another metric chose (an older version's main metric) is not reused.
    const done = join(c.out, 'lr-0.003', 'lr-result.json');
    const saved = readFileSync(done, 'utf8');
    writeFileSync(done, JSON.stringify({ ...JSON.parse(saved), metric: 'accuracy' }));
    await expect(finetune(rt, c)).rejects.toThrow(`${done}: its best epoch was chosen by accuracy, but bundled:spam's main metric is f1`);
    writeFileSync(done, saved);
  });

  it('a run interrupted after an epoch resumes from its checkpoint and ends as the uninterrupted run', async () => {
    const rt = await getRuntime();
    const c = (out: string) => config(out, { epochs: 2, limit: { train: 128, validation: 64, test: 64 } });
    const straight = await finetune(rt, c('straight'));
    const interrupted = c('interrupted');
    const stop = new Error('interrupted after epoch 2 was scored, before its checkpoint');
    await expect(finetune(rt, interrupted, { message: () => {}, epoch: (_lr, e) => { if (e.epoch === 2) throw stop; } })).rejects.toThrow(stop);
    const messages: string[] = [];
    const resumed = await finetune(rt, interrupted, { message: (m) => messages.push(m), epoch: () => {} });
    // Resumed from epoch 1's checkpoint: epoch 2 again, bit for bit.
    expect(resumed.lrs[0].epochs).toEqual(straight.lrs[0].epochs);
    expect(resumed.selected).toEqual(straight.selected);
    const log = readFileSync(join(root, 'interrupted', 'lr-0.003', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((r) => r.kind === 'resumed').map((r) => r.step)).toEqual([4]);
  });

  it('answer sentence selection (as2, WikiQA layout): MAP, MRR and P@1 of the test split are those of the exported model\'s scores, ranked per question', async () => {
    const rt = await getRuntime();
    // Questions are Moby-Dick sentences; each has 2–4 candidate sentences, the one that follows
    // it in the book correct; every split has one question whose candidates are all wrong.
    const sents = loadTask('bundled:moby-order').splits.train.filter((e) => e.label === 0).map((e) => e.text);
    const dir = join(root, 'as2');
    mkdirSync(dir, { recursive: true });
    let at = 0;
    const write = (file: string, questions: number) => {
      const lines = ['QuestionID\tQuestion\tDocumentID\tDocumentTitle\tSentenceID\tSentence\tLabel'];
      for (let q = 0; q < questions; q++) {
        const id = `Q${at}`, question = sents[at], n = 2 + (q % 3);
        for (let k = 0; k < n; k++) lines.push([id, question, `D${at}`, 'Moby-Dick', `${id}-${k}`, sents[at + 1 + k], q > 0 && k === q % n ? 1 : 0].join('\t'));
        at += n + 1;
      }
      writeFileSync(join(dir, file), lines.join('\n') + '\n');
    };
    write('WikiQA-train.tsv', 60);
    write('WikiQA-dev.tsv', 12);
    write('WikiQA-test.tsv', 15);
    const out = 'as2-run';
    const r = await finetune(rt, config(out, { task: 'as2', taskOptions: { data: dir }, limit: undefined, epochs: 2, lrs: [1e-3] }));
    expect(r.metric).toBe('map');
    expect(r.selected.split).toBe('test');
    const m = r.selected.test!;
    // The engine's scores of the test pairs, through its export, ranked here by hand.
    const test = loadTask('as2', { data: dir }).splits.test!;
    const model = loadPredictModel(join(root, out));
    const scored = (await Predictor.create(rt, model).run(test.map((ex) => encodeExample(model.tokenizer, ex, 64)))).map((o) => {
      const [a, b] = Array.from(o.classLogits!);
      return 1 / (1 + Math.exp(a - b)); // softmax's 'correct'
    });
    const groups = new Map<string, { score: number; label: number }[]>();
    test.forEach((ex, i) => groups.set(ex.group!, [...(groups.get(ex.group!) ?? []), { score: scored[i], label: ex.label }]));
    let ap = 0, rr = 0, p1 = 0, counted = 0;
    for (const g of groups.values()) {
      if (!g.some((c) => c.label === 1)) continue;
      counted++;
      const ranked = [...g].sort((x, y) => y.score - x.score);
      let hits = 0, sum = 0;
      ranked.forEach((c, k) => {
        if (c.label === 1) sum += ++hits / (k + 1);
      });
      ap += sum / hits;
      rr += 1 / (ranked.findIndex((c) => c.label === 1) + 1);
      p1 += ranked[0].label;
    }
    expect(groups.size).toBe(15);
    expect(counted).toBe(14);
    expect(m.map).toBeCloseTo(ap / counted, 5);
    expect(m.mrr).toBeCloseTo(rr / counted, 5);
    expect(m['p@1']).toBeCloseTo(p1 / counted, 5);
    expect(r.notes.join('\n')).toMatch(/test: 45 candidates, 15 questions, 1 without a correct candidate/);
  });

  it('regression (MSE, one output) on a labelled TSV: Pearson and Spearman of the test split, well above 0', async () => {
    const rt = await getRuntime();
    // A real relation the encoder can see: a Moby-Dick sentence → its length in words / 10.
    const sentences = loadTask('bundled:moby-order').splits.train.filter((e) => e.label === 0).slice(0, 400).map((e) => e.text);
    const file = join(root, 'lengths.tsv');
    writeFileSync(file, 'sentence\tscore\n' + sentences.map((t) => `${t}\t${(t.split(/\s+/).length / 10).toFixed(2)}`).join('\n') + '\n');
    const r = await finetune(rt, config('regression', { task: `tsv:${file}`, taskOptions: { textColumn: 'sentence', labelColumn: 'score', kind: 'regression' }, limit: undefined, epochs: 4, lrs: [1e-3] }));
    expect(r.metric).toBe('pearson');
    expect(r.selected.split).toBe('test');
    // Measured (lavapipe): test Pearson 0.88, Spearman 0.89 after 4 epochs from random weights.
    expect(r.selected.test!.pearson).toBeGreaterThan(0.5);
    expect(r.selected.test!.spearman).toBeGreaterThan(0.5);
  });
});

