// Any labelled file: `tsv:FILE` (tab-separated, a header row naming the columns, no quoting)
// or `jsonl:FILE` (one JSON object per line). Options name the columns/fields: textColumn
// (required), pairColumn (a pair task), labelColumn (default 'label').
//   Labels: classification (default) maps label strings to indices in order of first
//   appearance (train file, then dev file), except that labels that are exactly 0 … K−1 keep
//   their numbers (LabelMap); kind 'regression' reads every label as a number.
//   Splits: with `dev`, FILE is train and dev is validation (no test split); otherwise a
//   seeded shuffle of FILE (Philox, seed o.seed, default 0) gives 10 % validation, 10 % test
//   and the rest train (common.ts seededSplit), each split kept in file order.
//   Bad rows (wrong column count, bad JSON, a missing field, an empty or non-numeric label)
//   are skipped and counted, the first reported as file:line (strict: an error); a column
//   missing from the header is an error naming the option.
import type { Task, TaskExample, TaskKind, TaskOptions } from '../tasks.js';
import { defaultMetrics, LabelMap, readTsv, requireNonEmpty, seededSplit, Skips, TaskError } from './common.js';
import { readFileSync } from 'node:fs';

interface Rec {
  text: string;
  pair?: string;
  label: string;
  source: string;
}

function readTsvRecords(what: string, file: string, o: TaskOptions, skips: Skips): Rec[] {
  const rows = readTsv(file, what);
  if (!rows.length) throw new TaskError(`${what}: ${file} is empty (expected a header row)`);
  const head = rows[0].cells.map((c) => c.trim());
  const col = (name: string, option: string, why = '') => {
    const i = head.indexOf(name);
    if (i < 0) throw new TaskError(`${what}: ${file}: no column '${name}' (${option}${why}) in the header; its columns are: ${head.join(', ')}`);
    return i;
  };
  const text = col(o.textColumn!, 'textColumn');
  const pair = o.pairColumn === undefined ? undefined : col(o.pairColumn, 'pairColumn', ': a pair task needs both texts');
  const label = col(o.labelColumn ?? 'label', 'labelColumn');
  const out: Rec[] = [];
  for (const { cells, line } of rows.slice(1)) {
    const where = `${file}:${line}`;
    if (cells.length !== head.length) {
      skips.skip(where, `${cells.length} columns, expected ${head.length}`);
      continue;
    }
    const l = cells[label].trim();
    if (l === '') {
      skips.skip(where, `empty label`);
      continue;
    }
    const r: Rec = { text: cells[text], label: l, source: where };
    if (pair !== undefined) r.pair = cells[pair];
    out.push(r);
  }
  return out;
}

