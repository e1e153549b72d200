// `electrolite finetune`: a classification (or regression) head on an encoder, trained on a
// task; the learning rate picked from a grid on the validation split, the test split scored
// once (src/eval/finetune.ts).
import { parse, ADAPTER_OPTION, UsageError, numberOption, type NumberSpec, requireOptions } from './args.js';
import { cliRuntime } from './runtime.js';
import { DEFAULT_LR_GRID, finetune, startingPoint, type FinetuneConfig } from '../eval/finetune.js';
import { loadTask } from '../eval/tasks.js';

export const FINETUNE_OPTIONS = {
  ...ADAPTER_OPTION,
  model: { type: 'string' },
  step: { type: 'string' },
  tokenizer: { type: 'string' },
  task: { type: 'string' },
  data: { type: 'string' },
  dev: { type: 'string' },
  'text-column': { type: 'string' },
  'pair-column': { type: 'string' },
  'label-column': { type: 'string' },
  strict: { type: 'boolean' },
  out: { type: 'string' },
  epochs: { type: 'string', default: '3' },
  lr: { type: 'string' },
  batch: { type: 'string', default: '32' },
  'max-len': { type: 'string', default: '128' },
  warmup: { type: 'string', default: '0.1' },
  seed: { type: 'string', default: '1337' },
  'weight-decay': { type: 'string', default: '0.01' },
  clip: { type: 'string', default: '1.0' },
  dropout: { type: 'string' },
  'limit-train': { type: 'string' },
  'limit-eval': { type: 'string' },
  'no-length-groups': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const num = (name: string, v: string | undefined, spec: NumberSpec = {}) => numberOption('finetune', name, v, spec);

export function finetuneConfigFromArgs(values: Record<string, string | boolean | undefined>): FinetuneConfig {
  requireOptions('finetune', values, {
    model: ['RUN|HF_DIR|scratch:PRESET', ''],
    task: ['', 'glue:NAME, as2, tsv:FILE, jsonl:FILE, bundled:spam, bundled:sotu-party, bundled:moby-order, bundled:word-valence'],
    out: ['DIR', ''],
  });
  const lrs = values.lr !== undefined ? String(values.lr).split(',').map((x) => num('lr', x.trim(), { above: 0 })) : DEFAULT_LR_GRID;
  return {
    model: String(values.model),
    ...(values.step !== undefined ? { step: num('step', values.step as string, { int: true, min: 0 }) } : {}),
    ...(values.tokenizer ? { tokenizer: String(values.tokenizer) } : {}),
    task: String(values.task),
    taskOptions: {
      ...(values.data ? { data: String(values.data) } : {}),
      ...(values.dev ? { dev: String(values.dev) } : {}),
      ...(values['text-column'] ? { textColumn: String(values['text-column']) } : {}),
      ...(values['pair-column'] ? { pairColumn: String(values['pair-column']) } : {}),
      ...(values['label-column'] ? { labelColumn: String(values['label-column']) } : {}),
      strict: Boolean(values.strict),
      seed: num('seed', values.seed as string, { int: true, min: 0 }),
    },
    out: String(values.out),
    epochs: num('epochs', values.epochs as string, { int: true, min: 1 }),
    lrs,
    batch: num('batch', values.batch as string, { int: true, min: 1 }),
    maxLen: num('max-len', values['max-len'] as string, { int: true, min: 4 }),
    warmup: num('warmup', values.warmup as string, { min: 0, below: 1 }),
    seed: num('seed', values.seed as string, { int: true, min: 0 }),
    weightDecay: num('weight-decay', values['weight-decay'] as string, { min: 0 }),
    clip: num('clip', values.clip as string, { min: 0 }),
    ...(values.dropout !== undefined ? { dropout: num('dropout', values.dropout as string, { min: 0, below: 1 }) } : {}),
    ...(values['no-length-groups'] ? { lengthGroups: false } : {}),
    // A fixed sample of N examples per split (quick experiments).
    ...(values['limit-train'] !== undefined || values['limit-eval'] !== undefined
      ? {
          limit: {
            ...(values['limit-train'] !== undefined ? { train: num('limit-train', values['limit-train'] as string, { int: true, min: 1 }) } : {}),
            ...(values['limit-eval'] !== undefined ? { validation: num('limit-eval', values['limit-eval'] as string, { int: true, min: 1 }), test: num('limit-eval', values['limit-eval'] as string, { int: true, min: 1 }) } : {}),
          },
        }
      : {}),
  };
}

export async function finetuneCommand(argv: string[]): Promise<number> {
  const { values } = parse('finetune', argv, FINETUNE_OPTIONS);
  const c = finetuneConfigFromArgs(values);
  // The task and the model are read before any adapter is taken: a bad file or flag exits 2.
  try {
    loadTask(c.task, c.taskOptions);
    startingPoint(c.model, { step: c.step, tokenizer: c.tokenizer });
  } catch (e) {
    if (e instanceof Error && !(e instanceof TypeError || e instanceof ReferenceError)) throw new UsageError(`finetune: ${e.message}`);
    throw e;
  }
  const rt = await cliRuntime(values.adapter);
  const say = (s: string) => process.stderr.write(s + '\n');
  const r = await finetune(rt, c, {
    message: say,
    epoch: (lr, e) => say(`lr ${lr} epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}, validation ${Object.entries(e.validation).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`),
  });
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    process.stdout.write(
      `\n${r.task} (${r.splits.train} train, ${r.splits.validation} validation${r.splits.test ? `, ${r.splits.test} test` : ''}) from ${r.model}:\n` +
        r.lrs.map((l) => `  lr ${l.lr}: best epoch ${l.best.epoch}, validation ${r.metric} ${l.best.validation[r.metric].toFixed(4)}${l.test ? `, test ${r.metric} ${l.test[r.metric].toFixed(4)}` : ''}\n`).join('') +
        `  selected lr ${r.selected.lr} (by validation): ${r.selected.split} ${r.metric} ${r.selected.score.toFixed(4)}\n` +
        r.notes.map((n) => `  note: ${n}\n`).join('') +
        `  results ${c.out}/results.json\n`,
    );
  }
  rt.destroy();
  return 0;
}
