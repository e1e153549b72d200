// Downstream tasks for fine-tuning, as plain host data: a task is its splits of examples
// (text, optional pair, label), its label names, its kind and its metrics. Forms:
//   glue:NAME     GLUE in its released TSV layout (cola sst2 mrpc stsb qqp mnli qnli rte wnli), data = the task's folder
//   as2           answer sentence selection (WikiQA / TREC-QA style TSVs), data = a folder
//   tsv:FILE      any labelled TSV with a header row (textColumn, pairColumn?, labelColumn)
//   jsonl:FILE    any labelled JSON-lines file (the same options name the fields)
//   bundled:NAME  offline tasks built from npm packages: spam, sotu-party, moby-order, word-valence
// Each loader's layout, checks and fixed choices are described in its file under tasks/.
// `encodeExample` turns an example into BERT's input: [CLS] a [SEP] (b [SEP]), token types
// 0/1, truncated longest-first.
import type { WordPieceTokenizer } from '../data/tokenizer.js';
import { TaskError } from './tasks/common.js';
import { GLUE_NAMES, loadGlue, type GlueTaskName } from './tasks/glue.js';
import { loadAs2 } from './tasks/as2.js';
import { loadLabelledFile } from './tasks/file.js';
import { BUNDLED_TASK_NAMES, loadBundled, type BundledTaskName } from './tasks/bundled.js';

export { TaskError } from './tasks/common.js';
export { GLUE_NAMES, GLUE_LAYOUTS, type GlueTaskName } from './tasks/glue.js';
export { BUNDLED_TASK_NAMES, BUNDLED_CAP, SOTU_CLASSES, sotuHeldOutAddresses, mobyHeldOutChapters, type BundledTaskName } from './tasks/bundled.js';

export type TaskKind = 'classification' | 'regression';
export type MetricName = 'accuracy' | 'f1' | 'mcc' | 'pearson' | 'spearman' | 'map' | 'mrr' | 'p@1';

export interface TaskExample {
  text: string;
  pair?: string;
  /** class index, or the value for regression */
  label: number;
  /** AS2: the question's id (candidates grouped by it) */
  group?: string;
  /** where it came from, for messages: 'file:line' (bundled tasks: 'package file#n') */
  source?: string;
}

export interface Task {
  /** 'glue:sst2', 'bundled:spam', 'tsv:/path/x.tsv', 'as2' */
  name: string;
  kind: TaskKind;
  /** classification: label names in index order; [] for regression */
  labels: string[];
  /** sentence pairs? */
  pair: boolean;
  /** the main metric (model selection) */
  metric: MetricName;
  /** all reported */
  metrics: MetricName[];
  splits: { train: TaskExample[]; validation: TaskExample[]; test?: TaskExample[]; /** MNLI: validation_mismatched */ extra?: Record<string, TaskExample[]> };
  /** what a reader of the scores must know, e.g. "scores are on the validation split" */
  notes: string[];
  /** skipped rows: how many, and the first as 'file:line: why' */
  skipped: { count: number; first?: string };
}

export interface TaskOptions {
  /** glue: the task's folder (or GLUE's root folder holding it); as2: the folder of train/dev/test TSVs */
  data?: string;
  /** tsv/jsonl: a separate validation file (then there is no test split); else a seeded 80/10/10 split */
  dev?: string;
  /** tsv/jsonl: the text column/field (required) */
  textColumn?: string;
  /** tsv/jsonl: the second text of a pair task */
  pairColumn?: string;
  /** tsv/jsonl: the label column/field (default 'label') */
  labelColumn?: string;
  /** malformed rows are errors instead of counted skips */
  strict?: boolean;
  /** tsv/jsonl without dev: the split's seed (default 0); bundled tasks' splits are fixed and ignore it */
  seed?: number;
  /** tsv/jsonl: 'regression' reads labels as numbers (default 'classification') */
  kind?: TaskKind;
  /** bundled: every example instead of the default sample (BUNDLED_CAP per split) */
  full?: boolean;
}

export type TaskSpec =
  | { form: 'glue'; name: GlueTaskName }
  | { form: 'as2' }
  | { form: 'tsv' | 'jsonl'; file: string }
  | { form: 'bundled'; name: BundledTaskName };

/** The accepted task forms, for messages. */
export const TASK_FORMS = `glue:NAME (${GLUE_NAMES.join(', ')}), as2, tsv:FILE, jsonl:FILE, bundled:NAME (${BUNDLED_TASK_NAMES.join(', ')})`;

