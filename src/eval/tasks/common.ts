// Shared pieces of the task loaders: the error type, tab-separated rows (tabs only, never
// quotes), skipped-row accounting, label maps, seeded splits and sampling.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { shuffledOrder } from '../../data/loader.js';
import type { MetricName, TaskExample, TaskKind } from '../tasks.js';

/** Bad task input: a wrong name, a missing file or column, a bad label, an empty split. */
export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}

export interface Row {
  cells: string[];
  /** 1-based line number in the file. */
  line: number;
}

/**
 * The lines of a text file split on tabs only (GLUE's files are not CSV-quoted: a `"` is
 * text). A UTF-8 BOM and '\r' before '\n' are removed; empty lines are ignored.
 */
export function readTsv(file: string, what: string): Row[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TaskError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l === '') continue;
    rows.push({ cells: l.split('\t'), line: i + 1 });
  }
  return rows;
}

export function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/** Counts skipped rows, keeping the first reason; with `strict`, the first skip is an error. */
export class Skips {
  count = 0;
  first?: string;
  constructor(readonly what: string, readonly strict: boolean) {}
  skip(where: string, why: string): void {
    const msg = `${where}: ${why}`;
    if (this.strict) throw new TaskError(`${this.what}: ${msg} (strict: malformed rows are errors)`);
    this.count++;
    this.first ??= msg;
  }
  get summary(): { count: number; first?: string } {
    return this.first === undefined ? { count: this.count } : { count: this.count, first: this.first };
  }
}

/** Errors on an empty split, saying where its rows came from and why any were skipped. */
export function requireNonEmpty(what: string, split: string, examples: TaskExample[], from: string, skips: Skips): void {
  if (examples.length) return;
  const why = skips.count ? ` (${skips.count} row${skips.count > 1 ? 's' : ''} skipped so far; first: ${skips.first})` : '';
  throw new TaskError(`${what}: the ${split} split has no examples (from ${from})${why}`);
}

/** The default metrics of a task of this kind with this many labels. */
export function defaultMetrics(kind: TaskKind, nLabels: number): { metric: MetricName; metrics: MetricName[] } {
  if (kind === 'regression') return { metric: 'pearson', metrics: ['pearson', 'spearman'] };
  if (nLabels === 2) return { metric: 'accuracy', metrics: ['accuracy', 'f1', 'mcc'] };
  return { metric: 'accuracy', metrics: ['accuracy', 'mcc'] };
}

/**
 * Label names → indices, in order of first appearance; except that a label set that is
 * exactly the integers 0 … K−1 (written '0', '1', …) maps each to itself, so that a file's
 * '1' is class 1 (the positive class of F1) whichever label comes first.
 */
export class LabelMap {
  private order: string[] = [];
  private seen = new Set<string>();
  add(label: string): void {
    if (!this.seen.has(label)) {
      this.seen.add(label);
      this.order.push(label);
    }
  }
  /** The final label list (index order). */
  labels(): string[] {
    const k = this.order.length;
    const ints = this.order.every((l) => /^(0|[1-9]\d*)$/.test(l) && Number(l) < k);
    return ints ? Array.from({ length: k }, (_, i) => String(i)) : [...this.order];
  }
}

/** A split seed's fixed second Philox key word (the loader's shuffle uses the epoch there). */
export const SPLIT_STREAM = 0x5b1175;

/**
 * Positions 0 … n−1 dealt into validation, test and train by a seeded Fisher–Yates shuffle
 * (Philox, `shuffledOrder(n, seed, SPLIT_STREAM)`): the first round(n·fVal) shuffled positions
 * are validation, the next round(n·fTest) test, the rest train; each at least 1 when its
 * fraction is positive. Each split's positions come back in shuffled order.
 */
export function seededSplit(n: number, seed: number, fVal: number, fTest: number): { train: number[]; validation: number[]; test: number[] } {
  const order = Array.from(shuffledOrder(n, seed, SPLIT_STREAM));
  const nVal = fVal > 0 ? Math.max(1, Math.round(n * fVal)) : 0;
  const nTest = fTest > 0 ? Math.max(1, Math.round(n * fTest)) : 0;
  return { validation: order.slice(0, nVal), test: order.slice(nVal, nVal + nTest), train: order.slice(nVal + nTest) };
}

/** At most `k` of `items`, a seeded sample kept in the items' order (all of them if k ≥ length). */
export function seededSample<T>(items: T[], k: number, seed: number): T[] {
  if (items.length <= k) return items;
  const pick = Array.from(shuffledOrder(items.length, seed, SPLIT_STREAM)).slice(0, k).sort((a, b) => a - b);
  return pick.map((i) => items[i]);
}
