// `npm start`: the main job on embedded defaults, a short study. Prepares the bundled State
// of the Union corpus (cached), checks the kernels on this adapter against their float64
// references, pre-trains the `tiny` model with MLM, RTS and C-RTS for 75 s each, fine-tunes
// and probes each on one bundled task beside the floor, and prints the table, what it shows
// and what it does not, and where the report is. The task is bundled:word-valence: minutes
// of pre-training move it above the floor (random weights score chance on words never
// labelled in training), where the sentence tasks stay at the floor (README, `study`), and
// its three-token inputs fine-tune in seconds, so the whole rate grid fits.
import { parse, ADAPTER_OPTION } from './args.js';
import { cliRuntime } from './runtime.js';
import { smokeRun } from '../kernels/smoke.js';
import { prepare } from '../data/prepare.js';
import { DEMO_DATA, demoDataDir } from '../data/bundled.js';
import { parseBudget } from '../train/budget.js';
import { parseObjective } from '../objectives/registry.js';
import { fmtDuration, progressReporter } from './progress.js';
import { runStudy, type StudyConfig } from '../eval/study.js';
import { deriveStudy, objectiveLabel } from '../eval/report.js';
import { join } from 'node:path';

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse('demo', argv, {
    ...ADAPTER_OPTION,
    budget: { type: 'string', default: '75s' },
    objectives: { type: 'string', default: 'mlm,rts,crts' },
    task: { type: 'string', default: 'bundled:word-valence' },
    out: { type: 'string', default: 'runs/demo' },
  });
  const data = demoDataDir();
  const say = (s: string) => process.stdout.write(s + '\n');

  say('1. data: bundled:sotu (State of the Union addresses) → WordPiece 8192, sequences of 128');
  const s = await prepare({ corpus: [DEMO_DATA.corpus], out: data, vocabSize: DEMO_DATA.vocabSize, seqLen: DEMO_DATA.seqLen });
  say(`   ${s.reused ? 'reused' : 'prepared'} ${data}: ${s.sequences.train} training and ${s.sequences.validation} validation sequences${s.reused ? '' : ` (${s.textMB.toFixed(1)} MB at ${s.encodeMBps.toFixed(1)} MB/s)`}`);

  const rt = await cliRuntime(values.adapter);
  const g = rt.gpu;
  say(`2. adapter: ${g.adapter.description} (${g.kind}, ${g.backend}, ${g.featureLevel}; f16 ${g.caps.f16 ? 'yes' : 'no'}, subgroups ${g.caps.subgroups ? 'yes' : 'no'})`);
  const results = await smokeRun(rt);
  const failed = results.filter((r) => !r.ok);
  say(`   kernel check against float64 references: ${failed.length ? `${failed.length} FAILED: ${failed.map((f) => f.kernel).join(', ')}` : `${results.length} kernels ok`}`);
  if (failed.length) return 1;

  const objectives = String(values.objectives).split(',').map((o) => parseObjective(o.trim()));
  const out = values.out!;
  say(`3. a short study: ${objectives.map(objectiveLabel).join(', ')} each pre-trained ${values.budget} on the tiny model (2 layers, hidden 128), then fine-tuned and linearly probed on ${values.task} beside the same fine-tuning from random weights (the first steps compile shaders and tune kernels for this adapter, once)`);
  const c: StudyConfig = {
    objectives, preset: 'tiny', budget: parseBudget(values.budget!), budgetText: values.budget!, tasks: [values.task!], seeds: [1], checkpoints: 0,
    out, batch: 8, lr: 1e-3, seqLen: DEMO_DATA.seqLen, vocabSize: DEMO_DATA.vocabSize, data,
    // Sized for well under 10 minutes on 2 CPU cores: the study's rate grid and sample sizes (a word-valence run takes seconds).
    finetune: { epochs: 3, lrs: [3e-4, 1e-3, 3e-3], batch: 32, maxLen: 64, limit: { train: 640, validation: 160, test: 160 } },
    probe: true, command: ['npm start --', ...argv].join(' '),
  };
  // Started again with the same --out, the study reuses what it finished (nothing is deleted).
  const study = await runStudy(rt, c, {
    ...progressReporter('pre-training'),
    stage: (text, done, total, eta) => say(`   [${done + 1}/${total}] ${text}${eta === null ? '' : ` (ETA ${fmtDuration(eta)})`}`),
  });
  const d = deriveStudy(study);
  say('');
  say('   objective        steps  tokens/s  step vs MLM  fine-tune  probe   (' + `${c.tasks[0]}, ${study.objectives[0].checkpoints.at(-1)!.tasks[c.tasks[0]].metric}, ${study.objectives[0].checkpoints.at(-1)!.tasks[c.tasks[0]].split} split)`);
  for (const o of study.objectives) {
    const t = o.checkpoints.at(-1)!.tasks[c.tasks[0]];
    say(`   ${objectiveLabel(o.objective).padEnd(16)} ${String(o.steps).padStart(5)}  ${o.tokensPerSecond ? o.tokensPerSecond.toFixed(0).padStart(8) : '       —'}  ${o.stepCostVsMlm ? (o.stepCostVsMlm.toFixed(2) + '×').padStart(11) : '          —'}  ${t.finetune.median.toFixed(3).padStart(9)}  ${t.probe ? t.probe.median.toFixed(3) : '—'}`);
  }
  say('');
  for (const v of d.verdict) say(`   ${v}`);
  say('');
  say(`   What this shows: each objective's cost per step on this adapter, and whether ${values.budget} of pre-training already puts meaning into the encoder that fine-tuning`);
  say(`   cannot get from the labels (on word-valence no test word is labelled in training, so random weights score chance). What it does not: which objective is better —`);
  say(`   one seed and seconds of pre-training are noisy, and sentence tasks need far more; the full study (README) is one command away.`);
  say(`   report ${join(out, 'report.md')} (and report.json, plots: *.svg)`);
  say('');
  say('next:');
  say(`   node dist/cli.js study --out runs/study      # the full study: every objective, three bundled tasks, two seeds (74 min measured on lavapipe with 2 cores; README)`);
  say(`   node dist/cli.js finetune --model ${join(out, 'pretrain', objectives[0], 'run')} --task bundled:sotu-party --out runs/ft`);
  rt.destroy();
  return 0;
}