/** Parses and validates a task name; anything else is a TaskError listing the accepted forms. */
export function parseTaskSpec(spec: string): TaskSpec {
  const bad = (why: string) => new TaskError(`task '${spec}': ${why} (accepted: ${TASK_FORMS})`);
  const colon = spec.indexOf(':');
  const form = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? undefined : spec.slice(colon + 1);
  switch (form) {
    case 'as2':
      if (rest !== undefined) throw bad('as2 takes no argument (give its folder as data)');
      return { form: 'as2' };
    case 'glue': {
      const name = (rest ?? '').toLowerCase().replace(/-/g, '');
      if (!(GLUE_NAMES as readonly string[]).includes(name)) throw bad(rest ? `unknown GLUE task '${rest}'` : 'which GLUE task?');
      return { form: 'glue', name: name as GlueTaskName };
    }
    case 'bundled':
      if (!(BUNDLED_TASK_NAMES as readonly string[]).includes(rest ?? '')) throw bad(rest ? `unknown bundled task '${rest}'` : 'which bundled task?');
      return { form: 'bundled', name: rest as BundledTaskName };
    case 'tsv':
    case 'jsonl':
      if (!rest) throw bad(`${form}: needs a file (${form}:FILE)`);
      return { form, file: rest };
    default:
      throw bad('unknown task');
  }
}

/** Loads a task's splits; every problem with the input is a TaskError naming the file or option. */
export function loadTask(spec: string, o: TaskOptions = {}): Task {
  const s = parseTaskSpec(spec);
  switch (s.form) {
    case 'glue': return loadGlue(s.name, o);
    case 'as2': return loadAs2(o);
    case 'tsv':
    case 'jsonl': return loadLabelledFile(s.form, s.file, o);
    case 'bundled': {
      const key = JSON.stringify([s.name, o]);
      let task = bundledTasks.get(key);
      if (!task) bundledTasks.set(key, (task = frozen(loadBundled(s.name, o))));
      return task;
    }
  }
}

// Bundled tasks come from npm packages, which do not change while the process runs, and some
// take ~0.4 s to read (bundled:spam: 6,000 mail files); a study loads its task again for every
// fine-tuning run. So each is read once per process and shared, frozen: a caller that changed
// it would change every later caller's task, and a frozen one throws instead.
const bundledTasks = new Map<string, Task>();

function frozen(task: Task): Task {
  const splits = [task.splits.train, task.splits.validation, task.splits.test, ...Object.values(task.splits.extra ?? {})];
  for (const split of splits) if (split) for (const example of Object.freeze(split)) Object.freeze(example);
  for (const part of [task.splits.extra, task.splits, task.labels, task.metrics, task.notes, task.skipped]) if (part) Object.freeze(part);
  return Object.freeze(task);
}

/**
 * Drops tokens from the ends of `a` and `b` until a.length + b.length ≤ budget, always from
 * the longer one and from `b` on a tie — Hugging Face's truncation='longest_first' (its
 * Python tokenizers and BERT's original _truncate_seq_pair; the Rust `tokenizers` split an
 * odd remainder the other way round). Returns new arrays.
 */
export function truncateLongestFirst(a: number[], b: number[], budget: number): [number[], number[]] {
  let na = a.length, nb = b.length;
  const excess = na + nb - budget;
  if (excess > 0) {
    // Closed form of "repeatedly drop the last token of the longer side, b on a tie".
    const first = Math.min(Math.abs(na - nb), excess);
    const second = excess - first;
    if (na > nb) {
      na -= first + Math.floor(second / 2);
      nb -= second - Math.floor(second / 2);
    } else {
      nb -= first + second - Math.floor(second / 2);
      na -= Math.floor(second / 2);
    }
  }
  return [a.slice(0, Math.max(0, na)), b.slice(0, Math.max(0, nb))];
}

/**
 * BERT's input for an example: `[CLS] a [SEP]` (token types 0), or for a pair
 * `[CLS] a [SEP] b [SEP]` (types 0 up to and including the first [SEP], then 1), at most
 * `maxLen` tokens, the texts truncated longest-first (truncateLongestFirst).
 */
export function encodeExample(tok: Pick<WordPieceTokenizer, 'encode' | 'special'>, ex: Pick<TaskExample, 'text' | 'pair'>, maxLen: number): { ids: number[]; types: number[] } {
  const pair = ex.pair !== undefined;
  const specials = pair ? 3 : 2;
  if (!Number.isInteger(maxLen) || maxLen < specials) throw new RangeError(`encodeExample: maxLen ${maxLen} leaves no room for ${specials} special tokens`);
  const { cls, sep } = tok.special;
  const a0 = tok.encode(ex.text);
  if (!pair) {
    const a = a0.slice(0, maxLen - 2);
    return { ids: [cls, ...a, sep], types: new Array(a.length + 2).fill(0) };
  }
  const [a, b] = truncateLongestFirst(a0, tok.encode(ex.pair!), maxLen - 3);
  return { ids: [cls, ...a, sep, ...b, sep], types: [...new Array(a.length + 2).fill(0), ...new Array(b.length + 1).fill(1)] };
}
