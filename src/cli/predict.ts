// `electrolite predict --model RUN_OR_HF_DIR [--step N] [--json] [--text T]… [--ids] [--batch N] [--adapter A]`:
// what the model does with each input line (standard input, or --text): for a masked-LM
// model the top 5 tokens with probabilities at each [MASK]; for a detection model each
// token with its probability of having been replaced. A tab in a line separates a
// sentence pair. --ids reads token ids instead of text (see parseIdsLine). --json prints
// per line {"tokens", "ids", "logits"} (+ "positions" for MLM) with the head's raw logits.
import { createInterface } from 'node:readline';
import { parse, UsageError, ADAPTER_OPTION, numberOption } from './args.js';
import { cliRuntime } from './runtime.js';
import { loadPredictModel, Predictor, encodeText, parseIdsLine, predictionJson, predictionText, type PredictInput } from '../eval/predict.js';

export async function predictCommand(argv: string[]): Promise<number> {
  const { values } = parse('predict', argv, {
    model: { type: 'string' },
    step: { type: 'string' },
    json: { type: 'boolean' },
    text: { type: 'string', multiple: true },
    ids: { type: 'boolean' },
    batch: { type: 'string' },
    ...ADAPTER_OPTION,
  });
  if (!values.model) throw new UsageError('predict: --model DIR is required (a run directory or a Hugging Face model directory)');
  const batch = values.batch === undefined ? 16 : numberOption('predict', 'batch', values.batch, { int: true, min: 1 });
  const step = values.step === undefined ? undefined : numberOption('predict', 'step', values.step, { int: true, min: 0 });
  const model = loadPredictModel(values.model, step);
  const tok = model.tokenizer;
  let lines: string[] = values.text ?? [];
  if (!values.text) {
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of rl) lines.push(line);
  }
  lines = lines.filter((l) => l.trim() !== '');
  const inputs: PredictInput[] = lines.map((l, i) => (values.ids ? parseIdsLine(l, `input line ${i + 1}`) : encodeText(tok, l)));
  const rt = await cliRuntime(values.adapter, Boolean(values.json));
  const predictor = Predictor.create(rt, model);
  for (let i = 0; i < inputs.length; i += batch) {
    const outs = await predictor.run(inputs.slice(i, i + batch));
    let s = '';
    for (const o of outs) s += values.json ? JSON.stringify(predictionJson(tok, model.kind, o)) + '\n' : predictionText(tok, model.kind, o);
    if (!process.stdout.write(s)) await new Promise((r) => process.stdout.once('drain', r));
  }
  predictor.release();
  return 0;
}
