// GLUE from its released TSV files (the folders of GLUE's download script / dl.fbaipublicfiles
// .com/glue/data), read as transformers' glue processors and Hugging Face's `glue` dataset
// script read them: tab-separated with no quoting (quotes are text: QQP and MNLI have stray
// ones), fixed column positions per task, and the label column checked against the task's
// label set. Layouts (0-based columns):
//   CoLA   train/dev: NO header, 4 columns: source, label (0/1), original mark, sentence → text 3, label 1
//   SST-2  header `sentence label` → text 0, label 1 (0/1)
//   MRPC   header `Quality #1 ID #2 ID #1 String #2 String` → label 0 (0/1), texts 3, 4
//   STS-B  header `index genre filename year old_index source1 source2 sentence1 sentence2 score` → texts 7, 8, score 9 (regression, 0–5)
//   QQP    header `id qid1 qid2 question1 question2 is_duplicate` → texts 3, 4, label 5 (0/1)
//   MNLI   header `index promptID pairID genre … sentence1 sentence2 label1 [label2 … label5] gold_label` → texts 8, 9, label last
//          (train.tsv; dev_matched.tsv = validation, dev_mismatched.tsv = extra.validation_mismatched)
//   QNLI   header `index question sentence label` → texts 1, 2, label 3 (entailment / not_entailment)
//   RTE    header `index sentence1 sentence2 label` → texts 1, 2, label 3 (entailment / not_entailment)
//   WNLI   header `index sentence1 sentence2 label` → texts 1, 2, label 3 (0/1)
// A header that differs from the task's is an error (it is the wrong folder); a row whose
// number of columns differs from the header's (CoLA: 4) is skipped and counted (`strict`:
// an error); a label outside the task's set is an error naming file:line. The test split's
// labels are private, so train.tsv trains, dev.tsv validates and test.tsv is not read.
// Metrics as GLUE: CoLA MCC; MRPC and QQP F1 (main) and accuracy; STS-B Pearson (main) and
// Spearman; the others accuracy.
import { join } from 'node:path';
import type { MetricName, Task, TaskExample, TaskKind, TaskOptions } from '../tasks.js';
import { isFile, readTsv, requireNonEmpty, Skips, TaskError } from './common.js';

export const GLUE_NAMES = ['cola', 'sst2', 'mrpc', 'stsb', 'qqp', 'mnli', 'qnli', 'rte', 'wnli'] as const;
export type GlueTaskName = (typeof GLUE_NAMES)[number];

export interface GlueLayout {
  /** GLUE's folder name. */
  dir: string;
  /** The exact header (null: CoLA's files have none). MNLI: only `headerAt` is checked (train and dev differ). */
  header: string[] | null;
  /** Column names required at positions (−1 = last), checked for MNLI. */
  headerAt?: Record<number, string>;
  /** Columns per row when there is no header. */
  columns?: number;
  text: number;
  pair?: number;
  /** Label column; −1 = the last. */
  label: number;
  kind: TaskKind;
  /** Label names in index order ([] for regression). */
  labels: string[];
  /** The label column's values in index order. */
  raw: string[];
  metric: MetricName;
  metrics: MetricName[];
  /** File names: validation, and MNLI's extra split. */
  dev: string;
  extra?: Record<string, string>;
}

const BIN = ['0', '1'];
const NLI2 = ['entailment', 'not_entailment'];

