// `electrolite export --run RUN [--step N] --out DIR [--as auto|bert-mlm|electra-discriminator|electra-generator|bert]`:
// a run's checkpoint as a Hugging Face model directory (see src/io/export.ts); a fine-tuning
// directory's selected model as BertForSequenceClassification (src/eval/finetune.ts).
import { parse, UsageError, numberOption, requireOptions } from './args.js';
import { exportRun, EXPORT_AS, type ExportAs } from '../io/export.js';
import { exportFinetuned, isFinetuneDir } from '../eval/finetune.js';

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parse('export', argv, { run: { type: 'string' }, step: { type: 'string' }, out: { type: 'string' }, as: { type: 'string' } });
  requireOptions('export', values, {
    run: ['RUN', 'a training run directory'],
    out: ['DIR', 'the Hugging Face directory to write'],
  });
  const as = (values.as ?? 'auto') as ExportAs;
  if (!EXPORT_AS.includes(as)) throw new UsageError(`export: --as ${values.as} is not one of ${EXPORT_AS.join(', ')}`);
  const step = values.step === undefined ? undefined : numberOption('export', 'step', values.step, { int: true, min: 0 });
  if (isFinetuneDir(values.run)) {
    // A fine-tuning directory: its selected run's best epoch, as BertForSequenceClassification.
    if (step !== undefined || (values.as !== undefined && values.as !== 'auto' && values.as !== 'bert-classifier'))
      throw new UsageError(`export: ${values.run} is a fine-tuning directory: it exports its selected model as BertForSequenceClassification (no --step, --as auto or bert-classifier)`);
    const f = exportFinetuned(values.run, values.out);
    process.stdout.write(`exported the fine-tuned model of ${values.run} as ${f.className} → ${values.out}\n  ${f.files.join(', ')}\n`);
    return 0;
  }
  const s = exportRun({ run: values.run, out: values.out, step, as });
  process.stdout.write(`exported step ${s.step} of ${values.run} (${s.objective}) as ${s.className}: ${s.tensors} tensors, vocabulary ${s.vocabSize} → ${s.out}\n  ${s.files.join(', ')}\n`);
  return 0;
}