function readJsonlRecords(what: string, file: string, o: TaskOptions, skips: Skips): Rec[] {
  let data: string;
  try {
    data = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TaskError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const labelField = o.labelColumn ?? 'label';
  const out: Rec[] = [];
  const lines = data.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (!s) continue;
    const where = `${file}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      skips.skip(where, 'not valid JSON');
      continue;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      skips.skip(where, 'not a JSON object');
      continue;
    }
    const obj = v as Record<string, unknown>;
    const str = (field: string, option: string): string | undefined => {
      const x = obj[field];
      if (typeof x === 'string') return x;
      skips.skip(where, x === undefined ? `no field '${field}' (${option})` : `field '${field}' (${option}) is not a string`);
      return undefined;
    };
    const text = str(o.textColumn!, 'textColumn');
    if (text === undefined) continue;
    let pair: string | undefined;
    if (o.pairColumn !== undefined && (pair = str(o.pairColumn, 'pairColumn')) === undefined) continue;
    const l = obj[labelField];
    if (!(typeof l === 'string' || typeof l === 'number' || typeof l === 'boolean') || String(l).trim() === '') {
      skips.skip(where, l === undefined ? `no field '${labelField}' (labelColumn)` : `field '${labelField}' (labelColumn) is not a label`);
      continue;
    }
    const r: Rec = { text, label: String(l).trim(), source: where };
    if (pair !== undefined) r.pair = pair;
    out.push(r);
  }
  return out;
}

export function loadLabelledFile(form: 'tsv' | 'jsonl', file: string, o: TaskOptions): Task {
  const what = `${form}:${file}`;
  if (!o.textColumn) throw new TaskError(`${what}: needs textColumn, the ${form === 'tsv' ? 'column' : 'field'} holding the text`);
  const kind: TaskKind = o.kind ?? 'classification';
  if (kind !== 'classification' && kind !== 'regression') throw new TaskError(`${what}: kind must be 'classification' or 'regression', got '${kind as string}'`);
  const skips = new Skips(what, !!o.strict);
  const read = (f: string) => (form === 'tsv' ? readTsvRecords : readJsonlRecords)(what, f, o, skips);

  const main = read(file);
  const dev = o.dev === undefined ? undefined : read(o.dev);
  const notes: string[] = [];
  const labelMap = new LabelMap();
  let labels: string[] = [];
  if (kind === 'classification') {
    for (const r of main) labelMap.add(r.label);
    const before = new Set(labelMap.labels());
    for (const r of dev ?? []) labelMap.add(r.label);
    labels = labelMap.labels();
    const onlyDev = labels.filter((l) => !before.has(l));
    if (onlyDev.length) notes.push(`label${onlyDev.length > 1 ? 's' : ''} ${onlyDev.map((l) => `'${l}'`).join(', ')} appear${onlyDev.length > 1 ? '' : 's'} only in ${o.dev}`);
    if (labels.length < 2) notes.push(`only one label ('${labels[0] ?? ''}'): the task is degenerate`);
  }
  const index = new Map(labels.map((l, i) => [l, i]));
  const finish = (recs: Rec[]): TaskExample[] => {
    const out: TaskExample[] = [];
    for (const r of recs) {
      let label: number;
      if (kind === 'regression') {
        label = Number(r.label);
        if (!Number.isFinite(label)) {
          skips.skip(r.source, `label '${r.label}' is not a number (regression)`);
          continue;
        }
      } else label = index.get(r.label)!;
      const ex: TaskExample = { text: r.text, label, source: r.source };
      if (r.pair !== undefined) ex.pair = r.pair;
      out.push(ex);
    }
    return out;
  };

  const all = finish(main);
  requireNonEmpty(what, 'train', all, file, skips);
  const splits: Task['splits'] = { train: all, validation: [] };
  if (dev) {
    splits.validation = finish(dev);
    requireNonEmpty(what, 'validation', splits.validation, o.dev!, skips);
    notes.push(`train: ${file}; validation: ${o.dev}; no test split`);
  } else {
    if (all.length < 3) throw new TaskError(`${what}: ${all.length} example${all.length === 1 ? '' : 's'} cannot be split into train, validation and test (give dev, or more rows)`);
    const seed = o.seed ?? 0;
    const s = seededSplit(all.length, seed, 0.1, 0.1);
    const pick = (idx: number[]) => idx.sort((a, b) => a - b).map((i) => all[i]);
    splits.train = pick(s.train);
    splits.validation = pick(s.validation);
    splits.test = pick(s.test);
    notes.push(`validation and test: a seeded 10 % / 10 % split of ${file} (seed ${seed}): ${splits.train.length} / ${splits.validation.length} / ${splits.test.length}`);
  }
  if (kind === 'classification' && labels.length === 2) notes.push(`f1 is of label '${labels[1]}' (index 1)`);
  if (skips.count) notes.push(`${skips.count} malformed row${skips.count > 1 ? 's' : ''} skipped (first: ${skips.first})`);
  const { metric, metrics } = defaultMetrics(kind, labels.length);
  return { name: what, kind, labels, pair: o.pairColumn !== undefined, metric, metrics, splits, notes, skipped: skips.summary };
}
