// `npm start`: the main job on embedded defaults. Prepares the bundled State of the Union
// corpus (cached), checks the kernels on this adapter against their float64 references,
// pre-trains the `tiny` model with RTS for a few minutes, and prints a summary.
import { parse, ADAPTER_OPTION } from './args.js';
import { cliRuntime } from './runtime.js';
import { smokeRun } from '../kernels/smoke.js';
import { prepare } from '../data/prepare.js';
import { DEMO_DATA, demoDataDir } from '../data/bundled.js';
import { parseBudget } from '../train/budget.js';
import { parseObjective } from '../objectives/registry.js';
import { runPretraining } from '../train/loop.js';
import { progressReporter } from './progress.js';
import type { TrainConfig } from '../train/trainer.js';

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse('demo', argv, {
    ...ADAPTER_OPTION,
    budget: { type: 'string', default: '3m' },
    objective: { type: 'string', default: 'rts' },
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

  const objective = parseObjective(values.objective!);
  const c: TrainConfig = {
    objective,
    preset: 'tiny',
    data,
    run: values.out!,
    batch: 8,
    accumulate: 1,
    lr: 1e-3,
    schedule: 'linear',
    budget: parseBudget(values.budget!),
    seed: 1337,
    maskProb: 0.15,
    weightDecay: 0.01,
    clip: 1,
    logEvery: 5,
    evalEvery: 0,
    evalBatches: 4,
    checkpointEvery: 0,
  };
  say(`3. pre-training: ${objective.toUpperCase()} on the tiny model (2 layers, hidden 128) for ${values.budget} (the first steps compile shaders and tune kernels for this adapter, once)`);
  // The demo's own directory: each `npm start` replaces the last one's run.
  const r = await runPretraining(rt, c, { overwrite: true, report: progressReporter(`${objective} tiny`) });
  say('');
  say(`   ${r.steps} steps, ${r.tokensPerSecond.toFixed(0)} tokens/s; training loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`);
  if (r.eval) say(`   validation: ${Object.entries(r.eval).filter(([k]) => k !== 'step').map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
  say(`   run directory ${c.run}: config.json, metrics.jsonl, checkpoints/`);
  say('');
  say('next:');
  say(`   node dist/cli.js pretrain --objective crts --model tiny --data ${data} --out runs/crts --budget 10m`);
  say(`   node dist/cli.js export --run ${c.run} --out runs/demo-hf      # a Hugging Face model directory`);
  say(`   echo "the president of the united states" | node dist/cli.js predict --model ${c.run}`);
  rt.destroy();
  return 0;
}
