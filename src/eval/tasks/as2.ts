// Answer sentence selection (`as2`): each example is (question, candidate sentence, 1 if the
// candidate answers the question), candidates grouped by question; a model scores each pair
// and is judged by ranking each question's candidates (MAP, MRR, P@1 over the questions
// with at least one correct candidate; metrics.ts). `data` is a folder with
//   train.tsv, dev.tsv, test.tsv (test optional) — or WikiQA's own names WikiQA-train.tsv, …
// in one of two layouts, told apart by the header row:
//   WikiQA (as released): QuestionID Question DocumentID DocumentTitle SentenceID Sentence Label
//     → group = QuestionID, text = Question, pair = Sentence, label = Label
//   plain: question candidate label → group = the question's text
// Tab-separated, no quoting; rows with the wrong number of columns are skipped and counted
// (strict: an error); a label other than 0/1 is an error. Questions without a correct
// candidate stay in every split (they train the classifier) and are counted by the metrics.
import { join } from 'node:path';
import type { Task, TaskExample, TaskOptions } from '../tasks.js';
import { isFile, readTsv, requireNonEmpty, Skips, TaskError } from './common.js';

const WIKIQA = ['QuestionID', 'Question', 'DocumentID', 'DocumentTitle', 'SentenceID', 'Sentence', 'Label'];
const PLAIN = ['question', 'candidate', 'label'];
const FILES = { train: ['train.tsv', 'WikiQA-train.tsv'], validation: ['dev.tsv', 'WikiQA-dev.tsv'], test: ['test.tsv', 'WikiQA-test.tsv'] } as const;

function find(dir: string, names: readonly string[]): string | undefined {
  for (const n of names) if (isFile(join(dir, n))) return join(dir, n);
  return undefined;
}

function readAs2(file: string, split: string, skips: Skips): TaskExample[] {
  const what = 'as2';
  const rows = readTsv(file, what);
  if (!rows.length) throw new TaskError(`${what}: ${file} is empty (expected a header row)`);
  const head = rows[0].cells.map((c) => c.trim());
  let cols: { group?: number; text: number; pair: number; label: number };
  if (head.join('\t') === WIKIQA.join('\t')) cols = { group: 0, text: 1, pair: 5, label: 6 };
  else if (head.join('\t') === PLAIN.join('\t')) cols = { text: 0, pair: 1, label: 2 };
  else throw new TaskError(`${what}: ${file}:${rows[0].line}: header '${head.join(' | ')}' is neither WikiQA's '${WIKIQA.join(' | ')}' nor '${PLAIN.join(' | ')}'`);
  const out: TaskExample[] = [];
  for (const { cells, line } of rows.slice(1)) {
    const where = `${file}:${line}`;
    if (cells.length !== head.length) {
      skips.skip(where, `${cells.length} columns, expected ${head.length}`);
      continue;
    }
    const raw = cells[cols.label].trim();
    if (raw !== '0' && raw !== '1') throw new TaskError(`${what}: ${where}: label '${raw}' is not 0 or 1`);
    const text = cells[cols.text];
    out.push({ text, pair: cells[cols.pair], label: Number(raw), group: cols.group === undefined ? text : cells[cols.group], source: where });
  }
  requireNonEmpty(what, split, out, file, skips);
  return out;
}

/** Questions in a split, and how many have no correct candidate. */
export function questionCounts(examples: TaskExample[]): { questions: number; withoutPositive: number } {
  const pos = new Map<string, boolean>();
  for (const e of examples) pos.set(e.group ?? '', (pos.get(e.group ?? '') ?? false) || e.label === 1);
  let without = 0;
  for (const v of pos.values()) if (!v) without++;
  return { questions: pos.size, withoutPositive: without };
}

export function loadAs2(o: TaskOptions): Task {
  if (!o.data) throw new TaskError(`as2: needs data: a folder with ${FILES.train.join(' or ')}, ${FILES.validation.join(' or ')} and optionally ${FILES.test.join(' or ')}`);
  const dir = o.data;
  const train = find(dir, FILES.train), dev = find(dir, FILES.validation), test = find(dir, FILES.test);
  if (!train || !dev) {
    const missing = [!train && FILES.train, !dev && FILES.validation].filter(Boolean).map((n) => (n as readonly string[]).map((f) => join(dir, f)).join(' or '));
    throw new TaskError(`as2: ${dir} lacks the answer-selection files: looked for ${missing.join('; ')}`);
  }
  const skips = new Skips('as2', !!o.strict);
  const splits: Task['splits'] = { train: readAs2(train, 'train', skips), validation: readAs2(dev, 'validation', skips) };
  if (test) splits.test = readAs2(test, 'test', skips);
  const notes = [`labels: 1 = the candidate answers the question; MAP, MRR and P@1 rank each question's candidates by the score of 'correct' and skip questions without a correct candidate`];
  for (const [split, ex] of Object.entries(splits) as [string, TaskExample[]][]) {
    const q = questionCounts(ex);
    notes.push(`${split}: ${ex.length} candidates, ${q.questions} questions, ${q.withoutPositive} without a correct candidate`);
  }
  if (skips.count) notes.push(`${skips.count} malformed row${skips.count > 1 ? 's' : ''} skipped (first: ${skips.first})`);
  return { name: 'as2', kind: 'classification', labels: ['incorrect', 'correct'], pair: true, metric: 'map', metrics: ['map', 'mrr', 'p@1'], splits, notes, skipped: skips.summary };
}
