// `electrolite prepare --corpus <path|bundled:NAME>… --vocab-size N --seq-len L --out DIR`:
// tokenizer, packed shards, unigram counts and token clusters (src/data/prepare.ts).
import { parse, UsageError, numberOption } from './args.js';
import { prepare, validatePrepareOptions, PrepareOptionError, MIN_VOCAB_SIZE, type PrepareOptions, type PrepareSummary } from '../data/prepare.js';
import type { DocMode } from '../data/corpus.js';
import { ATTENTION_MAX_T } from '../kernels/attention.js';

const HELP = `usage: electrolite prepare --corpus <path|bundled:sotu|bundled:moby-dick>… --vocab-size N --seq-len L --out DIR
  --vocab-size N             WordPiece vocabulary size, ≥ ${MIN_VOCAB_SIZE} (a warning says when the corpus supports fewer)
  --seq-len L                tokens per packed sequence, 8..${ATTENTION_MAX_T} (the attention kernel's limit)
  --out DIR                  a new or empty directory, or one an earlier prepare made (replaced only once the new output is complete)
  [--tokenizer DIR|tokenizer.json|vocab.txt]  use an existing tokenizer instead of training one
  [--docs blank|line|file]   plain-text documents: separated by blank lines (default), one per line, one per file
  [--text-field NAME]        field of .jsonl objects holding the text (default "text")
  [--val-fraction F]         share of documents in the validation split (default 0.02)
  [--seed S]                 split, clusters: 0..4294967295 (default 1337)
  [--clusters K]             token clusters for C-RTS, ≥ 1 (default 100)
  [--limit-alphabet N]       characters kept in the vocabulary (default 1000)
  [--strict]                 stop at the first bad input instead of skipping it
  [--json]                   print the summary as JSON
`;

function intOption(name: string, v: string | undefined, dflt?: number, spec: { min?: number; max?: number } = {}): number {
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`prepare: --${name} is required\n${HELP}`);
    return dflt;
  }
  return numberOption('prepare', name, v, { int: true, ...spec });
}

function progressBar(): (phase: string, done: number, total: number) => void {
  let last = 0;
  let lastPhase = '';
  const tty = process.stderr.isTTY;
  return (phase, done, total) => {
    const now = performance.now();
    if (phase !== lastPhase) {
      if (lastPhase && tty) process.stderr.write('\n');
      if (!tty) process.stderr.write(`${phase}…\n`);
      lastPhase = phase;
    } else if (now - last < 100 && done < total) return;
    last = now;
    if (!tty) return;
    const f = total > 0 ? Math.min(1, done / total) : 0;
    const w = 30;
    const bar = '#'.repeat(Math.round(f * w)).padEnd(w, '.');
    const amount = phase === 'training vocabulary' ? `${done}/${total} tokens` : phase === 'clusters' ? `${done}/${total} sequences` : `${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`;
    process.stderr.write(`\r${phase.padEnd(20)} [${bar}] ${(f * 100).toFixed(0).padStart(3)}%  ${amount}   `);
  };
}

export function formatSummary(s: PrepareSummary): string {
  const sk = s.skipped;
  const skipped = Object.entries(sk).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    s.reused ? `up to date: reused ${s.out} (inputs and options unchanged)` : `prepared ${s.out}`,
    `documents   ${s.documents} (train ${s.trainDocuments}, validation ${s.validationDocuments})`,
    `sequences   train ${s.sequences.train}, validation ${s.sequences.validation}`,
    `tokens      train ${s.tokens.train}, validation ${s.tokens.validation} (vocabulary ${s.vocabSize}${s.tokenizerReused ? ', tokenizer reused' : ''})`,
    `text        ${s.textMB.toFixed(2)} MB, encoded at ${s.encodeMBps.toFixed(2)} MB/s`,
    `time        ${s.seconds.total.toFixed(1)} s (tokenizer ${s.seconds.tokenizer.toFixed(1)} s, encode+pack ${s.seconds.encode.toFixed(1)} s, clusters ${s.seconds.clusters.toFixed(1)} s)`,
    `skipped     ${skipped || 'nothing'}`,
    ...s.warnings.map((w) => `warning     ${w}`),
  ].join('\n') + '\n';
}

export async function prepareCommand(argv: string[]): Promise<number> {
  const { values } = parse('prepare', argv, {
    corpus: { type: 'string', multiple: true },
    'vocab-size': { type: 'string' },
    'seq-len': { type: 'string' },
    out: { type: 'string' },
    tokenizer: { type: 'string' },
    docs: { type: 'string' },
    'text-field': { type: 'string' },
    'val-fraction': { type: 'string' },
    seed: { type: 'string' },
    clusters: { type: 'string' },
    'limit-alphabet': { type: 'string' },
    strict: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.corpus?.length) throw new UsageError(`prepare: --corpus is required\n${HELP}`);
  if (!values.out) throw new UsageError(`prepare: --out is required\n${HELP}`);
  // Every option is checked here, before any work: a bad one is a usage error (exit 2).
  const opts: PrepareOptions = {
    corpus: values.corpus,
    out: values.out,
    vocabSize: values.tokenizer ? intOption('vocab-size', values['vocab-size'], 0) : intOption('vocab-size', values['vocab-size'], undefined, { min: MIN_VOCAB_SIZE }),
    seqLen: intOption('seq-len', values['seq-len']),
    tokenizer: values.tokenizer,
    docs: (values.docs ?? 'blank') as DocMode,
    textField: values['text-field'],
    strict: values.strict,
    seed: intOption('seed', values.seed, 1337, { min: 0, max: 2 ** 32 - 1 }),
    valFraction: values['val-fraction'] !== undefined ? numberOption('prepare', 'val-fraction', values['val-fraction']) : undefined,
    clusters: values.clusters !== undefined ? { k: intOption('clusters', values.clusters, undefined, { min: 1 }) } : undefined,
    limitAlphabet: values['limit-alphabet'] !== undefined ? intOption('limit-alphabet', values['limit-alphabet'], undefined, { min: 1 }) : undefined,
    onProgress: values.json ? undefined : progressBar(),
    onWarning: (m) => void process.stderr.write(`${process.stderr.isTTY && !values.json ? '\n' : ''}electrolite: warning: ${m}\n`),
  };
  try {
    validatePrepareOptions(opts);
  } catch (e) {
    if (e instanceof PrepareOptionError) throw new UsageError(e.message);
    throw e;
  }
  const summary = await prepare(opts);
  if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
  process.stdout.write(values.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
  return 0;
}