export const GLUE_LAYOUTS: Record<GlueTaskName, GlueLayout> = {
  cola: { dir: 'CoLA', header: null, columns: 4, text: 3, label: 1, kind: 'classification', labels: ['unacceptable', 'acceptable'], raw: BIN, metric: 'mcc', metrics: ['mcc', 'accuracy'], dev: 'dev.tsv' },
  sst2: { dir: 'SST-2', header: ['sentence', 'label'], text: 0, label: 1, kind: 'classification', labels: ['negative', 'positive'], raw: BIN, metric: 'accuracy', metrics: ['accuracy'], dev: 'dev.tsv' },
  mrpc: { dir: 'MRPC', header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'], text: 3, pair: 4, label: 0, kind: 'classification', labels: ['not_equivalent', 'equivalent'], raw: BIN, metric: 'f1', metrics: ['f1', 'accuracy'], dev: 'dev.tsv' },
  stsb: {
    dir: 'STS-B', header: ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2', 'score'],
    text: 7, pair: 8, label: 9, kind: 'regression', labels: [], raw: [], metric: 'pearson', metrics: ['pearson', 'spearman'], dev: 'dev.tsv',
  },
  qqp: { dir: 'QQP', header: ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'], text: 3, pair: 4, label: 5, kind: 'classification', labels: ['not_duplicate', 'duplicate'], raw: BIN, metric: 'f1', metrics: ['f1', 'accuracy'], dev: 'dev.tsv' },
  mnli: {
    dir: 'MNLI', header: null, headerAt: { 0: 'index', 8: 'sentence1', 9: 'sentence2', [-1]: 'gold_label' },
    text: 8, pair: 9, label: -1, kind: 'classification', labels: ['entailment', 'neutral', 'contradiction'], raw: ['entailment', 'neutral', 'contradiction'],
    metric: 'accuracy', metrics: ['accuracy'], dev: 'dev_matched.tsv', extra: { validation_mismatched: 'dev_mismatched.tsv' },
  },
  qnli: { dir: 'QNLI', header: ['index', 'question', 'sentence', 'label'], text: 1, pair: 2, label: 3, kind: 'classification', labels: NLI2, raw: NLI2, metric: 'accuracy', metrics: ['accuracy'], dev: 'dev.tsv' },
  rte: { dir: 'RTE', header: ['index', 'sentence1', 'sentence2', 'label'], text: 1, pair: 2, label: 3, kind: 'classification', labels: NLI2, raw: NLI2, metric: 'accuracy', metrics: ['accuracy'], dev: 'dev.tsv' },
  wnli: { dir: 'WNLI', header: ['index', 'sentence1', 'sentence2', 'label'], text: 1, pair: 2, label: 3, kind: 'classification', labels: ['not_entailment', 'entailment'], raw: BIN, metric: 'accuracy', metrics: ['accuracy'], dev: 'dev.tsv' },
};

/** The folder holding the task's files: `data` itself, or `data/<GLUE folder>` (GLUE's root). */
function taskDir(what: string, L: GlueLayout, data: string): string {
  const names = ['train.tsv', L.dev, ...Object.values(L.extra ?? {})];
  for (const dir of [data, join(data, L.dir)]) if (names.every((n) => isFile(join(dir, n)))) return dir;
  const missing = (dir: string) => names.filter((n) => !isFile(join(dir, n)));
  throw new TaskError(
    `${what}: ${data} does not hold GLUE's ${L.dir} files: looked for ${names.map((n) => join(data, n)).join(', ')} ` +
      `(missing ${missing(data).join(', ')}) and for the same under ${join(data, L.dir)}`,
  );
}

function readSplit(what: string, L: GlueLayout, split: string, file: string, skips: Skips): TaskExample[] {
  const rows = readTsv(file, what);
  let body = rows;
  let columns = L.columns ?? 0;
  if (L.header || L.headerAt) {
    const head = rows[0];
    if (!head) throw new TaskError(`${what}: ${file} is empty (expected a header row)`);
    const h = head.cells.map((c) => c.trim());
    if (L.header) {
      if (h.join('\t') !== L.header.join('\t')) throw new TaskError(`${what}: ${file}:${head.line}: header is '${h.join(' | ')}', expected GLUE's ${L.dir} header '${L.header.join(' | ')}' — is this the right folder?`);
    } else {
      for (const [k, name] of Object.entries(L.headerAt!)) {
        const i = Number(k) < 0 ? h.length + Number(k) : Number(k);
        if (h[i] !== name) throw new TaskError(`${what}: ${file}:${head.line}: header column ${i} is '${h[i] ?? '(none)'}', expected '${name}' (GLUE's ${L.dir} layout) — is this the right folder?`);
      }
    }
    columns = h.length;
    body = rows.slice(1);
  }
  const out: TaskExample[] = [];
  const labelIdx = L.label < 0 ? columns + L.label : L.label;
  for (const { cells, line } of body) {
    const where = `${file}:${line}`;
    if (cells.length !== columns) {
      skips.skip(where, `${cells.length} columns, expected ${columns}`);
      continue;
    }
    const rawLabel = cells[labelIdx].trim();
    let label: number;
    if (L.kind === 'regression') {
      label = rawLabel === '' ? NaN : Number(rawLabel);
      if (!(label >= 0 && label <= 5)) throw new TaskError(`${what}: ${where}: score '${rawLabel}' is not a similarity score in [0, 5]`);
    } else {
      label = L.raw.indexOf(rawLabel);
      if (label < 0) throw new TaskError(`${what}: ${where}: label '${rawLabel}' is not one of ${L.raw.join(', ')}`);
    }
    const ex: TaskExample = { text: cells[L.text], label, source: where };
    if (L.pair !== undefined) ex.pair = cells[L.pair];
    out.push(ex);
  }
  requireNonEmpty(what, split, out, file, skips);
  return out;
}

export function loadGlue(name: GlueTaskName, o: TaskOptions): Task {
  const what = `glue:${name}`;
  const L = GLUE_LAYOUTS[name];
  if (!o.data) throw new TaskError(`${what}: needs data: GLUE's ${L.dir} folder (holding train.tsv and ${L.dev}), or GLUE's root folder holding ${L.dir}/`);
  const dir = taskDir(what, L, o.data);
  const skips = new Skips(what, !!o.strict);
  const train = readSplit(what, L, 'train', join(dir, 'train.tsv'), skips);
  const validation = readSplit(what, L, 'validation', join(dir, L.dev), skips);
  const notes = [`GLUE's test labels are private: the scores are on the validation split (${L.dev}); test.tsv is not read`];
  let extra: Record<string, TaskExample[]> | undefined;
  if (L.extra) {
    extra = {};
    for (const [split, file] of Object.entries(L.extra)) {
      extra[split] = readSplit(what, L, split, join(dir, file), skips);
      notes.push(`${split}: ${file}`);
    }
  }
  if (name === 'mrpc' || name === 'qqp') notes.push(`main metric: F1 of '${L.labels[1]}'; GLUE also reports accuracy (its ${L.dir} score is the mean of the two)`);
  if (skips.count) notes.push(`${skips.count} malformed row${skips.count > 1 ? 's' : ''} skipped (first: ${skips.first})`);
  const splits: Task['splits'] = { train, validation };
  if (extra) splits.extra = extra;
  return { name: what, kind: L.kind, labels: [...L.labels], pair: L.pair !== undefined, metric: L.metric, metrics: [...L.metrics], splits, notes, skipped: skips.summary };
}
