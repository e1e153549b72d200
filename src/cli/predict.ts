// `electrolite predict --model RUN_OR_HF_DIR [--step N] [--json] [--text T]… [--ids] [--batch N] [--strict] [--adapter A]`:
// what the model does with each input line (standard input, or --text): for a masked-LM
// model the top 5 tokens with probabilities at each [MASK]; for a detection model each
// token with its probability of having been replaced. A tab in a line separates a
// sentence pair. --ids reads token ids instead of text (see parseIdsLine). --json prints
// per line {"line", "tokens", "ids", "logits"} (+ "positions" for MLM) with the head's raw logits.
//
// One output per input line, in order: a blank line gives an empty line (--json: an object
// with "empty": true); a line longer than the model takes is truncated with a warning naming
// it (--strict: refused, exit 2, before any GPU work). Lines end at \n or \r\n; a lone \r is
// whitespace inside a line.
import { parse, UsageError, ADAPTER_OPTION, numberOption, requireOptions } from './args.js';
import { cliRuntime } from './runtime.js';
import {
  loadPredictModel,
  Predictor,
  checkInput,
  encodeText,
  maxInputTokens,
  maxInputTokensReason,
  parseIdsLine,
  predictionJson,
  predictionText,
  truncateInput,
  type PredictInput,
} from '../eval/predict.js';

/** Lines of a text: split at \n, a \r before it dropped (CRLF), a leading BOM dropped; no line after a final newline. */
export function splitInputLines(text: string): string[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

interface Entry {
  /** 1-based line (or --text) number. */
  line: number;
  input?: PredictInput;
  /** Token count before truncation. */
  truncatedFrom?: number;
}

/** Truncation warnings listed one by one; beyond this many, a count. */
const WARN_LINES = 10;

export async function predictCommand(argv: string[]): Promise<number> {
  const { values } = parse('predict', argv, {
    model: { type: 'string' },
    step: { type: 'string' },
    json: { type: 'boolean' },
    text: { type: 'string', multiple: true },
    ids: { type: 'boolean' },
    batch: { type: 'string' },
    strict: { type: 'boolean' },
    ...ADAPTER_OPTION,
  });
  requireOptions('predict', values, { model: ['DIR', 'a run directory or a Hugging Face model directory'] });
  const batch = values.batch === undefined ? 16 : numberOption('predict', 'batch', values.batch, { int: true, min: 1 });
  const step = values.step === undefined ? undefined : numberOption('predict', 'step', values.step, { int: true, min: 0 });
  const model = loadPredictModel(values.model, step);
  const tok = model.tokenizer;
  const fromText = values.text !== undefined;
  const lines: string[] = values.text ?? splitInputLines(await readStdin());
  const where = (n: number) => (fromText ? `--text ${n}` : `line ${n}`);
  const limit = maxInputTokens(model.config);
  // Every line is encoded and checked before any GPU work.
  const entries: Entry[] = [];
  let truncated = 0;
  lines.forEach((l, i) => {
    const e: Entry = { line: i + 1 };
    entries.push(e);
    if (l.trim() === '') return;
    let input = values.ids ? parseIdsLine(l, `predict: input ${where(i + 1)}`) : encodeText(tok, l);
    if (input.ids.length > limit) {
      const msg = `${where(i + 1)} has ${input.ids.length} tokens, above the model's maximum of ${limit} (${maxInputTokensReason(model.config)})`;
      if (values.strict) throw new UsageError(`predict: ${msg}; --strict refuses it (without --strict it is truncated to ${limit} tokens with a warning)`);
      if (++truncated <= WARN_LINES) process.stderr.write(`predict: warning: ${msg}: truncated to ${limit}\n`);
      e.truncatedFrom = input.ids.length;
      input = truncateInput(input, limit, values.ids ? undefined : tok.special.sep);
    }
    checkInput(model.config, input, `input ${where(i + 1)}`);
    e.input = input;
  });
  if (truncated > WARN_LINES) process.stderr.write(`predict: warning: ${truncated - WARN_LINES} more lines truncated (${truncated} in all)\n`);
  if (!entries.length) return 0;
  const rt = await cliRuntime(values.adapter, Boolean(values.json));
  const predictor = Predictor.create(rt, model);
  for (let i = 0; i < entries.length; i += batch) {
    const chunk = entries.slice(i, i + batch);
    const real = chunk.filter((e) => e.input);
    const outs = await predictor.run(real.map((e) => e.input!));
    const byEntry = new Map(real.map((e, j) => [e, outs[j]]));
    let s = '';
    for (const e of chunk) {
      const o = byEntry.get(e);
      if (values.json) {
        const j = o
          ? { line: e.line, ...predictionJson(tok, model.kind, o, model.labels), ...(e.truncatedFrom !== undefined ? { truncated: e.truncatedFrom } : {}) }
          : { line: e.line, empty: true, tokens: [], ids: [], ...(model.kind === 'mlm' ? { positions: [] } : {}), logits: [] };
        s += JSON.stringify(j) + '\n';
      } else s += o ? predictionText(tok, model.kind, o, 5, model.labels) : '\n';
    }
    if (!process.stdout.write(s)) await new Promise((r) => process.stdout.once('drain', r));
  }
  predictor.release();
  return 0;
}
